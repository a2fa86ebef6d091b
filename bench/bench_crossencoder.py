#!/usr/bin/env python3
"""Cross-encoder reranker trained from feedback: what each learner costs, how fast the reranker
answers, and whether it helps on documents no feedback was about. One run, one machine.

Data (all three parts): DSTC11 Track 5 converted to BEIR (``aitl.dstc11.convert``), split by the
``cold`` protocol (``aitl.protocols.split_queries(ds, "cold", 0.5, seed)``: no evaluation query
has a relevant document of a feedback query); the feedback side is served by BM25 and annotated
by the default simulated agents (``aitl.learn.collect_feedback``): **simulated feedback**.

A *feedback pair* is one (query, judged document) relevance label in the compiled rerank lists
(``aitl.compile_rerank``: every candidate an agent judged, relevant or not).

1. Costs. The compiled rerank lists are shuffled (seed) and taken whole until ``--pairs`` feedback
   pairs (default 1,000); every learner trains on that same subsample (the retrieval examples of
   ``aitl.compile_retrieval`` restricted to its query texts for the two encoders), and the two
   cheap learners also on all the feedback:

   * hashed encoder: ``aitl.trainers.HashedEncoderTrainer`` (the defaults of ``aitl.learn``: up to
     10 epochs, early stopping on the latest 10% of the examples); unit: contrastive pairs;
   * MiniLM fine-tuning: ``aitl.trainers.MiniLMTrainer`` (1 epoch, 1 hard negative, batch 32,
     max 128 word pieces); unit: triplet rows;
   * feature ranker: ``aitl.FeatureRanker(kb, model="trees")`` with ``aitl.learn``'s settings on
     ``aitl.RankingList`` s of BM25's top 300 labelled from the merged rerank lists, as
     ``aitl.learn.train_system`` builds them (the BM25 pools are built before the clock starts);
     unit: rows (candidates featurised);
   * cross-encoder: ``aitl.trainers.CrossEncoderTrainer`` (1 epoch, batch 16, lr 2e-5, max 256
     word pieces, 3 negatives per relevant document); unit: rows (query, document, label).

   torch learners on ``--threads`` torch threads (default 1); the C++ ones use one thread.
   Reported: wall time of ``fit`` (loading and saving included) and of the training loop alone,
   per 1,000 feedback pairs.
2. Latency of reranking BM25's top 75 for one query with the trained cross-encoder:
   ``CrossEncoderReranker.rerank`` against plain ``sentence_transformers.CrossEncoder.predict``
   (default settings, batch 32; the model loaded from the same folder) on the same evaluation
   queries, interleaved (alternating which goes first), on 2 torch threads and on 1; both must
   give the same ranking.
3. Quality on unseen documents: BM25's top 75 for a seeded subsample of the evaluation queries,
   reranked by the cross-encoder of part 1 (trained on the feedback side's subsample), against
   BM25 alone: recall@75 (unchanged by reranking the top 75), precision@8, nDCG@10, MRR@10, with
   paired bootstrap 95% intervals (1,000 resamples) of cross-encoder - BM25.

The machine is shared: the load average is recorded. Writes bench/results/crossencoder.json and
prints markdown tables.

    .venv/bin/python bench/bench_crossencoder.py           # about 6 minutes on 2 busy cores
    .venv/bin/python bench/bench_crossencoder.py --quick   # a smoke run
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "python"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402


def log(msg: str) -> None:
    print(f"[bench_crossencoder] {msg}", file=sys.stderr, flush=True)


def subsample(lists, n_pairs: int, seed: int):
    order = list(range(len(lists)))
    random.Random(seed).shuffle(order)
    out, n = [], 0
    for i in order:
        if n >= n_pairs:
            break
        out.append(lists[i])
        n += len(lists[i].labels)
    return out


def feedback_pairs(lists) -> int:
    return sum(len(l.labels) for l in lists)


def cost_row(name, unit, units, fb_pairs, seconds, train_seconds, threads, extra=None):
    return {"learner": name, "feedback_pairs": fb_pairs, "unit": unit, "units": units,
            "threads": threads, "fit_seconds": round(seconds, 3),
            "train_seconds": round(train_seconds, 3),
            "fit_seconds_per_1000_feedback_pairs": round(1000 * seconds / fb_pairs, 3),
            "train_seconds_per_1000_feedback_pairs": round(1000 * train_seconds / fb_pairs, 3),
            **(extra or {})}


def costs(ds, rl, rex, sub, text, bm, threads, work, seed):
    import aitl
    from aitl import learn, trainers

    rows = []
    sub_queries = {l.query for l in sub}
    sub_rex = [e for e in rex if e.query in sub_queries]
    for tag, lists, examples in (("subsample", sub, sub_rex), ("all", rl, rex)):
        fb = feedback_pairs(lists)
        log(f"hashed encoder on {tag} ({fb} feedback pairs) ...")
        tr, va = aitl.time_split(examples, 0.1)
        t0 = time.perf_counter()
        _, info = trainers.HashedEncoderTrainer(seed=seed).fit(tr, va, text)
        s = time.perf_counter() - t0
        rows.append(cost_row("hashed encoder", "contrastive pairs", info["pairs"], fb, s, s, 1,
                             {"data": tag, "epochs_run": info.get("epochs_run")}))
        log(f"feature ranker (trees) on {tag} ...")
        cases = [c for c in learn._merge_cases(lists) if any(g > 0 for g in c.labels)]
        pools = bm.search_batch([c.query for c in cases], 300)
        rlists = [aitl.RankingList(c.query, p, list(zip(c.doc_ids, c.labels)), c.weight)
                  for c, p in zip(cases, pools)]
        fb_trees = sum(len(c.labels) for c in cases)
        ranker = learn._ranker(ds.kb, "trees", seed, None)
        t0 = time.perf_counter()
        ranker.fit(rlists, None)
        s = time.perf_counter() - t0
        rows.append(cost_row("feature ranker (trees)", "rows", sum(len(p) for p in pools),
                             fb_trees, s, s, 1, {"data": tag, "lists": len(rlists)}))
    fb = feedback_pairs(sub)
    log(f"MiniLM fine-tuning on the subsample ({fb} feedback pairs) ...")
    t0 = time.perf_counter()
    _, info = trainers.MiniLMTrainer(work / "encoders", epochs=1, hard_negatives=1, seed=seed,
                                     threads=threads, reuse=False,
                                     show_progress=False).fit(sub_rex, [], text)
    s = time.perf_counter() - t0
    rows.append(cost_row("MiniLM fine-tuning", "triplet rows", info["pairs"], fb, s,
                         info["train_seconds"], threads,
                         {"data": "subsample", "steps": info.get("steps"), "epochs": 1}))
    log(f"cross-encoder on the subsample ({fb} feedback pairs) ...")
    t0 = time.perf_counter()
    reranker, info = trainers.CrossEncoderTrainer(work / "rerankers", epochs=1, seed=seed,
                                                  threads=threads, reuse=False,
                                                  show_progress=False).fit(sub, text)
    s = time.perf_counter() - t0
    rows.append(cost_row("cross-encoder", "rows", info["pairs"], fb, s, info["train_seconds"],
                         threads, {"data": "subsample", "steps": info.get("steps"), "epochs": 1,
                                   "positives": info["positives"],
                                   "negatives": info["negatives"]}))
    return rows, reranker, info


def latency(reranker, plain, queries, runs, text, threads, repeats):
    import torch

    torch.set_num_threads(threads)
    k = max(len(r) for r in runs)

    def ours(q, hits):
        return [h.id for h in reranker.rerank(q, hits, k)]

    def st(q, hits):
        s = plain.predict([(q, text[h.id]) for h in hits], show_progress_bar=False)
        return [hits[i].id for i in np.argsort(-s, kind="stable")]

    ours(queries[0], runs[0]), st(queries[0], runs[0])  # warm-up
    t = {"ours": [], "plain": []}
    same = 0
    for rep in range(repeats):
        for i, (q, hits) in enumerate(zip(queries, runs)):
            pair = [("ours", ours), ("plain", st)]
            if (rep + i) % 2:
                pair.reverse()
            got = {}
            for name, fn in pair:
                t0 = time.perf_counter()
                got[name] = fn(q, hits)
                t[name].append(1000 * (time.perf_counter() - t0))
            if rep == 0:
                same += int(got["ours"] == got["plain"])
    out = {"threads": threads, "queries": len(queries), "repeats": repeats,
           "candidates": k, "same_ranking": same}
    for name, xs in t.items():
        out[name] = {"mean_ms": round(float(np.mean(xs)), 1),
                     "p50_ms": round(float(np.percentile(xs, 50)), 1),
                     "p95_ms": round(float(np.percentile(xs, 95)), 1)}
    out["plain_over_ours"] = round(out["plain"]["mean_ms"] / out["ours"]["mean_ms"], 3)
    return out


def quality(ds, reranker, bm, qids, seed):
    from aitl import learn

    queries = [ds.queries[q] for q in qids]
    base = bm.search_batch(queries, 75)
    t0 = time.perf_counter()
    reranked = reranker.rerank_many(queries, base, 75)
    seconds = time.perf_counter() - t0
    qrels = {q: ds.qrels[q] for q in qids}
    E = learn.evaluate_runs(qrels, {"bm25": dict(zip(qids, base)),
                                    "crossencoder": dict(zip(qids, reranked))})
    out = {"queries": len(qids), "rerank_seconds": round(seconds, 2), "metrics": {}}
    for m in learn.METRICS:
        a = [E["bm25"].per_query[q][m] for q in qids]
        b = [E["crossencoder"].per_query[q][m] for q in qids]
        ci = learn.paired_bootstrap(a, b, 1000, seed)
        out["metrics"][m] = {"bm25": round(float(np.mean(a)), 4),
                             "crossencoder": round(float(np.mean(b)), 4),
                             "diff": round(float(np.mean(b) - np.mean(a)), 4),
                             "ci95": [round(x, 4) for x in ci]}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    ap.add_argument("--pairs", type=int, help="feedback pairs of the subsample (default 1000)")
    ap.add_argument("--eval-queries", type=int, help="evaluation queries reranked (default 80)")
    ap.add_argument("--latency-queries", type=int, help="queries timed (default 10)")
    ap.add_argument("--repeats", type=int, default=2, help="timed repeats per query (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads for training and "
                    "quality (default 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=os.environ.get("AITL_DATA_DIR",
                                                         str(REPO.parent / "shared" / "data")))
    ap.add_argument("--out", default=str(HERE / "results" / "crossencoder.json"))
    args = ap.parse_args(argv)
    n_pairs = args.pairs or (200 if args.quick else 1000)
    n_eval = args.eval_queries or (10 if args.quick else 80)
    n_lat = args.latency_queries or (3 if args.quick else 10)

    import aitl
    from aitl import beir, dstc11, learn, protocols
    from aitl.trainers import _offline_env

    _offline_env()
    import sentence_transformers
    import torch

    torch.set_num_threads(args.threads)
    load_start = list(os.getloadavg())
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aitl_bench_ce_") as tmp:
        work = Path(tmp)
        dstc11.convert(Path(args.data_dir) / "dstc11-track5", work / "dstc11", history_turns=3)
        ds = beir.load(work / "dstc11")
        split = protocols.split_queries(ds, "cold", 0.5, args.seed)
        log(f"collecting simulated feedback ({len(split.feedback)} feedback queries) ...")
        got = learn.collect_feedback(ds, split.feedback, str(work / "store.db"), seed=args.seed)
        rl = aitl.compile_rerank(got["store"])
        rex = aitl.compile_retrieval(got["store"])
        text = {d.id: d.indexed_text() for d in ds.kb}
        bm = aitl.BM25()
        bm.add_documents(list(ds.kb))
        sub = subsample(rl, n_pairs, args.seed)

        cost, reranker, ce_info = costs(ds, rl, rex, sub, text, bm, args.threads, work,
                                        args.seed)
        rng = random.Random(args.seed)
        ev = sorted(split.eval)
        qids = rng.sample(ev, min(n_eval, len(ev)))
        lat_q = qids[:n_lat]
        lat_runs = bm.search_batch([ds.queries[q] for q in lat_q], 75)
        from sentence_transformers import CrossEncoder

        plain = CrossEncoder(reranker.path, device="cpu")  # plain: as a user would load it
        lat = []
        for th in (2, 1):
            reps = args.repeats if th == 2 else 1
            log(f"latency on {th} thread(s), {len(lat_q)} queries x {reps} ...")
            lat.append(latency(reranker, plain, [ds.queries[q] for q in lat_q], lat_runs, text, th,
                               reps))
        torch.set_num_threads(args.threads)
        log(f"quality on {len(qids)} evaluation queries ...")
        qual = quality(ds, reranker, bm, qids, args.seed)

    results = {
        "seed": args.seed,
        "protocol": "cold",
        "feedback": "simulated (aitl.sim default agents)",
        "feedback_pair": "one (query, judged document) relevance label of the compiled rerank "
                         "lists",
        "data": {"feedback_queries": len(split.feedback), "eval_queries": len(split.eval),
                 "rerank_lists": len(rl), "feedback_pairs": feedback_pairs(rl),
                 "retrieval_examples": len(rex), "subsample_lists": len(sub),
                 "subsample_feedback_pairs": feedback_pairs(sub), "corpus_docs": len(ds.kb)},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "torch": torch.__version__,
                    "sentence_transformers": sentence_transformers.__version__,
                    "loadavg_at_start": load_start, "loadavg_at_end": list(os.getloadavg()),
                    "wall_seconds": round(time.perf_counter() - t_start, 1)},
        "versions": {"aitl": aitl.__version__},
        "costs": cost,
        "crossencoder": {k: ce_info[k] for k in ("version", "pairs", "positives", "negatives",
                                                 "steps", "train_loss", "settings")},
        "latency": lat,
        "quality": qual,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print(tables(results))
    print(f"results: {args.out}")
    return 0


def tables(r) -> str:
    m = r["machine"]
    out = [f"\nCross-encoder bench (DSTC11, `cold` protocol, simulated feedback; {m['cpus']} "
           f"shared CPUs, load average {m['loadavg_at_start'][0]:.2f} at start, "
           f"{m['loadavg_at_end'][0]:.2f} at end)\n",
           "Costs per 1,000 feedback pairs (feedback pair = one (query, judged document) label):\n",
           "| learner | data | feedback pairs | own unit | threads | fit s / 1k pairs | "
           "training loop s / 1k pairs |",
           "|---|---|---:|---|---:|---:|---:|"]
    for c in r["costs"]:
        out.append(f"| {c['learner']} | {c['data']} | {c['feedback_pairs']} | {c['units']} "
                   f"{c['unit']} | {c['threads']} | {c['fit_seconds_per_1000_feedback_pairs']:.2f}"
                   f" | {c['train_seconds_per_1000_feedback_pairs']:.2f} |")
    out += ["", "Rerank latency per query, BM25 top 75, the trained cross-encoder:\n",
            "| torch threads | queries x repeats | `CrossEncoderReranker.rerank` mean / p50 / p95 ms"
            " | `CrossEncoder.predict` mean / p50 / p95 ms | predict / rerank | same ranking |",
            "|---:|---:|---:|---:|---:|---:|"]
    for x in r["latency"]:
        o, p = x["ours"], x["plain"]
        out.append(f"| {x['threads']} | {x['queries']} x {x['repeats']} | {o['mean_ms']:.0f} / "
                   f"{o['p50_ms']:.0f} / {o['p95_ms']:.0f} | {p['mean_ms']:.0f} / {p['p50_ms']:.0f}"
                   f" / {p['p95_ms']:.0f} | {x['plain_over_ours']:.2f}x | "
                   f"{x['same_ranking']}/{x['queries']} |")
    q = r["quality"]
    out += ["", f"Quality on unseen documents ({q['queries']} evaluation queries of the `cold` "
            "split, BM25 top 75 reranked; simulated feedback; 95% paired bootstrap interval of "
            "the difference):\n",
            "| metric | BM25 | BM25 + cross-encoder | difference [95% CI] |", "|---|---:|---:|---|"]
    for name, v in q["metrics"].items():
        out.append(f"| {name} | {v['bm25']:.4f} | {v['crossencoder']:.4f} | {v['diff']:+.4f} "
                   f"[{v['ci95'][0]:+.4f}, {v['ci95'][1]:+.4f}] |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
