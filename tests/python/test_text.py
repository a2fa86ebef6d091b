"""aitl.tokenize, aitl.english_stopwords, aitl.Analyzer and aitl.HashedEncoder."""
from __future__ import annotations

import numpy as np
import pytest

import aitl


def test_tokenize_keeps_words_whole_in_every_script():
    assert aitl.tokenize("Hello, wörld! 東京タワー 🙂 don't 4.5 Wi-Fi") == [
        "Hello", "wörld", "東京タワー", "don't", "4.5", "Wi", "Fi"]
    assert aitl.tokenize("Привет, мир") == ["Привет", "мир"]
    assert aitl.tokenize("ok😀go 👍🏽") == ["ok", "go"]
    assert aitl.tokenize("") == []
    assert aitl.tokenize("  ?! ") == []


def test_tokenize_survives_lone_surrogates_and_odd_input():
    # Python str may hold lone surrogates; they have no UTF-8 form and are refused
    with pytest.raises((TypeError, UnicodeError)):
        aitl.tokenize("a\udc80b")
    assert aitl.tokenize("a\u0000b") == ["a", "b"]
    assert aitl.tokenize("x" * 10000) == ["x" * 10000]


def test_english_stopwords():
    words = aitl.english_stopwords()
    assert len(words) == 174
    assert words == sorted(words)
    assert {"the", "would", "don't"} <= set(words)
    assert "hotel" not in words


def test_analyzer_pipeline_and_options():
    a = aitl.Analyzer()
    assert a.tokens("The hotels' Wi-Fi is FREE, isn’t it?") == ["hotel", "wi", "fi", "free"]
    assert aitl.Analyzer(stopwords=False, stem=False).tokens("The Hotels don’t") == ["the", "hotels", "don't"]
    assert aitl.Analyzer(lowercase=False, stopwords=False, stem=False).tokens("The Hotels") == ["The", "Hotels"]
    assert aitl.Analyzer(stopwords=False, language="french").tokens("Les chevaux") == ["le", "cheval"]
    assert a.config == {"lowercase": True, "stopwords": True, "stem": True, "language": "english"}
    assert repr(a) == "Analyzer(lowercase=True, stopwords=True, stem=True, language='english')"


def test_analyzer_rejects_bad_settings():
    with pytest.raises(aitl.ConfigError, match="unknown language"):
        aitl.Analyzer(stopwords=False, language="klingon")
    with pytest.raises(aitl.ConfigError, match="stop words"):
        aitl.Analyzer(language="french")  # no French stop list
    with pytest.raises(ValueError):  # ConfigError is a ValueError too
        aitl.Analyzer(language="klingon")


def test_hashed_encoder_returns_unit_rows_without_copy():
    enc = aitl.HashedEncoder(dim=32, buckets=1024, seed=3)
    assert enc.dim == 32
    v = enc.encode(["Is there free parking at the hotel?", "Does the hotel offer free parking?", "",
                    "the of", "quantum chromodynamics lecture"])
    assert v.dtype == np.float32 and v.shape == (5, 32)
    assert v.flags["C_CONTIGUOUS"]
    assert not v.flags["OWNDATA"] and v.base is not None  # owns the C++ buffer through a capsule
    norms = np.linalg.norm(v, axis=1)
    assert norms[0] == pytest.approx(1, abs=1e-5) and norms[4] == pytest.approx(1, abs=1e-5)
    assert norms[2] == 0 and norms[3] == 0 and np.isfinite(v).all()  # empty text: zero row, no NaN
    assert v[0] @ v[1] > v[0] @ v[4] + 0.2
    assert enc.encode([]).shape == (0, 32)
    np.testing.assert_array_equal(enc(["free parking"]), enc.encode(["free parking"]))


def test_hashed_encoder_is_deterministic_and_orthonormal():
    a = aitl.HashedEncoder(dim=32, buckets=1024, seed=0)
    b = aitl.HashedEncoder(dim=32, buckets=1024, seed=0)
    c = aitl.HashedEncoder(dim=32, buckets=1024, seed=1)
    np.testing.assert_array_equal(a.projection, b.projection)
    assert not np.array_equal(a.projection, c.projection)
    p = a.projection
    assert p.shape == (1024, 32) and p.dtype == np.float32
    np.testing.assert_allclose(p.T @ p, np.eye(32), atol=1e-5)
    # the same numbers on every platform (mt19937_64 + Box-Muller + Cholesky-QR)
    assert p[0, 0] == pytest.approx(0.0110768387, rel=1e-4)
    assert p[17, 5] == pytest.approx(-0.0123842517, rel=1e-4)
    idx, val = a.features("free parking")
    assert idx.dtype == np.uint32 and val.dtype == np.float32
    assert float(val @ val) == pytest.approx(1.0, abs=1e-6)
    assert list(idx) == sorted(set(idx))


def test_hashed_encoder_projection_is_settable_and_validated(tmp_path):
    enc = aitl.HashedEncoder(dim=8, buckets=64, word_ngram_max=1)
    p = np.zeros((64, 8), dtype=np.float64)  # converted to float32
    p[:8, :] = np.eye(8)
    enc.set_projection(p)
    np.testing.assert_array_equal(enc.projection, p.astype(np.float32))
    with pytest.raises(aitl.DimensionError):
        enc.set_projection(np.zeros((64, 9), dtype=np.float32))
    with pytest.raises(aitl.DimensionError):
        enc.set_projection(np.zeros(64, dtype=np.float32))
    bad = p.copy()
    bad[3, 3] = np.nan
    with pytest.raises(aitl.DimensionError, match="non-finite"):
        enc.set_projection(bad)
    enc.save(tmp_path / "enc.bin")
    back = aitl.HashedEncoder.load(tmp_path / "enc.bin")
    np.testing.assert_array_equal(back.projection, enc.projection)
    assert back.config == enc.config
    np.testing.assert_array_equal(back.encode(["hello world"]), enc.encode(["hello world"]))
    with pytest.raises(aitl.IoError):
        aitl.HashedEncoder.load(tmp_path / "missing.bin")
    (tmp_path / "junk.bin").write_bytes(b"not an encoder")
    with pytest.raises(aitl.ParseError):
        aitl.HashedEncoder.load(tmp_path / "junk.bin")


def test_hashed_encoder_rejects_bad_settings_and_input():
    with pytest.raises(aitl.ConfigError):
        aitl.HashedEncoder(dim=0)
    with pytest.raises(aitl.ConfigError, match="dim"):
        aitl.HashedEncoder(dim=64, buckets=32)
    with pytest.raises(aitl.ConfigError):
        aitl.HashedEncoder(word_ngram_max=0, char_ngram_max=0)
    with pytest.raises(aitl.ConfigError):
        aitl.HashedEncoder(char_ngram_min=5, char_ngram_max=2)
    enc = aitl.HashedEncoder(dim=8, buckets=64)
    with pytest.raises(TypeError):
        enc.encode("a single string")
    with pytest.raises(TypeError):
        enc.encode(["ok", 3])
    assert repr(enc) == "HashedEncoder(dim=8, buckets=64, seed=0)"
    assert enc.config["analyzer"]["stem"] is False
