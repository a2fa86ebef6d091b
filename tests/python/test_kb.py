"""aitl.Document, aitl.Hit and aitl.KnowledgeBase (BEIR / JSONL loaders and their errors)."""
from __future__ import annotations

import json
import pickle

import pytest

import aitl


def test_document_fields_metadata_and_repr():
    d = aitl.Document("faq-1", title="Refunds", text="Refunds take 5 days.",
                      metadata={"tags": ["billing", 1, 2.5, None, True], "owner": {"team": "ops"}})
    assert (d.id, d.title, d.text, d.version) == ("faq-1", "Refunds", "Refunds take 5 days.", 1)
    assert d.metadata == {"tags": ["billing", 1, 2.5, None, True], "owner": {"team": "ops"}}
    assert d.indexed_text() == "Refunds\nRefunds take 5 days."
    assert aitl.Document("x", text="body").indexed_text() == "body"
    assert aitl.Document("x").metadata == {}
    d.metadata = {"a": 1}
    assert d.metadata == {"a": 1}
    assert repr(d) == "Document(id='faq-1', title='Refunds', text='Refunds take 5 days.', version=1)"
    long = aitl.Document("y", text="é" * 100)
    assert repr(long).endswith("...', version=1)")
    assert pickle.loads(pickle.dumps(d)) == d
    with pytest.raises(TypeError):
        aitl.Document("x", metadata=[1, 2])
    with pytest.raises(TypeError):
        aitl.Document("x", metadata={"f": object()})
    with pytest.raises(TypeError):
        aitl.Document("x", metadata={1: "non-str key"})


def test_hit_fields_unpacking_and_repr():
    h = aitl.Hit("d1", 1.5)
    assert (h.id, h.score) == ("d1", 1.5)
    doc_id, score = h
    assert (doc_id, score) == ("d1", 1.5)
    assert repr(h) == "Hit(id='d1', score=1.5)"
    assert h == aitl.Hit("d1", 1.5) and h != aitl.Hit("d1", 2.0)
    assert pickle.loads(pickle.dumps(h)) == h


def test_knowledge_base_add_update_remove_iterate():
    kb = aitl.KnowledgeBase()
    kb.add(aitl.Document("b", title="Bee", text="second"))
    kb.add(aitl.Document("a", text="first", metadata={"lang": "en"}))
    kb.add(aitl.Document("c", text="third"))
    assert len(kb) == 3 and kb.ids() == ["b", "a", "c"]
    assert "a" in kb and "zz" not in kb
    assert kb["a"].metadata == {"lang": "en"} and kb.get("b").title == "Bee"
    assert kb.update(aitl.Document("a", text="first, revised")) == 2
    assert kb["a"].version == 2 and kb.ids() == ["b", "a", "c"]
    kb.remove("b")
    assert [d.id for d in kb] == ["a", "c"]
    assert repr(kb) == "KnowledgeBase(size=2)"

    it = iter(kb)
    kb.remove("a")  # removed while iterating: skipped, no crash
    assert [d.id for d in it] == ["c"]

    with pytest.raises(aitl.ConfigError, match="duplicate id"):
        kb.add(aitl.Document("c", text="again"))
    with pytest.raises(aitl.ConfigError, match="empty id"):
        kb.add(aitl.Document("", text="no id"))
    with pytest.raises(aitl.NotFoundError):
        kb.update(aitl.Document("zz"))
    with pytest.raises(KeyError):
        kb.remove("zz")
    with pytest.raises(KeyError):
        kb["zz"]
    assert len(aitl.KnowledgeBase([aitl.Document("x"), aitl.Document("y")])) == 2
    with pytest.raises(aitl.ConfigError):
        aitl.KnowledgeBase([aitl.Document("x"), aitl.Document("x")])


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_load_beir_folder_file_and_metadata(tmp_path):
    write_lines(tmp_path / "corpus.jsonl", [
        json.dumps({"_id": "d1", "title": "Refunds", "text": "Refunds take 5 days.", "url": "u1"}),
        "",
        json.dumps({"_id": 42, "text": "Numeric id", "metadata": {"src": "faq"}}),
        json.dumps({"_id": "d3", "title": "Café", "text": "東京 😀"}, ensure_ascii=False),
    ])
    for path in (tmp_path, tmp_path / "corpus.jsonl", str(tmp_path)):
        kb = aitl.KnowledgeBase.load_beir(path)
        assert kb.ids() == ["d1", "42", "d3"]
        assert kb["d1"].metadata == {"url": "u1"}
        assert kb["42"].metadata == {"src": "faq"}
        assert kb["d3"].text == "東京 😀"


@pytest.mark.parametrize("lines, line, field", [
    (['{"_id": "a", "text": "x"}', "{not json"], 2, ""),
    (['{"_id": "a", "text": "x"}', "", "[1, 2]"], 3, ""),
    (['{"title": "t", "text": "x"}'], 1, "_id"),
    (['{"_id": "", "text": "x"}'], 1, "_id"),
    (['{"_id": "a", "title": 3, "text": "x"}'], 1, "title"),
    (['{"_id": "a", "text": null}'], 1, "text"),
    (['{"_id": "a", "title": "only a title"}'], 1, "text"),
    (['{"_id": "a", "text": "x", "metadata": 7}'], 1, "metadata"),
])
def test_load_beir_reports_file_line_and_field(tmp_path, lines, line, field):
    path = write_lines(tmp_path / "corpus.jsonl", lines)
    with pytest.raises(aitl.ParseError) as info:
        aitl.KnowledgeBase.load_beir(path)
    err = info.value
    assert (err.file, err.line, err.field) == (str(path), line, field)
    assert f"{path}:{line}:" in str(err) and "expected" in str(err)
    assert isinstance(err, ValueError) and isinstance(err, aitl.AitlError)


def test_load_beir_duplicate_id_names_both_lines(tmp_path):
    path = write_lines(tmp_path / "corpus.jsonl", [
        '{"_id": "a", "text": "x"}', '{"_id": "b", "text": "y"}', '{"_id": "a", "text": "z"}'])
    with pytest.raises(aitl.ParseError, match="first on line 1") as info:
        aitl.KnowledgeBase.load_beir(path)
    assert (info.value.line, info.value.field) == (3, "_id")


def test_load_errors_for_missing_and_empty_files(tmp_path):
    with pytest.raises(aitl.IoError):
        aitl.KnowledgeBase.load_beir(tmp_path / "missing.jsonl")
    with pytest.raises(OSError):  # IoError is an OSError too
        aitl.KnowledgeBase.load_jsonl(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(aitl.ConfigError, match="no documents"):
        aitl.KnowledgeBase.load_jsonl(tmp_path / "empty.jsonl")
    write_lines(tmp_path / "beir_keys.jsonl", ['{"_id": "a", "text": "x"}'])
    with pytest.raises(aitl.ParseError) as info:  # aitl's JSONL wants "id"
        aitl.KnowledgeBase.load_jsonl(tmp_path / "beir_keys.jsonl")
    assert info.value.field == "id"


def test_save_jsonl_round_trip(tmp_path):
    kb = aitl.KnowledgeBase()
    kb.add(aitl.Document("faq-1", title="Café ☕", text='Line one\nline "two"', metadata={"tags": ["a"], "n": 3}))
    kb.add(aitl.Document("faq-2", text="東京 😀"))
    kb.update(aitl.Document("faq-2", text="東京 😀 updated"))
    kb.save_jsonl(tmp_path / "kb.jsonl")
    first = json.loads((tmp_path / "kb.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first == {"id": "faq-1", "title": "Café ☕", "text": 'Line one\nline "two"',
                     "metadata": {"tags": ["a"], "n": 3}, "version": 1}
    back = aitl.KnowledgeBase.load_jsonl(tmp_path / "kb.jsonl")
    assert list(back) == list(kb)
    assert back["faq-2"].version == 2
    with pytest.raises(aitl.IoError):
        kb.save_jsonl(tmp_path / "no" / "such" / "dir.jsonl")


def test_load_beir_dstc11(dstc11_beir):
    kb = aitl.KnowledgeBase.load_beir(dstc11_beir)
    assert len(kb) == 10882
    d = kb["hotel:0:faq:0"]
    assert d.title == "A AND B GUEST HOUSE"
    assert d.metadata["domain"] == "hotel"
    assert d.text.startswith("Are children welcomed")
