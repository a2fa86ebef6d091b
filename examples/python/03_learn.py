"""Learn from (simulated) agents' feedback: serve half of the questions, let the simulated agents
annotate them into the SQLite store, compile training data, export it for other trainers, train
the encoder + reranker + reward model, and compare base vs trained on the other half.

    python examples/python/03_learn.py [BEIR_DIR]     # default: examples/data/helpcentre

On the bundled help-centre set BM25 is already near perfect, so there is little to gain; pass a
converted DSTC11 folder (``aitl convert dstc11 ../shared/data/dstc11-track5 out/dstc11``) to
see the lift. ``aitl learn`` runs the same experiment with bootstrap intervals.
"""
import sys
import tempfile
from pathlib import Path

import aitl
from aitl import beir, export, learn

data = Path(sys.argv[1]) if len(sys.argv) > 1 else \
    Path(__file__).resolve().parents[1] / "data" / "helpcentre"
ds = beir.load(data)
work = Path(tempfile.mkdtemp(prefix="aitl-learn-"))

# Feedback half / evaluation half (whole dialogues on one side when groups.tsv exists).
feedback, held_out = learn.split_queries(ds, eval_fraction=0.5, seed=0)
got = learn.collect_feedback(ds, feedback, str(work / "feedback.db"), seed=0)
store = got["store"]
print(f"feedback: {len(feedback)} questions served, {got['annotations']} annotations stored")

# Compile the store (since watermark 0) into training data.
retrieval = aitl.compile_retrieval(store)
lists = aitl.compile_rerank(store)
prefs = aitl.compile_preferences(store)
print(f"compiled: {len(retrieval)} retrieval examples, {len(lists)} rerank lists, "
      f"{len(prefs.pairs)} preference pairs, {len(prefs.kto)} KTO examples")

# The same data for other trainers (TRL, sentence-transformers, FlagEmbedding, OpenAI DPO...).
for fmt, name in (("trl-preference", "prefs.jsonl"), ("sentence-transformers", "st.jsonl")):
    counts = export.export(fmt, store, work / name, kb=ds.kb)
    print(f"exported {fmt}: {counts['rows']} rows -> {name}")

# Train encoder + reranker (the recipe of `aitl learn`): cross-validation on the feedback
# chooses what to serve and keeps BM25 as it is when nothing beats it. Then the reward model.
bm25 = aitl.BM25()
bm25.add_documents(list(ds.kb))
system, info = learn.train_system(ds.kb, store, bm25, seed=0)
print(f"trained: encoder {info['encoder']['epochs_run']} epochs; serving "
      f"{info['selection']['choice']} ({info['selection']['reason']})")
reward = aitl.RewardModel()
if prefs.pairs:
    reward.train(prefs.pairs)
    reward.save(work / "reward.json")

# Base (BM25) vs trained on the held-out questions.
queries = [ds.queries[q] for q in held_out]
runs = {"base": dict(zip(held_out, bm25.search_batch(queries, 100))),
        "trained": dict(zip(held_out, system.search_many(queries)))}
result = learn.evaluate_runs({q: ds.qrels[q] for q in held_out}, runs)
print(f"\nheld out: {len(held_out)} questions")
print(f"{'system':<10}" + "".join(f"{m:>12}" for m in learn.METRICS))
for name, e in result.items():
    print(f"{name:<10}" + "".join(f"{e.mean[m]:>12.3f}" for m in learn.METRICS))

# The reward model picks the better of two candidate replies.
q = held_out[0]
refs = [f"[{h.id}] {ds.kb.get(h.id).title}\n{ds.kb.get(h.id).text}" for h in runs["trained"][q][:3]]
candidates = [f"{ds.kb.get(runs['trained'][q][0].id).text} [{runs['trained'][q][0].id}]",
              "Please contact support."]
print(f"\nreward model picks reply {reward.choose(ds.queries[q], candidates, refs)} of "
      f"{candidates!r}" if prefs.pairs else "\nno preference pairs: reward model not trained")
store.close()
