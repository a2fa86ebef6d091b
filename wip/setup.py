import sys, pickle, hashlib, json, time
import numpy as np
from aitl import beir, sim, BM25
t0=time.time()
ds = beir.load("/tmp/dstc11_beir")
meta = {}
for l in open("/tmp/dstc11_beir/corpus.jsonl"):
    d = json.loads(l); meta[d["_id"]] = d
groups = ds.groups
gids = sorted(set(groups[q] for q in ds.queries))
def h(s): return hashlib.blake2b(f"1|{s}".encode(), digest_size=8).digest()
gids.sort(key=h)
fb_groups = set(gids[: len(gids)//2])
fb = [q for q in ds.queries if groups[q] in fb_groups]
ev = [q for q in ds.queries if groups[q] not in fb_groups]
print(len(fb), len(ev))
system = sim.BaseSystem(ds.kb, seed=1)
imps = system.serve_many([(q, ds.queries[q]) for q in fb])
agents = sim.Simulator.from_dataset(ds, seed=1)
anns = agents.annotate_many(imps)
agents30 = sim.Simulator.from_dataset(ds, seed=1, config=sim.SimConfig(careless_share=0.3))
anns30 = agents30.annotate_many(imps)
bm = BM25(); bm.add_documents(list(ds.kb))
allq = fb + ev
res = bm.search_batch([ds.queries[q] for q in allq], 500)
cand = {q: [(h_.id, h_.score) for h_ in r] for q, r in zip(allq, res)}
pickle.dump(dict(fb=fb, ev=ev, queries=ds.queries, qrels=ds.qrels, meta=meta, imps=imps, anns=anns, anns30=anns30, cand=cand), open("/tmp/proto4/data.pkl","wb"))
def metr(qs, ranked):
    r75=[];p8=[]
    for q in qs:
        rel={d for d,g in ds.qrels[q].items() if g>0}
        top=[d for d,_ in ranked[q]]
        r75.append(len(rel & set(top[:75]))/len(rel)); p8.append(len(rel & set(top[:8]))/8)
    return np.mean(r75), np.mean(p8)
print("base eval", metr(ev, cand), "base fb", metr(fb, cand), "all", metr(allq, cand))
for K in (75,150,300,500):
    print(K, np.mean([len({d for d,g in ds.qrels[q].items() if g>0} & {d for d,_ in cand[q][:K]})/len([1 for g in ds.qrels[q].values() if g>0]) for q in ev]))
print(time.time()-t0)
