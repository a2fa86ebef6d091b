"""Serve support cases through aitl.Pipeline: retrieve top-75, rerank to top-8, generate the
champion and challenger replies on randomised sides, log each impression, record the agent's
feedback, and swap components while serving. Every slot takes a Python callable.

    python examples/python/04_pipeline.py [BEIR_DIR]     # default: examples/data/helpcentre
"""
import sys
import tempfile
from pathlib import Path

import numpy as np

import aitl
from aitl import beir

data = Path(sys.argv[1]) if len(sys.argv) > 1 else \
    Path(__file__).resolve().parents[1] / "data" / "helpcentre"
ds = beir.load(data)
store = aitl.SqliteStore(Path(tempfile.mkdtemp(prefix="aitl-pipeline-")) / "feedback.db")

# BM25, the first-stage order, the extractive generator ("top" vs "coverage"), the SQLite store.
bm25 = aitl.BM25()
bm25.add_documents(ds.kb)
p = aitl.Pipeline(ds.kb, store, retriever=bm25, seed=7, models={"retriever": "bm25@1"})
imp = p.suggest("case-1001", "my card was declined at checkout", context=["Hi, I tried to pay twice."])
print(f"impression {imp.id}: {len(imp.retrieved)} retrieved, {len(imp.shown)} shown, models {imp.models}")
for r in imp.replies:
    print(f"  {r.variant:<8} ({r.position}): {r.text[:70]}...")

# The agent's feedback is validated against what was shown; bad input names the field.
p.record(aitl.Annotation(imp.id, "agent-01", aitl.KnowledgeRelevance(
    labels=[aitl.RelevanceLabel(imp.shown[0].doc_id, True), aitl.RelevanceLabel(imp.shown[1].doc_id, False)]),
    timestamp_ms=imp.timestamp_ms + 5000))
try:
    p.record(aitl.Annotation(imp.id, "agent-01", aitl.KnowledgeRelevance(
        labels=[aitl.RelevanceLabel("not-shown", True)]), timestamp_ms=imp.timestamp_ms + 6000))
except aitl.ConfigError as e:
    print(f"refused: {e}")


# Python callables: an encoder for hybrid retrieval (e.g. a sentence-transformers model's
# encode), a reranker (e.g. a cross-encoder) and a generator (e.g. a call to an LLM).
def encode(texts):  # list[str] -> float32 (n, dim)
    out = np.zeros((len(texts), 128), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            out[i, sum(map(ord, w)) % 128] += 1.0
    return out


def rerank(query, hits):  # -> hits, best first
    return sorted(hits, key=lambda h: -h.score)


def generate(query, refs, variant):  # -> reply text citing [doc_id]
    if not refs:
        return "Sorry, I found no article on that."
    n = 1 if variant == "concise" else 3
    return " ".join(f"{r.title}. [{r.doc_id}]" for r in refs[:n])


custom = aitl.Pipeline(ds.kb, store, retriever="hybrid", encoder=encode, reranker=rerank, generator=generate,
                       champion_variant="concise", challenger_variant="detailed", seed=7)
batch = custom.suggest_many([("case-1002", "how do I return a sofa"), ("case-1003", "card declined twice")])
for i in batch:
    print(f"{i.case_id}: models {i.models}, A={i.replies[0].text!r} on the {i.replies[0].position}")

# Swap in a retrained reranker while serving (suggestions in flight finish with the old one).
ranker = aitl.FeatureRanker(ds.kb, model="linear")
ranker.fit([aitl.RankingList(imp.query, bm25.search(imp.query, 75), [(imp.shown[0].doc_id, 1.0)])])
p.set_reranker(ranker, version="linear@1")
print(f"after the swap: reranker {p.suggest('case-1004', 'refund to my card').models['reranker']}")
stats = store.stats()
print(f"store: {stats.impressions} impressions, {stats.annotations} annotations")
