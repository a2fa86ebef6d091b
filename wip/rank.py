import sys, math, numpy as np, collections
sys.path.insert(0, "/tmp/proto4")
from feats import *
fb, ev = D["fb"], D["ev"]; cand = D["cand"]
POOL = int(sys.argv[1]) if len(sys.argv) > 1 else 300
MODE = sys.argv[2] if len(sys.argv) > 2 else "shown"
ANN = D["anns"] if (len(sys.argv) <= 3 or sys.argv[3] == "clean") else D["anns30"]
stats = feedback_stats(ANN)
# labels from annotations per impression
lab = collections.defaultdict(dict)
imp_case = {i["id"]: i for i in D["imps"]}
for a in ANN:
    if a["type"] != "knowledge_relevance": continue
    q = imp_case[a["impression_id"]]["case_id"]
    for l in a["labels"]: lab[q][l["doc_id"]] = 1.0 if l["relevant"] else 0.0
    for s in a["selected"]: lab[q][s] = 2.0
def lists_for_training():
    X, Y = [], []
    for q in fb:
        if q not in lab: continue
        L = lab[q]
        if MODE == "shown":
            c = [(d, s) for d, s in cand[q][:POOL] if d in L]
            extra = [d for d in L if d not in {x for x, _ in c}]
            sc = dict(cand[q][:500])
            c += [(d, sc.get(d, 0.0)) for d in extra]
            ranks = {d: i for i, (d, _) in enumerate(cand[q][:500])}
            y = [L[d] for d, _ in c]
        else:  # pool, unlabelled = 0
            c = list(cand[q][:POOL])
            got = {d for d, _ in c}
            c += [(d, 0.0) for d in L if d not in got]
            y = [L.get(d, 0.0) for d, _ in c]
        if max(y) <= 0: continue
        # stats leave-one-out: remove own labels from stats
        X.append(features(q, c, stats_loo(q))); Y.append(np.array(y))
    return X, Y
def stats_loo(q):
    pos, neg, sel = stats
    L = lab.get(q, {})
    p2, n2, s2 = pos.copy(), neg.copy(), sel.copy()
    for d, v in L.items():
        if v == 2.0: s2[d] -= 1
        elif v == 1.0: p2[d] -= 1
        else: n2[d] -= 1
    return p2, n2, s2
X, Y = lists_for_training()
allX = np.vstack(X); mu = allX.mean(0); sd = allX.std(0) + 1e-9
X = [(x - mu) / sd for x in X]
def ndcg_deltas(s, y, k=8):
    n = len(s); order = np.argsort(-s); rank = np.empty(n, int); rank[order] = np.arange(n)
    gain = 2 ** y - 1
    ideal = np.sort(gain)[::-1][:k]; idcg = (ideal / np.log2(np.arange(2, len(ideal) + 2))).sum()
    if idcg == 0: return np.zeros(n)
    disc = np.where(rank < k, 1 / np.log2(rank + 2), 0.0)
    lam = np.zeros(n)
    for i in range(n):
        for j in range(n):
            if y[i] <= y[j]: continue
            dd = abs((gain[i] - gain[j]) * (disc[i] - disc[j])) / idcg
            if dd == 0 and MODE != "pool": dd = 1e-3
            if dd == 0: continue
            rho = 1 / (1 + math.exp(s[i] - s[j]))
            lam[i] += dd * rho; lam[j] -= dd * rho
    return lam
def ndcg_deltas_fast(s, y, k=8):
    n = len(s); order = np.argsort(-s); rank = np.empty(n, int); rank[order] = np.arange(n)
    gain = 2 ** y - 1
    ideal = np.sort(gain)[::-1][:k]; idcg = (ideal / np.log2(np.arange(2, len(ideal) + 2))).sum()
    if idcg == 0: return np.zeros(n)
    disc = np.where(rank < k, 1 / np.log2(rank + 2), 0.0)
    P = np.where(y > 0)[0]
    lam = np.zeros(n)
    for i in P:
        m = y[i] > y
        dd = np.abs((gain[i] - gain) * (disc[i] - disc)) / idcg
        dd = np.maximum(dd, 1e-2 / idcg) * m  # small floor keeps deep pairs (recall@75)
        rho = 1 / (1 + np.exp(s[i] - s))
        lam[i] += (dd * rho).sum(); lam -= dd * rho
    return lam
rng = np.random.default_rng(0)
w = np.zeros(X[0].shape[1]); m_ = np.zeros_like(w); v_ = np.zeros_like(w)
lr = 0.05
for ep in range(30):
    g_tot = np.zeros_like(w)
    for i in rng.permutation(len(X)):
        s = X[i] @ w
        lam = ndcg_deltas_fast(s, Y[i])
        g = -(lam @ X[i])
        m_ = 0.9 * m_ + 0.1 * g; v_ = 0.999 * v_ + 0.001 * g * g
        w -= lr * m_ / (np.sqrt(v_) + 1e-8)
print("w", np.round(w, 3))
def metr(qs, ranked):
    r75=[];p8=[];nd=[]
    for q in qs:
        rel={d for d,g in qrels[q].items() if g>0}
        top=ranked[q]
        r75.append(len(rel & set(top[:75]))/len(rel)); p8.append(len(rel & set(top[:8]))/8)
    return round(np.mean(r75),4), round(np.mean(p8),4)
base = {q: [d for d, _ in cand[q]] for q in ev}
rr = {}
for q in ev:
    c = cand[q][:POOL]
    x = (features(q, c, stats) - mu) / sd
    o = np.argsort(-(x @ w), kind="stable")
    rr[q] = [c[i][0] for i in o]
print("POOL", POOL, MODE, "base", metr(ev, base), "rerank", metr(ev, rr))
