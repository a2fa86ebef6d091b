"""Regenerate the seeds of the fuzz targets whose formats are written by aitl itself (binary
files and JSON that must satisfy many invariants): tests/fuzz/corpus/{hnsw,models,records,
manifest}/, and those of the atheris targets (corpus/py_*/: a selector byte, then the data, see
each tests/fuzz/python/fuzz_*.py). The C++ text formats' seeds (corpus, qrels, trec_run) are
written by hand.

    python tests/fuzz/make_seeds.py      # with aitl importable (the .venv of scripts/bootstrap.sh)

Each seed stays under 4 KB; re-run after a format change and commit the result.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

import aitl

ROOT = Path(__file__).resolve().parent / "corpus"
T0 = 1_700_000_000_000


def write(target: str, name: str, data: bytes) -> None:
    assert len(data) < 4096, f"{target}/{name}: {len(data)} bytes (keep seeds under 4 KB)"
    (ROOT / target).mkdir(parents=True, exist_ok=True)
    (ROOT / target / name).write_bytes(data)


def hnsw_seed(tmp: Path, name: str, dim: int, n: int, metric: str = "ip", removed: int = -1,
              compact: bool = True) -> None:
    idx = aitl.HnswIndex(dim, metric=metric, M=2, ef_construction=8, max_elements=max(n, 1), seed=7,
                         ef=4, compact_search=compact)
    if n:
        rng = np.random.default_rng(n)
        idx.add(list(range(10, 10 + n)), rng.standard_normal((n, dim)).astype(np.float32))
    if removed >= 0:
        idx.remove(10 + removed)
    path = tmp / name
    idx.save(str(path))
    meta = json.loads((tmp / (name + ".aitl.json")).read_text())
    del meta["file_bytes"], meta["checksum"]  # fuzz_hnsw fills in the true values (see fuzz_hnsw.cpp)
    write("hnsw", name, json.dumps(meta, separators=(",", ":")).encode() + b"\0" + path.read_bytes())


def models(tmp: Path) -> None:
    enc = aitl.HashedEncoder(dim=4, buckets=16, seed=3)
    enc.save(str(tmp / "enc"))
    write("models", "hashed-encoder-4x16.bin", (tmp / "enc").read_bytes())
    enc = aitl.HashedEncoder(dim=2, buckets=8, word_ngram_max=0, char_ngram_min=2, char_ngram_max=3, stem=True)
    enc.save(str(tmp / "enc2"))
    write("models", "hashed-encoder-chars-stem.bin", (tmp / "enc2").read_bytes())

    kb = aitl.KnowledgeBase([aitl.Document("d1", "Refunds", "Refunds take five working days."),
                             aitl.Document("d2", "Delivery", "Parcels ship within two days."),
                             aitl.Document("d3", "", "Reset your password from the login page.")])
    write("models", "feature-ranker-unfitted.json", aitl.FeatureRanker(kb).save())
    docs = ["d1", "d2", "d3"]
    lists = [aitl.RankingList(f"question {i} about {docs[i % 3]}",
                              [aitl.Hit(d, 1.0 / (j + 1)) for j, d in enumerate(docs)], [(docs[i % 3], 1.0)])
             for i in range(6)]
    linear = aitl.FeatureRanker(kb, model="linear", epochs=2)
    linear.fit(lists)
    write("models", "feature-ranker-linear.json", linear.save())
    trees = aitl.FeatureRanker(kb, model="trees", trees={"rounds": 2, "max_leaves": 2}, seed=1)
    trees.fit(lists)
    write("models", "feature-ranker-trees.json", trees.save())

    write("models", "reward-model-untrained.json", aitl.RewardModel().to_bytes())
    pairs, refs = [], []
    for i in range(4):
        p = aitl.PreferencePair()
        p.prompt, p.chosen, p.rejected = f"hi\nwhat about {docs[i % 3]}?", f"See [{docs[i % 3]}].", "No idea."
        p.query_id = f"case-{i}"
        pairs.append(p)
        refs.append([f"[{docs[i % 3]}] Article"])
    rm = aitl.RewardModel()
    rm.set_document_relevance({"case-0": {"d1": 1, "d2": 0}, "case-1": {"d2": 2}})
    rm.train(pairs, refs)
    write("models", "reward-model-trained.json", rm.to_bytes())


def records() -> None:
    imp = {"type": "impression", "id": "imp-1", "seq": 1, "case_id": "c1", "turn": 0, "timestamp_ms": T0,
           "query": "where is my parcel", "context": ["customer: hi"],
           "retrieved": [{"doc_id": "d1", "rank": 1, "score": 2.5}, {"doc_id": "d2", "rank": 2, "score": 1.0}],
           "shown": [{"doc_id": "d1", "rank": 1, "score": 1.0}, {"doc_id": "d2", "rank": 2, "score": 0.5}],
           "replies": [{"variant": "champion", "position": "left", "text": "It ships today [d1]"},
                       {"variant": "challenger", "position": "right", "text": "See [d2]"}],
           "models": {"retriever": "bm25@0"}}
    common = {"impression_id": "imp-1", "annotator": "agent-1", "timestamp_ms": T0 + 1000, "time_to_annotate_ms": 900,
              "weight": 1.0}
    anns = [
        {"type": "preference", "id": "ann-1", "seq": 1, **common, "choice": "a", "strength": "clear", "rationale": "r"},
        {"type": "adoption", "id": "ann-2", "seq": 2, **common, "outcome": "used_with_edits", "reply": 1,
         "final_text": "Edited.", "reasons": ["tone"], "rationale": ""},
        {"type": "knowledge_relevance", "id": "ann-3", "seq": 3, **common,
         "labels": [{"doc_id": "d1", "relevant": True}, {"doc_id": "d2", "relevant": False}], "selected": ["d9"]},
        {"type": "missing_knowledge", "id": "ann-4", "seq": 4, **common, "description": "gift cards",
         "suggested_source": "wiki"},
    ]
    # Through a real store, so the seed is exactly what export_jsonl writes.
    with tempfile.TemporaryDirectory() as d:
        store = aitl.SqliteStore(str(Path(d) / "s.db"))
        store.append(imp)
        store.append(anns)
        store.export_jsonl(str(Path(d) / "all.jsonl"))
        store.close()
        full = (Path(d) / "all.jsonl").read_bytes()
    write("records", "export-1-impression-4-annotations.jsonl", full)
    header = {"type": "aitl_store", "schema_version": 2, "impressions": 1, "annotations": 1}
    no_ids = [{k: v for k, v in imp.items() if k not in ("id", "seq")},
              {k: v for k, v in anns[0].items() if k not in ("id", "seq")}]
    write("records", "no-ids-no-seqs.jsonl",
          "\n".join(json.dumps(x) for x in [header, *no_ids]).encode() + b"\n")
    write("records", "header-only.jsonl",
          json.dumps({"type": "aitl_store", "schema_version": 1, "impressions": 0, "annotations": 0}).encode() + b"\n")
    write("records", "near-unknown-impression.jsonl",
          (json.dumps({**header, "impressions": 0}) + "\n" + json.dumps(anns[2]) + "\n").encode())


def manifest(tmp: Path) -> None:
    (tmp / "model.bin").write_bytes(b"weights")
    reg = aitl.ModelRegistry(str(tmp / "reg"))
    write("manifest", "empty.json", (tmp / "reg" / "manifest.json").read_bytes())
    v1 = reg.add({"model.bin": str(tmp / "model.bin")}, metrics={"ndcg@10": 0.4}, note="first")
    reg.promote(v1, {"promote": True})
    v2 = reg.add({"model.bin": str(tmp / "model.bin")}, parent=v1, watermark=12)
    write("manifest", "champion-and-challenger.json", (tmp / "reg" / "manifest.json").read_bytes())
    reg.promote(v2, {"promote": True})
    reg.rollback()
    reg.add({"model.bin": str(tmp / "model.bin")})
    write("manifest", "rollback-superseded.json", (tmp / "reg" / "manifest.json").read_bytes())


HELPCENTRE = Path(__file__).resolve().parents[2] / "examples" / "data" / "helpcentre"


def head(path: Path, lines: int) -> bytes:
    return b"".join(path.read_bytes().splitlines(keepends=True)[:lines])


def python_seeds() -> None:
    corpus, queries = head(HELPCENTRE / "corpus.jsonl", 3), head(HELPCENTRE / "queries.jsonl", 3)
    qrels = head(HELPCENTRE / "qrels" / "test.tsv", 4)
    groups = b"query-id\tdialogue-id\nq01\tdialogue-1\nq02\tdialogue-1\r\nq03\tdialogue-3\n"
    responses = b'{"_id": "q01", "response": "Open Orders."}\n{"_id": 7, "response": ""}\n'
    run = (ROOT / "trec_run" / "run.trec").read_bytes()
    for n, (name, data) in enumerate([("queries", queries), ("responses", responses), ("groups", groups),
                                      ("qrels", qrels), ("run", run), ("corpus", corpus)]):
        write("py_beir", f"{n}-{name}", bytes([n]) + data)
    write("py_beir", "6-folder", b"\x06" + b"\0".join([corpus, queries, qrels, groups, responses]))
    write("py_beir", "6-folder-no-extras", b"\x06" + b"\0".join([corpus, queries, qrels]))

    knowledge = {"hotel": {"0": {"name": "A and B Guest House",
                                 "reviews": {"0": {"traveler_type": "Solo travelers",
                                                   "sentences": {"0": "Quiet rooms.", "1": "Smoking area outside."}}},
                                 "faqs": {"0": {"question": "Are children welcome?", "answer": "Yes."}}}},
                 "restaurant": {"3": {"name": "Pizza Hut", "faqs": {},
                                      "reviews": {"1": {"dishes": ["pizza"], "sentences": {"0": "Tasty."}}}}}}
    logs = [[{"speaker": "U", "text": "I need a guesthouse in the west."},
             {"speaker": "S", "text": "A and B Guest House?"},
             {"speaker": "U", "text": "Can I smoke there?"}],
            [{"speaker": "U", "text": "I need a guesthouse in the west."}],
            [{"speaker": "U", "text": "Is the pizza good?"}]]
    labels = [{"target": True, "response": "Yes, outside.",
               "knowledge": [{"domain": "hotel", "entity_id": 0, "doc_type": "review", "doc_id": 0, "sent_id": 1}]},
              {"target": False},
              {"target": True, "response": "Guests liked it.",
               "knowledge": [{"domain": "restaurant", "entity_id": 3, "doc_type": "review", "doc_id": 1, "sent_id": 0},
                             {"domain": "hotel", "entity_id": 0, "doc_type": "faq", "doc_id": 0}]}]
    write("py_dstc11", "two-queries", b"\0".join(json.dumps(x).encode() for x in (knowledge, logs, labels)))
    write("py_dstc11", "no-target", b"\0".join(json.dumps(x).encode() for x in (knowledge, logs[1:2], labels[1:2])))

    export = (ROOT / "records" / "export-1-impression-4-annotations.jsonl").read_bytes()
    write("py_store", "0-import-export", b"\x00" + export)
    lines = [json.loads(x) for x in export.splitlines()[1:]]
    for x in lines:
        x.pop("id"), x.pop("seq")
    write("py_store", "1-append-impression", b"\x01" + json.dumps(lines[0]).encode())
    write("py_store", "1-append-list", b"\x01" + json.dumps(lines).encode())
    write("py_store", "2-from-dict-annotation", b"\x02" + json.dumps(lines[3]).encode())
    write("py_store", "2-from-dict-impression", b"\x02" + json.dumps(lines[0]).encode())

    mtrag = {"documents": [{"document_id": "doc-1", "title": "Library", "text": "The law library is open."},
                           {"document_id": "doc-2", "text": "Forms are online."}],
             "tasks": [{"task_id": "c1<::>1", "input": [{"speaker": "user", "text": "Can I visit the library?"}],
                        "contexts": [{"document_id": "doc-1"}], "Answerability": ["ANSWERABLE"],
                        "Collection": "govt"},
                       {"task_id": "c1<::>2", "input": [{"speaker": "user", "text": "Hi"},
                                                        {"speaker": "agent", "text": "Hello"},
                                                        {"speaker": "user", "text": "Forms?"}],
                        "contexts": [{"document_id": "doc-2"}]}],
             "evaluations": [{"task_id": "c1<::>1", "model_id": m, "model_response": f"Yes ({m}).",
                              "annotations": {"win-rate": {"46542882": {"value": v}, "47200615": {"value": 50.0}}}}
                             for m, v in (("reference", 100.0), ("gpt", 0.0), ("llama", 50))]}
    write("py_readers", "0-mtrag", b"\x00" + json.dumps(mtrag).encode())
    write("py_readers", "1-scenario-json", b"\x01" + json.dumps({"withheld": ["kb-gift-cards", "kb-pets"],
                                                                  "config": {"seed": 0}}).encode())
    write("py_readers", "2-queries-sides",
          b"\x02" + b"\n".join(json.dumps({"_id": f"q{i}", "text": "hi", "phrasing_side": s}).encode()
                                for i, s in enumerate(("feedback", "eval", "feedback"))) + b"\n\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        hnsw_seed(tmp, "empty.hnsw", dim=3, n=0)
        hnsw_seed(tmp, "ip-5x4.hnsw", dim=4, n=5)
        hnsw_seed(tmp, "cosine-9x2-removed.hnsw", dim=2, n=9, metric="cosine", removed=3, compact=False)
        models(tmp)
        records()
        manifest(tmp)
    python_seeds()
    for target in ("hnsw", "models", "records", "manifest", "py_beir", "py_dstc11", "py_store", "py_readers"):
        for f in sorted((ROOT / target).iterdir()):
            print(f"{f.relative_to(ROOT.parents[2])}: {f.stat().st_size} bytes")


if __name__ == "__main__":
    main()
