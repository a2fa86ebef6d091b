"""Scratch evaluation of aitl.RewardModel (issue 4, reward-model bullet).

(1) DSTC11: feedback half (by groups.tsv) served by sim.BaseSystem, preferences from simulated
    agents agent-01..10; eval half judged by held-out agents agent-11..20 (Simulator.judge);
    accuracy of RewardModel.choose on non-tied pairs.
(2) hh-rlhf helpful-base test: 80/20 seeded split; accuracy vs always-pick-longer.
"""
import gzip
import hashlib
import json
import math
import re
import sys
import time

import numpy as np

import aitl
from aitl import beir, sim

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
STRENGTH = {"slight": 1.0, "clear": 2.0, "strong": 3.0}
out = {}


def hkey(*parts):
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).hexdigest()


# ---------------------------------------------------------------- DSTC11
t0 = time.time()
ds = beir.load("/tmp/dstc11_beir")
qids = sorted(q for q in ds.queries if q in ds.qrels)
groups = ds.groups or {q: q for q in qids}
gids = sorted({groups.get(q, q) for q in qids}, key=lambda g: hkey(SEED, "split", g))
fb_groups = set(gids[: len(gids) // 2])
fb_q = [q for q in qids if groups.get(q, q) in fb_groups]
ev_q = [q for q in qids if groups.get(q, q) not in fb_groups]
text = {d.id: d.text for d in ds.kb}
title = {d.id: d.title for d in ds.kb}

system = sim.BaseSystem(ds.kb, seed=SEED)
agents = sim.Simulator.from_dataset(ds, seed=SEED)
ids = [a.id for a in agents.agents]
train_pool, heldout_pool = ids[: len(ids) // 2], ids[len(ids) // 2:]


def refs_of(imp):
    return [f"[{c['doc_id']}] {title.get(c['doc_id'], '')}\n{text[c['doc_id']]}" for c in imp["shown"]]


fb_imps = system.serve_many([(q, ds.queries[q]) for q in fb_q])
pairs, refs = [], []
choices = {"a": 0, "b": 0, "tie": 0, "both_bad": 0}
for imp in fb_imps:
    for a in agents.annotate(imp, agents=train_pool):
        if a["type"] != "preference":
            continue
        choices[a["choice"]] += 1
        if a["choice"] not in ("a", "b"):
            continue
        slot = "ab".index(a["choice"])
        p = aitl.PreferencePair()
        p.impression_id = imp["id"]
        p.prompt = imp["query"]
        p.chosen = imp["replies"][slot]["text"]
        p.rejected = imp["replies"][1 - slot]["text"]
        p.weight = STRENGTH[a["strength"]] * a["weight"]
        p.source = "preference"
        p.timestamp_ms = a["timestamp_ms"]
        if p.chosen == p.rejected:
            continue
        pairs.append(p)
        refs.append(refs_of(imp))

# time split of the feedback pairs for early stopping (later pairs validate)
order = sorted(range(len(pairs)), key=lambda i: pairs[i].timestamp_ms)
n_val = len(order) // 5
tr_i, va_i = order[:-n_val], order[-n_val:]
rm = aitl.RewardModel()
summary = rm.train([pairs[i] for i in tr_i], [refs[i] for i in tr_i],
                   [pairs[i] for i in va_i], [refs[i] for i in va_i])
rm2 = aitl.RewardModel()
rm2.train([pairs[i] for i in tr_i], [refs[i] for i in tr_i],
          [pairs[i] for i in va_i], [refs[i] for i in va_i])
deterministic = rm.to_bytes() == rm2.to_bytes()

ev_imps = system.serve_many([(q, ds.queries[q]) for q in ev_q])
n_nt = right = top1 = longer = left_pick = oracle = 0
verdicts = {"a": 0, "b": 0, "tie": 0, "both_bad": 0}
for imp in ev_imps:
    r = [x["text"] for x in imp["replies"]]
    left = "a" if imp["replies"][0]["position"] == "left" else "b"
    v = agents.judge(imp["case_id"], r[0], r[1], left=left, agents=heldout_pool, key="eval")
    verdicts[v] += 1
    if v not in ("a", "b") or r[0] == r[1]:
        continue
    n_nt += 1
    want = "ab".index(v)
    right += rm.choose(imp["query"], r, refs_of(imp)) == want
    top1 += imp["replies"][want]["variant"] == "top1"
    longer += (len(r[want].split()) > len(r[1 - want].split())) + 0.5 * (len(r[0].split()) == len(r[1].split()))
    left_pick += "ab"[want] == left
    qa, qb = agents.quality(imp["case_id"], r[0]), agents.quality(imp["case_id"], r[1])
    oracle += (0 if qa > qb else 1 if qb > qa else "ab".index(left)) == want
out["dstc11"] = {
    "seed": SEED,
    "queries": {"feedback": len(fb_q), "eval": len(ev_q)},
    "groups": {"feedback": len(fb_groups), "eval": len(gids) - len(fb_groups)},
    "train_agents": f"{train_pool[0]}..{train_pool[-1]}", "heldout_agents": f"{heldout_pool[0]}..{heldout_pool[-1]}",
    "feedback_choices": choices, "pairs": {"train": len(tr_i), "validation": len(va_i)},
    "train_summary": {k: summary[k] for k in ("epochs_run", "best_epoch", "best_validation", "stopped_early")},
    "eval_verdicts": verdicts, "eval_non_tied": n_nt,
    "accuracy": right / n_nt, "always_top1": top1 / n_nt, "always_longer": longer / n_nt,
    "always_left": left_pick / n_nt,
    "quality_oracle": oracle / n_nt,
    "deterministic_bytes": deterministic,
    "weights": dict(zip(aitl.RewardModel.feature_names(), [round(w, 3) for w in rm.weights])),
    "seconds": round(time.time() - t0, 1),
}
print(json.dumps(out["dstc11"], indent=1), flush=True)

# ---------------------------------------------------------------- hh-rlhf
t0 = time.time()
TURN = re.compile(r"\n\n(Human|Assistant): ")


def parse(dialogue):
    parts = TURN.split("\n\n" + dialogue.lstrip("\n") if not dialogue.startswith("\n\n") else dialogue)
    turns = [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]
    return turns


rows = [json.loads(l) for l in gzip.open(
    "/work/shared/data/hh-rlhf-helpful-base-test/helpful-base/test.jsonl.gz", "rt", encoding="utf-8")]
hh = []
for row in rows:
    c, r = parse(row["chosen"]), parse(row["rejected"])
    if not c or not r or c[-1][0] != "Assistant" or r[-1][0] != "Assistant":
        continue
    prompt_turns = c[:-1]
    prompt = "\n".join(" ".join(t.split()) for _, t in prompt_turns)
    ch, rj = c[-1][1].strip(), r[-1][1].strip()
    if ch == rj or not prompt:
        continue
    hh.append((prompt, ch, rj))
perm = np.random.default_rng(SEED).permutation(len(hh))
n_test = len(hh) // 5
test_i, train_i = perm[:n_test], perm[n_test:]


def mk(t):
    p = aitl.PreferencePair()
    p.prompt, p.chosen, p.rejected = t
    return p


hp_train = [mk(hh[i]) for i in train_i]
hp_test = [mk(hh[i]) for i in test_i]
hrm = aitl.RewardModel({"validation_fraction": 0.2, "seed": SEED})
hsum = hrm.train(hp_train)
acc = hrm.accuracy(hp_test)
hrm_b = aitl.RewardModel({"validation_fraction": 0.2, "seed": SEED})
hrm_b.train(hp_train)


def longer_acc(ps, unit):
    s = 0.0
    for p in ps:
        a, b = unit(p.chosen), unit(p.rejected)
        s += 1.0 if a > b else 0.5 if a == b else 0.0
    return s / len(ps)


out["hh_rlhf"] = {
    "pairs": {"usable": len(hh), "of_lines": len(rows), "train": len(hp_train), "test": len(hp_test)},
    "train_summary": {k: hsum[k] for k in ("epochs_run", "best_epoch", "best_validation", "stopped_early")},
    "accuracy": acc, "train_accuracy": hrm.accuracy(hp_train),
    "always_longer_words": longer_acc(hp_test, lambda s: len(s.split())),
    "always_longer_chars": longer_acc(hp_test, len),
    "deterministic_bytes": hrm.to_bytes() == hrm_b.to_bytes(),
    "weights": dict(zip(aitl.RewardModel.feature_names(), [round(w, 3) for w in hrm.weights])),
    "seconds": round(time.time() - t0, 1),
}
print(json.dumps(out["hh_rlhf"], indent=1), flush=True)
json.dump(out, open(f"/tmp/reward_eval_seed{SEED}.json", "w"), indent=1)
