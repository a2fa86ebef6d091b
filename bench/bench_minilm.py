#!/usr/bin/env python3
"""MiniLM benchmark: fine-tuning all-MiniLM-L6-v2 on agent feedback, and encoding, on this CPU.

Data: the DSTC11 Track 5 BEIR folder (``--data``, default: converted from ``../shared/data``),
split with ``aitl.learn.split_queries`` (seed 0); the feedback half is served by the base system
(BM25) and annotated by the default simulated agents (``aitl.learn.collect_feedback``), compiled
with ``aitl.compile_retrieval`` and turned into sentence-transformers rows
``(anchor = query, positive, hard negative)`` by ``aitl.trainers.triplet_rows`` (the hard
negative = a document shown to the agent and judged not relevant).

1. Fine-tuning: ``aitl.trainers.MiniLMTrainer`` (sentence-transformers ``SentenceTransformerTrainer``,
   ``MultipleNegativesRankingLoss``, 1 hard negative per row, batch 32 rows, no duplicate texts in
   a batch, AdamW lr 5e-5 with 10% warm-up, max 128 word pieces, 1 epoch, seed 0) on the first
   ``--pairs`` rows, torch with ``--threads`` threads (default 2) on the CPU. Reported: wall time
   of ``trainer.train()`` (model loading and saving excluded) and seconds per 1,000 pairs, and
   the ranking accuracy (positive above every hard negative) of the 10% latest examples
   (``aitl.time_split``) before and after.
2. Encoding throughput (texts/s) of ``aitl.minilm.MiniLMEncoder`` (batch 64) over ``--docs``
   documents of the corpus (the first ones in corpus order), zero-shot and fine-tuned, plus the
   time the whole corpus would take at that rate.

The machine is shared: the load average at start and end is recorded. Writes
bench/results/minilm.json and prints a markdown table.

    .venv/bin/python bench/bench_minilm.py            # 1000 pairs, 2000 documents
    .venv/bin/python bench/bench_minilm.py --quick    # 200 pairs, 500 documents
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def encode_rate(encoder, texts) -> dict:
    t0 = time.perf_counter()
    encoder.encode(texts)
    s = time.perf_counter() - t0
    return {"texts": len(texts), "seconds": round(s, 3), "texts_per_s": round(len(texts) / s, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="200 pairs, 500 documents")
    ap.add_argument("--pairs", type=int, help="training rows (default 1000; quick 200)")
    ap.add_argument("--docs", type=int, help="documents encoded per model (default 2000; quick 500)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    ap.add_argument("--batch-size", type=int, default=32, help="rows per training step (default 32)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", help="DSTC11 BEIR folder (default: converted from --data-dir into a temp folder)")
    ap.add_argument("--data-dir", default=os.environ.get("AITL_DATA_DIR", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--out", default=str(HERE / "results" / "minilm.json"))
    args = ap.parse_args(argv)
    n_pairs = args.pairs or (200 if args.quick else 1000)
    n_docs = args.docs or (500 if args.quick else 2000)

    import aitl
    from aitl import beir, learn, trainers
    from aitl.minilm import MiniLMEncoder

    zero_shot = MiniLMEncoder(batch_size=64, show_progress=False)  # sets the environment first
    import torch

    torch.set_num_threads(args.threads)
    load_start = list(os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="aitl_bench_minilm_") as tmp:
        work = Path(tmp)
        data = Path(args.data) if args.data else work / "dstc11"
        if not args.data:
            from aitl import dstc11
            dstc11.convert(Path(args.data_dir) / "dstc11-track5", data, history_turns=3)
        print(f"[bench_minilm] collecting simulated feedback on {data} ...", file=sys.stderr, flush=True)
        ds = beir.load(data)
        fb, _ = learn.split_queries(ds, 0.5, args.seed)
        got = learn.collect_feedback(ds, fb, str(work / "store.db"), args.seed)
        rex = aitl.compile_retrieval(got["store"])
        text = {d.id: d.indexed_text() for d in ds.kb}
        train, val = aitl.time_split(rex, 0.1)
        rows, _, _ = trainers.triplet_rows(train, text, 1)
        # keep whole examples until n_pairs rows
        keep, n = [], 0
        for e in train:
            k = len(trainers.triplet_rows([e], text, 1)[0])
            if n + k > n_pairs:
                break
            keep.append(e)
            n += k
        docs = [d.indexed_text() for d in list(ds.kb)[:n_docs]]

        print(f"[bench_minilm] encoding {len(docs)} documents (zero-shot) ...", file=sys.stderr, flush=True)
        enc_before = encode_rate(zero_shot, docs)
        del zero_shot
        print(f"[bench_minilm] fine-tuning on {n} pairs ...", file=sys.stderr, flush=True)
        trainer = trainers.MiniLMTrainer(work / "encoders", epochs=1, batch_size=args.batch_size,
                                         hard_negatives=1, seed=args.seed, threads=args.threads,
                                         reuse=False, show_progress=False)
        tuned, info = trainer.fit(keep, val, text)
        torch.set_num_threads(args.threads)
        print(f"[bench_minilm] encoding {len(docs)} documents (fine-tuned) ...", file=sys.stderr, flush=True)
        enc_after = encode_rate(tuned, docs)
    corpus = len(ds.kb)
    results = {
        "seed": args.seed,
        "data": {"feedback_queries": len(fb), "annotations": got["annotations"],
                 "retrieval_examples": len(rex), "rows_available": len(rows), "corpus_docs": corpus},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "torch": torch.__version__,
                    "torch_threads": args.threads, "loadavg_at_start": load_start,
                    "loadavg_at_end": list(os.getloadavg())},
        "versions": {"aitl": aitl.__version__},
        "fine_tune": {"pairs": info["pairs"], "hard_negatives": 1, "batch_size": args.batch_size,
                      "steps": info.get("steps"), "epochs": 1,
                      "settings": info["settings"], "train_seconds": info.get("train_seconds"),
                      "seconds_per_1000_pairs": info.get("seconds_per_1000_pairs"),
                      "train_loss": info.get("train_loss"),
                      "validation_accuracy": info.get("validation_accuracy"),
                      "validation_examples": len(val)},
        "encode": {"batch_size": 64, "zero_shot": enc_before, "fine_tuned": enc_after,
                   "corpus_minutes_at_zero_shot_rate": round(corpus / enc_before["texts_per_s"] / 60, 2)},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")

    ft = results["fine_tune"]
    va = ft["validation_accuracy"] or {}
    print(f"\nMiniLM on this CPU ({args.threads} torch threads; load average "
          f"{load_start[0]:.2f} at start, {results['machine']['loadavg_at_end'][0]:.2f} at end)\n")
    print("| what | size | wall time | rate |")
    print("|---|---:|---:|---:|")
    print(f"| fine-tune all-MiniLM-L6-v2 (MNRL, 1 hard negative, batch {args.batch_size}, "
          f"1 epoch) | {ft['pairs']} pairs, {ft['steps']} steps | {ft['train_seconds']:.1f} s | "
          f"**{ft['seconds_per_1000_pairs']:.1f} s per 1,000 pairs** |")
    print(f"| encode, zero-shot (batch 64) | {enc_before['texts']} docs | "
          f"{enc_before['seconds']:.1f} s | {enc_before['texts_per_s']:.1f} docs/s |")
    print(f"| encode, fine-tuned (batch 64) | {enc_after['texts']} docs | "
          f"{enc_after['seconds']:.1f} s | {enc_after['texts_per_s']:.1f} docs/s |")
    if va:
        print(f"\nHeld-out ranking accuracy (positive above every hard negative, {len(val)} latest "
              f"examples): {va['before']:.3f} zero-shot -> {va['after']:.3f} fine-tuned.")
    print(f"Whole corpus ({corpus} docs) at the zero-shot rate: "
          f"{results['encode']['corpus_minutes_at_zero_shot_rate']:.1f} min.")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
