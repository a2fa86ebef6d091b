"""Determinism of the whole learning path: the same seed and the same data give identical model
bytes, from simulated feedback through the store, the compilers and every trainer (hashed
encoder, feature ranker, reward model); another seed gives other bytes (so the check can fail)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import aitl
from aitl import beir, learn


@pytest.fixture(scope="module")
def dstc11_small(dstc11_beir: Path):
    ds = beir.load(dstc11_beir)
    fb, _ = learn.split_queries(ds, 0.5, seed=0)
    return ds, fb[:250]


def _train_all(ds, queries, store_path: Path, seed: int) -> dict:
    """Feedback -> store -> compile -> train the three models; returns sha256 of each model."""
    got = learn.collect_feedback(ds, queries, str(store_path), seed=seed)
    store = got["store"]
    text = {d.id: d.indexed_text() for d in ds.kb}

    rex = aitl.compile_retrieval(store)
    train, val = aitl.time_split(rex, 0.1)
    pairs = learn._contrastive(train, text)
    enc, _ = aitl.train_encoder(aitl.HashedEncoder(dim=64, seed=0), pairs,
                                learn._contrastive(val, text) or None,
                                dict(epochs=3, batch_size=32, hard_negatives=1, patience=1,
                                     seed=seed))
    enc_path = store_path.with_suffix(".encoder")
    enc.save(enc_path)

    bm = aitl.BM25()
    bm.add_documents(list(ds.kb))
    lists = []
    for l in aitl.compile_rerank(store):
        labels = [(c.doc_id, float(g)) for c, g in zip(l.candidates, l.labels)]
        if any(g > 0 for _, g in labels):
            lists.append(aitl.RankingList(l.query, bm.search(l.query, 50), labels, l.weight))
    ranker = aitl.FeatureRanker(ds.kb, epochs=5, seed=seed)
    ranker.set_encoder(enc)
    ranker.fit(lists)

    prefs = aitl.compile_preferences(store)
    reward = aitl.RewardModel()
    reward.train(prefs.pairs)

    store.close()
    return {"encoder": hashlib.sha256(enc_path.read_bytes()).hexdigest(),
            "ranker": hashlib.sha256(ranker.save()).hexdigest(),
            "reward": hashlib.sha256(reward.to_bytes()).hexdigest(),
            "counts": (len(rex), len(lists), len(prefs.pairs))}


def test_same_seed_same_data_identical_model_bytes(dstc11_small, tmp_path: Path):
    ds, queries = dstc11_small
    a = _train_all(ds, queries, tmp_path / "a.db", seed=3)
    b = _train_all(ds, queries, tmp_path / "b.db", seed=3)
    assert a["counts"][0] > 50 and a["counts"][1] > 50 and a["counts"][2] > 10, a["counts"]
    assert a == b

    c = _train_all(ds, queries, tmp_path / "c.db", seed=4)
    assert c["encoder"] != a["encoder"]
    assert c["ranker"] != a["ranker"]
