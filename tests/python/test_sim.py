"""Simulated agents (aitl.sim) on DSTC11 Track 5 served by the BM25 base system: the agents'
labels, preferences, adoption and gap flags match the configured rates."""
from __future__ import annotations

import copy
import dataclasses
import random
from collections import Counter
from pathlib import Path

import pytest

import aitl
from aitl import beir, sim

REPO = Path(__file__).resolve().parents[2]
HELPCENTRE = REPO / "examples" / "data" / "helpcentre"
EXACT = dict(skip_rate=0.0, noise=0.0, position_bias=0.0)


@pytest.fixture(scope="module")
def d11(dstc11_beir: Path) -> beir.BeirDataset:
    return beir.load(dstc11_beir)


@pytest.fixture(scope="module")
def served(d11):
    """Every judged query of DSTC11 served once by the base system over the whole corpus."""
    system = sim.BaseSystem(d11.kb, seed=3)
    return system.serve_many(d11.queries.items())


def agents(ds, seed=0, kb_doc_ids=None, **params) -> sim.Simulator:
    return sim.Simulator.from_dataset(ds, kb_doc_ids=kb_doc_ids, seed=seed,
                                      config=sim.SimConfig(**params))


def of_kind(annotations, kind):
    return [a for a in annotations if a["type"] == kind]


def label_errors(ds, imps, annotations):
    """(labels that disagree with the qrels, labels) over the relevance annotations."""
    case = {imp["id"]: imp["case_id"] for imp in imps}
    wrong = total = 0
    for a in of_kind(annotations, "knowledge_relevance"):
        rel = ds.qrels.get(case[a["impression_id"]], {})
        for label in a["labels"]:
            total += 1
            wrong += label["relevant"] != (rel.get(label["doc_id"], 0) > 0)
    return wrong, total


# -- the base system ------------------------------------------------------------------------


def test_base_system_serves_impressions_in_the_json_form(d11, served):
    assert len(served) == 2_129
    imp = served[0]
    assert imp["id"] == "imp-3-0" and imp["case_id"] == "val-1"
    assert imp["models"] == {"retriever": "bm25@0", "reranker": "identity@0",
                             "generator": "extractive@0"}
    assert [s["id"] for s in served[:3]] == ["imp-3-0", "imp-3-1", "imp-3-2"]
    stamps = [s["timestamp_ms"] for s in served]
    assert stamps[0] >= sim.EPOCH_MS and all(a < b for a, b in zip(stamps, stamps[1:]))
    lefts = 0
    for s in served:
        assert len(s["retrieved"]) == 75 and s["shown"] == s["retrieved"][:8]
        assert [c["rank"] for c in s["retrieved"]] == list(range(1, 76))
        assert [r["variant"] for r in s["replies"]] == ["top1", "top3"]
        assert {r["position"] for r in s["replies"]} == {"left", "right"}
        lefts += s["replies"][0]["position"] == "left"
        shown = [c["doc_id"] for c in s["shown"]]
        assert sim.citations(s["replies"][0]["text"]) == shown[:1]
        assert sim.citations(s["replies"][1]["text"]) == shown[:3]
    assert abs(lefts / len(served) - 0.5) < 0.03  # positions are randomised
    # BM25 over the whole corpus retrieves a relevant document for most queries (0.884)
    found = sum(any(c["doc_id"] in d11.qrels[s["case_id"]] for c in s["retrieved"]) for s in served)
    assert 0.85 < found / len(served) < 0.92


def test_base_system_is_reproducible(d11, served):
    again = sim.BaseSystem(d11.kb, seed=3)
    assert [again.serve(c, q) for c, q in list(d11.queries.items())[:50]] == served[:50]
    other = sim.BaseSystem(d11.kb, seed=4).serve_many(list(d11.queries.items())[:50])
    assert [s["id"] for s in other][:2] == ["imp-4-0", "imp-4-1"]
    assert [s["timestamp_ms"] for s in other] != [s["timestamp_ms"] for s in served[:50]]


def test_extractive_replies_on_the_help_centre():
    ds = beir.load(HELPCENTRE)
    system = sim.BaseSystem(ds.kb, seed=0, k_retrieve=10, k_show=4)
    imp = system.serve("q02", ds.queries["q02"])
    assert len(imp["retrieved"]) <= 10 and len(imp["shown"]) == 4
    assert [c["doc_id"] for c in imp["shown"]][:3] == ["delivery-times", "international-shipping",
                                                      "delivery-costs"]
    texts = {r["variant"]: r["text"] for r in imp["replies"]}
    assert texts["top1"] == (
        "Standard delivery takes 3 to 5 working days. Express delivery arrives the next working "
        "day when you order before 2 pm. [delivery-times]")
    assert texts["top3"].startswith(
        "Standard delivery takes 3 to 5 working days. [delivery-times] ")
    assert texts["top3"].endswith(" [delivery-costs]")
    nothing = system.serve("q-none", "zzzz qqqq")
    assert nothing["shown"] == [] and nothing["replies"][0]["text"] == nothing["replies"][1]["text"]


# -- knowledge relevance -----------------------------------------------------------------------


def test_noise_zero_labels_equal_the_qrels(d11, served):
    sims = agents(d11, **EXACT)
    anns = sims.annotate_many(served)
    rel_anns = of_kind(anns, "knowledge_relevance")
    assert len(rel_anns) == len(served)  # no skips, every impression shows 8 references
    wrong, total = label_errors(d11, served, anns)
    assert (wrong, total) == (0, 8 * 2_129)
    shown = {imp["id"]: {c["doc_id"] for c in imp["shown"]} for imp in served}
    case = {imp["id"]: imp["case_id"] for imp in served}
    n_selected = 0
    for a in rel_anns:
        for d in a["selected"]:
            n_selected += 1
            assert d not in shown[a["impression_id"]] and d11.qrels[case[a["impression_id"]]][d] > 0
    # select_probability 0.3 of the impressions with a relevant document not shown (all of them
    # but a few: DSTC11 queries have 4 relevant documents on average)
    assert 0.27 < n_selected / len(served) < 0.33


@pytest.mark.parametrize("p", [0.1, 0.25])
def test_noise_p_gives_disagreement_p(d11, served, p):
    wrong, total = label_errors(d11, served, agents(d11, seed=11, noise=p).annotate_many(served))
    assert total > 15_000
    assert abs(wrong / total - p) < 0.02


def test_noise_spread_spreads_the_agents_rates(d11, served):
    sims = agents(d11, seed=5, noise=0.15, noise_spread=0.1)
    rates = sorted(a.noise for a in sims.agents)
    assert rates[0] == pytest.approx(0.05) and rates[-1] == pytest.approx(0.25)
    assert sum(rates) / len(rates) == pytest.approx(0.15)
    assert all(a.noise == 0.05 for a in agents(d11).agents)  # default: no spread
    wrong, total = label_errors(d11, served, sims.annotate_many(served))
    assert abs(wrong / total - 0.15) < 0.02
    clipped = agents(d11, noise=0.45, noise_spread=0.2).agents
    assert max(a.noise for a in clipped) == 0.5
    assert min(a.noise for a in clipped) == pytest.approx(0.25)


# -- preference and adoption -------------------------------------------------------------------


def identical_pairs(served, copies=2):
    """Impressions whose two replies have the same text (positions as served)."""
    out = []
    for k in range(copies):
        for imp in served:
            twin = copy.deepcopy(imp)
            twin["id"] = f"{imp['id']}-twin{k}"
            twin["replies"][1]["text"] = twin["replies"][0]["text"]
            out.append(twin)
    return out


@pytest.mark.parametrize("q", [0.0, 0.2])
def test_position_bias_on_equal_replies(d11, served, q):
    pairs = identical_pairs(served)
    sims = agents(d11, seed=7, skip_rate=0.0, position_bias=q)
    prefs = of_kind(sims.annotate_many(pairs), "preference")
    assert len(prefs) == len(pairs) == 4_258
    left_slot = {imp["id"]: "ab"[[r["position"] for r in imp["replies"]].index("left")]
                 for imp in pairs}
    left = sum(p["choice"] == left_slot[p["impression_id"]] for p in prefs)
    right = sum(p["choice"] in ("a", "b") and p["choice"] != left_slot[p["impression_id"]]
                for p in prefs)
    assert right == 0  # careful agents never prefer one of two equal replies on quality
    assert abs((left - right) / len(prefs) - q) < 0.03
    assert {p["choice"] for p in prefs} <= {"a", "b", "tie", "both_bad"}
    assert all(p["strength"] == "slight" for p in prefs if p["choice"] in ("a", "b"))


def test_judge_without_storing(d11, served):
    sims = agents(d11, seed=2, position_bias=0.2)
    imp = next(s for s in served if sims.quality(s["case_id"], s["replies"][0]["text"]) > 0.5)
    good = imp["replies"][0]["text"]
    verdicts = Counter(sims.judge(imp["case_id"], good, good, left="b", key=str(i))
                       for i in range(2_000))
    assert set(verdicts) <= {"b", "tie"}
    assert abs(verdicts["b"] / 2_000 - 0.2) < 0.03
    bad = "We are open every day. [restaurant:508:faq:0]"
    wins = Counter(sims.judge(imp["case_id"], good, bad, key=str(i)) for i in range(1_000))
    assert wins["a"] + wins["b"] == 1_000
    assert abs(wins["a"] / 1_000 - 0.95) < 0.03  # the agents' noise (0.05) flips the winner
    verdict = sims.judge(imp["case_id"], good, bad, key="x")
    assert all(sims.judge(imp["case_id"], good, bad, key="x") == verdict for _ in range(5))
    held_out = [a.id for a in sims.agents[:5]]
    assert sims.agent_for("imp-x", held_out).id in held_out
    with pytest.raises(aitl.ConfigError, match="left"):
        sims.judge("val-1", good, bad, left="middle")
    with pytest.raises(aitl.ConfigError, match="agent-99"):
        sims.agent_for("imp-x", ["agent-99"])


def test_preference_follows_quality_and_adoption_follows_preference(d11, served):
    sims = agents(d11, seed=4, **EXACT)
    anns = sims.annotate_many(served)
    by = {(a["impression_id"], a["type"]): a for a in anns}
    imps = {imp["id"]: imp for imp in served}
    choices = Counter()
    outcomes = Counter()
    for imp_id, imp in imps.items():
        pref, adopt = by[imp_id, "preference"], by[imp_id, "adoption"]
        qa, qb = (sims._quality(imp["case_id"], r["text"]) for r in imp["replies"])
        margin = qa.value - qb.value
        choices[pref["choice"]] += 1
        outcomes[adopt["outcome"]] += 1
        if not (qa.usable or qb.usable):
            assert pref["choice"] == "both_bad" and adopt["outcome"] == "not_used"
            assert adopt["reasons"] and adopt["rationale"]
        elif abs(margin) < sim.TIE_MARGIN:
            assert pref["choice"] == "tie"
        else:
            assert pref["choice"] == ("a" if margin > 0 else "b")
            expected = ("slight" if abs(margin) < sim.CLEAR_MARGIN else
                        "clear" if abs(margin) < sim.STRONG_MARGIN else "strong")
            assert pref["strength"] == expected
            assert adopt["reply"] == "ab".index(pref["choice"])
        chosen = (qa, qb)[adopt["reply"]]
        if adopt["outcome"] == "used_with_edits":
            assert chosen.usable and adopt["final_text"] == d11.responses[imp["case_id"]]
        elif adopt["outcome"] == "used_as_is":
            assert chosen.relevant_cited == len(chosen.cited) > 0
        else:
            assert not chosen.usable
            assert set(adopt["reasons"]) <= {"missing_information", "not_applicable",
                                              "hallucinated_detail", "wrong_reference"}
    assert sum(choices.values()) == 2_129 and choices["a"] > 100 and choices["b"] > 100
    assert choices["both_bad"] > 100 and outcomes["used_as_is"] > 50
    assert outcomes["used_with_edits"] > outcomes["used_as_is"]


def test_quality_formula():
    rel = {"d1", "d2"}
    assert sim.reply_quality("Yes [d1] and no [d3]", rel) == 0.5
    assert sim.reply_quality("nothing cited", rel) == 0.0
    assert sim.reply_quality("Yes [d1] [sic]", rel, known={"d1", "d3"}) == 1.0
    assert sim.token_f1("the cat sat [d1]", "The cat sat.") == 1.0
    assert sim.token_f1("a b", "c d") == 0.0
    assert sim.reply_quality("the cat [d2]", rel, reference="the cat sat on it") == pytest.approx(
        1.0 + 2 * (2 / 2) * (2 / 5) / (1 + 2 / 5))


def test_judges_weigh_replies_with_their_own_quality_function():
    """Judges (who measure helpfulness) do not use the annotators' formula that the reward model
    learns from: on a pair where the two functions disagree, annotators and judges disagree."""
    docs = [aitl.Document("refund-policy", "Refunds", "Refunds are paid to the original card within five days."),
            aitl.Document("opening-hours", "Opening hours", "The shop opens at nine.")]
    qrels = {"c1": {"refund-policy": 1, "opening-hours": 0}}
    reference = "Your refund goes back to the original card within five days."
    sims = sim.Simulator(qrels, corpus=docs, responses={"c1": reference}, seed=3,
                         config=sim.SimConfig(**EXACT))
    # cites the right article but says nothing of the answer vs. gives the answer citing the wrong one
    cites_right = "Please see this article. [refund-policy]"
    answers = "The refund goes back to the original card within five days. [opening-hours]"
    assert sims.quality("c1", cites_right) > sims.quality("c1", answers) + sim.TIE_MARGIN
    assert sims.judge_quality("c1", answers) > sims.judge_quality("c1", cites_right) + sim.TIE_MARGIN
    imp = {"id": "imp-j1", "case_id": "c1", "timestamp_ms": 5, "query": "where is my refund?",
           "shown": [{"doc_id": "refund-policy", "rank": 1, "score": 2.0},
                     {"doc_id": "opening-hours", "rank": 2, "score": 1.0}],
           "replies": [{"variant": "top1", "text": cites_right, "position": "left"},
                       {"variant": "top3", "text": answers, "position": "right"}]}
    pref = of_kind(sims.annotate(imp), "preference")[0]
    assert pref["choice"] == "a"  # annotators: grounding + token F1
    verdicts = {sims.judge("c1", cites_right, answers, key=str(k)) for k in range(20)}
    assert verdicts == {"b"}  # judges: answer content, wrong-citation and length penalties
    # deterministic: the same (case, texts, left, key) gives the same verdict
    assert all(sims.judge("c1", cites_right, answers, left="b", key="x") ==
               sims.judge("c1", cites_right, answers, left="b", key="x") for _ in range(5))
    # the formula: content recall of the reference's content words, minus the penalties
    key = {"refund", "goes", "back", "original", "card", "within", "five", "days"}
    words = ["the", "refund", "goes", "back", "to", "the", "original", "card", "within", "five", "days"]
    assert sims.judge_quality("c1", answers) == pytest.approx(
        len(key) / len(key) - sim.JUDGE_CITATION_PENALTY * 1.0 - sim.JUDGE_LENGTH_PENALTY * len(words) / 100)
    assert sims.judge_quality("c1", cites_right) == pytest.approx(0.0 - sim.JUDGE_LENGTH_PENALTY * 4 / 100)


def test_edits_without_a_reference_reply_keep_the_grounded_sentences():
    ds = beir.load(HELPCENTRE)
    assert ds.responses is None
    sims = sim.Simulator.from_dataset(ds, config=sim.SimConfig(skip_rate=0.0, noise=0.0,
                                                               edit_probability=1.0))
    imp = {"id": "imp-h1", "case_id": "q01", "timestamp_ms": 5, "query": ds.queries["q01"],
           "shown": [{"doc_id": "track-order", "rank": 1, "score": 2.0},
                     {"doc_id": "delivery-costs", "rank": 2, "score": 1.0}],
           "replies": [{"variant": "x", "position": "right",
                        "text": "Open Orders to see the tracking link. [track-order] "
                                "Delivery is free over 50. [delivery-costs]"},
                       {"variant": "y", "position": "left",
                        "text": "Delivery is free over 50. [delivery-costs]"}]}
    by = {a["type"]: a for a in sims.annotate(imp)}
    assert by["preference"]["choice"] == "a" and by["preference"]["strength"] == "strong"
    assert by["adoption"]["outcome"] == "used_with_edits"
    assert by["adoption"]["final_text"] == "Open Orders to see the tracking link."
    assert by["adoption"]["reasons"] == ["wrong_reference"]
    assert by["knowledge_relevance"]["labels"] == [{"doc_id": "track-order", "relevant": True},
                                                   {"doc_id": "delivery-costs", "relevant": False}]
    assert "missing_knowledge" not in by


# -- missing knowledge -------------------------------------------------------------------------


def test_withheld_documents_are_flagged_as_missing_knowledge(d11):
    kept, withheld = sim.withhold(d11.kb.ids(), 0.5, seed=9)
    assert len(withheld) == 5_441 and len(kept) + len(withheld) == 10_882
    assert set(sim.withhold(reversed(d11.kb.ids()), 0.5, seed=9)[1]) == set(withheld)
    assert set(sim.withhold(d11.kb.ids(), 0.25, seed=9)[1]) < set(withheld)
    system = sim.BaseSystem(d11.kb, doc_ids=kept, seed=9)
    imps = system.serve_many(d11.queries.items())
    gone = set(withheld)
    assert not any(c["doc_id"] in gone for imp in imps for c in imp["retrieved"])
    missing = {q for q, docs in d11.qrels.items() if all(d in gone for d in docs)}
    # 466 for this seed (299 for seed 1): queries sharing relevant documents move together
    assert 400 < len(missing) < 550

    exact = agents(d11, seed=9, kb_doc_ids=kept, skip_rate=0.0, missing_report_probability=1.0)
    anns = exact.annotate_many(imps)
    case = {imp["id"]: imp["case_id"] for imp in imps}
    flagged = [a for a in of_kind(anns, "missing_knowledge")]
    assert {case[a["impression_id"]] for a in flagged} == missing
    assert len(flagged) == len(missing)
    for a in of_kind(anns, "knowledge_relevance"):
        assert not set(a["selected"]) & gone

    titles = {d.id: d.title for d in d11.kb}
    last_turn = {q: t.splitlines()[-1].strip() for q, t in d11.queries.items()}
    with_source = 0
    for a in flagged:
        q = case[a["impression_id"]]
        subjects = {titles[d] for d in d11.qrels[q]}
        words = last_turn[q].split()
        assert " ".join(words[:min(len(words), 25)]) in a["description"]
        # the subject (a withheld relevant document's title) is named, quoted or appended
        assert any(s.lower() in a["description"].lower() for s in subjects)
        if a["suggested_source"]:
            with_source += 1
            assert a["suggested_source"] in subjects
    assert abs(with_source / len(flagged) - 0.5) < 0.1

    default = agents(d11, seed=9, kb_doc_ids=kept, skip_rate=0.0)  # reports with p = 0.9
    n = len(of_kind(default.annotate_many(imps), "missing_knowledge"))
    assert abs(n / len(missing) - 0.9) < 0.05


# -- population, skips, careless agents ----------------------------------------------------------


def test_careless_agents_at_the_configured_share(d11, served):
    sims = agents(d11, seed=6, careless_share=0.25, skip_rate=0.0)
    careless = {a.id for a in sims.agents if a.careless}
    assert len(careless) == 5 and len(sims.agents) == 20
    assert [a.id for a in sims.agents][:2] == ["agent-01", "agent-02"]
    anns = sims.annotate_many(served)
    rel = of_kind(anns, "knowledge_relevance")
    by_careless = [a for a in rel if a["annotator"] in careless]
    assert abs(len(by_careless) / len(rel) - 0.25) < 0.03
    case = {imp["id"]: imp["case_id"] for imp in served}
    careless_wrong, careless_total = label_errors(d11, served, by_careless)
    assert abs(careless_wrong / careless_total - 0.5) < 0.03
    careful_wrong, careful_total = label_errors(
        d11, served, [a for a in rel if a["annotator"] not in careless])
    assert abs(careful_wrong / careful_total - 0.05) < 0.015
    # careless agents flag gaps at random although the whole corpus is served
    flags = of_kind(anns, "missing_knowledge")
    assert flags and {a["annotator"] for a in flags} <= careless
    assert {case[a["impression_id"]] for a in flags}  # descriptions name the case
    assert all(a["description"] for a in flags)


def test_skip_rate_and_agent_choice(d11, served):
    anns = agents(d11, seed=8, skip_rate=0.2).annotate_many(served)
    counts = Counter(a["type"] for a in anns)
    for kind in ("knowledge_relevance", "preference", "adoption"):
        assert abs(counts[kind] / len(served) - 0.8) < 0.03
    per_agent = Counter(a["annotator"] for a in of_kind(anns, "adoption"))
    assert len(per_agent) == 20 and max(per_agent.values()) < 2 * min(per_agent.values())


def test_timestamps_and_ids(d11, served):
    anns = agents(d11, seed=1, skip_rate=0.0).annotate_many(served[:300])
    imps = {imp["id"]: imp for imp in served}
    seconds = []
    for a in anns:
        imp = imps[a["impression_id"]]
        assert a["id"] == f"{imp['id']}:{a['type']}"
        assert a["time_to_annotate_ms"] > 0
        assert a["timestamp_ms"] == imp["timestamp_ms"] + a["time_to_annotate_ms"]
        assert a["weight"] == 1.0
        seconds.append(a["time_to_annotate_ms"] / 1000)
    seconds.sort()
    assert 20 < seconds[len(seconds) // 2] < 120  # cumulative work time, minutes at most
    for imp_id in list(imps)[:300]:
        times = [a["time_to_annotate_ms"] for a in anns if a["impression_id"] == imp_id]
        assert times == sorted(times) and len(set(times)) == len(times)


def test_determinism(d11, served):
    first = agents(d11, seed=21, careless_share=0.2, noise=0.1).annotate_many(served)
    again = agents(d11, seed=21, careless_share=0.2, noise=0.1).annotate_many(served)
    assert first == again
    shuffled = list(served)
    random.Random(1).shuffle(shuffled)
    reordered = agents(d11, seed=21, careless_share=0.2, noise=0.1).annotate_many(shuffled)
    key = lambda a: a["id"]  # noqa: E731
    assert sorted(reordered, key=key) == sorted(first, key=key)
    other = agents(d11, seed=22, careless_share=0.2, noise=0.1).annotate_many(served)
    assert other != first


def test_annotations_pass_the_cpp_validation(d11, served):
    if not hasattr(aitl, "Annotation"):
        pytest.skip("feedback bindings not built")
    kept, _ = sim.withhold(d11.kb.ids(), 0.3, seed=2)
    imps = sim.BaseSystem(d11.kb, doc_ids=kept, seed=2).serve_many(list(d11.queries.items())[:600])
    anns = agents(d11, seed=3, kb_doc_ids=kept, careless_share=0.2).annotate_many(imps)
    assert set(Counter(a["type"] for a in anns)) == set(sim.KINDS)
    objs = {}
    for imp in imps:
        obj = aitl.Impression.from_dict(imp)
        obj.validate()
        assert obj.to_dict() == dict(imp, seq=0)
        objs[imp["id"]] = obj
    for a in anns:
        ann = aitl.Annotation.from_dict(a)
        ann.validate(objs[a["impression_id"]])
        assert ann.to_dict() == dict(a, seq=0)


def test_case_stream_cycles_in_seeded_order():
    queries = {f"q{i}": f"text {i}" for i in range(10)}
    stream = list(sim.case_stream(queries, 25, seed=4))
    assert len(stream) == 25 and sorted(c for c, _ in stream[:10]) == sorted(queries)
    assert stream == list(sim.case_stream(queries, 25, seed=4))
    assert stream != list(sim.case_stream(queries, 25, seed=5))
    assert list(sim.case_stream({}, 5)) == []


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("name,value,expected", [
    ("noise", 0.6, "0 <= noise <= 0.5"),
    ("noise", -0.1, "0 <= noise <= 0.5"),
    ("noise_spread", 0.7, "0 <= noise_spread <= 0.5"),
    ("select_probability", 1.5, "0 <= select_probability <= 1"),
    ("missing_report_probability", -1, "0 <= missing_report_probability <= 1"),
    ("position_bias", 2.0, "0 <= position_bias <= 1"),
    ("skip_rate", float("nan"), "0 <= skip_rate <= 1"),
    ("careless_share", 1.01, "0 <= careless_share <= 1"),
    ("edit_probability", -0.5, "0 <= edit_probability <= 1"),
    ("n_agents", 0, "1 <= n_agents <= 9999"),
    ("n_agents", 2.5, "1 <= n_agents <= 9999"),
    ("median_seconds", 0, "0 < median_seconds <= 3600"),
    ("noise", "0.1", "0 <= noise <= 0.5"),
])
def test_parameter_validation(name, value, expected):
    with pytest.raises(aitl.ConfigError, match=f"'{name}'") as err:
        sim.SimConfig(**{name: value})
    assert expected in str(err.value) and isinstance(err.value, ValueError)


def test_config_round_trip_and_other_errors():
    cfg = sim.SimConfig(noise=0.2, n_agents=7)
    assert sim.SimConfig.from_dict(cfg.to_dict()) == cfg
    assert sim.SimConfig().to_dict()["position_bias"] == 0.1
    with pytest.raises(aitl.ConfigError, match="unknown parameter 'nois'"):
        sim.SimConfig.from_dict({"nois": 0.1})
    with pytest.raises(aitl.ConfigError, match="0 <= fraction <= 1"):
        sim.withhold(["a"], 1.5)
    ds = beir.load(HELPCENTRE)
    with pytest.raises(aitl.ConfigError, match="k_show"):
        sim.BaseSystem(ds.kb, k_retrieve=5, k_show=8)
    with pytest.raises(aitl.ConfigError, match="SimConfig"):
        sim.Simulator(ds.qrels, config={"noise": 0.1})
    with pytest.raises(aitl.ConfigError, match="'id'"):
        sim.Simulator(ds.qrels).annotate({"case_id": "q01", "query": "x"})
    assert dataclasses.replace(cfg, noise=0.3).noise == 0.3
    with pytest.raises(aitl.ConfigError, match="noise"):
        dataclasses.replace(cfg, noise=0.9)
