#!/usr/bin/env python3
"""Reward model vs real human preferences: MTRAG's human evaluation (IBM mt-rag-benchmark).

Data (``aitl.mtrag.load``, read in place from ``--data-dir``/mtrag-human-eval): 159 tasks of 20
conversations, each a multi-turn prefix ending in a user question, its reference passages
(``"[document_id] title\\ntext"``) and 3 replies (the human reference, Llama 3.1 405B, GPT-4o).
Every annotator who rated all 3 replies of a task gives 3 pairwise verdicts (higher win-rate
wins, equal = tie): 1,089 comparisons, 1,019 with a winner. Scored unit: one non-tied
(task, annotator, reply pair) verdict; credit 1 when the method ranks the annotator's winner
higher, 1/2 when it ranks both equal, 0 otherwise. Accuracy = mean credit.

Rows:
  a. ``dstc11``: the reward model of bench_reward.py's DSTC11 protocol (simulated agents'
     preferences on the feedback half, relevance judgements behind ``cited_prior``, default
     settings), applied to MTRAG unchanged; seeds ``--seeds`` (headline: the first).
  b. ``mtrag_cv``: the reward model trained on MTRAG human pairs, cross-validated by
     conversation: grouped k-fold (k = 5, conversations shuffled with ``--seed``; 4
     conversations per fold). Training pairs = the non-tied verdicts of the training folds,
     weight 1 each (ties dropped: a tie says nothing about the direction, and the model has no
     tie term). ``l2`` is chosen per outer fold by inner grouped 4-fold cross-validation on
     the training folds only, from ``L2_GRID`` (best inner accuracy; ties -> the larger l2);
     every other setting is the ``RewardModel`` default (no validation hold-out). Repeated for
     fold seeds ``--cv-seeds`` (mean and range reported).
  c. Baselines on the same verdicts: always-longer / always-shorter (words; equal counts 1/2),
     always-first (reply_a, the earlier reply in the file: reference < Llama < GPT-4o),
     random (1/2 by definition), and human agreement:
       - ``human_pairwise``: for every non-tied verdict of annotator i on a reply pair that
         another annotator j also judged, credit 1 if j picked the same winner, 1/2 if j
         said tie, 0 otherwise; averaged over all such (verdict, j) pairs;
       - ``human_loo_majority``: for every non-tied verdict of annotator i on a pair judged by
         >= 2 annotators, the others' majority (wins for a minus wins for b; ties count for
         neither) predicts the winner; credit 1 / 1/2 (no majority) / 0.
     Both are ceilings of sorts for a single-score model: annotators disagree.

Intervals: 95% percentile bootstrap over conversations (``--boot`` resamples, seeded): each
resample draws 20 conversations with replacement and recomputes the accuracy over their
verdicts. Paired differences (model minus a baseline, per verdict) use the same resampling. The MTRAG-trained model's weights (trained on all 1,019 verdicts, l2 by grouped
5-fold CV over all conversations) are reported per feature.

Writes bench/results/reward_mtrag.json and prints a Markdown table.

    .venv/bin/python bench/bench_reward_mtrag.py            # all rows
    .venv/bin/python bench/bench_reward_mtrag.py --quick    # one DSTC11 seed, one CV seed
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
L2_GRID = (0.001, 0.01, 0.1, 1.0, 10.0)
K_OUTER = 5
K_INNER = 4

Scorer = Callable[[Any, int], float]  # (task, response index) -> score


def _words(text: str) -> int:
    return len(text.split())


BASELINES: Dict[str, Scorer] = {
    "always_longer": lambda t, i: _words(t.responses[i].text),
    "always_shorter": lambda t, i: -_words(t.responses[i].text),
    "always_first": lambda t, i: -i,  # the earlier reply of the pair in file order
}


def grouped_folds(groups: Sequence[str], k: int, seed: int) -> Dict[str, int]:
    """Group -> fold: the distinct groups shuffled with ``seed`` and dealt round-robin into k folds."""
    uniq = list(dict.fromkeys(groups))
    perm = np.random.default_rng(seed).permutation(len(uniq))
    return {uniq[i]: n % k for n, i in enumerate(perm)}


def credits(ds: Any, verdicts: Sequence[Any], score: Scorer) -> np.ndarray:
    """Per verdict: 1 when the winner scores higher, 1/2 when equal, 0 otherwise."""
    out = np.empty(len(verdicts))
    cache: Dict[Tuple[str, int], float] = {}

    def s(task_id: str, i: int) -> float:
        if (task_id, i) not in cache:
            cache[(task_id, i)] = score(ds.task(task_id), i)
        return cache[(task_id, i)]

    for n, c in enumerate(verdicts):
        w, l = (c.reply_a, c.reply_b) if c.verdict == "a" else (c.reply_b, c.reply_a)
        sw, sl = s(c.task_id, w), s(c.task_id, l)
        out[n] = 1.0 if sw > sl else 0.5 if sw == sl else 0.0
    return out


def bootstrap(values: np.ndarray, groups: Sequence[str], n_boot: int, seed: int) -> Tuple[float, float]:
    """95% percentile interval of the mean of ``values``, resampling groups with replacement."""
    uniq = list(dict.fromkeys(groups))
    idx = {g: i for i, g in enumerate(uniq)}
    g = np.array([idx[x] for x in groups])
    sums = np.bincount(g, weights=values, minlength=len(uniq))
    counts = np.bincount(g, minlength=len(uniq)).astype(float)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(uniq), np.full(len(uniq), 1.0 / len(uniq)), size=n_boot)
    acc = (draws @ sums) / (draws @ counts)
    lo, hi = np.percentile(acc, [2.5, 97.5])
    return float(lo), float(hi)


def model_scorer(rm: Any) -> Scorer:
    return lambda task, i: rm.score(task.prompt, task.responses[i].text, list(task.references))


def train_mtrag(ds: Any, verdicts: Sequence[Any], l2: float) -> Any:
    import aitl
    from aitl import mtrag

    pairs, refs = mtrag.preference_pairs(ds, verdicts)
    rm = aitl.RewardModel({"l2": l2})
    rm.train(pairs, refs)
    return rm


def choose_l2(ds: Any, verdicts: Sequence[Any], seed: int) -> Tuple[float, Dict[str, float]]:
    """l2 of the best inner grouped K_INNER-fold accuracy over ``verdicts`` (ties -> larger l2)."""
    fold = grouped_folds([c.conversation_id for c in verdicts], K_INNER, seed)
    scores: Dict[str, float] = {}
    for l2 in L2_GRID:
        total = 0.0
        for k in range(K_INNER):
            tr = [c for c in verdicts if fold[c.conversation_id] != k]
            te = [c for c in verdicts if fold[c.conversation_id] == k]
            if not tr or not te:
                continue
            total += credits(ds, te, model_scorer(train_mtrag(ds, tr, l2))).sum()
        scores[str(l2)] = total / len(verdicts)
    best = max(L2_GRID, key=lambda l2: (scores[str(l2)], l2))
    return best, scores


def mtrag_cv(ds: Any, verdicts: Sequence[Any], seed: int) -> Dict[str, Any]:
    """Grouped K_OUTER-fold CV with inner l2 selection; pooled per-verdict credits."""
    fold = grouped_folds([c.conversation_id for c in verdicts], K_OUTER, seed)
    out = np.empty(len(verdicts))
    folds = []
    for k in range(K_OUTER):
        tr = [c for c in verdicts if fold[c.conversation_id] != k]
        te_idx = [n for n, c in enumerate(verdicts) if fold[c.conversation_id] == k]
        l2, inner = choose_l2(ds, tr, seed * 100 + k)
        rm = train_mtrag(ds, tr, l2)
        out[te_idx] = credits(ds, [verdicts[n] for n in te_idx], model_scorer(rm))
        folds.append({"fold": k, "train_verdicts": len(tr), "test_verdicts": len(te_idx), "l2": l2,
                      "inner_accuracy": {a: round(v, 4) for a, v in inner.items()},
                      "test_accuracy": float(out[te_idx].mean())})
    return {"seed": seed, "credits": out, "folds": folds}


def human_agreement(ds: Any) -> Tuple[np.ndarray, List[str], np.ndarray, List[str]]:
    """Credits (and conversation ids) of the two human-agreement rows, see the module docstring."""
    by_pair: Dict[Tuple[str, int, int], List[Any]] = {}
    for c in ds.comparisons:
        by_pair.setdefault((c.task_id, c.reply_a, c.reply_b), []).append(c)
    pw, pw_g, loo, loo_g = [], [], [], []
    for judged in by_pair.values():
        if len(judged) < 2:
            continue
        for c in judged:
            if c.verdict == "tie":
                continue
            others = [o for o in judged if o is not c]
            for o in others:
                pw.append(1.0 if o.verdict == c.verdict else 0.5 if o.verdict == "tie" else 0.0)
                pw_g.append(c.conversation_id)
            m = sum(o.verdict == "a" for o in others) - sum(o.verdict == "b" for o in others)
            pick = "a" if m > 0 else "b" if m < 0 else None
            loo.append(0.5 if pick is None else float(pick == c.verdict))
            loo_g.append(c.conversation_id)
    return np.array(pw), pw_g, np.array(loo), loo_g


def _load_bench_reward():
    spec = importlib.util.spec_from_file_location("bench_reward", HERE / "bench_reward.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=os.environ.get("AITL_DATA_DIR", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--seeds", default="1,2,3,4,5", help="DSTC11 protocol seeds (row a; default 1-5)")
    ap.add_argument("--cv-seeds", default="0,1,2", help="fold-assignment seeds (row b; default 0-2)")
    ap.add_argument("--boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    ap.add_argument("--boot-seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="one DSTC11 seed, one CV seed")
    ap.add_argument("--skip-dstc11", action="store_true", help="leave out row a")
    ap.add_argument("--out", default=str(HERE / "results" / "reward_mtrag.json"))
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    cv_seeds = [int(s) for s in args.cv_seeds.split(",") if s.strip()]
    if args.quick:
        seeds, cv_seeds = seeds[:1], cv_seeds[:1]

    import aitl
    from aitl import mtrag

    t0 = time.perf_counter()
    ds = mtrag.load(mtrag.default_path(args.data_dir))
    verdicts = ds.non_tied()
    groups = [c.conversation_id for c in verdicts]
    rows: Dict[str, Dict[str, Any]] = {}

    def row(name: str, values: np.ndarray, grp: Sequence[str], **extra: Any) -> None:
        lo, hi = bootstrap(values, grp, args.boot, args.boot_seed)
        rows[name] = {"accuracy": float(values.mean()), "ci95": [lo, hi], "n": int(len(values)), **extra}

    # b. MTRAG-trained, grouped CV
    cv_runs = []
    for s in cv_seeds:
        print(f"[bench_reward_mtrag] MTRAG grouped CV, seed {s} ...", file=sys.stderr, flush=True)
        cv_runs.append(mtrag_cv(ds, verdicts, s))
    accs = [float(r["credits"].mean()) for r in cv_runs]
    row("mtrag_cv", cv_runs[0]["credits"], groups, seed=cv_seeds[0],
        seeds={str(s): a for s, a in zip(cv_seeds, accs)}, mean_over_seeds=float(np.mean(accs)),
        min_over_seeds=float(np.min(accs)), max_over_seeds=float(np.max(accs)),
        folds=[{k: v for k, v in f.items()} for f in cv_runs[0]["folds"]])
    # weights of the model trained on all verdicts
    l2_all, inner_all = choose_l2(ds, verdicts, 12345)
    rm_all = train_mtrag(ds, verdicts, l2_all)
    weights = dict(zip(aitl.RewardModel.feature_names(), (round(w, 4) for w in rm_all.weights)))

    # c. baselines
    for name, scorer in BASELINES.items():
        row(name, credits(ds, verdicts, scorer), groups)
    row("random", np.full(len(verdicts), 0.5), groups)
    pw, pw_g, loo, loo_g = human_agreement(ds)
    row("human_pairwise", pw, pw_g)
    row("human_loo_majority", loo, loo_g)

    # a. DSTC11-trained
    dstc11_runs: List[Dict[str, Any]] = []
    if not args.skip_dstc11:
        from aitl import beir, dstc11

        bench = _load_bench_reward()
        with tempfile.TemporaryDirectory(prefix="aitl_bench_reward_mtrag_") as tmp:
            work = Path(tmp)
            dstc11.convert(Path(args.data_dir) / "dstc11-track5", work / "dstc11", history_turns=3)
            d11 = beir.load(work / "dstc11")
            for s in seeds:
                print(f"[bench_reward_mtrag] DSTC11-trained model, seed {s} ...", file=sys.stderr, flush=True)
                fb = bench.dstc11_feedback(d11, s, work)
                rm, _ = bench.fit_reward(fb, True)
                c = credits(ds, verdicts, model_scorer(rm))
                dstc11_runs.append({"seed": s, "credits": c, "train_pairs": len(fb["train"]),
                                    "weights": dict(zip(aitl.RewardModel.feature_names(),
                                                        (round(w, 4) for w in rm.weights)))})
        accs = [float(r["credits"].mean()) for r in dstc11_runs]
        row("dstc11", dstc11_runs[0]["credits"], groups, seed=seeds[0],
            seeds={str(s): a for s, a in zip(seeds, accs)}, mean_over_seeds=float(np.mean(accs)),
            min_over_seeds=float(np.min(accs)), max_over_seeds=float(np.max(accs)),
            train_pairs=dstc11_runs[0]["train_pairs"], weights=dstc11_runs[0]["weights"])

    # paired differences on the same verdicts (same conversations resampled for both)
    diffs: Dict[str, Dict[str, Any]] = {}
    model_credits = cv_runs[0]["credits"]
    for base in ("always_shorter", "always_first", "always_longer"):
        base_credits = credits(ds, verdicts, BASELINES[base])
        d = model_credits - base_credits
        lo, hi = bootstrap(d, groups, args.boot, args.boot_seed)
        diffs[f"mtrag_cv - {base}"] = {"difference": float(d.mean()), "ci95": [lo, hi]}
    if dstc11_runs:
        d = dstc11_runs[0]["credits"] - 0.5
        lo, hi = bootstrap(d, groups, args.boot, args.boot_seed)
        diffs["dstc11 - random"] = {"difference": float(d.mean()), "ci95": [lo, hi]}

    ref_wins = sum(1 for c in verdicts
                   if ds.task(c.task_id).responses[c.reply_a if c.verdict == "a" else c.reply_b].model_id == "reference")
    ref_pairs = sum(1 for c in verdicts
                    if "reference" in (ds.task(c.task_id).responses[c.reply_a].model_id,
                                       ds.task(c.task_id).responses[c.reply_b].model_id))
    targets = {"mtrag_cv >= 0.60": rows["mtrag_cv"]["accuracy"] >= 0.60,
               "mtrag_cv >= always_longer + 0.05":
                   rows["mtrag_cv"]["accuracy"] >= rows["always_longer"]["accuracy"] + 0.05}
    results = {
        "data": {"file": f"{mtrag.DATA_FOLDER}/{mtrag.FILE_NAME}", "tasks": len(ds.tasks),
                 "conversations": len(ds.conversations()), "comparisons": len(ds.comparisons),
                 "ties": len(ds.comparisons) - len(verdicts), "non_tied": len(verdicts),
                 "reference_wins": [ref_wins, ref_pairs]},
        "protocol": {"k_outer": K_OUTER, "k_inner": K_INNER, "l2_grid": list(L2_GRID), "ties": "dropped",
                     "pair_weight": 1.0, "cv_seeds": cv_seeds, "dstc11_seeds": seeds,
                     "bootstrap": {"resamples": args.boot, "seed": args.boot_seed, "unit": "conversation",
                                   "interval": "95% percentile"}},
        "rows": rows,
        "paired_differences": diffs,
        "mtrag_model": {"l2": l2_all, "inner_accuracy": {a: round(v, 4) for a, v in inner_all.items()},
                        "weights": weights},
        "targets": targets,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "versions": {"aitl": aitl.__version__},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(markdown(results))
    return 0 if all(targets.values()) else 1


LABELS = [("mtrag_cv", "**reward model trained on MTRAG** (grouped 5-fold CV by conversation)"),
          ("dstc11", "reward model trained on DSTC11 simulated preferences"),
          ("always_shorter", "always shorter (words)"),
          ("always_first", "always first (file order: reference, Llama, GPT-4o)"),
          ("random", "random"),
          ("always_longer", "always longer (words)"),
          ("human_pairwise", "human: another annotator agrees"),
          ("human_loo_majority", "human: leave-one-out majority of the other annotators")]


def markdown(results: Dict[str, Any]) -> str:
    d = results["data"]
    lines = [f"MTRAG human evaluation: pairwise accuracy on {d['non_tied']:,} non-tied human verdicts "
             f"({d['tasks']} tasks, {d['conversations']} conversations; {d['ties']} ties left out); "
             "95% bootstrap intervals over conversations\n",
             "| method | accuracy | 95% interval | verdicts | note |", "|---|---:|---:|---:|---|"]
    for key, label in LABELS:
        r = results["rows"].get(key)
        if not r:
            continue
        note = ""
        if "mean_over_seeds" in r and len(r["seeds"]) > 1:
            note = (f"seed {r['seed']}; seeds {', '.join(r['seeds'])}: mean {r['mean_over_seeds']:.3f} "
                    f"(min {r['min_over_seeds']:.3f}, max {r['max_over_seeds']:.3f})")
        lines.append(f"| {label} | {r['accuracy']:.3f} | {r['ci95'][0]:.3f}–{r['ci95'][1]:.3f} | {r['n']:,} | {note} |")
    lines.append("")
    lines.append("Paired differences (same verdicts, conversations resampled together): " + "; ".join(
        f"{k}: {v['difference']:+.3f} ({v['ci95'][0]:+.3f} to {v['ci95'][1]:+.3f})"
        for k, v in results["paired_differences"].items()))
    w = results["mtrag_model"]["weights"]
    top = sorted(w.items(), key=lambda kv: -abs(kv[1]))[:8]
    lines.append("")
    lines.append(f"MTRAG-trained model (all verdicts, l2 = {results['mtrag_model']['l2']} by grouped CV), "
                 "largest weights (standardised features): " + ", ".join(f"`{k}` {v:+.3f}" for k, v in top))
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
