"""SqliteStore from Python: appends, reads, filters, validation, batches, threads, JSONL export/import."""
from __future__ import annotations

import copy
import json
import threading

import pytest

import aitl

T0 = 1_700_000_000_000


def impression_dict(n: int, case_id: str = "case-1", **changes) -> dict:
    retrieved = [{"doc_id": f"d{r}", "rank": r, "score": 30.0 - r} for r in range(1, 21)]
    shown = [{"doc_id": f"d{r}", "rank": i + 1, "score": 1.0 - i / 10} for i, r in enumerate((4, 1, 9, 2))]
    d = {
        "type": "impression", "id": f"imp-{n}", "case_id": case_id, "turn": n % 3, "timestamp_ms": T0 + 1000 * n,
        "query": f"question {n}", "context": ["customer: hello", "agent: hi"], "retrieved": retrieved, "shown": shown,
        "replies": [{"variant": "champion", "position": "right", "text": f"answer {n} [d4]"},
                    {"variant": "top3", "position": "left", "text": f"other {n} [d1]"}],
        "models": {"retriever": "bm25@0", "reranker": "identity@0", "generator": f"extractive@{n % 2}"},
    }
    d.update(changes)
    return d


def annotation_dict(kind: str, imp: str = "imp-0", annotator: str = "agent-07", ts: int = T0 + 5000, **changes) -> dict:
    common = {"impression_id": imp, "annotator": annotator, "timestamp_ms": ts, "time_to_annotate_ms": 4200,
              "weight": 1.0}
    bodies = {
        "preference": {"choice": "b", "strength": "clear", "rationale": "cites the right policy"},
        "adoption": {"outcome": "used_with_edits", "reply": 1, "final_text": "Edited text.",
                     "reasons": ["tone", "too_long"], "rationale": "too formal"},
        "knowledge_relevance": {"labels": [{"doc_id": "d4", "relevant": True}, {"doc_id": "d9", "relevant": False}],
                                "selected": ["d17"]},
        "missing_knowledge": {"description": "no article on gift-card refunds", "suggested_source": "billing wiki"},
    }
    d = {"type": kind, **common, **bodies[kind]}
    d.update(changes)
    return d


KINDS = ["preference", "adoption", "knowledge_relevance", "missing_knowledge"]


def stored_form(d: dict, seq: int) -> dict:
    """What the store gives back for a record dict: the full JSON form with seq."""
    if d["type"] == "impression":
        return {**aitl.Impression.from_dict(d).to_dict(), "seq": seq}
    return {**aitl.Annotation.from_dict(d).to_dict(), "seq": seq}


@pytest.fixture
def store(tmp_path):
    with aitl.SqliteStore(tmp_path / "feedback.db", durability="normal") as s:
        yield s


@pytest.fixture
def filled(store):
    store.append(impression_dict(0))
    return store


# ---- basics -------------------------------------------------------------------------------------


def test_open_properties_and_repr(tmp_path):
    path = tmp_path / "a.db"
    with aitl.SqliteStore(path) as s:
        assert s.path == str(path)
        assert s.schema_version == 2
        assert s.config == {"durability": "full", "busy_timeout_ms": 10000, "group_commit_max": 512, "read_only": False}
        assert s.watermark == 0
        assert s.stats() == aitl.SqliteStore(path).stats()
        assert s.stats().to_dict() == {"impressions": 0, "annotations": 0, "preference": 0, "adoption": 0,
                                       "knowledge_relevance": 0, "missing_knowledge": 0, "impression_watermark": 0,
                                       "annotation_watermark": 0}
        assert repr(s) == f"SqliteStore(path={str(path)!r}, durability='full', read_only=False)"
        assert not s.closed
    assert s.closed and "closed=True" in repr(s)
    with pytest.raises(aitl.StateError, match="closed"):
        s.stats()
    s.close()  # idempotent


def test_bad_settings_name_the_setting(tmp_path):
    with pytest.raises(aitl.ConfigError, match="durability"):
        aitl.SqliteStore(tmp_path / "a.db", durability="fast")
    with pytest.raises(aitl.ConfigError, match="busy_timeout_ms"):
        aitl.SqliteStore(tmp_path / "a.db", busy_timeout_ms=-1)
    with pytest.raises(aitl.ConfigError, match="group_commit_max"):
        aitl.SqliteStore(tmp_path / "a.db", group_commit_max=0)


def test_not_a_database(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(aitl.AitlError):
        aitl.SqliteStore(junk)


def test_append_objects_and_dicts_assigns_ids_and_seq(store):
    imp = aitl.Impression.from_dict(impression_dict(0, id=""))
    imp_id = store.append(imp)
    assert imp_id.startswith("imp-") and store.contains_impression(imp_id)
    got = store.get_impression(imp_id)
    assert (got.id, got.seq) == (imp_id, 1)
    imp.id, imp.seq = imp_id, 1
    assert got == imp
    a_id = store.append(annotation_dict("preference", imp=imp_id))
    assert a_id.startswith("ann-")
    b_id = store.append(aitl.Annotation(imp_id, "agent-1", aitl.MissingKnowledge("gap"), T0, id="mine"))
    assert b_id == "mine"
    assert [a.id for a in store.annotations()] == [a_id, "mine"]
    assert store.get_annotation("mine").seq == 2 and store.watermark == 2
    assert store.contains_annotation(a_id) and not store.contains_annotation("nope")


def test_unknown_ids_raise_not_found(store):
    with pytest.raises(aitl.NotFoundError, match="nope"):
        store.get_impression("nope")
    with pytest.raises(KeyError):
        store.get_annotation("nope")
    assert not store.contains_impression("nope")


# ---- round trip of every type ---------------------------------------------------------------------


def test_round_trip_of_every_annotation_type(tmp_path):
    records = [impression_dict(0), impression_dict(1, case_id="case-2")]
    records += [annotation_dict(k, imp=f"imp-{i % 2}", id=f"ann-{k}") for i, k in enumerate(KINDS)]
    records.append(annotation_dict("adoption", imp="imp-1", outcome="not_used", reply=0, final_text="", reasons=[],
                                   id="ann-plain"))
    records.append(annotation_dict("knowledge_relevance", imp="imp-1", labels=[], selected=["d30", "d31"],
                                   weight=0.25, id="ann-hand"))
    src = tmp_path / "src.db"
    with aitl.SqliteStore(src) as s:
        assert s.append(records[:2]) == ["imp-0", "imp-1"]
        for r in records[2:]:
            assert s.append(r) == r["id"]
        imps = s.impressions(as_dict=True)
        anns = s.annotations(as_dict=True)
        assert imps == [stored_form(r, i + 1) for i, r in enumerate(records[:2])]
        assert anns == [stored_form(r, i + 1) for i, r in enumerate(records[2:])]
        assert [a.to_dict() for a in s.annotations()] == anns
        assert [type(a.body).__name__ for a in s.annotations()][:4] == [
            "Preference", "Adoption", "KnowledgeRelevance", "MissingKnowledge"]
        assert s.get_annotation("ann-adoption").body == aitl.Adoption(
            "used_with_edits", 1, "Edited text.", ["tone", "too_long"], "too formal")
        s.export_jsonl(tmp_path / "out.jsonl")
    lines = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert lines[0] == {"type": "aitl_store", "schema_version": 2, "impressions": 2, "annotations": 6}
    assert lines[1:] == imps + anns  # as_dict gives exactly the exported JSON form
    with aitl.SqliteStore(tmp_path / "copy.db") as c:
        assert c.import_jsonl(str(tmp_path / "out.jsonl")) == 8
        assert c.impressions(as_dict=True) == imps
        assert c.annotations(as_dict=True) == anns
        assert c.stats() == aitl.SqliteStore(src, read_only=True).stats()
        c.export_jsonl(tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "out.jsonl").read_bytes()


def test_reopening_keeps_data(tmp_path):
    path = tmp_path / "keep.db"
    with aitl.SqliteStore(path) as s:
        s.append([impression_dict(0), annotation_dict("preference")])
        before = (s.impressions(as_dict=True), s.annotations(as_dict=True), s.stats())
    with aitl.SqliteStore(path) as s:
        assert (s.impressions(as_dict=True), s.annotations(as_dict=True), s.stats()) == before
        s.append(annotation_dict("missing_knowledge"))
        assert s.watermark == 2


def test_read_only_store_refuses_writes(tmp_path):
    path = tmp_path / "ro.db"
    with pytest.raises(aitl.AitlError):
        aitl.SqliteStore(path, read_only=True)  # missing: not created
    with aitl.SqliteStore(path) as s:
        s.append(impression_dict(0))
        s.export_jsonl(tmp_path / "x.jsonl")
    with aitl.SqliteStore(path, read_only=True) as ro:
        assert ro.config["read_only"] is True
        with pytest.raises(aitl.StateError, match="read_only"):
            ro.append(annotation_dict("preference"))
        with pytest.raises(aitl.StateError):
            ro.append([impression_dict(1)])
        with pytest.raises(aitl.StateError):
            ro.import_jsonl(tmp_path / "x.jsonl")
        assert ro.stats().impressions == 1 and ro.stats().annotations == 0
        assert ro.get_impression("imp-0").query == "question 0"


# ---- validation: the mapped exception, the field, nothing stored ---------------------------------


def _imp(**changes):
    return impression_dict(5, **changes)


def _shown(*pairs):
    return [{"doc_id": d, "rank": r, "score": 1.0} for d, r in pairs]


BAD_RECORDS = [
    # impressions
    (_imp(case_id=""), aitl.ConfigError, "case_id"),
    (_imp(query=""), aitl.ConfigError, "query"),
    (_imp(timestamp_ms=-1), aitl.ConfigError, "timestamp_ms"),
    (_imp(shown=_shown(("d4", 2))), aitl.ConfigError, "shown[0].rank"),
    (_imp(shown=_shown(("d4", 1), ("d4", 2))), aitl.ConfigError, "shown[1].doc_id"),
    (_imp(shown=_shown(("d4", 1), ("d99", 2))), aitl.ConfigError, "shown[1].doc_id"),
    (_imp(shown=_shown(("", 1))), aitl.ConfigError, "shown[0].doc_id"),
    (_imp(replies=[{"variant": "a", "text": "x", "position": "left"}] * 3), aitl.ConfigError, "replies"),
    (_imp(replies=[{"variant": "a", "text": "x", "position": "left"}, {"variant": "b", "text": "y", "position": "left"}]),
     aitl.ConfigError, "replies[1].position"),
    (_imp(replies=[{"variant": "", "text": "x", "position": "left"}]), aitl.ConfigError, "replies[0].variant"),
    (_imp(replies=[{"variant": "a", "text": "", "position": "left"}]), aitl.ConfigError, "replies[0].text"),
    (_imp(replies=[{"variant": "a", "text": "x", "position": "top"}]), aitl.ConfigError, "replies[0].position"),
    (_imp(models={"retriever": ""}), aitl.ConfigError, "models.retriever"),
    (_imp(id="imp-0"), aitl.ConfigError, "id"),  # already stored
    (_imp(turn="3"), aitl.ConfigError, "turn"),
    (_imp(bogus=1), aitl.ConfigError, "bogus"),
    # annotations on their own
    (annotation_dict("preference", choice="c"), aitl.ConfigError, "choice"),
    (annotation_dict("preference", strength="very"), aitl.ConfigError, "strength"),
    (annotation_dict("adoption", outcome="adopted"), aitl.ConfigError, "outcome"),
    (annotation_dict("adoption", reasons=["tone", "rude"]), aitl.ConfigError, "reasons[1]"),
    (annotation_dict("adoption", reasons=["tone", "tone"]), aitl.ConfigError, "reasons[1]"),
    (annotation_dict("adoption", final_text=""), aitl.ConfigError, "final_text"),
    (annotation_dict("adoption", reply=2), aitl.ConfigError, "reply"),
    (annotation_dict("preference", annotator=""), aitl.ConfigError, "annotator"),
    (annotation_dict("preference", impression_id=""), aitl.ConfigError, "impression_id"),
    (annotation_dict("preference", timestamp_ms=-1), aitl.ConfigError, "timestamp_ms"),
    (annotation_dict("preference", time_to_annotate_ms=-1), aitl.ConfigError, "time_to_annotate_ms"),
    (annotation_dict("preference", weight=-1.0), aitl.ConfigError, "weight"),
    (annotation_dict("knowledge_relevance", labels=[], selected=[]), aitl.ConfigError, "labels"),
    (annotation_dict("knowledge_relevance", labels=[{"doc_id": "d4", "relevant": True}] * 2), aitl.ConfigError,
     "labels[1].doc_id"),
    (annotation_dict("knowledge_relevance", selected=["d4"]), aitl.ConfigError, "selected[0]"),
    (annotation_dict("missing_knowledge", description=""), aitl.ConfigError, "description"),
    (annotation_dict("preference", annotator=7), aitl.ConfigError, "annotator"),
    (annotation_dict("knowledge_relevance", labels=[{"doc_id": "d4", "relevant": "yes"}]), aitl.ConfigError,
     "labels[0].relevant"),
    (annotation_dict("preference", outcome="used_as_is"), aitl.ConfigError, "outcome"),
    (annotation_dict("preference", type="opinion"), aitl.ConfigError, "type"),
    ({"impression_id": "imp-0", "annotator": "x", "timestamp_ms": 0, "choice": "a"}, aitl.ConfigError, "type"),
    # against the stored impression
    (annotation_dict("knowledge_relevance", labels=[{"doc_id": "d3", "relevant": True}]), aitl.ConfigError,
     "labels[0].doc_id"),
    (annotation_dict("knowledge_relevance", selected=["d9"], labels=[]), aitl.ConfigError, "selected[0]"),
    (annotation_dict("preference", impression_id="imp-one-reply"), aitl.ConfigError, "choice"),
    (annotation_dict("adoption", impression_id="imp-one-reply"), aitl.ConfigError, "reply"),
    (annotation_dict("preference", impression_id="imp-unknown"), aitl.NotFoundError, "impression_id"),
    (annotation_dict("preference", id="ann-taken"), aitl.ConfigError, "id"),
]


@pytest.fixture
def seeded(store):
    store.append(impression_dict(0))
    one = impression_dict(1, id="imp-one-reply")
    one["replies"] = one["replies"][:1]
    store.append(one)
    store.append(annotation_dict("missing_knowledge", id="ann-taken"))
    return store


@pytest.mark.parametrize("record,exc,field", BAD_RECORDS, ids=[f"{i}-{r[2]}" for i, r in enumerate(BAD_RECORDS)])
def test_bad_record_raises_naming_the_field_and_stores_nothing(seeded, record, exc, field):
    before = seeded.stats()
    with pytest.raises(exc) as err:
        seeded.append(record)
    assert f"field '{field}'" in str(err.value)
    assert seeded.stats() == before
    # as an object too (when it can be built), and inside a batch with good records
    if record.get("type") in KINDS + ["impression"] and not isinstance(err.value, aitl.NotFoundError):
        try:
            obj = (aitl.Impression if record["type"] == "impression" else aitl.Annotation).from_dict(record)
        except aitl.ConfigError:
            obj = None
        if obj is not None:
            with pytest.raises(exc, match=field.replace("[", r"\[").replace("]", r"\]")):
                seeded.append(obj)
    good = [impression_dict(7), annotation_dict("preference", imp="imp-7")]
    with pytest.raises(exc):
        seeded.append(good + [record])
    assert seeded.stats() == before
    assert not seeded.contains_impression("imp-7")


def test_not_a_record_is_a_type_error(store):
    with pytest.raises(TypeError):
        store.append("imp-0")
    with pytest.raises(TypeError):
        store.append([impression_dict(0), 3])
    assert store.stats().impressions == 0


def test_batch_error_names_the_item(filled):
    with pytest.raises(aitl.ConfigError, match=r"item 2: .*field 'choice'"):
        filled.append([annotation_dict("adoption"), annotation_dict("preference"), annotation_dict("preference", choice="x")])
    assert filled.stats().annotations == 0


def test_batch_is_all_or_nothing(filled):
    before = filled.stats()
    batch = [annotation_dict("preference"), annotation_dict("adoption"),
             annotation_dict("knowledge_relevance", labels=[{"doc_id": "d3", "relevant": True}])]  # d3 not shown
    with pytest.raises(aitl.ConfigError, match=r"labels\[0\]\.doc_id"):
        filled.append(batch)
    assert filled.stats() == before
    with pytest.raises(aitl.ConfigError):
        filled.append([impression_dict(1), impression_dict(2, query="")])
    assert filled.stats() == before
    # mixed: the bad annotation refers to an impression of the same batch
    with pytest.raises(aitl.ConfigError, match="selected"):
        filled.append([impression_dict(3), annotation_dict("knowledge_relevance", imp="imp-3", selected=["d1"])])
    assert filled.stats() == before and not filled.contains_impression("imp-3")
    # mixed: annotating an unknown impression
    with pytest.raises(aitl.NotFoundError):
        filled.append([impression_dict(4), annotation_dict("preference", imp="imp-404")])
    assert filled.stats() == before


def test_mixed_batch_returns_ids_in_order(filled):
    ids = filled.append([annotation_dict("preference"), impression_dict(1, id=""),
                         annotation_dict("adoption", imp="imp-0"), impression_dict(2),
                         annotation_dict("missing_knowledge", imp="imp-2")])
    assert [i[:4] for i in ids] == ["ann-", "imp-", "ann-", "imp-", "ann-"]
    assert ids[3] == "imp-2"
    assert [a.id for a in filled.annotations()] == [ids[0], ids[2], ids[4]]
    assert filled.stats().impressions == 3
    assert filled.append([]) == []


# ---- reads and filters ----------------------------------------------------------------------------


@pytest.fixture
def many(store):
    store.append([impression_dict(n, case_id=f"case-{n % 2}") for n in range(4)])
    anns = []
    for i in range(12):
        kind = KINDS[i % 4]
        anns.append(annotation_dict(kind, imp=f"imp-{i % 4}", annotator=f"agent-{i % 3}", ts=T0 + 10_000 + i,
                                    id=f"a{i}"))
    store.append(anns)
    return store


def ids(records):
    return [r.id for r in records]


def test_annotation_filters(many):
    s = many
    assert ids(s.annotations()) == [f"a{i}" for i in range(12)]
    assert ids(s.annotations(annotator="agent-1")) == ["a1", "a4", "a7", "a10"]
    assert ids(s.annotations(kind="adoption")) == ["a1", "a5", "a9"]
    assert ids(s.annotations(impression_id="imp-2")) == ["a2", "a6", "a10"]
    assert ids(s.annotations(case_id="case-1")) == ["a1", "a3", "a5", "a7", "a9", "a11"]
    assert ids(s.annotations(model_version="extractive@1")) == ["a1", "a3", "a5", "a7", "a9", "a11"]
    assert ids(s.annotations(model_version="bm25@0")) == [f"a{i}" for i in range(12)]
    assert ids(s.annotations(from_ms=T0 + 10_003, to_ms=T0 + 10_006)) == ["a3", "a4", "a5"]
    assert ids(s.annotations(after_seq=9)) == ["a9", "a10", "a11"]
    assert ids(s.annotations(limit=2)) == ["a0", "a1"]
    assert ids(s.annotations(annotator="agent-0", kind="preference")) == ["a0"]
    assert ids(s.annotations(annotator="agent-0", kind="preference", after_seq=1)) == []
    assert s.annotations(annotator="nobody") == []
    assert s.annotations(kind="adoption", as_dict=True) == [a.to_dict() for a in s.annotations(kind="adoption")]


def test_impression_filters(many):
    s = many
    assert ids(s.impressions()) == ["imp-0", "imp-1", "imp-2", "imp-3"]
    assert ids(s.impressions(case_id="case-0")) == ["imp-0", "imp-2"]
    assert ids(s.impressions(from_ms=T0 + 1000, to_ms=T0 + 3000)) == ["imp-1", "imp-2"]
    assert ids(s.impressions(impression_id="imp-3")) == ["imp-3"]
    assert ids(s.impressions(model_version="extractive@0")) == ["imp-0", "imp-2"]
    assert ids(s.impressions(annotator="agent-1")) == ["imp-0", "imp-1", "imp-2", "imp-3"]
    assert ids(s.impressions(kind="missing_knowledge")) == ["imp-3"]
    assert ids(s.impressions(after_seq=2, limit=1)) == ["imp-2"]
    assert s.impressions(case_id="case-1", as_dict=True) == [i.to_dict() for i in s.impressions(case_id="case-1")]


def test_filter_arguments_are_checked(many):
    with pytest.raises(aitl.ConfigError, match="kind"):
        many.annotations(kind="opinion")
    with pytest.raises(aitl.ConfigError, match="limit"):
        many.annotations(limit=-1)
    with pytest.raises(TypeError):
        many.annotations("agent-1")  # keyword-only


def test_annotations_since_pages_through_everything(many):
    seen, mark = [], 0
    while True:
        page = many.annotations_since(mark, limit=5)
        if not page:
            break
        seen += ids(page)
        mark = page[-1].seq
    assert seen == [f"a{i}" for i in range(12)]
    assert mark == many.watermark == many.stats().annotation_watermark == 12
    assert many.annotations_since(10, as_dict=True) == [a.to_dict() for a in many.annotations(after_seq=10)]


def test_stats(many):
    st = many.stats()
    assert (st.impressions, st.annotations, st.preference, st.adoption, st.knowledge_relevance,
            st.missing_knowledge, st.impression_watermark, st.annotation_watermark) == (4, 12, 3, 3, 3, 3, 4, 12)
    assert st.count("adoption") == 3
    assert st.to_dict()["annotations"] == 12
    assert "annotations=12" in repr(st)


# ---- threads -------------------------------------------------------------------------------------


def test_threads_appending_concurrently_lose_nothing(tmp_path):
    with aitl.SqliteStore(tmp_path / "mt.db") as s:
        s.append([impression_dict(n) for n in range(4)])
        errors = []

        def work(t):
            try:
                for i in range(150):
                    if i % 10 == 9:
                        s.append([annotation_dict("missing_knowledge", imp=f"imp-{t}", id=f"t{t}-{i}-{j}")
                                  for j in range(3)])
                    else:
                        s.append(annotation_dict(KINDS[i % 4], imp=f"imp-{t}", id=f"t{t}-{i}"))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        per_thread = 135 + 15 * 3
        got = s.annotations()
        assert len(got) == 4 * per_thread == s.stats().annotations
        assert sorted(a.seq for a in got) == list(range(1, 4 * per_thread + 1))
        for t in range(4):
            assert len(s.annotations(impression_id=f"imp-{t}")) == per_thread


def test_readers_run_while_threads_write(tmp_path):
    with aitl.SqliteStore(tmp_path / "rw.db", durability="normal") as s:
        s.append(impression_dict(0))
        stop = threading.Event()
        marks = []

        def read():
            mark = 0
            while not stop.is_set():
                for a in s.annotations_since(mark):
                    assert a.seq > mark
                    mark = a.seq
            marks.append(mark)

        reader = threading.Thread(target=read)
        reader.start()
        for i in range(200):
            s.append(annotation_dict("preference"))
        stop.set()
        reader.join()
        assert s.watermark == 200 and marks[0] <= 200


# ---- JSONL ----------------------------------------------------------------------------------------


def _export(tmp_path, store):
    store.append([impression_dict(1), annotation_dict("preference", imp="imp-1"),
                  annotation_dict("adoption", imp="imp-1")])
    out = tmp_path / "export.jsonl"
    store.export_jsonl(out)
    lines = out.read_text().splitlines()
    # without seq: imported records then get new seqs after the target's own
    return lines[:1] + [json.dumps({k: v for k, v in json.loads(x).items() if k != "seq"}) for x in lines[1:]]


def test_import_bad_line_raises_parse_error_and_changes_nothing(tmp_path, filled):
    lines = _export(tmp_path, filled)
    with aitl.SqliteStore(tmp_path / "target.db") as target:
        target.append(impression_dict(9))
        before = (target.stats(), target.impressions(as_dict=True))

        bad = copy.deepcopy(lines)
        rec = json.loads(bad[3])
        rec["choice"] = "maybe"
        bad[3] = json.dumps(rec)
        path = tmp_path / "bad.jsonl"
        path.write_text("\n".join(bad) + "\n")
        with pytest.raises(aitl.ParseError) as err:
            target.import_jsonl(path)
        assert (err.value.file, err.value.line, err.value.field) == (str(path), 4, "choice")
        assert isinstance(err.value, ValueError)
        assert (target.stats(), target.impressions(as_dict=True)) == before

        bad = copy.deepcopy(lines)
        bad[2] = bad[2][:-5]  # not JSON
        path.write_text("\n".join(bad) + "\n")
        with pytest.raises(aitl.ParseError) as err:
            target.import_jsonl(path)
        assert err.value.line == 3
        assert (target.stats(), target.impressions(as_dict=True)) == before

        bad = copy.deepcopy(lines)
        rec = json.loads(bad[4])
        rec["impression_id"] = "imp-404"
        bad[4] = json.dumps(rec)
        path.write_text("\n".join(bad) + "\n")
        with pytest.raises(aitl.ParseError) as err:
            target.import_jsonl(path)
        assert err.value.line == 5 and err.value.field == "impression_id"
        assert target.stats() == before[0]

        with pytest.raises(aitl.IoError):
            target.import_jsonl(tmp_path / "missing.jsonl")

        path.write_text("\n".join(lines) + "\n")
        assert target.import_jsonl(path) == 4
        assert target.stats().impressions == 3 and target.stats().annotations == 2
        assert [i.seq for i in target.impressions()] == [1, 2, 3]


def test_export_to_unwritable_path_is_an_io_error(tmp_path, filled):
    with pytest.raises(aitl.IoError):
        filled.export_jsonl(tmp_path / "no" / "such" / "dir" / "x.jsonl")
