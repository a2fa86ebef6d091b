"""aitl.RewardModel: Bradley-Terry reward model over reply features (learn/reward_model.hpp)."""
from __future__ import annotations

import math
import random

import pytest

import aitl

TOPICS = ["password reset", "refund card", "hotel parking", "train ticket", "wifi router",
          "bank transfer", "museum hours", "taxi booking"]


def planted(n: int, seed: int):
    rng = random.Random(seed)
    pairs, refs = [], []
    for i in range(n):
        a, b = rng.sample(range(len(TOPICS)), 2)
        p = aitl.PreferencePair()
        p.prompt = f"hello\nhow does the {TOPICS[a]} work?"
        p.chosen = f"The {TOPICS[a]} works online. [d{a}]"
        p.rejected = f"Sadly the {TOPICS[b]} is closed today and tomorrow as well. [d{b}]"
        p.weight = 1.0 + i % 3
        r = [f"[d{a}] All about the {TOPICS[a]}: it works online.",
             f"[d{b}] All about the {TOPICS[b]}: closed today."]
        rng.shuffle(r)
        pairs.append(p)
        refs.append(r)
    return pairs, refs


def test_learns_a_planted_preference_and_reports_progress():
    pairs, refs = planted(200, 1)
    test, test_refs = planted(100, 2)
    rm = aitl.RewardModel()
    seen = []
    summary = rm.train(pairs, refs, test, test_refs, progress=lambda p: seen.append(p["loss"]))
    assert rm.trained
    assert len(seen) == summary["epochs_run"] >= 1
    assert summary["best_validation"] > 0.95
    assert rm.accuracy(test, test_refs) > 0.95
    p, r = test[0], test_refs[0]
    assert rm.choose(p.prompt, [p.rejected, p.chosen], r) == 1
    assert rm.score(p.prompt, p.chosen, r) > rm.score(p.prompt, p.rejected, r)
    names = aitl.RewardModel.feature_names()
    f = rm.features("q\nhow does the password reset work?", "Reset it. [d0] [zz]", ["[d0] password reset help"])
    assert len(f) == len(names)
    assert f[names.index("citation_validity")] == pytest.approx(0.5)


def test_same_data_gives_identical_bytes_and_save_load_round_trips(tmp_path):
    pairs, refs = planted(150, 3)
    a = aitl.RewardModel({"validation_fraction": 0.2, "seed": 7})
    b = aitl.RewardModel({"validation_fraction": 0.2, "seed": 7})
    a.train(pairs, refs)
    b.train(pairs, refs)
    assert a.to_bytes() == b.to_bytes()
    a.save(tmp_path / "rm.json")
    c = aitl.RewardModel.load(tmp_path / "rm.json")
    assert c.to_bytes() == a.to_bytes()
    assert aitl.RewardModel.from_bytes(a.to_bytes()).weights == a.weights
    assert c.config["seed"] == 7


def test_document_relevance_sets_cited_prior_and_is_saved():
    rm = aitl.RewardModel({"prior_strength": 2.0})
    k = aitl.RewardModel.feature_names().index("cited_prior")
    refs = ["[good] Parking\nFree parking.", "[bad] Museum\nOpen at nine."]
    assert rm.features("q\nparking?", "Yes. [good]", refs)[k] == 0.0
    rm.set_document_relevance({"q1": {"good": 1, "bad": 0}, "q2": {"good": 2, "bad": 0, "other": 1}})
    assert rm.document_relevance == {"good": (2.0, 2.0), "bad": (0.0, 2.0), "other": (1.0, 1.0)}
    assert rm.features("q\nparking?", "Yes. [good]", refs)[k] == pytest.approx(0.8)  # (2 + 2 * 0.6) / 4
    assert rm.features("q\nparking?", "Yes. [bad]", refs)[k] == pytest.approx(0.3)
    back = aitl.RewardModel.from_bytes(rm.to_bytes())
    assert back.document_relevance == rm.document_relevance
    assert back.to_bytes() == rm.to_bytes()
    with pytest.raises(aitl.ConfigError):
        aitl.RewardModel({"prior_strength": 0.0})


def test_training_leaves_each_pairs_own_relevance_labels_out():
    """cited_prior in training uses the evidence without the pair's own query (query_id): a pair
    whose cited document only its own query judged gets the prior, not its own label."""
    rm = aitl.RewardModel({"prior_strength": 2.0})
    k = aitl.RewardModel.feature_names().index("cited_prior")
    rm.set_document_relevance({"q1": {"own": 1}, "q2": {"other": 0}, "q3": {"third": 1}})
    assert rm.relevance_judgements == {"q1": {"own": 1}, "q2": {"other": 0}, "q3": {"third": 1}}
    refs = ["[own] Parking\nFree parking.", "[other] Museum\nOpen at nine."]
    served = rm.features("q\nparking?", "Yes. [own]", refs)[k]
    assert served == pytest.approx((1 + 2 * 2 / 3) / 3)  # its own label counts when serving
    assert rm.features("q\nparking?", "Yes. [own]", refs, leave_out="q1")[k] == pytest.approx(0.5)

    # every pair cites documents judged only by its own case: leaked labels would separate them all
    judgements, pairs, prefs = {}, [], []
    for i in range(40):
        q = f"case-{i}"
        judgements[q] = {f"g{i}": 1, f"b{i}": 0}
        p = aitl.PreferencePair()
        p.prompt, p.chosen, p.rejected = "hi\nwhat about it?", f"See this. [g{i}]", f"See this. [b{i}]"
        p.query_id = q
        pairs.append(p)
        prefs.append([f"[g{i}] Article\nAll about it.", f"[b{i}] Article\nAll about it."][:: 1 if i % 2 else -1])
    assert pairs[0].to_dict()["query_id"] == "case-0"
    loo = aitl.RewardModel()
    loo.set_document_relevance(judgements)
    loo.train(pairs, prefs)
    assert loo.weights[aitl.RewardModel.feature_names().index("cited_prior")] == 0.0
    assert loo.accuracy(pairs, prefs) == pytest.approx(0.5)
    for p in pairs:
        p.query_id = ""
    leaky = aitl.RewardModel()
    leaky.set_document_relevance(judgements)
    leaky.train(pairs, prefs)
    assert leaky.accuracy(pairs, prefs) == 1.0  # without query ids the labels leak
    back = aitl.RewardModel.from_bytes(loo.to_bytes())
    assert back.relevance_judgements == loo.relevance_judgements and back.to_bytes() == loo.to_bytes()


def test_compiled_pairs_carry_the_query_id_of_their_case(tmp_path):
    """compile_preferences names each pair's case as compile_qrels keys it (case id, "#turn" after turn 0)."""
    with aitl.SqliteStore(tmp_path / "s.db", durability="normal") as store:
        for turn in (0, 2):
            store.append({"type": "impression", "id": f"imp-{turn}", "case_id": "case-7", "turn": turn,
                          "timestamp_ms": 1 + turn, "query": f"refund {turn}?", "context": [],
                          "retrieved": [{"doc_id": "d1", "rank": 1, "score": 1.0}],
                          "shown": [{"doc_id": "d1", "rank": 1, "score": 1.0}],
                          "replies": [{"variant": "top1", "position": "left", "text": "Yes [d1]"},
                                      {"variant": "top3", "position": "right", "text": "No"}],
                          "models": {"retriever": "bm25@0"}})
            store.append({"type": "preference", "impression_id": f"imp-{turn}", "annotator": "agent-1",
                          "timestamp_ms": 10 + turn, "time_to_annotate_ms": 5, "weight": 1.0,
                          "choice": "a", "strength": "clear", "rationale": ""})
        pairs = aitl.compile_preferences(store).pairs
    assert sorted(p.query_id for p in pairs) == ["case-7", "case-7#2"]


def test_callback_can_stop_training():
    pairs, refs = planted(50, 4)
    rm = aitl.RewardModel()
    summary = rm.train(pairs, refs, progress=lambda p: False)
    assert summary["cancelled"] and summary["epochs_run"] == 1


def test_errors():
    with pytest.raises(aitl.ConfigError):
        aitl.RewardModel({"l2": -1.0})
    with pytest.raises(aitl.ConfigError):
        aitl.RewardModel({"no_such_key": 1})
    with pytest.raises(aitl.ConfigError):
        aitl.RewardModel({"validation_fraction": 1.0})
    rm = aitl.RewardModel()
    with pytest.raises(aitl.ConfigError):
        rm.train([])
    pairs, refs = planted(4, 1)
    with pytest.raises(aitl.DimensionError):
        rm.train(pairs, [["x"]])
    with pytest.raises(aitl.ConfigError):
        rm.choose("q", [], [])
    with pytest.raises(aitl.ParseError):
        aitl.RewardModel.from_bytes(b"not json")
    with pytest.raises(aitl.IoError):
        aitl.RewardModel.load("/nonexistent/dir/rm.json")
    assert math.isnan(rm.accuracy([]))


def test_dstc11_protocol_beats_always_longer(tmp_path):
    """bench/bench_reward.py's DSTC11 protocol, one seed, 500 queries per half. The held-out
    judges weigh replies by answer content (Simulator.judge_quality), not by the annotators'
    formula the model learns from, so the margins over the baselines are smaller than on the
    annotators' own preferences."""
    import importlib.util
    import os
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    src = Path(os.environ.get("AITL_DATA_DIR", repo.parent / "shared" / "data")) / "dstc11-track5"
    if not src.is_dir():
        pytest.skip(f"DSTC11 Track 5 not found at {src} (set AITL_DATA_DIR to the folder holding dstc11-track5)")
    from aitl import beir, dstc11

    dstc11.convert(src, tmp_path / "dstc11", history_turns=3)
    spec = importlib.util.spec_from_file_location("bench_reward", repo / "bench" / "bench_reward.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    r = bench.dstc11_protocol(beir.load(tmp_path / "dstc11"), 1, tmp_path, max_queries=500)
    acc = r["accuracy"]
    assert r["eval_non_tied"] > 100
    assert r["deterministic_bytes"]
    assert acc["model"] > acc["always_longer"] + 0.15, acc
    assert acc["model"] > acc["always_top1"] + 0.03, acc
    assert acc["model"] > acc["always_left"] + 0.05, acc
    assert acc["model"] <= acc["quality_oracle"] + 0.05, acc
