"""Hostile and careless input (issue 12): each test names the defect it pins down.

The store, registry, path and Markdown items have their tests next to their components
(test_store.py, test_registry.py, test_cli*.py, test_gaps.py); this file holds the loaders' and
the converters' items: deep nesting (3, 5), bytes that are not UTF-8 and lone surrogates (4),
the DSTC11 converter's ids (9), empty or inconsistent qrels (10), hand-edited store rows (11),
a huge k (14) and the messages of item 15.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import aitl
from aitl import beir, dstc11
from conftest import one_line_error, run_aitl

REPO = Path(__file__).resolve().parents[2]
HELPCENTRE = REPO / "examples" / "data" / "helpcentre"
T0 = 1_700_000_000_000






def deep(n: int, leaf: str = "1") -> str:
    return "[" * n + leaf + "]" * n


def impression(n: int = 0, **changes) -> dict:
    d = {"type": "impression", "id": f"imp-{n}", "case_id": "case-1", "turn": 0, "timestamp_ms": T0 + n,
         "query": f"question {n}", "context": [], "retrieved": [{"doc_id": "d1", "rank": 1, "score": 2.0},
                                                               {"doc_id": "d2", "rank": 2, "score": 1.0}],
         "shown": [{"doc_id": "d1", "rank": 1, "score": 2.0}],
         "replies": [{"variant": "champion", "position": "left", "text": "a [d1]"},
                     {"variant": "other", "position": "right", "text": "b [d2]"}]}
    d.update(changes)
    return d


def preference(imp: str = "imp-0", **changes) -> dict:
    d = {"type": "preference", "impression_id": imp, "annotator": "agent-1", "timestamp_ms": T0 + 10,
         "time_to_annotate_ms": 100, "weight": 1.0, "choice": "a", "strength": "clear", "rationale": ""}
    d.update(changes)
    return d


# ------------------------------------------------------------------ 3, 5: deep nesting

def test_parse_json_refuses_deep_nesting_with_a_short_message():
    with pytest.raises(aitl.ParseError) as e:
        aitl.parse_json(deep(100_000), "x.json", 0)
    msg = str(e.value)
    assert "nested too deeply" in msg and str(aitl.json_max_depth) in msg and "at byte 128" in msg
    assert len(msg) < 400
    assert aitl.parse_json(deep(aitl.json_max_depth)) is not None  # the limit itself is accepted


def test_store_import_of_a_line_nested_100k_deep_is_a_parse_error(tmp_path: Path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"type": "aitl_store", "schema_version": 2, "impressions": 1, "annotations": 0})
                   + "\n" + deep(100_000) + "\n")
    store = tmp_path / "s.db"
    line = one_line_error(run_aitl("store", "import", src, store))
    assert f"{src}:2:" in line and "nested too deeply" in line and len(line) < 500
    with pytest.raises(aitl.ParseError) as e:
        aitl.SqliteStore(str(tmp_path / "t.db")).import_jsonl(str(src))
    assert e.value.line == 2


def test_append_of_a_dict_nested_50k_deep_is_a_config_error(tmp_path: Path):
    nested: list = []
    for _ in range(50_000):
        nested = [nested]
    store = aitl.SqliteStore(str(tmp_path / "s.db"))
    with pytest.raises(aitl.ConfigError, match="nested too deeply"):
        store.append(impression(context=nested))
    loop: list = []
    loop.append(loop)  # a list that contains itself ends the same way
    with pytest.raises(aitl.ConfigError, match="nested too deeply"):
        store.append(impression(context=loop))
    assert store.stats().impressions == 0


def test_dstc11_convert_on_200k_nested_brackets_is_one_line_error(tmp_path: Path):
    src = tmp_path / "dstc"
    shutil.copytree(REPO.parent / "shared" / "data" / "dstc11-track5", src)
    os.chmod(src / "knowledge.json", 0o644)
    (src / "knowledge.json").write_text("[" * 200_000)
    line = one_line_error(run_aitl("convert", "dstc11", src, tmp_path / "out"))
    assert "knowledge.json" in line and "nested too deeply" in line
    with pytest.raises(aitl.ParseError):
        dstc11.convert(src, tmp_path / "out2")


# ------------------------------------------------------------------ 4: encodings

def test_non_utf8_bytes_are_parse_errors_naming_file_line_and_byte(tmp_path: Path):
    q = tmp_path / "qrels.tsv"
    q.write_bytes(b"query-id\tcorpus-id\tscore\nq1\td1\t\xff\n")
    with pytest.raises(aitl.ParseError) as e:
        aitl.read_qrels(str(q))
    assert e.value.line == 2 and type(e.value) is aitl.ParseError

    imp = tmp_path / "in.jsonl"
    imp.write_bytes(b'{"type":"aitl_store","schema_version":2,"impressions":1,"annotations":0}\n'
                    b'{"type":"impression","query":"caf\xe9"}\n')
    with pytest.raises(aitl.ParseError) as e:
        aitl.SqliteStore(str(tmp_path / "s.db")).import_jsonl(str(imp))
    assert e.value.line == 2 and "not valid UTF-8" in str(e.value) and "0xE9" in str(e.value)
    line = one_line_error(run_aitl("store", "import", imp, tmp_path / "t.db"))
    assert "not valid UTF-8" in line

    reg = tmp_path / "reg"
    aitl.ModelRegistry(str(reg))
    (reg / "manifest.json").write_bytes(b'{"format": "aitl.model_registry\xff"}')
    with pytest.raises(aitl.ParseError) as e:
        aitl.ModelRegistry(str(reg))
    assert "manifest.json" in e.value.file and "not valid UTF-8" in str(e.value)


def test_messages_with_raw_bytes_reach_python_without_system_error(tmp_path: Path):
    # A file name that is not UTF-8 ends up in the message: decoded with escapes, not a SystemError.
    name = os.fsencode(str(tmp_path)) + b"/bad\xff.jsonl"
    with open(name, "wb") as f:
        f.write(b"not json\n")
    with pytest.raises(aitl.ParseError) as e:
        aitl.read_queries(name.decode("utf-8", "surrogateescape"))
    assert "\\xff" in str(e.value) or "\udcff" in str(e.value)


def test_lone_surrogate_is_a_config_error_naming_the_index(tmp_path: Path):
    store = aitl.SqliteStore(str(tmp_path / "s.db"))
    with pytest.raises(aitl.ConfigError, match="lone surrogate at index 3"):
        store.append(impression(query="abc\udcffdef"))
    with pytest.raises(aitl.ConfigError, match="lone surrogate"):
        aitl.parse_json('"\ud800"')


# ------------------------------------------------------------------ 9: DSTC11 converter

def _dstc_copy(tmp_path: Path) -> Path:
    src = tmp_path / "dstc"
    shutil.copytree(REPO.parent / "shared" / "data" / "dstc11-track5", src)
    for p in src.rglob("*.json"):
        os.chmod(p, 0o644)
    return src


def test_dstc11_refuses_non_canonical_entity_keys(tmp_path: Path):
    src = _dstc_copy(tmp_path)
    k = json.loads((src / "knowledge.json").read_text())
    domain = next(iter(k))
    first = next(iter(k[domain]))
    k[domain]["0" + first] = k[domain][first]  # "1" and "01": the same document ids
    (src / "knowledge.json").write_text(json.dumps(k))
    with pytest.raises(aitl.ParseError, match="not a canonical integer") as e:
        dstc11.convert(src, tmp_path / "out")
    assert e.value.field == domain
    assert not (tmp_path / "out" / "qrels").exists()


def test_dstc11_refuses_domains_with_tabs_or_newlines(tmp_path: Path):
    src = _dstc_copy(tmp_path)
    k = json.loads((src / "knowledge.json").read_text())
    domain = next(iter(k))
    k["bad\tdomain\n"] = k.pop(domain)
    (src / "knowledge.json").write_text(json.dumps(k))
    with pytest.raises(aitl.ParseError, match="invalid domain name"):
        dstc11.convert(src, tmp_path / "out")


# ------------------------------------------------------------------ 10: qrels

def _beir_copy(tmp_path: Path) -> Path:
    dst = tmp_path / "hc"
    shutil.copytree(HELPCENTRE, dst)
    return dst


def test_qrels_with_only_a_header_is_an_error_not_zeros(tmp_path: Path):
    data = _beir_copy(tmp_path)
    (data / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n")
    with pytest.raises(aitl.ParseError, match="no judgements"):
        beir.load(data)
    line = one_line_error(run_aitl("eval", "--data", data, "--retriever", "bm25", "--quiet"))
    assert "no judgements" in line


def test_qrels_naming_an_unknown_document_is_an_error(tmp_path: Path):
    data = _beir_copy(tmp_path)
    rows = (data / "qrels" / "test.tsv").read_text().splitlines()
    qid = rows[1].split("\t")[0]
    (data / "qrels" / "test.tsv").write_text("\n".join(rows + [f"{qid}\tno-such-doc\t1"]) + "\n")
    with pytest.raises(aitl.ParseError, match="not in corpus.jsonl") as e:
        beir.load(data)
    assert e.value.line == len(rows) + 1 and e.value.field == "corpus-id"


# ------------------------------------------------------------------ 11: rows edited by hand

def _store_with_rows(tmp_path: Path) -> Path:
    db = tmp_path / "s.db"
    store = aitl.SqliteStore(str(db))
    store.append([impression(i) for i in range(3)] + [preference(f"imp-{i}") for i in range(3)])
    store.close()
    return db


@pytest.mark.parametrize("edit, column", [
    ("UPDATE annotations SET weight = 'heavy' WHERE seq = 2", "annotations[seq 2].weight"),
    ("UPDATE annotations SET kind = 7 WHERE seq = 3", "annotations[seq 3].kind"),
    ("UPDATE annotations SET choice = 9 WHERE seq = 1", "annotations[seq 1].choice"),
    ("UPDATE impression_replies SET position = 'up' WHERE impression_seq = 2", "impression_replies[seq 2].position"),
    ("UPDATE impressions SET context = '[[[1]]]' WHERE seq = 1", "impressions[seq 1].context"),
])
def test_hand_edited_rows_are_named_not_read_as_zero(tmp_path: Path, edit: str, column: str):
    db = _store_with_rows(tmp_path)
    with sqlite3.connect(db) as c:
        c.execute(edit)
    store = aitl.SqliteStore(str(db))
    with pytest.raises(aitl.ParseError) as e:
        store.export_jsonl(str(tmp_path / "out.jsonl"))
        store.annotations()
        store.impressions()
    assert e.value.field == column and "changed outside aitl" in str(e.value)
    assert e.value.file == str(db)
    line = one_line_error(run_aitl("store", "export", db, tmp_path / "out2.jsonl"))
    assert column in line


def test_stats_and_export_agree_on_a_hand_edited_kind(tmp_path: Path):
    db = _store_with_rows(tmp_path)
    with sqlite3.connect(db) as c:
        c.execute("UPDATE annotations SET kind = 'preference' WHERE seq = 1")
    store = aitl.SqliteStore(str(db))
    with pytest.raises(aitl.ParseError, match=r"annotations\[seq 1\]\.kind"):
        store.stats()
    with pytest.raises(aitl.ParseError, match=r"annotations\[seq 1\]\.kind"):
        store.export_jsonl(str(tmp_path / "out.jsonl"))


# ------------------------------------------------------------------ 14: huge k

@pytest.mark.parametrize("cls", [aitl.ExactIndex, aitl.HnswIndex])
def test_huge_k_is_capped_at_the_index_size(cls):
    index = cls(8)
    index.add(np.arange(5), np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32))
    labels, scores = index.search(np.ones((3, 8), np.float32), 10**9)
    assert labels.shape == scores.shape == (3, 5)
    assert sorted(labels[0].tolist()) == [0, 1, 2, 3, 4]


# ------------------------------------------------------------------ 15: messages

def test_bom_is_accepted_in_corpus_and_queries_alike(tmp_path: Path):
    data = _beir_copy(tmp_path)
    for name in ("corpus.jsonl", "queries.jsonl"):
        p = data / name
        p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    (data / "groups.tsv").write_bytes(b"\xef\xbb\xbfquery-id\tgroup-id\nq1\tg1\n")
    ds = beir.load(data)
    assert len(ds.kb) == 40 and len(ds.queries) == 34 and ds.groups == {"q1": "g1"}


def test_non_utf8_corpus_names_the_encoding_and_the_byte(tmp_path: Path):
    data = _beir_copy(tmp_path)
    p = data / "corpus.jsonl"
    lines = p.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b'"text": "', b'"text": "\xc3\x28', 1)
    p.write_bytes(b"\n".join(lines))
    with pytest.raises(aitl.ParseError) as e:
        beir.load(data)
    assert e.value.line == 3
    assert "not valid UTF-8 (got byte 0xC3" in str(e.value) and "of the line" in str(e.value)
    p = data / "queries.jsonl"
    p.write_bytes(p.read_bytes().replace(b'"text": "', b'"text": "\xff', 1))
    with pytest.raises(aitl.ParseError, match="not valid UTF-8"):
        beir.load_queries(p)
    g = data / "groups.tsv"
    g.write_bytes(b"query-id\tgroup-id\nq1\t\xff\n")
    with pytest.raises(aitl.ParseError, match="not valid UTF-8") as e:
        beir.load_groups(g)
    assert e.value.line == 2


def test_store_with_an_empty_path_says_so():
    with pytest.raises(aitl.ConfigError, match="empty path"):
        aitl.SqliteStore("")


def test_store_in_a_missing_folder_says_so(tmp_path: Path):
    with pytest.raises(aitl.IoError, match="no folder"):
        aitl.SqliteStore(str(tmp_path / "missing" / "s.db"))


@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("setpriv") is None, reason="root needs setpriv to drop "
                    "CAP_DAC_OVERRIDE")
def test_store_in_a_read_only_folder_says_which_folder(tmp_path: Path):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    code = ("import aitl, sys\n"
            "try:\n    aitl.SqliteStore(sys.argv[1])\nexcept aitl.IoError as e:\n    print(e)\n")
    # Root writes anywhere: without CAP_DAC_OVERRIDE it meets permissions like any user.
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"] if os.geteuid() == 0 else []
    proc = subprocess.run([*drop, sys.executable, "-c", code, str(ro / "s.db")], capture_output=True, text=True,
                          timeout=120)
    assert "is not writable, so the store cannot be created" in proc.stdout, proc.stdout + proc.stderr
    assert str(ro) in proc.stdout
    # An existing store in a read-only folder: SQLite cannot create its -wal and -shm files.
    os.chmod(ro, 0o755)
    aitl.SqliteStore(str(ro / "s.db")).close()
    for extra in ("s.db-wal", "s.db-shm"):
        (ro / extra).unlink(missing_ok=True)
    os.chmod(ro, 0o555)
    proc = subprocess.run([*drop, sys.executable, "-c", code, str(ro / "s.db")], capture_output=True, text=True,
                          timeout=120)
    assert "-wal' and '-shm'" in proc.stdout and "read_only" in proc.stdout, proc.stdout + proc.stderr


def test_batch_errors_name_the_item(tmp_path: Path):
    store = aitl.SqliteStore(str(tmp_path / "s.db"))
    batch = [impression(0), impression(1), impression(2, query="")]
    with pytest.raises(aitl.ConfigError, match=r"item 2: .*query"):
        store.append(batch)
    store.append([impression(0)])
    with pytest.raises(aitl.NotFoundError, match=r"annotations\[1\]: .*unknown impression"):
        store.append([preference("imp-0"), preference("imp-404")])
    assert store.stats().annotations == 0


def test_loaders_refuse_split_names_that_leave_the_folder(tmp_path: Path):
    # Item 8 at the library level (the CLI checks --split first): a split is a plain name.
    for bad in ("../../etc/x", "/abs", "..", "a\nb"):
        with pytest.raises(aitl.ConfigError, match="not a plain name"):
            beir.load(HELPCENTRE, split=bad)
        with pytest.raises(aitl.ConfigError, match="not a plain name"):
            dstc11.convert(REPO.parent / "shared" / "data" / "dstc11-track5", tmp_path / "out", split=bad)
    assert not (tmp_path / "out").exists()
