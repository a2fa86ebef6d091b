"""aitl.evaluate equals trec_eval's own code (pytrec_eval, PyPI pytrec-eval-terrier) to 1e-6.

Three runs: a hand-made one with every edge case, a seeded random one, and BM25's top-75 on
DSTC11 Track 5 (validation split converted to BEIR). Plus the file readers and writers.
"""
from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

import aitl

pytrec_eval = pytest.importorskip("pytrec_eval")

TOL = 1e-6


# --------------------------------------------------------------------------------------
# Reference: pytrec_eval, with aitl's metric names mapped to trec_eval measures
# --------------------------------------------------------------------------------------

_TREC = {"recall": ("recall", "recall_{k}"), "precision": ("P", "P_{k}"),
         "ndcg": ("ndcg_cut", "ndcg_cut_{k}"), "map": ("map_cut", "map_cut_{k}"),
         "hit_rate": ("success", "success_{k}")}


def trec_order(docs: dict) -> list:
    """(doc, score) pairs in trec_eval's order: score descending, ties by doc id descending."""
    by_id = sorted(docs.items(), key=lambda kv: kv[0].encode("utf-8"), reverse=True)
    return sorted(by_id, key=lambda kv: -kv[1])  # stable: keeps the id order within ties


def reference(qrels: dict, run: dict, metrics: list, relevance_level: int = 1) -> dict:
    """Per-query values of `metrics` (aitl names) computed by pytrec_eval."""
    measures, keys, mrr_cuts = set(), {}, set()
    for name in metrics:
        family, _, k = name.partition("@")
        if family == "mrr" and k:
            mrr_cuts.add(int(k))
        elif family == "mrr":
            measures.add("recip_rank"); keys[name] = "recip_rank"
        elif family == "map" and not k:
            measures.add("map"); keys[name] = "map"
        elif family == "ndcg" and not k:
            measures.add("ndcg"); keys[name] = "ndcg"
        else:
            measure, key = _TREC[family]
            measures.add(f"{measure}.{k}"); keys[name] = key.format(k=k)
    out: dict = {}
    if measures:
        ev = pytrec_eval.RelevanceEvaluator(qrels, measures, relevance_level=relevance_level)
        for qid, values in ev.evaluate(run).items():
            out[qid] = {name: values[key] for name, key in keys.items()}
    for k in sorted(mrr_cuts):  # mrr@k = recip_rank of the run cut to its top k
        cut = {q: dict(trec_order(docs)[:k]) for q, docs in run.items()}
        ev = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}, relevance_level=relevance_level)
        for qid, values in ev.evaluate(cut).items():
            out.setdefault(qid, {})[f"mrr@{k}"] = values["recip_rank"]
    return out


def assert_same(result: "aitl.Evaluation", ref: dict, metrics: list) -> None:
    assert set(result.per_query) == set(ref)
    assert result.queries == len(ref)
    for qid, values in ref.items():
        for name in metrics:
            assert result.per_query[qid][name] == pytest.approx(values[name], abs=TOL), (qid, name)
    for name in metrics:
        mean = sum(v[name] for v in ref.values()) / len(ref) if ref else 0.0
        assert result.mean[name] == pytest.approx(mean, abs=TOL), name


ALL_METRICS = ["recall@1", "recall@2", "recall@8", "recall@10", "recall@75", "precision@1",
               "precision@2", "precision@8", "precision@10", "precision@75", "ndcg@1", "ndcg@3",
               "ndcg@10", "ndcg@75", "ndcg", "mrr", "mrr@1", "mrr@3", "mrr@10", "map", "map@10",
               "hit_rate@1", "hit_rate@5", "hit_rate@10"]


# --------------------------------------------------------------------------------------
# (1) hand-made run
# --------------------------------------------------------------------------------------

QRELS = {
    "q1": {"a": 1, "b": 2, "c": 0},          # graded
    "q2": {"x": 0},                          # no relevant document: evaluated, all zeros
    "q3": {"z": 1},                          # retrieved nothing
    "q4": {"m": 1, "n": -1},                 # a negative grade is not relevant
    "q6": {"y": 1},                          # judged, absent from the run
    "q7": {"B": 1, "a": 0, "é": 3, "z": 2},  # ties across case and non-ASCII ids
}
RUN = {
    "q1": {"a": 1.0, "b": 1.0, "d": 2.0},    # tie a/b: trec_eval ranks "b" first
    "q2": {"x": 1.0},
    "q3": {},
    "q4": {"n": 3.0, "m": 1.0},
    "q5": {"z": 1.0},                        # not judged: skipped
    "q7": {"a": 0.5, "B": 0.5, "é": 0.5, "z": 0.5, "w": 0.5},
}


def test_hand_made_run_equals_trec_eval():
    result = aitl.evaluate(QRELS, RUN, ALL_METRICS)
    assert result.metrics == ALL_METRICS
    assert_same(result, reference(QRELS, RUN, ALL_METRICS), ALL_METRICS)
    assert result.queries == 5
    assert result.queries_without_qrels == ["q5"]
    assert result.queries_without_run == ["q6"]
    q1 = result.per_query["q1"]
    assert q1["ndcg@3"] == pytest.approx((2 / math.log2(3) + 1 / 2) / (2 + 1 / math.log2(3)))
    assert q1["mrr@1"] == 0.0 and q1["mrr"] == 0.5


def test_hand_made_run_as_hit_lists_equals_trec_eval():
    """Lists of (id, score) pairs and of Hit-like objects rank as trec_eval does, whatever the list order."""
    class H:
        def __init__(self, id, score):
            self.id, self.score = id, score

    as_pairs = {q: list(reversed(list(d.items()))) for q, d in RUN.items()}
    as_objects = {q: [H(i, s) for i, s in d.items()] for q, d in RUN.items()}
    ref = reference(QRELS, RUN, ALL_METRICS)
    assert_same(aitl.evaluate(QRELS, as_pairs, ALL_METRICS), ref, ALL_METRICS)
    assert_same(aitl.evaluate(QRELS, as_objects, ALL_METRICS), ref, ALL_METRICS)


def test_relevance_level_equals_trec_eval():
    result = aitl.evaluate(QRELS, RUN, ALL_METRICS, relevance_level=2)
    assert_same(result, reference(QRELS, RUN, ALL_METRICS, relevance_level=2), ALL_METRICS)


def test_average_complete_counts_missing_queries_as_zero():
    plain = aitl.evaluate(QRELS, RUN, ["recall@2", "map"])
    complete = aitl.evaluate(QRELS, RUN, ["recall@2", "map"], average_complete=True)
    assert complete.per_query == plain.per_query
    for name in ("recall@2", "map"):
        assert complete.mean[name] == pytest.approx(plain.mean[name] * plain.queries / len(QRELS))


def test_duplicates_in_a_run_are_rejected_as_trec_eval_does():
    # trec_eval stops with "duplicate docs"; pytrec_eval's parse_run asserts. A dict cannot hold a
    # duplicate; a list can.
    with pytest.raises(aitl.ConfigError, match="duplicate document 'a' for query 'q1'"):
        aitl.evaluate(QRELS, {"q1": [("a", 1.0), ("b", 0.5), ("a", 0.2)]})
    # Duplicates in a query the qrels do not judge are never looked at (trec_eval skips the query).
    result = aitl.evaluate(QRELS, {"q9": [("a", 1.0), ("a", 0.2)], "q1": [("a", 1.0)]}, ["map"])
    assert result.queries == 1 and result.queries_without_qrels == ["q9"]


def test_empty_qrels_entries_are_absent_like_pytrec_eval():
    result = aitl.evaluate({"q1": {}, "q2": {"a": 1}}, {"q1": {"a": 1.0}, "q2": {"a": 1.0}}, ["map"])
    assert list(result.per_query) == ["q2"]
    assert result.queries_without_qrels == ["q1"]


def test_no_shared_query_gives_zero_queries():
    result = aitl.evaluate({"q1": {"a": 1}}, {"q2": {"a": 1.0}})
    assert result.queries == 0 and result.per_query == {}
    assert result.mean == {name: 0.0 for name in aitl.default_metrics()}


def test_default_metrics_and_result_shape():
    result = aitl.evaluate(QRELS, RUN)
    assert result.metrics == aitl.default_metrics() == [
        "recall@8", "recall@10", "recall@75", "precision@8", "precision@10", "precision@75",
        "ndcg@10", "mrr@10", "map", "hit_rate@10"]
    assert set(result.mean) == set(result.metrics)
    assert all(set(v) == set(result.metrics) for v in result.per_query.values())
    d = result.to_dict()
    assert d["queries"] == result.queries and d["per_query"] == result.per_query
    assert json.loads(json.dumps(d)) == d
    d["per_query"]["q1"]["map"] = -1.0  # a copy: the result is unchanged
    d["mean"].clear()
    assert result.per_query["q1"]["map"] > 0 and result.mean
    assert result.per_query is result.per_query  # converted once, not per access
    assert "Evaluation(queries=5" in repr(result)


@pytest.mark.parametrize("name", ["recall", "recall@0", "recall@-5", "precision@x", "P@8", "ndcg_cut_10",
                                  "Recall@10", "bleu", "", "hit_rate", "mrr@1.5"])
def test_bad_metric_names_raise_config_error(name):
    with pytest.raises(aitl.ConfigError):
        aitl.evaluate(QRELS, RUN, [name])


def test_bad_arguments():
    with pytest.raises(aitl.ConfigError):
        aitl.evaluate(QRELS, RUN, [])
    with pytest.raises(aitl.ConfigError):
        aitl.evaluate(QRELS, RUN, ["map"], relevance_level=0)
    with pytest.raises(aitl.ConfigError, match="NaN"):
        aitl.evaluate(QRELS, {"q1": {"a": float("nan")}})
    with pytest.raises(TypeError):
        aitl.evaluate({"q1": {"a": 1.5}}, RUN)  # grades are ints
    with pytest.raises(TypeError):
        aitl.evaluate(QRELS, {"q1": {"a": "high"}})
    with pytest.raises(TypeError):
        aitl.evaluate(QRELS, ["q1"])
    with pytest.raises(TypeError):
        aitl.evaluate(QRELS, {"q1": [42]})
    with pytest.raises(TypeError):
        aitl.evaluate(QRELS, RUN, "map")  # a list of names, not one string


# --------------------------------------------------------------------------------------
# (2) seeded random run
# --------------------------------------------------------------------------------------

def random_case(seed: int = 20251126):
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(300)]
    qrels, run = {}, {}
    for q in range(240):
        qid = f"q{q}"
        if q % 13 != 0:  # every 13th query is not judged
            judged = rng.sample(docs, rng.randint(1, 25))
            qrels[qid] = {d: rng.choice([0, 0, 1, 1, 2, 3, -1]) for d in judged}
            # At least one grade >= 0: trec_eval reads out of bounds when every grade is negative.
            qrels[qid][judged[0]] = max(qrels[qid][judged[0]], 0)
            if q % 17 == 0:  # some queries have no relevant document
                qrels[qid] = {d: 0 for d in judged}
        if q % 11 != 0:  # every 11th query is missing from the run
            # Scores on a coarse grid: many ties, which trec_eval breaks by doc id.
            run[qid] = {d: rng.randint(0, 40) / 4 for d in rng.sample(docs, rng.randint(0, 120))}
    return qrels, run


def test_random_run_equals_trec_eval():
    qrels, run = random_case()
    result = aitl.evaluate(qrels, run, ALL_METRICS)
    ref = reference(qrels, run, ALL_METRICS)
    assert_same(result, ref, ALL_METRICS)
    assert result.queries > 150
    assert set(result.queries_without_run) == set(qrels) - set(run)
    assert set(result.queries_without_qrels) == set(run) - set(qrels)
    assert_same(aitl.evaluate(qrels, run, ALL_METRICS, relevance_level=2),
                reference(qrels, run, ALL_METRICS, relevance_level=2), ALL_METRICS)


def test_random_run_through_files_equals_pytrec_eval_parsers(tmp_path: Path):
    qrels, run = random_case(seed=7)
    aitl.write_qrels(tmp_path / "qrels.tsv", qrels)
    aitl.write_qrels(tmp_path / "qrels.trec", qrels, format="trec")
    aitl.write_trec_run(tmp_path / "run.trec", run, tag="random")
    assert aitl.read_qrels(tmp_path / "qrels.tsv") == qrels
    assert aitl.read_qrels(tmp_path / "qrels.trec") == qrels
    with open(tmp_path / "qrels.trec") as f:
        assert pytrec_eval.parse_qrel(f) == qrels
    with open(tmp_path / "run.trec") as f:
        parsed = pytrec_eval.parse_run(f)  # asserts there is no duplicate
    assert parsed == {q: d for q, d in run.items() if d}  # a query with no hit writes no line
    back = aitl.read_trec_run(tmp_path / "run.trec")
    assert {q: {h.id: h.score for h in hits} for q, hits in back.items()} == parsed
    for hits in back.values():  # trec_eval's order
        assert [(h.id, h.score) for h in hits] == trec_order({h.id: h.score for h in hits})
    metrics = ["recall@10", "precision@8", "ndcg@10", "map", "mrr@10", "hit_rate@10"]
    assert_same(aitl.evaluate(aitl.read_qrels(tmp_path / "qrels.trec"), back, metrics),
                reference(qrels, parsed, metrics), metrics)


# --------------------------------------------------------------------------------------
# (3) DSTC11 Track 5 with BM25
# --------------------------------------------------------------------------------------

def test_dstc11_bm25_top75_equals_trec_eval(dstc11_beir: Path, tmp_path: Path):
    from aitl import beir

    ds = beir.load(dstc11_beir, split="test")
    assert len(ds.qrels) == 2129
    bm25 = aitl.BM25()
    bm25.add_documents(ds.kb)
    qids = sorted(ds.qrels)
    results = bm25.search_batch([ds.queries[q] for q in qids], 75)
    run = dict(zip(qids, results))
    assert all(len(hits) <= 75 for hits in results)
    as_dict = {q: {h.id: h.score for h in hits} for q, hits in run.items()}
    assert all(len(as_dict[q]) == len(run[q]) for q in qids)  # no duplicate from BM25

    metrics = ALL_METRICS
    result = aitl.evaluate(ds.qrels, run, metrics)
    assert result.queries == len(qids)
    assert_same(result, reference(ds.qrels, as_dict, metrics), metrics)
    assert 0.2 < result.mean["recall@75"] <= 1.0  # BM25 finds a good share of the gold knowledge

    # The same run through a TREC file.
    aitl.write_trec_run(tmp_path / "bm25.trec", run, tag="bm25")
    from_file = aitl.evaluate(ds.qrels, aitl.read_trec_run(tmp_path / "bm25.trec"), metrics)
    for q in qids:
        for name in metrics:
            assert from_file.per_query[q][name] == pytest.approx(result.per_query[q][name], abs=TOL)


# --------------------------------------------------------------------------------------
# files: errors and formats
# --------------------------------------------------------------------------------------

def test_read_qrels_formats(tmp_path: Path):
    p = tmp_path / "q.tsv"
    p.write_text("query-id\tcorpus-id\tscore\nq1\td 1\t2\nq1\td2\t0\n")
    assert aitl.read_qrels(p) == {"q1": {"d 1": 2, "d2": 0}}
    assert aitl.read_qrels(str(p)) == {"q1": {"d 1": 2, "d2": 0}}
    t = tmp_path / "q.trec"
    t.write_text("301 0 FBIS3-1 1\n301 0 FBIS3-2 0\n")
    assert aitl.read_qrels(t) == {"301": {"FBIS3-1": 1, "FBIS3-2": 0}}


def test_read_qrels_errors(tmp_path: Path):
    with pytest.raises(aitl.IoError):
        aitl.read_qrels(tmp_path / "missing.tsv")
    with pytest.raises(OSError):
        aitl.read_qrels(tmp_path / "missing.tsv")
    p = tmp_path / "bad.tsv"
    p.write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\tyes\n")
    with pytest.raises(aitl.ParseError) as e:
        aitl.read_qrels(p)
    assert (e.value.file, e.value.line, e.value.field) == (str(p), 3, "score")
    p.write_text("q1\td1\t1\nq1\td1\t2\n")
    with pytest.raises(aitl.ParseError) as e:
        aitl.read_qrels(p)
    assert (e.value.line, e.value.field) == (2, "score")
    p.write_text("q1 d1\n")
    with pytest.raises(ValueError) as e:
        aitl.read_qrels(p)
    assert (e.value.line, e.value.field) == (1, "")


def test_trec_run_round_trip_and_errors(tmp_path: Path):
    run = {"q1": [aitl.Hit("a", 0.5), aitl.Hit("b", 0.5), aitl.Hit("c", 2.0)], "q2": []}
    path = tmp_path / "r.trec"
    aitl.write_trec_run(path, run, tag="t1")
    assert path.read_text() == "q1 Q0 c 1 2 t1\nq1 Q0 b 2 0.5 t1\nq1 Q0 a 3 0.5 t1\n"
    back = aitl.read_trec_run(path)
    assert list(back) == ["q1"]
    assert [(h.id, h.score) for h in back["q1"]] == [("c", 2.0), ("b", 0.5), ("a", 0.5)]
    assert all(isinstance(h, aitl.Hit) for h in back["q1"])

    aitl.write_trec_run(path, {"q1": {"a": 0.1, "b": 0.30000000000000004}})
    assert path.read_text() == "q1 Q0 b 1 0.30000000000000004 aitl\nq1 Q0 a 2 0.1 aitl\n"

    with pytest.raises(aitl.ConfigError):
        aitl.write_trec_run(path, run, tag="two words")
    with pytest.raises(aitl.ConfigError):
        aitl.write_trec_run(path, {"q 1": {"a": 1.0}})
    with pytest.raises(aitl.ConfigError):
        aitl.write_trec_run(path, {"q1": [("a", 1.0), ("a", 0.5)]})
    with pytest.raises(aitl.ConfigError):
        aitl.write_trec_run(path, {"q1": {"a": float("nan")}})
    with pytest.raises(aitl.IoError):
        aitl.write_trec_run(tmp_path / "no" / "dir" / "r.trec", run)

    path.write_text("q1 Q0 a 1 0.5 t\nq1 Q0 b 2 0.4 t\nq1 Q0 a 3 0.3 t\n")
    with pytest.raises(aitl.ParseError) as e:
        aitl.read_trec_run(path)
    assert (e.value.line, e.value.field) == (3, "docid")
    path.write_text("q1 Q0 a 1 0.5\n")
    with pytest.raises(aitl.ParseError) as e:
        aitl.read_trec_run(path)
    assert (e.value.line, e.value.field) == (1, "")
    path.write_text("q1 Q0 a 1 0.5 t\nq1 Q0 b 2 x t\n")
    with pytest.raises(aitl.ParseError) as e:
        aitl.read_trec_run(path)
    assert (e.value.line, e.value.field) == (2, "score")
    with pytest.raises(aitl.IoError):
        aitl.read_trec_run(tmp_path / "missing.trec")


def test_write_qrels_formats(tmp_path: Path):
    q = {"q1": {"d1": 1, "d2": 0}}
    aitl.write_qrels(tmp_path / "a.tsv", q)
    assert (tmp_path / "a.tsv").read_text() == "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n"
    aitl.write_qrels(tmp_path / "a.trec", q, format="trec")
    assert (tmp_path / "a.trec").read_text() == "q1 0 d1 1\nq1 0 d2 0\n"
    with pytest.raises(aitl.ConfigError):
        aitl.write_qrels(tmp_path / "b.tsv", q, format="csv")
    with pytest.raises(aitl.ConfigError):
        aitl.write_qrels(tmp_path / "b.trec", {"q 1": {"d": 1}}, format="trec")
