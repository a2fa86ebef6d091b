"""Does learning from feedback generalise? The lift experiment of ``aitl learn`` under every
evaluation protocol, with the popularity baseline, the seen / unseen split and the shuffled-label
control, on DSTC11 Track 5 and on the built-in scenario with disjoint phrasings.

Protocol of every row: the judged queries are split by the protocol (``aitl.protocols``; eval
fraction 0.5, seed 0), the feedback side is served by the base system and annotated by the default
simulated agents (simulated feedback), ``aitl.learn.train_system`` trains and chooses by 3-fold
cold cross-validation on the feedback what to serve (the base when nothing beats it), and base,
popularity (the base ranking re-sorted by positive feedback counts alone) and trained are evaluated
on the held-out side with the dataset's own qrels; intervals are paired bootstrap 95% intervals
(1,000 resamples over queries) of trained - base. Nothing is tuned on the evaluation side: the
selection sees the feedback side only.

Rows (DSTC11 unless said): ``group`` (whole dialogues apart; documents may repeat), ``cold``
(no evaluation query has a relevant document of a feedback query), ``entity`` (whole hotels and
restaurants held out, their documents hidden while feedback is collected), ``time``, document
expansion (``-expand``: the trained system's BM25 also indexes the questions agents marked each
document relevant for; read its "gold seen" and "gold unseen" columns), the
shuffled-label control under ``group`` three times (labels shuffled across queries and shown
positions with the default selection; the same with ``fused-1+trees`` forced, so that the learner
itself is shown to find nothing; and forced with the positions kept, whose rank profile, "the
base's top ranks are relevant more often", is a signal that needs no feedback), and the scenario
with disjoint
phrasings (templates, nicknames, cities never seen in feedback). ``--base hybrid-minilm`` (the
default base when the ``models`` extra is installed) adds the same rows on the hybrid base.

Writes bench/results/generalize.json (the full reports) and prints a markdown table.

    .venv/bin/python bench/bench_generalize.py            # BM25 base (about 6 minutes)
    .venv/bin/python bench/bench_generalize.py --base hybrid-minilm --rows entity,cold
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "python"))

from aitl import dstc11, learn, scenario  # noqa: E402

METRICS = learn.METRICS
ROWS = ["group", "cold", "entity", "time", "group-expand", "cold-expand", "shuffled",
        "shuffled-forced", "shuffled-forced-keep-positions", "scenario-disjoint"]


def run(row: str, dstc: Path, scen: Path, base: str, seed: int) -> dict:
    kw = dict(seed=seed, base=base, progress=False)
    if row in ("group", "cold", "entity", "time"):
        return learn.run_lift_experiment(dstc, protocol=row, **kw)
    if row.endswith("-expand"):
        return learn.run_lift_experiment(dstc, protocol=row.split("-")[0], expand=True, **kw)
    if row == "shuffled":
        return learn.run_lift_experiment(dstc, control="shuffled", protocol="group", **kw)
    if row.startswith("shuffled-forced"):
        forced = [c for c in learn.CONFIGS if c.name == "fused-1+trees"]
        control = "shuffled-keep-positions" if row.endswith("keep-positions") else "shuffled"
        return learn.run_lift_experiment(dstc, control=control, protocol="group",
                                         configs=forced, **kw)
    if row == "scenario-disjoint":
        return learn.run_lift_experiment(scen, disjoint_phrasings=True, **kw)
    raise SystemExit(f"unknown row {row!r} (expected one of {', '.join(ROWS)})")


def cell(rep: dict, m: str) -> str:
    b, p, t = rep["base"][m], rep["popularity"][m], rep["trained"][m]
    lo, hi = rep["ci95"][m]
    return f"{b:.3f} / {p:.3f} / **{t:.3f}** [{lo:+.3f}, {hi:+.3f}]"


def table(results: dict) -> str:
    lines = ["| data, protocol | base | feedback / eval queries | " + " | ".join(
        f"{m}: base / popularity / **trained** [95% CI trained − base]" for m in METRICS)
        + " | nDCG@10 gold seen (n): base → trained | nDCG@10 gold unseen (n): base → trained"
        " | chosen |", "|---|---|---|" + "---|" * len(METRICS) + "---|---|---|"]
    for key, rep in results.items():
        q = rep["queries"]

        def side(name: str) -> str:
            u = rep["by_gold"][name]
            return (f"{u['base']['ndcg@10']:.3f} → {u['trained']['ndcg@10']:.3f} ({u['queries']})"
                    if u["queries"] else "–")

        choice = rep["selection"]["choice"] + (" + expansion" if rep["config"].get("expand") else "")
        lines.append(f"| {key} | {rep['config']['base']} | {q['feedback']} / {q['eval']} | "
                     + " | ".join(cell(rep, m) for m in METRICS)
                     + f" | {side('seen')} | {side('unseen')} | {choice} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"),
                    help="folder with dstc11-track5 (default ../shared/data)")
    ap.add_argument("--base", default="bm25", choices=["bm25", "hybrid-minilm"])
    ap.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="entity and shuffled rows only")
    ap.add_argument("--out", default=str(HERE / "results" / "generalize.json"))
    args = ap.parse_args()
    rows = ["entity", "shuffled"] if args.quick else args.rows.split(",")
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.is_file() else {}
    with tempfile.TemporaryDirectory(prefix="aitl_bench_gen_") as tmp:
        dstc = Path(tmp) / "dstc11"
        dstc11.convert(Path(args.data) / "dstc11-track5", dstc)
        scen = Path(tmp) / "scenario"
        scenario.generate(scen, scenario.ScenarioConfig(seed=args.seed, disjoint_phrasings=True))
        for row in rows:
            t = time.perf_counter()
            rep = run(row, dstc, scen, args.base, args.seed)
            key = f"{'scenario' if row.startswith('scenario') else 'DSTC11'} {row} ({args.base})"
            rep["bench_seconds"] = round(time.perf_counter() - t, 1)
            results[key] = rep
            print(f"{key}: {rep['selection']['choice']}, {rep['bench_seconds']} s", flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
