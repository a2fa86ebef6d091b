"""ServingIndex: blue/green index rebuilds with a recall check, on DSTC11 Track 5 FAQs."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

import aitl


@pytest.fixture(scope="module")
def faqs(data_dir: Path):
    """Every DSTC11 FAQ as a Document, and validation questions that need knowledge."""
    root = data_dir / "dstc11-track5"
    knowledge = json.loads((root / "knowledge.json").read_text())
    kb = aitl.KnowledgeBase()
    for domain, entities in knowledge.items():
        for entity, e in entities.items():
            for faq_id, faq in e["faqs"].items():
                kb.add(aitl.Document(f"{domain}:{entity}:faq:{faq_id}", e.get("name") or "",
                                     faq["question"] + " " + faq["answer"]))
    logs = json.loads((root / "val" / "logs.json").read_text())
    labels = json.loads((root / "val" / "labels.json").read_text())
    questions = [log[-1]["text"] for log, lab in zip(logs, labels) if lab["target"]][:300]
    return kb, questions


def encoder(seed: int, dim: int = 64) -> aitl.HashedEncoder:
    return aitl.HashedEncoder(dim=dim, seed=seed, buckets=4096)


QUICK = dict(threads=1, hnsw={"M": 12, "ef_construction": 64, "ef": 64})
POOR = dict(threads=1, hnsw={"M": 2, "ef_construction": 1, "ef": 1})


def as_key(hits) -> list[tuple[str, float]]:
    return [(h.id, h.score) for h in hits]


def test_rebuild_switches_after_the_recall_check_and_a_poor_index_keeps_blue(faqs) -> None:
    kb, questions = faqs
    s = aitl.ServingIndex()
    assert s.version is None and len(s) == 0
    with pytest.raises(aitl.StateError):
        s.search("pets?", 5)

    stages = []
    r = s.rebuild(kb, encoder(1), queries=questions, progress=lambda st, d, t: stages.append(st), **QUICK)
    assert r["switched"] and r["version"] == "memory-1" and s.version == "memory-1"
    assert r["documents"] == len(kb) == 2869 and len(s) == 2869 and s.dim == 64
    assert r["sample"] == 200 and r["k"] == 10
    assert 0.9 <= r["recall"] <= 1.0
    assert set(r) == {"switched", "reason", "version", "recall", "sample", "k", "min_recall", "documents", "dim",
                      "seconds_embed", "seconds_build", "seconds_check", "seconds_publish"}
    assert [x for i, x in enumerate(stages) if i == 0 or stages[i - 1] != x] == ["embed", "build", "check"]
    before = as_key(s.search(questions[0], 10))
    assert len(before) == 10

    bad = s.rebuild(kb, encoder(2), **POOR)
    assert not bad["switched"] and bad["version"] == ""
    assert bad["recall"] < 0.9
    assert "below the threshold, 'memory-1' keeps serving" in bad["reason"]
    assert s.version == "memory-1" and as_key(s.search(questions[0], 10)) == before

    with pytest.raises(aitl.ConfigError):
        s.rebuild(kb, encoder(3), sampel=5)  # unknown setting
    with pytest.raises(aitl.ConfigError):
        s.rebuild(kb, encoder(3), min_recall=2.0)
    with pytest.raises(aitl.ConfigError):
        s.search("x", 0)
    assert aitl.ServingIndex.default_config()["min_recall"] == 0.9


def test_searches_during_a_rebuild_never_fail_and_come_from_one_index(faqs) -> None:
    kb, questions = faqs
    s = aitl.ServingIndex()
    assert s.rebuild(kb, encoder(11), **QUICK)["switched"]
    qs = questions[:30]
    old = [as_key(s.search(q, 10)) for q in qs]
    stop = threading.Event()
    errors: list[BaseException] = []
    counts = [0, 0, 0]
    other: list[set] = [set(), set(), set()]  # (query, result) pairs that are not blue's
    last: list[list] = [[], [], []]  # the last results of each thread

    def search(t: int) -> None:
        i = t
        while not stop.is_set():
            try:
                res = as_key(s.search(qs[i], 10))
                if res != old[i]:
                    other[t].add((i, tuple(res)))
                last[t] = (last[t] + [(i, res)])[-20:]
            except BaseException as e:  # noqa: BLE001 - any failure fails the test
                errors.append(e)
            counts[t] += 1
            i = (i + 1) % len(qs)

    threads = [threading.Thread(target=search, args=(t,)) for t in range(3)]
    for th in threads:
        th.start()
    while min(counts) < 20:
        stop.wait(0.001)
    r = s.rebuild(kb, encoder(12), **QUICK)  # releases the GIL: the threads keep searching
    marks = list(counts)
    while any(c < m + 25 for c, m in zip(counts, marks)):
        stop.wait(0.001)
    stop.set()
    for th in threads:
        th.join()

    assert r["switched"] and s.version == "memory-2"
    assert not errors
    new = [as_key(s.search(q, 10)) for q in qs]
    assert sum(a != b for a, b in zip(old, new)) >= 27  # results identify their index
    for t in range(3):
        for i, res in other[t]:
            assert list(res) == new[i]  # never a mix: what is not blue's is green's
        assert all(res == new[i] for i, res in last[t])  # searches started after the switch: green


def test_publish_to_a_registry_and_load_the_champion(faqs, tmp_path: Path) -> None:
    kb, questions = faqs
    s = aitl.ServingIndex()
    reg = tmp_path / "registry"
    r1 = s.rebuild(kb, encoder(21), registry=reg, queries=questions, staging_dir=str(tmp_path / "staging"), **QUICK)
    assert r1["switched"] and r1["version"] == "v000001" and s.version == "v000001"
    assert r1["seconds_publish"] > 0
    files = sorted(p.name for p in (reg / "versions" / "v000001").iterdir())
    assert files == ["encoder.bin", "ids.json", "index.bin", "index.bin.aitl.json", "rebuild.json"]
    manifest = json.loads((reg / "manifest.json").read_text())
    assert manifest["champion"] == "v000001"

    loaded = aitl.ServingIndex.load(reg)  # the champion, encoder from encoder.bin
    assert loaded.version == "v000001" and len(loaded) == 2869
    for q in questions[:10]:
        assert as_key(loaded.search(q, 10)) == as_key(s.search(q, 10))

    assert not s.rebuild(kb, encoder(22), registry=reg, **POOR)["switched"]
    assert json.loads((reg / "manifest.json").read_text())["next_id"] == 2  # nothing published

    # A CallbackEncoder (not saved): the version loads with the encoder given again.
    enc = encoder(23)
    cb = aitl.CallbackEncoder(lambda texts: np.asarray(enc.encode(texts), dtype=np.float32), enc.dim)
    r2 = s.rebuild(kb, cb, registry=str(reg), **QUICK)
    assert r2["version"] == "v000002"
    assert not (reg / "versions" / "v000002" / "encoder.bin").exists()
    assert loaded.open(reg, encoder=cb) == "v000002" and loaded.version == "v000002"
    assert as_key(loaded.search(questions[0], 5)) == as_key(s.search(questions[0], 5))
    via_object = aitl.ServingIndex.load(aitl.ModelRegistry(str(reg)), encoder=cb)  # a registry object works too
    assert via_object.version == "v000002"
    with pytest.raises(aitl.NotFoundError):
        aitl.ServingIndex.load(reg, "v000002")  # no encoder.bin
    with pytest.raises(aitl.NotFoundError):
        aitl.ServingIndex.load(tmp_path / "empty-registry")  # no champion
    assert loaded.open(reg, "v000001") == "v000001"
    (reg / "versions" / "v000001" / "ids.json").write_text("{}")
    with pytest.raises(aitl.IoError):
        aitl.ServingIndex.load(reg, "v000001")  # files no longer hash to the manifest
