"""Feedback records: Impression, the four annotation bodies, Annotation (construction, dicts, validation)."""
from __future__ import annotations

import copy
import math
import pickle

import pytest

import aitl


def make_impression(**changes) -> aitl.Impression:
    retrieved = [aitl.Candidate(f"d{r}", r, 20.0 - r) for r in range(1, 11)]
    shown = [aitl.Candidate(c.doc_id, i + 1, 5.0 - i) for i, c in enumerate([retrieved[2], retrieved[0], retrieved[5]])]
    imp = aitl.Impression(
        "case-1",
        "how do I get a refund?",
        1_700_000_000_000,
        id="imp-1",
        turn=2,
        context=["customer: hi", "agent: hello"],
        retrieved=retrieved,
        shown=shown,
        replies=[aitl.Reply("champion", "Refunds take 5 days [d3]", "right"), aitl.Reply("top3", "See [d1]", "left")],
        models={"retriever": "bm25@0", "generator": "extractive@1"},
    )
    for k, v in changes.items():
        setattr(imp, k, v)
    return imp


def make_annotation(body, **changes) -> aitl.Annotation:
    a = aitl.Annotation("imp-1", "agent-07", body, 1_700_000_004_200, time_to_annotate_ms=4200)
    for k, v in changes.items():
        setattr(a, k, v)
    return a


BODIES = [
    aitl.Preference("b", "clear", "cites the policy"),
    aitl.Adoption("used_with_edits", 1, "Refunds take 5 business days.", ["tone", "too_long"], "too chatty"),
    aitl.KnowledgeRelevance({"d3": True, "d1": False}, ["d42"]),
    aitl.MissingKnowledge("no article on refunds for gift cards", "billing wiki"),
]


# ---- construction and properties -------------------------------------------------------------


def test_candidate_and_reply():
    c = aitl.Candidate("d1", 1, 12.5)
    assert (c.doc_id, c.rank, c.score) == ("d1", 1, 12.5)
    assert aitl.Candidate("d1", 1).score == 0.0
    assert repr(c) == "Candidate(doc_id='d1', rank=1, score=12.5)"
    r = aitl.Reply("top1", "text")
    assert r.position == "left"
    r.position = "right"
    assert r.to_dict() == {"variant": "top1", "text": "text", "position": "right"}
    assert "Reply(variant='top1'" in repr(r)


def test_impression_fields_and_defaults():
    imp = aitl.Impression("c", "q", 5)
    assert (imp.case_id, imp.query, imp.timestamp_ms) == ("c", "q", 5)
    assert (imp.id, imp.turn, imp.seq) == ("", 0, 0)
    assert imp.context == [] and imp.retrieved == [] and imp.shown == [] and imp.replies == [] and imp.models == {}
    imp = make_impression()
    assert imp.turn == 2 and len(imp.retrieved) == 10 and [c.doc_id for c in imp.shown] == ["d3", "d1", "d6"]
    assert imp.replies[0].variant == "champion" and imp.models["retriever"] == "bm25@0"
    assert imp.find_shown("d1") == aitl.Candidate("d1", 2, 4.0)
    assert imp.find_shown("d2") is None
    assert "Impression(id='imp-1'" in repr(imp) and "shown=<3>" in repr(imp)
    imp.validate()


def test_lists_are_copies_assign_to_change():
    imp = make_impression()
    imp.shown.append(aitl.Candidate("d9", 4, 1.0))
    assert len(imp.shown) == 3
    imp.shown = imp.shown[:1]
    assert len(imp.shown) == 1


def test_bodies_fields():
    p = aitl.Preference("a")
    assert (p.choice, p.strength, p.rationale) == ("a", "slight", "")
    p.choice, p.strength = "both_bad", "strong"
    assert p == aitl.Preference("both_bad", "strong")
    d = aitl.Adoption("not_used")
    assert (d.outcome, d.reply, d.final_text, d.reasons, d.rationale) == ("not_used", 0, "", [], "")
    d.reasons = ["wrong_reference", "other"]
    assert d.reasons == ["wrong_reference", "other"]
    k = aitl.KnowledgeRelevance()
    assert k.labels == [] and k.selected == []
    m = aitl.MissingKnowledge("x")
    assert m.suggested_source == ""


def test_relevance_labels_accept_three_forms():
    as_objects = aitl.KnowledgeRelevance([aitl.RelevanceLabel("d3", True), aitl.RelevanceLabel("d1", False)])
    as_pairs = aitl.KnowledgeRelevance([("d3", True), ["d1", False]])
    as_dict = aitl.KnowledgeRelevance({"d3": True, "d1": False})
    assert as_objects == as_pairs == as_dict
    assert as_dict.labels == [aitl.RelevanceLabel("d3", True), aitl.RelevanceLabel("d1", False)]
    doc_id, relevant = as_dict.labels[0]
    assert (doc_id, relevant) == ("d3", True)
    as_dict.labels = {"d6": True}
    assert as_dict.labels[0].doc_id == "d6"
    with pytest.raises(TypeError, match=r"labels\[0\].relevant"):
        aitl.KnowledgeRelevance([("d3", 1)])
    with pytest.raises(TypeError, match=r"labels\[1\]"):
        aitl.KnowledgeRelevance([("d3", True), "d1"])
    with pytest.raises(TypeError, match="labels"):
        aitl.KnowledgeRelevance("d3")


@pytest.mark.parametrize("body", BODIES, ids=lambda b: type(b).__name__)
def test_annotation_body_and_kind(body):
    a = make_annotation(body)
    assert a.body == body
    assert type(a.body) is type(body)
    assert a.kind == {"Preference": "preference", "Adoption": "adoption", "KnowledgeRelevance": "knowledge_relevance",
                      "MissingKnowledge": "missing_knowledge"}[type(body).__name__]
    assert (a.impression_id, a.annotator, a.timestamp_ms, a.time_to_annotate_ms, a.weight, a.id, a.seq) == (
        "imp-1", "agent-07", 1_700_000_004_200, 4200, 1.0, "", 0)
    assert repr(body) in repr(a)
    a.validate()
    a.validate(make_impression())


def test_annotation_body_is_a_copy_and_can_be_replaced():
    a = make_annotation(aitl.Preference("a"))
    a.body.rationale = "lost"
    assert a.body.rationale == ""
    a.body = aitl.MissingKnowledge("gap")
    assert a.kind == "missing_knowledge"
    with pytest.raises(TypeError, match="body"):
        a.body = {"choice": "a"}
    with pytest.raises(TypeError, match="body"):
        aitl.Annotation("imp-1", "x", "preference", 0)


def test_equality():
    assert make_impression() == make_impression()
    assert make_impression() != make_impression(turn=3)
    assert make_annotation(BODIES[0]) == make_annotation(BODIES[0])
    assert make_annotation(BODIES[0]) != make_annotation(BODIES[1])
    assert make_annotation(BODIES[0]) != "x"
    assert aitl.Candidate("d", 1, 1.0) != aitl.Candidate("d", 1, 2.0)


def test_unsigned_fields_name_the_field():
    with pytest.raises(aitl.ConfigError, match="rank"):
        aitl.Candidate("d1", -1, 0.0)
    with pytest.raises(aitl.ConfigError, match="turn"):
        aitl.Impression("c", "q", 0, turn=-1)
    with pytest.raises(aitl.ConfigError, match="reply"):
        aitl.Adoption("used_as_is", reply=2**32)


# ---- dicts (the JSON form) -------------------------------------------------------------------


def test_impression_dict_is_the_json_form():
    imp = make_impression()
    imp.seq = 7
    d = imp.to_dict()
    assert d == {
        "type": "impression", "seq": 7, "id": "imp-1", "case_id": "case-1", "turn": 2,
        "timestamp_ms": 1_700_000_000_000, "query": "how do I get a refund?",
        "context": ["customer: hi", "agent: hello"],
        "retrieved": [{"doc_id": f"d{r}", "rank": r, "score": 20.0 - r} for r in range(1, 11)],
        "shown": [{"doc_id": "d3", "rank": 1, "score": 5.0}, {"doc_id": "d1", "rank": 2, "score": 4.0},
                  {"doc_id": "d6", "rank": 3, "score": 3.0}],
        "replies": [{"variant": "champion", "position": "right", "text": "Refunds take 5 days [d3]"},
                    {"variant": "top3", "position": "left", "text": "See [d1]"}],
        "models": {"retriever": "bm25@0", "generator": "extractive@1"},
    }
    assert aitl.Impression.from_dict(d) == imp


def test_impression_dict_optional_keys():
    imp = aitl.Impression.from_dict({"case_id": "c", "query": "q", "timestamp_ms": 3})
    assert imp == aitl.Impression("c", "q", 3)


ANNOTATION_DICTS = [
    {"type": "preference", "choice": "b", "strength": "clear", "rationale": "cites the policy"},
    {"type": "adoption", "outcome": "used_with_edits", "reply": 1, "final_text": "Refunds take 5 business days.",
     "reasons": ["tone", "too_long"], "rationale": "too chatty"},
    {"type": "knowledge_relevance", "labels": [{"doc_id": "d3", "relevant": True}, {"doc_id": "d1", "relevant": False}],
     "selected": ["d42"]},
    {"type": "missing_knowledge", "description": "no article on refunds for gift cards", "suggested_source": "billing wiki"},
]
COMMON = {"seq": 0, "id": "", "impression_id": "imp-1", "annotator": "agent-07", "timestamp_ms": 1_700_000_004_200,
          "time_to_annotate_ms": 4200, "weight": 1.0}


@pytest.mark.parametrize("body,form", list(zip(BODIES, ANNOTATION_DICTS)), ids=lambda x: getattr(x, "__name__", None))
def test_annotation_dict_round_trip(body, form):
    a = make_annotation(body)
    assert a.to_dict() == {**COMMON, **form}
    assert aitl.Annotation.from_dict(a.to_dict()) == a
    body_form = {k: v for k, v in form.items() if k != "type"}
    assert body.to_dict() == body_form
    assert type(body).from_dict(body_form) == body
    assert pickle.loads(pickle.dumps(a)) == a
    assert pickle.loads(pickle.dumps(body)) == body
    assert copy.deepcopy(a) == a


def test_small_types_dict_round_trip():
    for x in (aitl.Candidate("d1", 3, 1.5), aitl.Reply("v", "t", "right"), aitl.RelevanceLabel("d1", True)):
        assert type(x).from_dict(x.to_dict()) == x
        assert pickle.loads(pickle.dumps(x)) == x
    imp = make_impression()
    assert pickle.loads(pickle.dumps(imp)) == imp


def test_annotation_dict_optional_keys():
    a = aitl.Annotation.from_dict({"type": "preference", "impression_id": "i", "annotator": "x", "timestamp_ms": 0,
                                   "choice": "tie"})
    assert a == aitl.Annotation("i", "x", aitl.Preference("tie"), 0)
    a = aitl.Annotation.from_dict({"type": "adoption", "impression_id": "i", "annotator": "x", "timestamp_ms": 0,
                                   "outcome": "not_used", "weight": 0.5, "id": "ann-1", "seq": 3})
    assert (a.weight, a.id, a.seq, a.body) == (0.5, "ann-1", 3, aitl.Adoption("not_used"))


# ---- dict errors: wrong types, missing and unknown keys, bad enums ------------------------------

IMP = make_impression().to_dict()
ANN = {**COMMON, **ANNOTATION_DICTS[0]}
ADO = {**COMMON, **ANNOTATION_DICTS[1]}
REL = {**COMMON, **ANNOTATION_DICTS[2]}


def changed(d, path, value):
    d = copy.deepcopy(d)
    *head, last = path
    target = d
    for k in head:
        target = target[k]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return d


IMPRESSION_DICT_ERRORS = [
    (("shown", 0, "rank"), "1", "shown[0].rank"),
    (("shown", 0, "rank"), -1, "shown[0].rank"),
    (("retrieved", 1, "score"), "high", "retrieved[1].score"),
    (("timestamp_ms",), "yesterday", "timestamp_ms"),
    (("timestamp_ms",), 1.5, "timestamp_ms"),
    (("turn",), True, "turn"),
    (("context",), "hi", "context"),
    (("context", 0), 3, "context[0]"),
    (("models", "retriever"), 1, "models.retriever"),
    (("models",), ["bm25"], "models"),
    (("replies", 0, "position"), "middle", "replies[0].position"),
    (("replies",), {"a": 1}, "replies"),
    (("query",), KeyError, "query"),
    (("case_id",), KeyError, "case_id"),
    (("shown", 1, "doc_id"), KeyError, "shown[1].doc_id"),
    (("bogus",), 1, "bogus"),
    (("shown", 0, "title"), "x", "shown[0].title"),
    (("replies", 1, "score"), 1.0, "replies[1].score"),
    (("type",), "annotation", "type"),
]


@pytest.mark.parametrize("path,value,field", IMPRESSION_DICT_ERRORS, ids=[e[2] + "=" + repr(e[1]) for e in IMPRESSION_DICT_ERRORS])
def test_impression_from_dict_errors_name_the_field(path, value, field):
    with pytest.raises(aitl.ConfigError) as err:
        aitl.Impression.from_dict(changed(IMP, path, value))
    assert f"field '{field}'" in str(err.value)
    assert isinstance(err.value, ValueError)


ANNOTATION_DICT_ERRORS = [
    (ANN, ("type",), "opinion", "type"),
    (ANN, ("type",), KeyError, "type"),
    (ANN, ("choice",), "c", "choice"),
    (ANN, ("choice",), KeyError, "choice"),
    (ANN, ("strength",), "very", "strength"),
    (ANN, ("strength",), 2, "strength"),
    (ANN, ("annotator",), 7, "annotator"),
    (ANN, ("annotator",), KeyError, "annotator"),
    (ANN, ("impression_id",), KeyError, "impression_id"),
    (ANN, ("timestamp_ms",), None, "timestamp_ms"),
    (ANN, ("weight",), "heavy", "weight"),
    (ANN, ("time_to_annotate_ms",), 1.5, "time_to_annotate_ms"),
    (ANN, ("outcome",), "used_as_is", "outcome"),
    (ANN, ("final_text",), "", "final_text"),
    (ADO, ("outcome",), "adopted", "outcome"),
    (ADO, ("reasons",), "tone", "reasons"),
    (ADO, ("reasons", 1), "rude", "reasons[1]"),
    (ADO, ("reasons", 0), 3, "reasons[0]"),
    (ADO, ("reply",), "A", "reply"),
    (ADO, ("choice",), "a", "choice"),
    (REL, ("labels", 0, "relevant"), 1, "labels[0].relevant"),
    (REL, ("labels", 1, "doc_id"), KeyError, "labels[1].doc_id"),
    (REL, ("labels", 0, "score"), 1.0, "labels[0].score"),
    (REL, ("labels",), {"d3": True}, "labels"),
    (REL, ("selected",), "d42", "selected"),
    (REL, ("selected", 0), 42, "selected[0]"),
]


@pytest.mark.parametrize("base,path,value,field", ANNOTATION_DICT_ERRORS,
                         ids=[e[3] + "=" + repr(e[2]) for e in ANNOTATION_DICT_ERRORS])
def test_annotation_from_dict_errors_name_the_field(base, path, value, field):
    with pytest.raises(aitl.ConfigError) as err:
        aitl.Annotation.from_dict(changed(base, path, value))
    assert f"field '{field}'" in str(err.value)


def test_from_dict_needs_a_dict():
    with pytest.raises(TypeError):
        aitl.Annotation.from_dict(["preference"])
    with pytest.raises(TypeError):
        aitl.Impression.from_dict("impression")
    with pytest.raises(TypeError, match="set"):
        aitl.Impression.from_dict({"case_id": {1, 2}})
    with pytest.raises(aitl.ConfigError, match=r"field 'shown\[0\]'"):
        aitl.Impression.from_dict({**IMP, "shown": ["d1"]})


def test_body_from_dict_refuses_common_keys():
    with pytest.raises(aitl.ConfigError, match="field 'annotator'"):
        aitl.Preference.from_dict({"choice": "a", "annotator": "x"})
    with pytest.raises(aitl.ConfigError, match="field 'description'"):
        aitl.MissingKnowledge.from_dict({})
    with pytest.raises(aitl.ConfigError, match="field 'rank'"):
        aitl.Candidate.from_dict({"doc_id": "d", "rank": "1", "score": 0.0})


# ---- enums set from Python ---------------------------------------------------------------------

ENUM_ERRORS = [
    (lambda: aitl.Preference("c"), "choice"),
    (lambda: aitl.Preference("a", "very"), "strength"),
    (lambda: aitl.Adoption("adopted"), "outcome"),
    (lambda: aitl.Adoption("not_used", reasons=["tone", "rude"]), "reasons[1]"),
    (lambda: aitl.Reply("v", "t", "middle"), "position"),
    (lambda: setattr(aitl.Preference("a"), "choice", "B"), "choice"),
    (lambda: setattr(aitl.Adoption("not_used"), "reasons", ["Tone"]), "reasons[0]"),
    (lambda: setattr(aitl.Reply("v", "t"), "position", "up"), "position"),
]


@pytest.mark.parametrize("make,field", ENUM_ERRORS, ids=[e[1] for e in ENUM_ERRORS])
def test_bad_enum_names_the_field_and_the_choices(make, field):
    with pytest.raises(aitl.ConfigError) as err:
        make()
    assert f"field '{field}'" in str(err.value)
    assert "expected one of" in str(err.value)


def test_every_enum_value_is_accepted():
    for c in ("a", "b", "tie", "both_bad"):
        for s in ("slight", "clear", "strong"):
            assert aitl.Preference(c, s).to_dict()["choice"] == c
    for o in ("used_as_is", "used_with_edits", "not_used"):
        assert aitl.Adoption(o).outcome == o
    reasons = ["wrong_policy", "missing_information", "not_applicable", "tone", "too_long", "hallucinated_detail",
               "wrong_reference", "other"]
    assert aitl.Adoption("not_used", reasons=reasons).reasons == reasons


# ---- validate() ----------------------------------------------------------------------------------


def _imp_with(**kw):
    return make_impression(**kw)


IMPRESSION_RULES = [
    (dict(case_id=""), "case_id"),
    (dict(query=""), "query"),
    (dict(timestamp_ms=-1), "timestamp_ms"),
    (dict(shown=[aitl.Candidate("d3", 2, 1.0)]), "shown[0].rank"),
    (dict(shown=[aitl.Candidate("", 1, 1.0)]), "shown[0].doc_id"),
    (dict(shown=[aitl.Candidate("d3", 1, math.nan)]), "shown[0].score"),
    (dict(retrieved=[aitl.Candidate("d1", 1, 1.0), aitl.Candidate("d2", 2, math.inf)]), "retrieved[1].score"),
    (dict(shown=[aitl.Candidate("d3", 1, 1.0), aitl.Candidate("d3", 2, 0.5)]), "shown[1].doc_id"),
    (dict(shown=[aitl.Candidate("d3", 1, 1.0), aitl.Candidate("d77", 2, 0.5)]), "shown[1].doc_id"),
    (dict(replies=[aitl.Reply("a", "x", "left"), aitl.Reply("b", "y", "right"), aitl.Reply("c", "z", "left")]), "replies"),
    (dict(replies=[aitl.Reply("a", "x", "left"), aitl.Reply("b", "y", "left")]), "replies[1].position"),
    (dict(replies=[aitl.Reply("", "x")]), "replies[0].variant"),
    (dict(replies=[aitl.Reply("a", "")]), "replies[0].text"),
    (dict(models={"": "v1"}), "models"),
    (dict(models={"retriever": ""}), "models.retriever"),
]


@pytest.mark.parametrize("changes,field", IMPRESSION_RULES, ids=[r[1] for r in IMPRESSION_RULES])
def test_impression_validate_names_the_field(changes, field):
    imp = make_impression(**changes)
    with pytest.raises(aitl.ConfigError) as err:
        imp.validate()
    assert f"field '{field}'" in str(err.value)


def test_impression_without_retrieved_may_show_anything():
    make_impression(retrieved=[]).validate()


STANDALONE_RULES = [
    (aitl.Preference("a"), dict(impression_id=""), "impression_id"),
    (aitl.Preference("a"), dict(annotator=""), "annotator"),
    (aitl.Preference("a"), dict(timestamp_ms=-5), "timestamp_ms"),
    (aitl.Preference("a"), dict(time_to_annotate_ms=-1), "time_to_annotate_ms"),
    (aitl.Preference("a"), dict(weight=-0.5), "weight"),
    (aitl.Preference("a"), dict(weight=math.nan), "weight"),
    (aitl.Adoption("used_as_is", reply=2), {}, "reply"),
    (aitl.Adoption("used_with_edits", reply=0), {}, "final_text"),
    (aitl.Adoption("not_used", reasons=["tone", "other", "tone"]), {}, "reasons[2]"),
    (aitl.KnowledgeRelevance(), {}, "labels"),
    (aitl.KnowledgeRelevance({"": True}), {}, "labels[0].doc_id"),
    (aitl.KnowledgeRelevance([("d3", True), ("d3", False)]), {}, "labels[1].doc_id"),
    (aitl.KnowledgeRelevance(selected=[""]), {}, "selected[0]"),
    (aitl.KnowledgeRelevance({"d3": True}, ["d42", "d3"]), {}, "selected[1]"),
    (aitl.KnowledgeRelevance(selected=["d42", "d42"]), {}, "selected[1]"),
    (aitl.MissingKnowledge(""), {}, "description"),
]


@pytest.mark.parametrize("body,changes,field", STANDALONE_RULES, ids=[r[2] for r in STANDALONE_RULES])
def test_annotation_validate_alone_names_the_field(body, changes, field):
    a = make_annotation(body, **changes)
    with pytest.raises(aitl.ConfigError) as err:
        a.validate()
    assert f"field '{field}'" in str(err.value)
    with pytest.raises(aitl.ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        a.validate(make_impression())


AGAINST_IMPRESSION_RULES = [
    (aitl.Preference("a"), dict(impression_id="imp-2"), {}, "impression_id"),
    (aitl.Preference("a"), {}, dict(replies=[aitl.Reply("champion", "only one")]), "choice"),
    (aitl.Adoption("used_as_is", reply=1), {}, dict(replies=[aitl.Reply("champion", "only one")]), "reply"),
    (aitl.Adoption("not_used", reply=0), {}, dict(replies=[]), "reply"),
    (aitl.KnowledgeRelevance({"d3": True, "d2": True}), {}, {}, "labels[1].doc_id"),
    (aitl.KnowledgeRelevance({"d3": True}, ["d1"]), {}, {}, "selected[0]"),
]


@pytest.mark.parametrize("body,changes,imp_changes,field", AGAINST_IMPRESSION_RULES,
                         ids=[r[3] for r in AGAINST_IMPRESSION_RULES])
def test_annotation_validate_against_impression_names_the_field(body, changes, imp_changes, field):
    a = make_annotation(body, **changes)
    imp = make_impression(**imp_changes)
    if field != "impression_id":
        a.validate()  # fine on its own: only what was shown makes it wrong
    with pytest.raises(aitl.ConfigError) as err:
        a.validate(imp)
    assert f"field '{field}'" in str(err.value)


def test_unshown_reference_message_names_the_reference():
    a = make_annotation(aitl.KnowledgeRelevance({"d9": True}))
    with pytest.raises(aitl.ConfigError, match=r"labels\[0\]\.doc_id.*not shown.*'d9'"):
        a.validate(make_impression())


def test_validate_impression_argument_type():
    with pytest.raises(TypeError):
        make_annotation(aitl.Preference("a")).validate("imp-1")
