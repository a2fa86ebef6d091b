"""Paired significance tests, gated promotion and the retraining scheduler (bind_flywheel)."""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

import aitl
from aitl import learn


def brute_force_p(base, chall) -> float:
    d = np.asarray(chall, float) - np.asarray(base, float)
    obs, eps = abs(d.sum()), 1e-10 * np.abs(d).sum()
    hits = sum(abs(np.dot(s, d)) >= obs - eps for s in itertools.product((1.0, -1.0), repeat=d.size))
    return hits / 2 ** d.size


def graded(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 9, n) / 8.0


def improved(base, step: float, share: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.asarray(base, float).copy()
    mask = rng.random(out.size) < share
    out[mask] = np.clip(out[mask] + step, 0.0, 1.0)
    return out


# ---------------------------------------------------------------------------------------------
# significance
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exact_permutation_p_equals_enumeration(seed: int):
    b = graded(11, seed)
    c = improved(b, 0.25, 0.6, seed + 10)
    r = aitl.paired_test(b, c)
    assert r["exact"] and r["rounds"] == 0 and r["method"] == "permutation"
    assert r["p_value"] == pytest.approx(brute_force_p(b, c), abs=1e-12)
    mc = aitl.paired_test(b, c, rounds=100000, exact_max=0, seed=seed)
    assert not mc["exact"] and abs(mc["p_value"] - r["p_value"]) < 0.006


def test_paired_test_result_shape_determinism_and_inputs():
    b, c = graded(500, 4), improved(graded(500, 4), 0.125, 0.3, 5)
    r = aitl.paired_test(b, c, seed=3)
    assert set(r) == {"mean_base", "mean_challenger", "mean_diff", "ci_low", "ci_high", "p_value", "n",
                      "ties", "method", "exact", "rounds", "confidence"}
    assert r["n"] == 500 and r["mean_diff"] == pytest.approx(float(np.mean(c - b)))
    assert r["mean_base"] == pytest.approx(float(b.mean())) and r["p_value"] < 1e-3
    assert r["ties"] == int(np.sum(c == b))
    assert aitl.paired_test(list(b), list(c), seed=3) == r  # lists and arrays alike
    assert aitl.paired_test(b.astype(np.float32), c.astype(np.float32), seed=3)["n"] == 500
    for method in ("permutation", "bootstrap"):
        assert aitl.paired_test(b, c, method=method, seed=9) == aitl.paired_test(b, c, method=method, seed=9)
    empty = aitl.paired_test([], [])
    assert empty["n"] == 0 and empty["p_value"] == 1.0


def test_bootstrap_interval_covers_the_true_difference():
    rng = np.random.default_rng(0)
    covered = 0
    for t in range(30):
        b = rng.normal(0, 0.2, 300)
        c = b + 0.05 + rng.normal(0, 0.2, 300)
        r = aitl.paired_test(b, c, method="bootstrap", rounds=2000, seed=t)
        assert r["ci_low"] <= r["mean_diff"] <= r["ci_high"]
        covered += r["ci_low"] <= 0.05 <= r["ci_high"]
    assert covered >= 25  # 95% nominal


def test_learn_paired_bootstrap_runs_on_the_cpp_bootstrap():
    base = [0.0, 0.5, 1.0, 0.2] * 10
    trained = [0.5, 0.5, 1.0, 0.6] * 10
    lo, hi = learn.paired_bootstrap(base, trained, 1000, seed=0)
    r = aitl.paired_test(base, trained, method="bootstrap", rounds=1000, seed=0, confidence=0.95)
    assert [lo, hi] == [r["ci_low"], r["ci_high"]]
    assert lo <= 0.225 <= hi and lo > 0
    assert learn.paired_bootstrap([], []) == [0.0, 0.0]


def test_paired_test_errors():
    with pytest.raises(aitl.DimensionError, match="differ in length"):
        aitl.paired_test([1, 2], [1])
    with pytest.raises(aitl.DimensionError, match="not finite"):
        aitl.paired_test([1, float("nan")], [1, 2])
    with pytest.raises(aitl.DimensionError, match="1-D"):
        aitl.paired_test(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(aitl.ConfigError, match="unknown method"):
        aitl.paired_test([1], [2], method="t-test")
    with pytest.raises(aitl.ConfigError, match="rounds"):
        aitl.paired_test([1], [2], rounds=0)
    with pytest.raises(aitl.ConfigError, match="confidence"):
        aitl.paired_test([1], [2], confidence=1.5)
    with pytest.raises(aitl.ConfigError, match="exact_max"):
        aitl.paired_test([1], [2], exact_max=30)
    with pytest.raises(TypeError):
        aitl.paired_test("abc", "abd")


def test_sign_test_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for w, l in [(60, 40), (8, 2), (0, 10), (3, 3), (1, 0), (530, 470), (12, 30)]:
        assert aitl.sign_test(w, l) == pytest.approx(stats.binomtest(w, w + l).pvalue, rel=1e-9), (w, l)
    assert aitl.sign_test(0, 0) == 1.0
    with pytest.raises(aitl.ConfigError):
        aitl.sign_test(-1, 3)


# ---------------------------------------------------------------------------------------------
# gate
# ---------------------------------------------------------------------------------------------

def system(n_fresh=200, n_guard=150, seed=1):
    rng = np.random.default_rng(seed)
    g = lambda n: rng.integers(0, 9, n) / 8.0  # noqa: E731
    return {"fresh": {"recall@75": g(n_fresh), "precision@8": g(n_fresh)},
            "guard": {m: g(n_guard) for m in ("ndcg@10", "mrr@10", "recall@75", "precision@8")}}


def better_than(champ):
    out = {"fresh": dict(champ["fresh"]), "guard": dict(champ["guard"])}
    out["fresh"]["recall@75"] = improved(champ["fresh"]["recall@75"], 0.25, 0.5, 2)
    out["fresh"]["precision@8"] = improved(champ["fresh"]["precision@8"], 0.125, 0.5, 3)
    return out


def test_gate_promotes_a_clearly_better_challenger():
    champ = system()
    d = aitl.gate(champ, better_than(champ))
    assert d.promote and bool(d)
    assert re.match(r"promoted: recall@75 \+0\.098 \(p=0\.0001\), precision@8 \+0\.052 \(p=0\.0001\) on fresh "
                    r"\(200 queries\); no guard regression beyond 0\.01 \(150 guard queries\)$", d.reason), d.reason
    assert d.deciding_metric == "recall@75" and d.fresh_queries == 200 and d.guard_queries == 150
    dd = d.to_dict()
    assert dd["promote"] is True and len(dd["fresh"]) == 2 and len(dd["guard"]) == 4
    assert dd["fresh"][0]["result"]["p_value"] < 0.001 and dd["fresh"][0]["better"] is True
    md = d.to_markdown()
    assert md.startswith("**promoted**") and "| fresh | recall@75 | 200 |" in md
    assert "GateDecision(promote=True" in repr(d)


def test_gate_rejects_an_inverted_ranking_naming_recall():
    champ = system(seed=5)
    chall = better_than(champ)
    chall["fresh"]["recall@75"] = champ["fresh"]["recall@75"] * 0.4
    d = aitl.gate(champ, chall)
    assert not d.promote
    assert d.reason.startswith("rejected: recall@75 on fresh fell 0.")
    assert "(diff -0." in d.reason and "p=" in d.reason
    assert d.deciding_metric == "recall@75" and d.deciding_set == "fresh"


def test_gate_rejects_guard_regression_and_too_few_queries():
    champ = system(seed=9)
    chall = better_than(champ)
    chall["guard"]["mrr@10"] = improved(champ["guard"]["mrr@10"], -0.25, 0.4, 4)
    d = aitl.gate(champ, chall)
    assert not d.promote and d.guard_regressions == ["mrr@10"]
    assert d.reason.startswith("rejected: guard regression: mrr@10 on guard fell")
    assert aitl.gate(champ, chall, aitl.GateConfig(tolerances={"mrr@10": 0.5})).promote

    small = system(n_fresh=12, seed=2)
    d = aitl.gate(small, better_than(small))
    assert not d.promote
    assert d.reason == "rejected: too few fresh queries (got 12, expected at least 30)"
    assert aitl.gate(small, better_than(small), {"min_queries": 10}).promote


def test_gate_config_fields_round_trip_and_errors():
    c = aitl.GateConfig(alpha=0.01, tolerance=0.02, seed=4)
    assert c.primary == ["recall@75", "precision@8"] and c.require == "all" and c.rounds == 10000
    assert c.guard == ["ndcg@10", "mrr@10", "recall@75", "precision@8"] and c.min_queries == 30
    assert aitl.GateConfig.from_dict(c.to_dict()) == c
    assert c.to_dict()["alpha"] == 0.01 and "GateConfig(" in repr(c)
    bad = [dict(primary=[]), dict(primary=["recall@75", "recall@75"]), dict(guard=["ndcg@10"] * 2),
           dict(require="most"), dict(alpha=0.0), dict(alpha=0.7), dict(method="t"), dict(rounds=0),
           dict(tolerance=-1.0), dict(tolerances={"map": 0.1}), dict(tolerances={"ndcg@10": -0.1}),
           dict(min_queries=0)]
    for kw in bad:
        with pytest.raises(aitl.ConfigError):
            aitl.GateConfig(**kw)
    with pytest.raises(aitl.ConfigError, match="unknown key"):
        aitl.GateConfig.from_dict({"threshold": 1})
    with pytest.raises(aitl.ConfigError):
        aitl.GateConfig.from_dict({"alpha": "x"})
    c.require = "most"  # attributes are checked when used
    with pytest.raises(aitl.ConfigError, match="require"):
        aitl.gate(system(), system(), c)
    with pytest.raises(TypeError):
        aitl.gate(system(), system(), 3)


def test_gate_input_errors():
    champ = system()
    missing = {"fresh": {"recall@75": champ["fresh"]["recall@75"]}, "guard": champ["guard"]}
    with pytest.raises(aitl.ConfigError, match="precision@8"):
        aitl.gate(champ, missing)
    short = better_than(champ)
    short["fresh"]["precision@8"] = short["fresh"]["precision@8"][:-1]
    with pytest.raises(aitl.DimensionError, match="differ in length"):
        aitl.gate(champ, short)
    with pytest.raises(aitl.ConfigError, match="unknown key"):
        aitl.gate(champ, {"fresh": {}, "holdout": {}})
    with pytest.raises(TypeError):
        aitl.gate(champ, [1, 2])


def test_gate_on_bm25_vs_an_inverted_bm25_ranking(dstc11_beir: Path):
    """Real per-query numbers: BM25 top-75 vs the bottom 75 of BM25's top 300, reversed."""
    from aitl import beir

    ds = beir.load(dstc11_beir, split="test")
    qids = sorted(ds.qrels)[:400]
    fresh_q, guard_q = qids[:200], qids[200:]
    bm25 = aitl.BM25()
    bm25.add_documents(ds.kb)
    metrics = ["recall@75", "precision@8", "ndcg@10", "mrr@10"]

    def per_query(runs):
        out = {}
        for name, qs in (("fresh", fresh_q), ("guard", guard_q)):
            res = aitl.evaluate({q: ds.qrels[q] for q in qs}, {q: runs[q] for q in qs}, metrics)
            out[name] = {m: [res.per_query[q][m] for q in qs] for m in metrics}
        return out

    hits = dict(zip(qids, bm25.search_batch([ds.queries[q] for q in qids], 300)))
    good = {q: [aitl.Hit(h.id, float(75 - i)) for i, h in enumerate(hits[q][:75])] for q in qids}
    weak = {q: [aitl.Hit(h.id, float(75 - i)) for i, h in enumerate(hits[q][::-1][:75])] for q in qids}
    champ, chall = per_query(good), per_query(weak)
    d = aitl.gate(champ, chall)
    assert not d.promote
    assert d.deciding_metric == "recall@75", d.reason
    assert d.reason.startswith("rejected: recall@75 on fresh fell")
    r = d.to_dict()["fresh"][0]["result"]
    assert r["mean_base"] > 0.3 and r["mean_diff"] < -0.2 and r["p_value"] < 1e-3
    # the other way round the better system is promoted
    up = aitl.gate(chall, champ)
    assert up.promote, up.reason


# ---------------------------------------------------------------------------------------------
# scheduler
# ---------------------------------------------------------------------------------------------

def ann(kind: str, ts: int = 1000, **body):
    return {"type": kind, "impression_id": "imp-1", "annotator": "agent-1", "timestamp_ms": ts, **body}


def test_scheduler_count_triggers():
    s = aitl.Scheduler(aitl.SchedulerConfig(
        min_counts={"knowledge_relevance": 10, "preference": 5, "adoption": 5}, cadence_ms=0))
    st = aitl.SchedulerState()
    rel = ann("knowledge_relevance", labels=[{"doc_id": "d1", "relevant": True}])
    st.observe([rel] * 9)
    d = s.due(st, 2000)
    assert not d.run and not d and d.retrain == []
    assert any("9 new knowledge_relevance annotations since the last run (threshold 10)" in r for r in d.reasons)
    st.observe(rel)
    d = s.due(st, 2000)
    assert d.run and d.retrain == ["encoder", "reranker"]
    assert d.reasons == ["count: 10 new knowledge_relevance annotations since the last run (threshold 10)"
                         " -> encoder, reranker"]
    assert d.to_dict() == {"run": True, "retrain": ["encoder", "reranker"], "reasons": d.reasons}
    pref = aitl.SchedulerState()
    pref.observe([ann("preference", choice="a")] * 5)
    assert s.due(pref, 0).retrain == ["reward_model"]
    assert pref.counts == {"preference": 5, "adoption": 0, "knowledge_relevance": 0, "missing_knowledge": 0}
    st.record_run(3000)
    assert st.last_run_ms == 3000 and st.counts["knowledge_relevance"] == 0
    assert not s.due(st, 4000).run


def test_scheduler_cadence_and_drift_triggers():
    s = aitl.Scheduler({"min_counts": {}, "cadence_ms": 3_600_000})
    st = aitl.SchedulerState()
    st.observe(ann("adoption", ts=1_000_000, outcome="used_as_is"))
    assert not s.due(st, 1_000_000 + 3_500_000).run
    d = s.due(st, 1_000_000 + 3_600_000)
    assert d.run and d.retrain == ["encoder", "reranker", "reward_model"]
    assert d.reasons[0].startswith("cadence: 1.0 h since the first annotation (cadence 1.0 h)")

    drift = aitl.Scheduler(aitl.SchedulerConfig(min_counts={}, cadence_ms=0, drift_min_window=50,
                                                drift_threshold=0.1))
    st = aitl.SchedulerState()
    st.observe([ann("adoption", outcome="used_as_is")] * 40 + [ann("adoption", outcome="not_used")] * 10)
    st.record_run(1)  # baseline adoption rate 0.8
    st.observe([ann("adoption", outcome="used_with_edits", final_text="x")] * 36
               + [ann("adoption", outcome="not_used")] * 14)  # 0.72: drop 0.08
    d = drift.due(st, 2)
    assert not d.run and any("adoption rate 0.800 -> 0.720 (drop 0.080" in r for r in d.reasons)
    st.observe([ann("adoption", outcome="not_used")] * 5)  # 36/55 = 0.655
    d = drift.due(st, 2)
    assert d.run and d.retrain == ["encoder", "reranker", "reward_model"]
    assert d.reasons[0].startswith("drift: adoption rate 0.800 -> 0.655 (drop 0.145")


def test_scheduler_state_and_config_round_trip_and_errors():
    st = aitl.SchedulerState()
    st.observe(ann("knowledge_relevance", labels=[{"doc_id": "a", "relevant": True},
                                                  {"doc_id": "b", "relevant": False}]))
    st.observe(aitl.Annotation.from_dict(ann("missing_knowledge", description="pet policy")))
    st.record_run(50)
    st.observe(ann("adoption", ts=60, outcome="not_used"))
    back = aitl.SchedulerState.from_dict(st.to_dict())
    assert back == st and back.to_dict()["baseline"]["relevance"]["rate"] == 0.5
    c = aitl.SchedulerConfig(min_counts={"adoption": 3}, cadence_ms=5)
    assert aitl.SchedulerConfig.from_dict(c.to_dict()) == c
    assert aitl.Scheduler(c).config == c
    for kw in (dict(min_counts={"relevance": 5}), dict(min_counts={"adoption": -1}), dict(cadence_ms=-1),
               dict(drift_threshold=0.0), dict(drift_threshold=2.0), dict(drift_min_window=-1)):
        with pytest.raises(aitl.ConfigError):
            aitl.SchedulerConfig(**kw)
    with pytest.raises(aitl.ConfigError, match="unknown key"):
        aitl.SchedulerConfig.from_dict({"cadence": 1})
    with pytest.raises(aitl.ConfigError):
        aitl.SchedulerState.from_dict({"counts": {"likes": 1}})
    with pytest.raises(aitl.ConfigError):
        st.observe({"type": "adoption", "impression_id": "i"})  # annotator, timestamp missing
    with pytest.raises(TypeError):
        st.observe(5)
    with pytest.raises(TypeError):
        aitl.Scheduler(7)
