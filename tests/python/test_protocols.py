"""Evaluation protocols (aitl.protocols) and the controls that tell learning from memorising:
shuffled labels give no lift, and a cold split is never significantly worse than the base."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import aitl
from aitl import beir, learn, protocols

METRICS = ["recall@75", "precision@8", "ndcg@10", "mrr@10"]


@pytest.fixture(scope="module")
def d11(dstc11_beir: Path):
    return beir.load(dstc11_beir)


def relevant(ds, q):
    return {d for d, g in ds.qrels[q].items() if g > 0}


def conversations(ds, qs):
    return {ds.groups.get(q, q) for q in qs}


@pytest.mark.parametrize("protocol", protocols.PROTOCOLS)
def test_every_protocol_keeps_conversations_apart_and_is_seeded(d11, protocol):
    s = protocols.split_queries(d11, protocol, 0.5, seed=0)
    assert s.protocol == protocol and s.feedback and s.eval
    assert not set(s.feedback) & set(s.eval) and not set(s.dropped) & set(s.eval + s.feedback)
    assert sorted(s.feedback + s.eval + s.dropped) == sorted(d11.queries)
    assert not conversations(d11, s.feedback) & conversations(d11, s.eval)
    assert s.info["feedback"] == len(s.feedback) and s.info["eval"] == len(s.eval)
    again = protocols.split_queries(d11, protocol, 0.5, seed=0)
    assert (again.feedback, again.eval) == (s.feedback, s.eval)
    # a reasonable balance: at least a third of the judged queries on each side
    assert len(s.eval) > len(d11.queries) / 3 and len(s.feedback) > len(d11.queries) / 3


def test_group_protocol_is_the_old_split(d11):
    s = protocols.split_queries(d11, "group", 0.5, seed=0)
    assert (s.feedback, s.eval) == learn.split_queries(d11, 0.5, seed=0)
    assert not s.dropped and not s.hidden


def test_cold_protocol_shares_no_relevant_document(d11):
    s = protocols.split_queries(d11, "cold", 0.5, seed=0)
    fb_rel = set().union(*(relevant(d11, q) for q in s.feedback))
    assert not any(relevant(d11, q) & fb_rel for q in s.eval)
    assert s.info["eval_queries_with_feedback_gold"] == 0
    assert not s.hidden


def test_entity_protocol_holds_out_whole_entities_with_their_documents(d11):
    s = protocols.split_queries(d11, "entity", 0.5, seed=0)
    ent = {d.id: protocols.document_entity(d) for d in d11.kb}
    fb_ents = {ent[d] for q in s.feedback for d in relevant(d11, q)}
    ev_ents = {ent[d] for q in s.eval for d in relevant(d11, q)}
    assert ev_ents and not fb_ents & ev_ents
    hidden_ents = {ent[d] for d in s.hidden}
    assert ev_ents <= hidden_ents and not hidden_ents & fb_ents
    assert s.hidden == {d for d, e in ent.items() if e in hidden_ents}  # whole entities
    assert all(relevant(d11, q) <= s.hidden for q in s.eval)
    assert not any(relevant(d11, q) & s.hidden for q in s.feedback)
    assert protocols.document_entity(d11.kb["hotel:0:faq:0"]) == "hotel:0"


def test_time_protocol_feeds_back_before_it_evaluates(d11):
    s = protocols.split_queries(d11, "time", 0.5, seed=0)
    order = {g: i for i, g in enumerate(dict.fromkeys(d11.groups.get(q, q) for q in d11.queries))}
    assert max(order[g] for g in conversations(d11, s.feedback)) < \
        min(order[g] for g in conversations(d11, s.eval))


def test_split_errors_name_the_parameter(d11):
    with pytest.raises(aitl.ConfigError, match="unknown protocol"):
        protocols.split_queries(d11, "random", 0.5)
    with pytest.raises(aitl.ConfigError, match="eval_fraction"):
        protocols.split_queries(d11, "cold", 1.0)


def test_popularity_baseline_sorts_by_feedback_counts_alone():
    run = {"q": [aitl.Hit("a", 3.0), aitl.Hit("b", 2.0), aitl.Hit("c", 1.0), aitl.Hit("d", 0.5)]}
    got = protocols.popularity_rerank(run, {"c": 2.0, "d": 2.0, "a": 1.0})
    assert [h.id for h in got["q"]] == ["c", "d", "a", "b"]  # ties keep the base order
    assert [h.id for h in protocols.popularity_rerank(run, {})["q"]] == ["a", "b", "c", "d"]
    by = protocols.seen_split({"q1": {"a": 1, "x": 0}, "q2": {"z": 2}}, ["q1", "q2"], {"a", "x"})
    assert by == {"seen": ["q1"], "unseen": ["q2"]}


def test_shuffled_relevance_keeps_counts_but_breaks_the_documents(d11, tmp_path: Path):
    fb, _ = learn.split_queries(d11, 0.5, seed=0)
    got = learn.collect_feedback(d11, fb[:300], str(tmp_path / "s.db"), seed=0)
    store = got["store"]
    copy = protocols.shuffle_relevance(store, str(tmp_path / "shuffled.db"), seed=0)
    a = store.annotations(as_dict=True)
    b = copy.annotations(as_dict=True)
    rel_a = [x for x in a if x["type"] == "knowledge_relevance"]
    rel_b = [x for x in b if x["type"] == "knowledge_relevance"]
    pos = lambda xs: sum(l["relevant"] for x in xs for l in x["labels"])  # noqa: E731
    assert abs(pos(rel_a) - pos(rel_b)) <= 0.05 * pos(rel_a)
    assert [x["type"] for x in a if x["type"] != "knowledge_relevance"] == \
        [x["type"] for x in b if x["type"] != "knowledge_relevance"]
    # the positive labels now mostly land on documents that are not relevant to the case
    imps = {i["id"]: i["case_id"] for i in store.impressions(as_dict=True)}
    hits = total = 0
    for x in rel_b:
        for l in x["labels"]:
            if l["relevant"]:
                total += 1
                hits += l["doc_id"] in relevant(d11, imps[x["impression_id"]])
    assert total > 100 and hits / total < 0.3
    # keep_positions: label i still goes to the i-th shown reference (the rank profile stays)
    kept = protocols.shuffle_relevance(store, str(tmp_path / "kept.db"), seed=0,
                                       keep_positions=True)
    profile = lambda xs: Counter(i for x in xs for i, l in enumerate(x["labels"])  # noqa: E731
                                 if l["relevant"])
    rel_k = [x for x in kept.annotations(as_dict=True) if x["type"] == "knowledge_relevance"]
    assert profile(rel_k) == profile(rel_a)
    assert profile(rel_b) != profile(rel_a)


def test_shuffled_labels_give_no_lift(dstc11_beir: Path):
    """The no-signal control: every 95% interval of trained - base contains 0."""
    rep = learn.run_lift_experiment(dstc11_beir, seed=0, base="bm25", control="shuffled",
                                    protocol="group", progress=False)
    assert rep["config"]["control"] == "shuffled"
    for m in METRICS:
        lo, hi = rep["ci95"][m]
        assert lo <= 0.0 <= hi, (m, rep["ci95"], rep["selection"])


def test_cold_split_is_never_significantly_worse_and_learns(dstc11_beir: Path):
    rep = learn.run_lift_experiment(dstc11_beir, seed=0, base="bm25", protocol="cold",
                                    progress=False)
    assert rep["protocol"]["eval_queries_with_feedback_gold"] == 0
    for m in METRICS:
        assert rep["ci95"][m][1] >= 0.0, (m, rep["ci95"])  # never significantly worse
        assert rep["trained"][m] >= rep["base"][m] - 0.01, (m, rep)
    assert rep["trained"]["ndcg@10"] >= 1.05 * rep["base"]["ndcg@10"], rep
    # the memorising baseline collapses on documents nobody gave feedback on
    assert rep["popularity"]["ndcg@10"] < rep["base"]["ndcg@10"]
    assert rep["by_gold"]["unseen"]["queries"] > 0.5 * rep["queries"]["eval"]
    assert rep["selection"]["choice"] != "base" and rep["selection"]["cv"]


def test_group_split_beats_the_popularity_baseline(dstc11_beir: Path):
    """Under the weakest protocol memorising pays: the trained system must beat the base ranking
    re-sorted by feedback counts alone, not just the base."""
    rep = learn.run_lift_experiment(dstc11_beir, seed=0, base="bm25", protocol="group",
                                    progress=False)
    assert rep["popularity"]["ndcg@10"] > rep["base"]["ndcg@10"]  # memorising helps here
    for m in ("precision@8", "ndcg@10"):
        assert rep["trained"][m] > rep["popularity"][m], (m, rep)
        assert rep["ci95_vs_popularity"][m][0] > 0, (m, rep["ci95_vs_popularity"])
    assert rep["by_gold"]["seen"]["queries"] > rep["by_gold"]["unseen"]["queries"]
