import sys, pickle, collections, numpy as np, scipy.sparse as sp, time
sys.path.insert(0, "/tmp/proto4")
from aitl import HashedEncoder, BM25
D = pickle.load(open("/tmp/proto4/data.pkl","rb"))
meta, queries, qrels, cand = D["meta"], D["queries"], D["qrels"], D["cand"]
fb, ev = D["fb"], D["ev"]
enc = HashedEncoder(dim=256, seed=0)
ids = list(meta)
def feats(texts):
    rows, cols, vals = [], [], []
    for r, t in enumerate(texts):
        i, v = enc.features(t); rows += [r]*len(i); cols += list(i); vals += list(v)
    return sp.csr_matrix((vals, (rows, cols)), shape=(len(texts), 1 << 15), dtype=np.float32)
t0=time.time()
Xd = feats([meta[d]["title"] + "\n" + meta[d]["text"] for d in ids]); idx = {d: i for i, d in enumerate(ids)}
Xq = {q: feats([queries[q]]) for q in fb + ev}
print("feats", time.time()-t0)
imp_case = {i["id"]: i for i in D["imps"]}
pairs = []; hard = collections.defaultdict(list)
for a in D["anns"]:
    if a["type"] != "knowledge_relevance": continue
    q = imp_case[a["impression_id"]]["case_id"]
    for l in a["labels"]:
        if l["relevant"]: pairs.append((q, l["doc_id"]))
        else: hard[q].append(l["doc_id"])
    for s in a["selected"]: pairs.append((q, s))
print("pairs", len(pairs))
W = enc.projection.astype(np.float32)
def norm_rows(E): n = np.linalg.norm(E, axis=1, keepdims=True) + 1e-9; return E / n, n
tau = 0.05; lr = 1e-3; B = 64
m = np.zeros_like(W); v = np.zeros_like(W); step = 0
rng = np.random.default_rng(0)
for ep in range(int(sys.argv[1]) if len(sys.argv)>1 else 5):
    perm = rng.permutation(len(pairs)); tot = 0
    for b in range(0, len(pairs), B):
        bp = [pairs[i] for i in perm[b:b+B]]
        Q = sp.vstack([Xq[q] for q, _ in bp]).tocsr()
        negs = [hard[q][rng.integers(len(hard[q]))] if hard[q] else d for q, d in bp]
        P = Xd[[idx[d] for _, d in bp] + [idx[d] for d in negs]]
        Eq_raw = Q @ W; Ep_raw = P @ W
        Eq, nq = norm_rows(Eq_raw); Ep, npn = norm_rows(Ep_raw)
        S = Eq @ Ep.T / tau
        S -= S.max(1, keepdims=True); Pm = np.exp(S); Pm /= Pm.sum(1, keepdims=True)
        n = len(bp); tot += -np.log(Pm[np.arange(n), np.arange(n)] + 1e-12).sum()
        G = Pm.copy(); G[np.arange(n), np.arange(n)] -= 1; G /= (n * tau)
        dEq = G @ Ep; dEp = G.T @ Eq
        # back through normalisation
        dEq_raw = (dEq - Eq * (dEq * Eq).sum(1, keepdims=True)) / nq
        dEp_raw = (dEp - Ep * (dEp * Ep).sum(1, keepdims=True)) / npn
        g = np.asarray(Q.T @ dEq_raw + P.T @ dEp_raw)
        step += 1
        m = 0.9*m + 0.1*g; v = 0.999*v + 0.001*g*g
        W -= lr * (m/(1-0.9**step)) / (np.sqrt(v/(1-0.999**step)) + 1e-8)
    print("epoch", ep, tot/len(pairs))
def search_all(W):
    E, _ = norm_rows(np.asarray(Xd @ W))
    out = {}
    for q in ev:
        e, _ = norm_rows(np.asarray(Xq[q] @ W)); s = (E @ e.T).ravel()
        top = np.argpartition(-s, 300)[:300]; top = top[np.argsort(-s[top])]
        out[q] = [(ids[i], float(s[i])) for i in top]
    return out
def metr(ranked):
    r75=[];p8=[]
    for q in ev:
        rel={d for d,g in qrels[q].items() if g>0}; top=[d for d,_ in ranked[q]]
        r75.append(len(rel & set(top[:75]))/len(rel)); p8.append(len(rel & set(top[:8]))/8)
    return round(np.mean(r75),4), round(np.mean(p8),4)
def rrf(a, b, k=60):
    s = collections.Counter()
    for L in (a, b):
        for r, (d, _) in enumerate(L[:100]): s[d] += 1/(k+r+1)
    return [(d, x) for d, x in s.most_common()]
W0 = enc.projection.astype(np.float32)
for name, WW in (("random", W0), ("trained", W)):
    dn = search_all(WW)
    print(name, "dense", metr(dn), "rrf", metr({q: rrf(cand[q], dn[q]) for q in ev}))
np.save("/tmp/proto4/W.npy", W)
