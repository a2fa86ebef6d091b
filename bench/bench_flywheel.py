"""One full flywheel cycle on DSTC11 with >= 50,000 stored annotations, timed by stage.

Setup (not timed): DSTC11 Track 5 (../shared/data) converted to BEIR, the flywheel's split and
knowledge gap, then the feedback stream served through the base pipeline (BM25 + extractive
generator) again and again, each impression annotated by the simulated agents, until the store
holds at least --annotations annotations. Timed: one cycle (`Flywheel.step`): compile the
training store -> train the hashed encoder (+ 2 out-of-fold encoders) and the LambdaMART ranker
-> train the reward model -> evaluate champion and challenger on the holdout feedback and the
guard set -> gate -> registry add + promote -> re-embed the KB and rebuild the HNSW index
(recall check, publish, switch). Then the champion's test-set evaluation (metrics, replies,
helpfulness and adoption judgements), reported separately.

Writes bench/results/flywheel_cycle.json and prints a markdown table. Target: cycle <= 60 s on
this 2-core machine.

    .venv/bin/python bench/bench_flywheel.py                 # >= 50,000 annotations
    .venv/bin/python bench/bench_flywheel.py --quick         # >= 10,000
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("AITL_DATA_DIR", HERE.parent.parent / "shared" / "data"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--annotations", type=int, default=50_000)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(HERE / "results" / "flywheel_cycle.json"))
    args = ap.parse_args()
    target = 10_000 if args.quick else args.annotations

    from aitl import dstc11
    from aitl.flywheel import Flywheel, FlywheelConfig

    with tempfile.TemporaryDirectory(prefix="aitl_bench_flywheel_") as tmp:
        data = Path(tmp) / "dstc11"
        dstc11.convert(DATA / "dstc11-track5", data, history_turns=3)
        fw = Flywheel(data, workdir=Path(tmp) / "work", progress=False,
                      config=FlywheelConfig(rounds=5, seed=args.seed))
        stream = [q for b in fw.batches for q in b]
        t0 = time.perf_counter()
        passes = 0
        while fw.store.stats().annotations < target:
            fw.feed(stream)
            passes += 1
            print(f"[bench_flywheel] pass {passes}: {fw.store.stats().annotations} annotations",
                  file=sys.stderr, flush=True)
        setup_s = time.perf_counter() - t0
        stats = fw.store.stats()
        t0 = time.perf_counter()
        out = fw.step()
        cycle_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ev = fw.evaluate(fw.champion)
        eval_s = time.perf_counter() - t0
        base = fw.evaluate(fw.base)
        res = {
            "data": "DSTC11 Track 5 val (BEIR conversion)",
            "documents_served": len(fw.kb),
            "store": {"impressions": stats.impressions, "annotations": stats.annotations,
                      "training_store_annotations": fw.train_store.stats().annotations,
                      "holdout_annotations": fw.holdout.stats().annotations},
            "stream_passes": passes, "setup_seconds": round(setup_s, 1),
            "cycle_seconds": round(cycle_s, 2), "cycle_stages": out["cycle_seconds"],
            "promoted": out["promoted"], "reason": out["reason"],
            "index": out.get("index"),
            "test_evaluation_seconds": round(eval_s, 2),
            "test": {"base": {k: base[k] for k in ("recall@75", "precision@8", "ndcg@10",
                                                   "helpfulness", "adoption_rate")},
                     "champion": {k: ev[k] for k in ("recall@75", "precision@8", "ndcg@10",
                                                     "helpfulness", "adoption_rate")}},
            "target_seconds": 60, "cpu_count": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    st = res["cycle_stages"]
    print("| stored annotations | train | evaluate + gate | registry | re-embed + rebuild | "
          "cycle total | target |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {stats.annotations:,} | {st.get('train')} s | {st.get('evaluate+gate')} s | "
          f"{st.get('registry')} s | {st.get('rebuild', '-')} s | **{res['cycle_seconds']} s** | "
          f"<= 60 s |")
    print(f"promoted: {res['promoted']} ({res['reason']}); test evaluation "
          f"{res['test_evaluation_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
