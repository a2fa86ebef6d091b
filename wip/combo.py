import sys, numpy as np, collections, scipy.sparse as sp
sys.argv = ["rank.py", "300", "pool"] + sys.argv[1:]
exec(open("/tmp/proto4/dense.py").read().split("tau = 0.05")[0])
W = np.load("/tmp/proto4/W.npy")
E, _ = norm_rows(np.asarray(Xd @ W))
def dense_top(q, k=300):
    e, _ = norm_rows(np.asarray(Xq[q] @ W)); s = (E @ e.T).ravel()
    top = np.argpartition(-s, k)[:k]; top = top[np.argsort(-s[top])]
    return [(ids[i], float(s[i])) for i in top], s
newcand = {}; dscore = {}
for q in fb + ev:
    dt, s = dense_top(q)
    f = collections.Counter()
    for L in (cand[q][:300], dt):
        for r, (d, _) in enumerate(L): f[d] += 1/(60+r+1)
    bm = dict(cand[q])
    pool = [d for d, _ in f.most_common(300)]
    newcand[q] = [(d, bm.get(d, 0.0)) for d in pool]
    dscore[q] = [float(s[idx[d]]) for d in pool]
def metr(ranked):
    r75=[];p8=[]
    for q in ev:
        rel={d for d,g in qrels[q].items() if g>0}; top=[d for d,_ in ranked[q]]
        r75.append(len(rel & set(top[:75]))/len(rel)); p8.append(len(rel & set(top[:8]))/8)
    return round(np.mean(r75),4), round(np.mean(p8),4)
print("fused pool recall@75/p8", metr({q: newcand[q] for q in ev}))
import feats
orig = feats.features
def features_with_dense(q, c, stats):
    A = orig(q, c, stats)
    dmap = dict(zip([d for d, _ in newcand[q]], dscore[q]))
    return np.hstack([A, np.array([[dmap.get(d, 0.0)] for d, _ in c]), np.log1p(np.arange(len(c)))[:, None]])
D["cand"] = newcand
src = open("/tmp/proto4/rank.py").read().replace("from feats import *", "from feats import *\nfeatures = features_with_dense\ncand = newcand")
g = dict(globals()); g["features_with_dense"] = features_with_dense; g["newcand"] = newcand
exec(src, g)
