"""The trainers from Python: train_encoder / EncoderTrainer and FeatureRanker."""
from __future__ import annotations

import numpy as np
import pytest

import aitl


def _kb() -> aitl.KnowledgeBase:
    return aitl.KnowledgeBase([aitl.Document(f"d{i}", f"title {i}", f"text about topic {i} and wifi {i % 3}")
                               for i in range(20)])


def _examples() -> list:
    return [aitl.ContrastiveExample(f"question about topic {i}", f"title {i}\ntext about topic {i} and wifi {i % 3}",
                                    [f"title {(i + 1) % 20}\ntext about topic {(i + 1) % 20}"]) for i in range(20)]


def test_train_encoder_returns_a_trained_copy_deterministically() -> None:
    enc = aitl.HashedEncoder(dim=32, seed=0, buckets=1024)
    seen = []
    a, ra = aitl.train_encoder(enc, _examples(), None, {"epochs": 3}, progress=seen.append, batch_size=8)
    b, _ = aitl.train_encoder(enc, _examples(), epochs=3, batch_size=8)
    assert np.array_equal(a.projection, b.projection)
    assert not np.array_equal(enc.projection, a.projection)
    assert ra["epochs_run"] == 3 and ra["train_loss"][-1] < ra["train_loss"][0]
    assert seen and seen[-1]["end_of_epoch"] and seen[-1]["epoch"] == 3
    t = aitl.EncoderTrainer(epochs=2, batch_size=8, sparse_adam=False)
    before = t.loss(enc, _examples())
    t.train(enc, [("question about topic 1", "title 1\ntext about topic 1", ["title 2"])] * 8)
    assert t.loss(enc, _examples()) != before


def test_progress_can_stop_and_its_exception_propagates() -> None:
    enc = aitl.HashedEncoder(dim=32, seed=0, buckets=1024)
    _, r = aitl.train_encoder(enc, _examples(), progress=lambda p: False)
    assert r["cancelled"] and r["epochs_run"] == 0

    def boom(p):
        raise ValueError("stop here")

    with pytest.raises(ValueError, match="stop here"):
        aitl.train_encoder(enc, _examples(), progress=boom)
    with pytest.raises(aitl.ConfigError):
        aitl.train_encoder(enc, _examples(), bogus=1)
    with pytest.raises(aitl.ConfigError):
        aitl.train_encoder(enc, [])


def test_feature_ranker_fits_reranks_and_round_trips() -> None:
    kb = _kb()
    lists = [aitl.RankingList(f"question about topic {i}", [aitl.Hit(f"d{j}", 1.0 / (j + 1)) for j in range(20)],
                              [(f"d{i}", 2.0)]) for i in range(20)]
    r = aitl.FeatureRanker(kb, epochs=5)
    res = r.fit(lists, lists[:5])
    assert r.fitted and res["epochs_run"] >= 1
    top = r.rerank("question about topic 3", lists[3].candidates, 3)
    assert len(top) == 3 and top[0].id == "d3"
    assert aitl.FeatureRanker.load(r.save(), kb).save() == r.save()
    assert r.features("topic 3", [("d3", 1.0)]).shape == (1, len(aitl.FeatureRanker.feature_names()))
    many = r.rerank_many(["question about topic 3"], [lists[3].candidates], 3)
    assert many[0] == top
    d = aitl.FeatureRanker(kb, epochs=2)
    d.fit([{"query": "topic 2", "candidates": [("d1", 1.0), ("d2", 0.5)], "labels": {"d2": 1}, "dense": {"d2": 0.9}}])
    assert d.fitted
    with pytest.raises(aitl.ConfigError):
        aitl.FeatureRanker(kb, ndcg_k=0)


def test_feature_ranker_trees_fit_deterministically_and_round_trip() -> None:
    kb = _kb()
    lists = [aitl.RankingList(f"question about topic {i}", [aitl.Hit(f"d{j}", 1.0 / (j + 1)) for j in range(20)],
                              [(f"d{i}", 2.0)]) for i in range(20)]
    seen = []
    cfg = dict(model="trees", trees={"rounds": 30, "max_leaves": 4, "subsample": 0.8}, seed=3)
    a = aitl.FeatureRanker(kb, **cfg)
    res = a.fit(lists, lists[:5], progress=seen.append)
    assert a.fitted and a.config["model"] == "trees" and a.config["trees"]["rounds"] == 30
    assert a.weights == [] and 1 <= res["best_epoch"] <= res["epochs_run"] <= 30
    assert seen and seen[0]["end_of_epoch"] and seen[0]["steps"] == 1
    b = aitl.FeatureRanker(kb, cfg)
    b.fit(lists, lists[:5])
    assert a.save() == b.save()
    loaded = aitl.FeatureRanker.load(a.save(), kb)
    assert loaded.save() == a.save()
    assert loaded.score("question about topic 3", lists[3].candidates) == a.score("question about topic 3", lists[3].candidates)
    assert a.rerank("question about topic 3", lists[3].candidates, 3)[0].id == "d3"
    assert a.ndcg(lists, 8) > aitl.FeatureRanker(kb).ndcg(lists, 8)
    with pytest.raises(aitl.ConfigError, match="rounds"):
        aitl.FeatureRanker(kb, model="trees", trees={"rounds": 0})
    with pytest.raises(aitl.ConfigError, match="linear"):
        aitl.FeatureRanker(kb, model="forest")
    with pytest.raises(aitl.ConfigError):
        aitl.FeatureRanker(kb, trees={"depth": 3})
