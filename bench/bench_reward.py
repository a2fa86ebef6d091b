#!/usr/bin/env python3
"""Reward-model benchmark: aitl.RewardModel on simulated-agent preferences (DSTC11) and on real
human preferences (Anthropic hh-rlhf helpful-base test).

1. DSTC11 Track 5 (BEIR folder ``--data``, default converted from ``--data-dir``): queries split
   in halves by dialogue group (``aitl.learn.split_queries``, eval fraction 0.5, per seed). Both
   halves are served by ``sim.BaseSystem`` (BM25, 8 shown documents, replies "top1" and "top3").
   The feedback half is annotated by simulated agents agent-01..10 and stored in a SqliteStore;
   ``aitl.compile_preferences`` gives the preference pairs (source "preference": chosen = the
   reply the agent picked, weight = strength weight x annotation weight), ``aitl.compile_qrels``
   the relevance judgements behind the model's ``cited_prior`` feature
   (``RewardModel.set_document_relevance``; training leaves each pair's own case out). The last 20% of the pairs by time validate (early
   stopping). References of a pair: the impression's shown documents, ``"[doc_id] title\\ntext"``.
   Eval half: each impression's two replies are judged by held-out agents agent-11..20
   (``Simulator.judge``); accuracy = share of non-tied verdicts (a or b) where the model picks
   the winner. Judges weigh replies by ``Simulator.judge_quality`` (answer content, wrong
   citations, length), not by the annotators' ``quality`` the model learns from. Baselines on the
   same verdicts: the quality oracle (the reply of higher judges' quality, ties -> the left one:
   the ceiling given agent noise and position-bias picks), the annotators' quality (the reply the
   annotators' formula ranks higher: how far the training signal agrees with the judges),
   always-top1, always-longer (words; equal lengths count half), always-left (position is not a
   model input), and the model without the document relevance (ablation).
2. hh-rlhf helpful-base test (``--data-dir``/hh-rlhf-helpful-base-test): prompt = the turns before
   the last Assistant turn (one line each), replies = the two last Assistant turns, no references;
   per seed an 80/20 random split; model (``validation_fraction`` 0.2) vs always-pick-longer.

Writes bench/results/reward.json and prints a markdown table.

    .venv/bin/python bench/bench_reward.py             # seeds 1-5
    .venv/bin/python bench/bench_reward.py --quick     # seed 1 only
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FEEDBACK_AGENTS = slice(0, 10)   # agent-01..10 annotate the feedback half
HELDOUT_AGENTS = slice(10, 20)   # agent-11..20 judge the eval half


# ------------------------------------------------------------------------------------------
# 1. DSTC11: simulated agents
# ------------------------------------------------------------------------------------------

def _words(text: str) -> int:
    return len(text.split())


def dstc11_feedback(ds: Any, seed: int, work: Path, max_queries: Optional[int] = None) -> Dict[str, Any]:
    """The feedback half of the DSTC11 protocol: serve it, let agents 01-10 annotate it, compile
    the preference pairs (time split 80/20 into train / validation, each pair with its
    ``query_id``) and the relevance judgements. Returns a dict with ``fb_q``, ``ev_q``,
    ``system``, ``agents``, ``heldout_pool``, ``refs_of``, ``train``, ``val``, ``tr_refs``,
    ``va_refs``, ``judgements``. ``max_queries``: keep only the first n queries of each half."""
    import aitl
    from aitl import learn, sim

    fb_q, ev_q = learn.split_queries(ds, 0.5, seed)
    if max_queries:
        fb_q, ev_q = fb_q[:max_queries], ev_q[:max_queries]
    text = {d.id: d.text for d in ds.kb}
    title = {d.id: d.title for d in ds.kb}

    def refs_of(imp: Dict[str, Any]) -> List[str]:
        return [f"[{c['doc_id']}] {title.get(c['doc_id'], '')}\n{text[c['doc_id']]}" for c in imp["shown"]]

    system = sim.BaseSystem(ds.kb, seed=seed)
    agents = sim.Simulator.from_dataset(ds, seed=seed)
    ids = [a.id for a in agents.agents]
    train_pool, heldout_pool = ids[FEEDBACK_AGENTS], ids[HELDOUT_AGENTS]

    # feedback half -> store -> compiled pairs and relevance judgements
    fb_imps = system.serve_many([(q, ds.queries[q]) for q in fb_q])
    anns = [a for imp in fb_imps for a in agents.annotate(imp, agents=train_pool)]
    store = aitl.SqliteStore(str(work / f"reward_feedback_{seed}.db"), durability="normal")
    store.append(list(fb_imps) + anns)
    pairs = [p for p in aitl.compile_preferences(store).pairs if p.source == "preference"]
    judgements = aitl.compile_qrels(store).qrels
    store.close()
    by_id = {imp["id"]: imp for imp in fb_imps}
    train, val = aitl.time_split(pairs, 0.2)
    tr_refs = [refs_of(by_id[p.impression_id]) for p in train]
    va_refs = [refs_of(by_id[p.impression_id]) for p in val]
    return {"fb_q": fb_q, "ev_q": ev_q, "system": system, "agents": agents, "heldout_pool": heldout_pool,
            "refs_of": refs_of, "train": train, "val": val, "tr_refs": tr_refs, "va_refs": va_refs,
            "judgements": judgements}


def fit_reward(fb: Dict[str, Any], with_relevance: bool = True) -> Tuple[Any, Dict[str, Any]]:
    """A RewardModel (default settings) trained on ``dstc11_feedback``'s pairs, with the
    relevance judgements behind ``cited_prior`` (each pair's own query left out) or without."""
    import aitl

    rm = aitl.RewardModel()
    if with_relevance:
        rm.set_document_relevance(fb["judgements"])
    summary = rm.train(fb["train"], fb["tr_refs"], fb["val"], fb["va_refs"])
    return rm, summary


def dstc11_protocol(ds: Any, seed: int, work: Path, max_queries: Optional[int] = None) -> Dict[str, Any]:
    """Train on the feedback half's simulated preferences, test on held-out agents' verdicts on
    the eval half. ``max_queries``: keep only the first n queries of each half (smoke runs)."""
    import aitl

    t0 = time.perf_counter()
    fb = dstc11_feedback(ds, seed, work, max_queries)
    fb_q, ev_q, system, agents = fb["fb_q"], fb["ev_q"], fb["system"], fb["agents"]
    heldout_pool, refs_of, judgements = fb["heldout_pool"], fb["refs_of"], fb["judgements"]
    train, val = fb["train"], fb["val"]

    def fit(with_relevance: bool):
        return fit_reward(fb, with_relevance)

    rm, summary = fit(True)
    ablation, _ = fit(False)
    deterministic = fit(True)[0].to_bytes() == rm.to_bytes()
    train_s = time.perf_counter() - t0

    # eval half, judged by held-out agents
    ev_imps = system.serve_many([(q, ds.queries[q]) for q in ev_q])
    verdicts = {"a": 0, "b": 0, "tie": 0, "both_bad": 0}
    hits = {k: 0.0 for k in ("model", "model_without_relevance", "quality_oracle", "annotator_quality",
                             "always_top1", "always_longer", "always_left")}
    n = 0
    for imp in ev_imps:
        r = [x["text"] for x in imp["replies"]]
        left = "a" if imp["replies"][0]["position"] == "left" else "b"
        v = agents.judge(imp["case_id"], r[0], r[1], left=left, agents=heldout_pool, key="eval")
        verdicts[v] += 1
        if v not in ("a", "b") or r[0] == r[1]:
            continue
        n += 1
        want = "ab".index(v)
        refs = refs_of(imp)
        hits["model"] += rm.choose(imp["query"], r, refs) == want
        hits["model_without_relevance"] += ablation.choose(imp["query"], r, refs) == want
        for name, quality in (("quality_oracle", agents.judge_quality), ("annotator_quality", agents.quality)):
            qa, qb = quality(imp["case_id"], r[0]), quality(imp["case_id"], r[1])
            hits[name] += (0 if qa > qb else 1 if qb > qa else "ab".index(left)) == want
        hits["always_top1"] += imp["replies"][want]["variant"] == "top1"
        la, lb = _words(r[want]), _words(r[1 - want])
        hits["always_longer"] += 1.0 if la > lb else 0.5 if la == lb else 0.0
        hits["always_left"] += "ab"[want] == left
    out = {"seed": seed, "queries": {"feedback": len(fb_q), "eval": len(ev_q)},
           "pairs": {"train": len(train), "validation": len(val)},
           "judged_documents": len({d for js in judgements.values() for d in js}),
           "train_summary": {k: summary[k] for k in ("epochs_run", "best_epoch", "best_validation", "stopped_early")},
           "eval_verdicts": verdicts, "eval_non_tied": n,
           "accuracy": {k: (v / n if n else float("nan")) for k, v in hits.items()},
           "deterministic_bytes": deterministic,
           "weights": dict(zip(aitl.RewardModel.feature_names(), (round(w, 4) for w in rm.weights))),
           "seconds": time.perf_counter() - t0, "train_seconds": train_s}
    return out


# ------------------------------------------------------------------------------------------
# 2. hh-rlhf: real human preferences
# ------------------------------------------------------------------------------------------

_TURN = re.compile(r"\n\n(Human|Assistant): ")


def _turns(dialogue: str) -> List[Tuple[str, str]]:
    parts = _TURN.split(dialogue if dialogue.startswith("\n\n") else "\n\n" + dialogue.lstrip("\n"))
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def load_hh(path: Path) -> Tuple[List[Tuple[str, str, str]], int]:
    """(prompt, chosen, rejected) triples of the usable lines, and the number of lines."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    out = []
    for row in rows:
        c, r = _turns(row["chosen"]), _turns(row["rejected"])
        if not c or not r or c[-1][0] != "Assistant" or r[-1][0] != "Assistant":
            continue
        prompt = "\n".join(" ".join(t.split()) for _, t in c[:-1])
        chosen, rejected = c[-1][1].strip(), r[-1][1].strip()
        if prompt and chosen != rejected:
            out.append((prompt, chosen, rejected))
    return out, len(rows)


def hh_protocol(hh: Sequence[Tuple[str, str, str]], seed: int) -> Dict[str, Any]:
    import aitl

    t0 = time.perf_counter()
    perm = np.random.default_rng(seed).permutation(len(hh))
    n_test = len(hh) // 5

    def pair(t):
        p = aitl.PreferencePair()
        p.prompt, p.chosen, p.rejected = t
        return p

    test = [pair(hh[i]) for i in perm[:n_test]]
    train = [pair(hh[i]) for i in perm[n_test:]]
    rm = aitl.RewardModel({"validation_fraction": 0.2, "seed": seed})
    summary = rm.train(train)

    def longer(unit) -> float:
        s = 0.0
        for p in test:
            a, b = unit(p.chosen), unit(p.rejected)
            s += 1.0 if a > b else 0.5 if a == b else 0.0
        return s / len(test)

    return {"seed": seed, "pairs": {"train": len(train), "test": len(test)},
            "train_summary": {k: summary[k] for k in ("epochs_run", "best_epoch", "best_validation", "stopped_early")},
            "accuracy": {"model": rm.accuracy(test), "always_longer_words": longer(_words),
                         "always_longer_chars": longer(len)},
            "train_accuracy": rm.accuracy(train),
            "weights": dict(zip(aitl.RewardModel.feature_names(), (round(w, 4) for w in rm.weights))),
            "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------

def _summary(runs: Sequence[Dict[str, Any]]) -> Dict[str, Dict[str, float]]:
    keys = runs[0]["accuracy"].keys()
    return {k: {"mean": float(np.mean([r["accuracy"][k] for r in runs])),
                "min": float(np.min([r["accuracy"][k] for r in runs])),
                "max": float(np.max([r["accuracy"][k] for r in runs]))} for k in keys}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1,2,3,4,5", help="comma list of seeds (default 1-5)")
    ap.add_argument("--quick", action="store_true", help="seed 1 only")
    ap.add_argument("--data", help="DSTC11 BEIR folder (default: converted from --data-dir into a temp folder)")
    ap.add_argument("--data-dir", default=os.environ.get("AITL_DATA_DIR", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--out", default=str(HERE / "results" / "reward.json"))
    ap.add_argument("--skip", default="", help="comma list of parts to skip: dstc11, hh_rlhf")
    args = ap.parse_args(argv)
    seeds = [1] if args.quick else [int(s) for s in args.seeds.split(",") if s.strip()]
    skip = set(filter(None, args.skip.split(",")))

    import aitl
    from aitl import beir

    results: Dict[str, Any] = {"seeds": seeds,
                               "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                           "python": platform.python_version()},
                               "versions": {"aitl": aitl.__version__}}
    with tempfile.TemporaryDirectory(prefix="aitl_bench_reward_") as tmp:
        work = Path(tmp)
        if "dstc11" not in skip:
            data = Path(args.data) if args.data else work / "dstc11"
            if not args.data:
                from aitl import dstc11
                dstc11.convert(Path(args.data_dir) / "dstc11-track5", data, history_turns=3)
            ds = beir.load(data)
            runs = []
            for s in seeds:
                print(f"[bench_reward] DSTC11 seed {s} ...", file=sys.stderr, flush=True)
                runs.append(dstc11_protocol(ds, s, work))
            results["dstc11"] = {"runs": runs, "summary": _summary(runs)}
        if "hh_rlhf" not in skip:
            hh, lines = load_hh(Path(args.data_dir) / "hh-rlhf-helpful-base-test" / "helpful-base" / "test.jsonl.gz")
            runs = []
            for s in seeds:
                print(f"[bench_reward] hh-rlhf seed {s} ...", file=sys.stderr, flush=True)
                runs.append(hh_protocol(hh, s))
            results["hh_rlhf"] = {"lines": lines, "usable_pairs": len(hh), "runs": runs, "summary": _summary(runs)}
    if skip and Path(args.out).is_file():  # a skipped part keeps its previous result
        with open(args.out) as f:
            old = json.load(f)
        for part in skip & {"dstc11", "hh_rlhf"}:
            if part in old:
                results[part] = old[part]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(markdown(results))
    return 0


def markdown(results: Dict[str, Any]) -> str:
    lines: List[str] = []
    d = results.get("dstc11")
    if d:
        cols = [("model", "**model**"), ("model_without_relevance", "model w/o doc relevance"),
                ("quality_oracle", "judges' quality (ceiling)"), ("annotator_quality", "annotators' quality"),
                ("always_top1", "always top1"),
                ("always_longer", "always longer"), ("always_left", "always left")]
        lines += ["DSTC11: picks the reply preferred by held-out simulated agents (non-tied pairs of the eval half; "
                  "trained on agents 01-10's preferences on the feedback half)\n",
                  "| seed | train/val pairs | eval pairs | " + " | ".join(c[1] for c in cols) + " |",
                  "|---:|---:|---:|" + "---:|" * len(cols)]
        for r in d["runs"]:
            lines.append(f"| {r['seed']} | {r['pairs']['train']}/{r['pairs']['validation']} | {r['eval_non_tied']} | " +
                         " | ".join(f"{r['accuracy'][k]:.3f}" for k, _ in cols) + " |")
        lines.append("| mean | | | " + " | ".join(f"{d['summary'][k]['mean']:.3f}" for k, _ in cols) + " |")
        lines.append("")
    h = results.get("hh_rlhf")
    if h:
        lines += [f"hh-rlhf helpful-base test: real human preferences ({h['usable_pairs']:,} usable pairs of "
                  f"{h['lines']:,} lines, 80/20 split per seed)\n",
                  "| seed | test pairs | **model** | always longer (words) | always longer (chars) | train acc |",
                  "|---:|---:|---:|---:|---:|---:|"]
        for r in h["runs"]:
            a = r["accuracy"]
            lines.append(f"| {r['seed']} | {r['pairs']['test']} | {a['model']:.3f} | {a['always_longer_words']:.3f} | "
                         f"{a['always_longer_chars']:.3f} | {r['train_accuracy']:.3f} |")
        s = h["summary"]
        lines.append(f"| mean | | {s['model']['mean']:.3f} | {s['always_longer_words']['mean']:.3f} | "
                     f"{s['always_longer_chars']['mean']:.3f} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
