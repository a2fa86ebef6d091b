"""aitl.dstc11.convert: DSTC11 Track 5 validation -> BEIR folder."""
from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

import aitl
from aitl import dstc11


def _jsonl(path: Path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _tsv(path: Path):
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def src(data_dir: Path) -> Path:
    return data_dir / "dstc11-track5"


def test_the_counts_are_exactly_those_of_the_validation_split(dstc11_beir: Path):
    corpus = _jsonl(dstc11_beir / "corpus.jsonl")
    queries = _jsonl(dstc11_beir / "queries.jsonl")
    header, qrels = _tsv(dstc11_beir / "qrels" / "test.tsv")
    assert len(corpus) == 10_882
    assert sum(d["doc_type"] == "faq" for d in corpus) == 2_869
    assert sum(d["doc_type"] == "review" for d in corpus) == 8_013
    assert len(queries) == 2_129
    assert header == ["query-id", "corpus-id", "score"]
    assert len(qrels) == 8_669
    assert all(score == "1" for _, _, score in qrels)


def test_convert_returns_the_counts_it_wrote(src: Path, tmp_path: Path):
    counts = dstc11.convert(src, tmp_path / "out")
    assert counts["documents"] == 10_882
    assert counts["faq_documents"] == 2_869
    assert counts["review_documents"] == 8_013
    assert counts["entities"] == 143
    assert counts["instances"] == 4_173
    assert counts["queries"] == 2_129
    assert counts["qrels"] == 8_669
    assert counts["query_dialogues"] <= counts["dialogues"] < counts["instances"]


def test_ids_are_stable_and_documents_carry_their_metadata(dstc11_beir: Path):
    corpus = {d["_id"]: d for d in _jsonl(dstc11_beir / "corpus.jsonl")}
    assert len(corpus) == 10_882  # unique ids
    faq = corpus["hotel:0:faq:0"]
    assert faq["title"] == "A AND B GUEST HOUSE"
    assert faq["text"] == ("Are children welcomed at this location? "
                           "Yes, you can stay with children at A and B Guest House.")
    assert (faq["domain"], faq["entity_id"], faq["doc_type"], faq["doc_id"]) == ("hotel", 0, "faq", 0)
    review = corpus["hotel:20:review:9:4"]
    assert review["doc_type"] == "review" and review["sent_id"] == 4 and review["doc_id"] == 9
    assert review["title"] == review["entity_name"] != ""
    assert isinstance(review["traveler_type"], str)
    restaurant_review = corpus["restaurant:508:review:0:1"]
    assert restaurant_review["title"] == "MIDSUMMER HOUSE RESTAURANT"
    assert restaurant_review["dishes"] == ["Strawberries and Cream"]
    assert restaurant_review["drinks"] == ["beer"]


def test_queries_are_the_last_turns_joined_by_newlines(dstc11_beir: Path, src: Path):
    queries = {q["_id"]: q for q in _jsonl(dstc11_beir / "queries.jsonl")}
    assert "val-0" not in queries  # instance 0 is not knowledge-seeking
    logs = json.loads((src / "val" / "logs.json").read_text(encoding="utf-8"))
    q = queries["val-1"]
    assert q["instance"] == 1 and q["turns"] == len(logs[1])
    assert q["text"] == "\n".join(t["text"].strip() for t in logs[1][-3:])
    assert q["text"].endswith("Are their bathrooms adequately sanitized?")


def test_history_turns_changes_the_query_text(src: Path, tmp_path: Path):
    dstc11.convert(src, tmp_path / "one", history_turns=1)
    queries = {q["_id"]: q["text"] for q in _jsonl(tmp_path / "one" / "queries.jsonl")}
    assert queries["val-1"] == "Are their bathrooms adequately sanitized?"
    assert all("\n" not in t for t in queries.values())


def test_every_judged_document_and_query_exists(dstc11_beir: Path):
    corpus = {d["_id"] for d in _jsonl(dstc11_beir / "corpus.jsonl")}
    queries = {q["_id"] for q in _jsonl(dstc11_beir / "queries.jsonl")}
    _, qrels = _tsv(dstc11_beir / "qrels" / "test.tsv")
    assert {qid for qid, _, _ in qrels} == queries
    assert all(did in corpus for _, did, _ in qrels)
    assert qrels[0] == ["val-1", "hotel:20:review:9:4", "1"]


def test_responses_and_groups_cover_every_query(dstc11_beir: Path):
    queries = [q["_id"] for q in _jsonl(dstc11_beir / "queries.jsonl")]
    responses = _jsonl(dstc11_beir / "responses.jsonl")
    assert [r["_id"] for r in responses] == queries
    assert responses[0]["response"].startswith("Yes, most of the guests at Hobsons House")
    header, groups = _tsv(dstc11_beir / "groups.tsv")
    assert header == ["query-id", "dialogue-id"]
    assert [g[0] for g in groups] == queries
    assert all(g[1].startswith("dialogue-") for g in groups)


def test_groups_never_split_a_dialogue(dstc11_beir: Path, src: Path):
    """Queries whose logs are prefixes of one another, or share the opening exchange, share a group."""
    logs = json.loads((src / "val" / "logs.json").read_text(encoding="utf-8"))
    _, rows = _tsv(dstc11_beir / "groups.tsv")
    group = {qid: gid for qid, gid in rows}

    def key(i):
        return tuple((t["speaker"], " ".join(t["text"].split()).lower()) for t in logs[i])

    keys = {qid: key(int(qid.split("-")[1])) for qid in group}
    by_opening = defaultdict(set)
    for qid, k in keys.items():
        if len(k) >= 2:
            by_opening[k[:2]].add(group[qid])
    assert all(len(gids) == 1 for gids in by_opening.values())
    ordered = sorted(keys.items(), key=lambda kv: len(kv[1]))
    prefixes = {}
    for qid, k in ordered:
        prefixes.setdefault(k, qid)
    for qid, k in ordered:
        for n in range(1, len(k) + 1):
            other = prefixes.get(k[:n])
            if other is not None:
                assert group[other] == group[qid], (qid, other)
    # one group per conversation, not one per query and not everything in one group
    n_groups = len(set(group.values()))
    assert n_groups == 1_805
    # two variants of one conversation (they diverge at the inserted knowledge-seeking turn)
    assert group["val-165"] == group["val-2262"]


def test_dialogue_groups_joins_prefixes_and_shared_openings():
    def log(*texts):
        return [{"speaker": "US"[i % 2], "text": t} for i, t in enumerate(texts)]

    logs = [
        log("hi", "hello"),                       # 0
        log("hi", "hello", "a room?"),            # 1: extends 0
        log("hi",  "hello ", "a view?"),          # 2: same opening as 0 (whitespace differs)
        log("Hi"),                                # 3: prefix of 0 (case differs)
        log("I am planning a trip", "sure"),      # 4
        log("I am planning a trip", "great!"),    # 5: only the first turn is shared
    ]
    assert dstc11.dialogue_groups(logs) == [0, 0, 0, 0, 4, 5]


def test_a_missing_folder_is_an_io_error(tmp_path: Path):
    with pytest.raises(aitl.IoError, match="source folder not found"):
        dstc11.convert(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(aitl.IoError, match="knowledge.json"):
        dstc11.convert(tmp_path / "empty", tmp_path / "out")


def _copy(src: Path, dst: Path) -> Path:
    (dst / "val").mkdir(parents=True)
    shutil.copy(src / "knowledge.json", dst / "knowledge.json")
    shutil.copy(src / "val" / "logs.json", dst / "val" / "logs.json")
    shutil.copy(src / "val" / "labels.json", dst / "val" / "labels.json")
    return dst


def test_invalid_json_names_the_file_and_line(src: Path, tmp_path: Path):
    bad = _copy(src, tmp_path / "bad")
    (bad / "val" / "labels.json").write_text('[\n{"target": false},\n{"target": tru}\n]\n')
    with pytest.raises(aitl.ParseError) as e:
        dstc11.convert(bad, tmp_path / "out")
    assert e.value.file.endswith("labels.json") and e.value.line == 3
    assert "labels.json:3" in str(e.value)


def test_malformed_fields_name_the_file_and_field(src: Path, tmp_path: Path):
    bad = _copy(src, tmp_path / "bad")
    labels = json.loads((bad / "val" / "labels.json").read_text())
    labels[1]["knowledge"][0]["doc_type"] = "blog"
    (bad / "val" / "labels.json").write_text(json.dumps(labels))
    with pytest.raises(aitl.ParseError) as e:
        dstc11.convert(bad, tmp_path / "out")
    assert e.value.field == "[1].knowledge[0].doc_type"
    assert "blog" in str(e.value)

    labels[1]["knowledge"][0] = {"domain": "hotel", "entity_id": 20, "doc_type": "faq", "doc_id": 999}
    (bad / "val" / "labels.json").write_text(json.dumps(labels))
    with pytest.raises(aitl.ParseError, match="hotel:20:faq:999"):
        dstc11.convert(bad, tmp_path / "out")

    (bad / "val" / "labels.json").write_text(json.dumps(labels[:10]))
    with pytest.raises(aitl.ParseError, match=r"got 10, expected 4173"):
        dstc11.convert(bad, tmp_path / "out")

    knowledge = json.loads((src / "knowledge.json").read_text())
    del knowledge["hotel"]["0"]["faqs"]["0"]["answer"]
    (bad / "knowledge.json").write_text(json.dumps(knowledge))
    with pytest.raises(aitl.ParseError) as e:
        dstc11.convert(bad, tmp_path / "out")
    assert e.value.field == "hotel.0.faqs.0.answer"
    assert "knowledge.json" in e.value.file


def test_history_turns_must_be_positive(src: Path, tmp_path: Path):
    with pytest.raises(aitl.ConfigError, match="history_turns"):
        dstc11.convert(src, tmp_path / "out", history_turns=0)
