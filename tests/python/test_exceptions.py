"""C++ exceptions reach Python as the classes STYLE.md maps them to, raised by real calls."""
from __future__ import annotations

import numpy as np
import pytest

import aitl


def test_hierarchy():
    assert issubclass(aitl.AitlError, RuntimeError)
    for cls in (aitl.ConfigError, aitl.DimensionError, aitl.ParseError):
        assert issubclass(cls, aitl.AitlError) and issubclass(cls, ValueError)
    assert issubclass(aitl.NotFoundError, aitl.AitlError) and issubclass(aitl.NotFoundError, KeyError)
    assert issubclass(aitl.IoError, aitl.AitlError) and issubclass(aitl.IoError, OSError)
    assert issubclass(aitl.StateError, aitl.AitlError)


def test_config_error_for_k_zero_is_a_value_error():
    bm25 = aitl.BM25()
    bm25.add("d1", "refund policy")
    with pytest.raises(ValueError, match="k"):
        bm25.search("refund", 0)
    with pytest.raises(aitl.ConfigError):
        bm25.search("refund", -3)


def test_dimension_error_names_the_numbers():
    index = aitl.ExactIndex(4)
    with pytest.raises(aitl.DimensionError, match="3") as err:
        index.add(np.array([1], dtype=np.uint64), np.ones((1, 3), dtype=np.float32))
    assert isinstance(err.value, ValueError)
    bad = np.ones((1, 4), dtype=np.float32)
    bad[0, 2] = np.nan
    with pytest.raises(aitl.DimensionError):
        index.add(np.array([1], dtype=np.uint64), bad)


def test_parse_error_carries_file_line_and_field(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"_id": "a", "title": "t", "text": "x"}\n{"title": "no id", "text": "y"}\n')
    with pytest.raises(aitl.ParseError) as err:
        aitl.KnowledgeBase.load_beir(str(tmp_path))
    assert err.value.line == 2
    assert err.value.field == "_id"
    assert err.value.file.endswith("corpus.jsonl")
    assert isinstance(err.value, ValueError)


def test_not_found_is_a_key_error():
    kb = aitl.KnowledgeBase()
    with pytest.raises(KeyError):
        kb.get("missing")
    bm25 = aitl.BM25()
    with pytest.raises(aitl.NotFoundError, match="missing"):
        bm25.remove("missing")


def test_io_error_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        aitl.read_qrels(str(tmp_path / "nope.tsv"))
    with pytest.raises(aitl.IoError):
        aitl.HnswIndex.load(str(tmp_path / "nope.bin"))


def test_every_aitl_error_is_catchable_as_the_base():
    with pytest.raises(aitl.AitlError):
        aitl.evaluate({"q": {"d": 1}}, {"q": {"d": 1.0}}, metrics=["bogus@3"])
