"""aitl.beir: loading BEIR folders (corpus, queries, qrels, groups, responses)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import aitl
from aitl import beir

REPO = Path(__file__).resolve().parents[2]
HELPCENTRE = REPO / "examples" / "data" / "helpcentre"


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    dst = tmp_path / "hc"
    shutil.copytree(HELPCENTRE, dst)
    return dst


def test_load_reads_corpus_queries_and_qrels():
    ds = beir.load(HELPCENTRE)
    assert isinstance(ds.kb, aitl.KnowledgeBase) and len(ds.kb) == 40
    assert len(ds.queries) == 34 and ds.queries["q15"] == "can I pay with PayPal"
    assert ds.qrels["q23"] == {"delete-account": 1, "privacy": 1}
    assert ds.groups is None and ds.responses is None
    assert ds.split == "test" and "documents=40" in repr(ds)


def test_load_dstc11_gives_groups_and_responses(dstc11_beir: Path):
    ds = beir.load(dstc11_beir)
    assert len(ds.kb) == 10_882 and len(ds.queries) == 2_129
    assert sum(len(v) for v in ds.qrels.values()) == 8_669
    assert set(ds.groups) == set(ds.queries) == set(ds.responses)
    doc = ds.kb.get("hotel:20:review:9:4")
    assert doc.metadata["doc_type"] == "review" and doc.metadata["entity_id"] == 20


def test_only_judged_queries_unless_asked(folder: Path):
    with open(folder / "queries.jsonl", "a") as f:
        f.write(json.dumps({"_id": "extra", "text": "an unjudged question"}) + "\n")
    assert "extra" not in beir.load(folder).queries
    assert beir.load(folder, all_queries=True).queries["extra"] == "an unjudged question"


def test_missing_folder_split_or_file_is_an_io_error(folder: Path, tmp_path: Path):
    with pytest.raises(aitl.IoError, match="folder not found"):
        beir.load(tmp_path / "nope")
    with pytest.raises(aitl.IoError, match=r"split 'dev'.*\['test'\]"):
        beir.load(folder, split="dev")
    (folder / "queries.jsonl").unlink()
    with pytest.raises(aitl.IoError, match="queries.jsonl"):
        beir.load(folder)


def test_load_queries_names_file_line_and_field(folder: Path):
    q = folder / "queries.jsonl"
    lines = q.read_text().splitlines()
    cases = [
        ('{"_id": "q99", "text": 5}', "text", "wrong type"),
        ('{"text": "no id"}', "_id", "missing"),
        ('{"_id": "q01", "text": "again"}', "_id", "duplicate"),
        ('{"_id": "q99", "text": "unterminated', "", "not valid JSON .*missing closing quote"),
        ('["q99", "text"]', "", "not a JSON object"),
    ]
    for bad, field, what in cases:
        q.write_text("\n".join(lines[:3] + [bad] + lines[3:]) + "\n")
        with pytest.raises(aitl.ParseError, match=what) as e:
            beir.load_queries(q)
        assert (e.value.file, e.value.line, e.value.field) == (str(q), 4, field)
        assert f"queries.jsonl:4: field '{field}'" in str(e.value)
    q.write_text("\n".join(lines) + "\n\n")
    assert len(beir.load_queries(folder)) == 34  # a folder works too; blank lines are skipped


def test_a_judged_query_missing_from_queries_is_a_parse_error(folder: Path):
    with open(folder / "qrels" / "test.tsv", "a") as f:
        f.write("ghost\ttrack-order\t1\n")
    with pytest.raises(aitl.ParseError, match="ghost") as e:
        beir.load(folder)
    assert e.value.field == "query-id" and e.value.line == 38


def test_groups_and_responses_are_validated(folder: Path):
    (folder / "groups.tsv").write_text("query-id\tdialogue-id\nq01\tg1\nq02\n")
    with pytest.raises(aitl.ParseError, match="column count") as e:
        beir.load(folder)
    assert e.value.line == 3
    (folder / "groups.tsv").write_text("query-id\tdialogue-id\nq01\tg1\nq02\tg1\n")
    (folder / "responses.jsonl").write_text('{"_id": "q01", "response": "Open Orders."}\n{"_id": "q02"}\n')
    with pytest.raises(aitl.ParseError, match="response") as e:
        beir.load(folder)
    assert (e.value.line, e.value.field) == (2, "response")
    (folder / "responses.jsonl").write_text('{"_id": "q01", "response": "Open Orders."}\n')
    ds = beir.load(folder)
    assert ds.groups == {"q01": "g1", "q02": "g1"} and ds.responses == {"q01": "Open Orders."}
