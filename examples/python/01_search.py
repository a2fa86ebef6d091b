"""Search a help centre with BM25, dense (HNSW) and hybrid retrieval, then evaluate them.

    python examples/python/01_search.py [BEIR_DIR]     # default: examples/data/helpcentre
"""
import sys
from pathlib import Path

import aitl
from aitl import beir

data = Path(sys.argv[1]) if len(sys.argv) > 1 else \
    Path(__file__).resolve().parents[1] / "data" / "helpcentre"
ds = beir.load(data)  # corpus.jsonl, queries.jsonl, qrels/test.tsv
print(f"{len(ds.kb)} articles, {len(ds.queries)} questions")

# Lexical: BM25 over title + text, stemmed, English stop words removed.
bm25 = aitl.BM25()
bm25.add_documents(ds.kb)

# Dense: the hashed n-gram encoder (no model weights needed) into an HNSW index.
dense = aitl.DenseRetriever(aitl.HashedEncoder(dim=256, seed=0), index="hnsw")
dense.add_documents(ds.kb)

# Hybrid: reciprocal rank fusion of both rankings.
hybrid = aitl.HybridRetriever(bm25, dense, method="rrf", rrf_k=60)

question = "my card keeps getting rejected at checkout"
print(f"\nTop 3 for {question!r}:")
for rank, hit in enumerate(hybrid.search(question, 3), start=1):
    print(f"  {rank}. {hit.id:<20} {hit.score:.4f}  {ds.kb.get(hit.id).title}")

metrics = ["recall@1", "recall@5", "ndcg@10", "mrr@10"]
print(f"\n{'retriever':<10}" + "".join(f"{m:>11}" for m in metrics))
results = {}
for name, retriever in [("bm25", bm25), ("dense", dense), ("hybrid", hybrid)]:
    run = {qid: retriever.search(text, 10) for qid, text in ds.queries.items()}
    results[name] = aitl.evaluate(ds.qrels, run, metrics=metrics).mean
    print(f"{name:<10}" + "".join(f"{results[name][m]:>11.3f}" for m in metrics))

# The floor the tests rely on: hybrid finds the right article in its top 5 for most questions.
if results["hybrid"]["recall@5"] < 0.6:
    sys.exit(f"hybrid recall@5 too low: {results['hybrid']['recall@5']:.3f} < 0.6")
