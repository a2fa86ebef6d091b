"""Offline lift on DSTC11 with the C++ trainers (scratch for `aitl learn`).

python /tmp/lift_cpp.py [--careless 0.3] [--sparse 1] [--floor 0.01] [--per-dcg 0] [--epochs 5] [--val 0]
"""
import argparse, hashlib, json, os, sys, tempfile, time
import numpy as np
import aitl
from aitl import beir, sim

ap = argparse.ArgumentParser()
ap.add_argument("--data", default="/tmp/dstc11_beir")
ap.add_argument("--careless", type=float, default=0.0)
ap.add_argument("--sparse", type=int, default=1)
ap.add_argument("--floor", type=float, default=0.01)
ap.add_argument("--per-dcg", type=int, default=0)
ap.add_argument("--epochs", type=int, default=5)
ap.add_argument("--rank-epochs", type=int, default=30)
ap.add_argument("--val", type=float, default=0.0, help="time-split validation fraction (encoder + ranker)")
ap.add_argument("--rank-val", type=float, default=None)
ap.add_argument("--rank-patience", type=int, default=5)
ap.add_argument("--crossfit", type=int, default=0, help="3: 2-fold out-of-fold dense scores per list (by case hash); 1: ranker on later half of lists with encoder trained on earlier half; 2: same lists, full encoder")
ap.add_argument("--seed", type=int, default=0, help="trainer seed")
ap.add_argument("--pool", type=int, default=300)
ap.add_argument("--no-dense-feature", action="store_true")
ap.add_argument("--cache", default="/tmp/lift_cpp_cache")
args = ap.parse_args()
T = {}
def tick(name, t0):
    T[name] = round(time.time() - t0, 2); print(f"[{name}] {T[name]}s", flush=True)

t0 = time.time()
ds = beir.load(args.data)
kb = ds.kb
gids = sorted(set(ds.groups[q] for q in ds.queries))
h = lambda s: hashlib.blake2b(f"1|{s}".encode(), digest_size=8).digest()
gids.sort(key=h)
fb_groups = set(gids[: len(gids) // 2])
fb = [q for q in ds.queries if ds.groups[q] in fb_groups]
ev = [q for q in ds.queries if ds.groups[q] not in fb_groups]
tick("load", t0); print("feedback", len(fb), "eval", len(ev))

# --- serve + annotate into a store
t0 = time.time()
system = sim.BaseSystem(kb, seed=1)
imps = system.serve_many([(q, ds.queries[q]) for q in fb])
cfg = sim.SimConfig(careless_share=args.careless) if args.careless else None
agents = sim.Simulator.from_dataset(ds, seed=1, **({"config": cfg} if cfg else {}))
anns = agents.annotate_many(imps)
tick("serve+annotate", t0)
t0 = time.time()
os.makedirs(args.cache, exist_ok=True)
path = os.path.join(args.cache, f"store_c{args.careless}.db")
if os.path.exists(path): os.remove(path)
store = aitl.SqliteStore(path, durability="normal")
store.append(list(imps) + list(anns))
tick("store", t0)
t0 = time.time()
rex = aitl.compile_retrieval(store)
rl = aitl.compile_rerank(store)
tick("compile", t0)
print("retrieval examples", len(rex), "rerank lists", len(rl), "annotations", len(anns))

text = {d.id: d.indexed_text() for d in kb}
def contrastive(examples):
    out = []
    for e in examples:
        negs = [text[n] for n in e.hard_negatives if n in text]
        for p in e.positives:
            if p in text: out.append(aitl.ContrastiveExample(e.query, text[p], negs, e.weight))
    return out
if args.val > 0:
    rtr, rva = aitl.time_split(rex, args.val)
else:
    rtr, rva = rex, []
ctr, cva = contrastive(rtr), contrastive(rva)
print("contrastive pairs", len(ctr), "validation", len(cva))

# --- base BM25
t0 = time.time()
bm = aitl.BM25(); bm.add_documents(list(kb))
allq = fb + ev
bres = bm.search_batch([ds.queries[q] for q in allq], args.pool)
bm_hits = dict(zip(allq, bres))
tick("bm25 search", t0)

# --- encoder
t0 = time.time()
enc0 = aitl.HashedEncoder(dim=256, seed=0)
ecfg = dict(epochs=args.epochs, batch_size=64, learning_rate=1e-3, temperature=0.05, hard_negatives=1,
            sparse_adam=bool(args.sparse), patience=2 if cva else 0, seed=args.seed)
enc, eres = aitl.train_encoder(enc0, ctr, cva or None, ecfg)
tick("train encoder", t0); print("encoder", {k: eres[k] for k in ("epochs_run", "best_epoch", "train_loss", "validation")})

t0 = time.time()
dense = aitl.DenseRetriever(enc); dense.add_documents(list(kb))
dres = dense.search_batch([ds.queries[q] for q in allq], args.pool)
d_hits = dict(zip(allq, dres))
tick("dense index+search", t0)

def rrf(a, b, k=60, n=None):
    s = {}
    for L in (a, b):
        for r, x in enumerate(L): s[x.id] = s.get(x.id, 0.0) + 1.0 / (k + r + 1)
    out = sorted(s.items(), key=lambda t: (-t[1], t[0]))
    return [aitl.Hit(d, v) for d, v in out[: n or len(out)]]
pool = {q: rrf(bm_hits[q], d_hits[q], n=args.pool) for q in allq}

# --- ranker
t0 = time.time()
RV = args.val if args.rank_val is None else args.rank_val
ranker = aitl.FeatureRanker(kb, epochs=args.rank_epochs, learning_rate=0.05, ndcg_k=8, deep_pair_weight=args.floor,
                            deep_pair_per_dcg=bool(args.per_dcg), patience=args.rank_patience if RV > 0 else 0, seed=args.seed)
fold_dense = {}
if args.crossfit == 3:
    fold = lambda case: hashlib.blake2b(f"f|{case}".encode(), digest_size=8).digest()[0] & 1
    doc_ids = [d.id for d in kb]; row = {d: i for i, d in enumerate(doc_ids)}
    for f in (0, 1):
        encF, _ = aitl.train_encoder(enc0, contrastive([e for e in rex if fold(e.case_id) != f]), None, ecfg)
        D = encF.encode([text[d] for d in doc_ids])
        for l in rl:
            if fold(l.case_id) != f: continue
            qv = encF.encode([l.query])[0]
            ids_ = [x.id for x in pool[l.case_id]] + [c.doc_id for c in l.candidates]
            fold_dense[l.impression_id] = [(d, float(D[row[d]] @ qv)) for d in dict.fromkeys(ids_) if d in row]
    print("crossfit 3: out-of-fold dense for", len(fold_dense), "lists")
if args.crossfit in (1, 2):
    ra, rb = aitl.time_split(rex, 0.5)
    encA, _ = aitl.train_encoder(enc0, contrastive(ra), None, ecfg)
    la, lb = aitl.time_split(rl, 0.5)
    print("crossfit: encoder on", len(ra), "examples; ranker on", len(lb), "lists")
if not args.no_dense_feature: ranker.set_encoder(encA if args.crossfit == 1 else enc)
def lists_of(items):
    out = []
    for l in items:
        labels = [(c.doc_id, float(g)) for c, g in zip(l.candidates, l.labels)]
        if not any(g > 0 for _, g in labels): continue
        out.append(aitl.RankingList(l.query, pool[l.case_id] if l.case_id in pool else bm.search(l.query, args.pool), labels, l.weight,
                                    fold_dense.get(l.impression_id, [])))
    return out
RV = args.val if args.rank_val is None else args.rank_val
if RV > 0:
    ltr, lva = aitl.time_split(rl, RV)
else:
    ltr, lva = rl, []
if args.crossfit in (1, 2): ltr = lb
Ltr, Lva = lists_of(ltr), lists_of(lva)
tick("ranker lists", t0)
t0 = time.time()
rres = ranker.fit(Ltr, Lva or None)
if args.crossfit == 1 and not args.no_dense_feature: ranker.set_encoder(enc)
tick("fit ranker", t0)
print("ranker", {k: rres[k] for k in ("epochs_run", "best_epoch", "best_validation", "validation")},
      dict(zip(aitl.FeatureRanker.feature_names(), np.round(ranker.weights, 3))))

# --- evaluate
t0 = time.time()
rr = ranker.rerank_many([ds.queries[q] for q in ev], [pool[q] for q in ev], args.pool)
tick("rerank eval", t0)
def as_run(lists):
    return {q: [aitl.Hit(x.id, float(len(L) - i)) for i, x in enumerate(L)] for q, L in lists.items()}
qrels = {q: ds.qrels[q] for q in ev}
M = ["recall@75", "precision@8", "ndcg@10", "mrr@10"]
runs = {"base": as_run({q: bm_hits[q] for q in ev}), "dense": as_run({q: d_hits[q] for q in ev}),
        "pool": as_run({q: pool[q] for q in ev}), "trained": as_run(dict(zip(ev, rr)))}
E = {k: aitl.evaluate(qrels, r, M) for k, r in runs.items()}
res = {k: {m: round(e.mean[m], 4) for m in M} for k, e in E.items()}
rng = np.random.default_rng(0)
ci = {}
for m in M:
    b = np.array([E["base"].per_query[q][m] for q in ev]); t = np.array([E["trained"].per_query[q][m] for q in ev])
    d = t - b; bs = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(1000)]
    ci[m] = [round(float(np.percentile(bs, 2.5)), 4), round(float(np.percentile(bs, 97.5)), 4)]
for k, v in res.items(): print(f"{k:8s}", v)
print("ci95 diff", ci)
print("relative", {m: round(res["trained"][m] / res["base"][m] - 1, 3) for m in M})
print("timings", T)
json.dump({"args": vars(args), "results": res, "ci95_diff": ci, "timings": T, "encoder": eres, "ranker": rres},
          open(os.path.join(args.cache, f"report_{int(time.time())}.json"), "w"), indent=1)
