"""ModelRegistry from Python: add/promote/reject/rollback, files and hashes, errors, two objects,
threads, and crash safety under SIGKILL of a writing subprocess."""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import re
import signal
import threading
import time
from pathlib import Path

import pytest

import aitl


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def blob(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.fixture
def reg(tmp_path):
    return aitl.ModelRegistry(tmp_path / "reg")


def test_open_properties_and_repr(tmp_path):
    r = aitl.ModelRegistry(tmp_path / "reg")  # os.PathLike accepted
    assert r.path == str((tmp_path / "reg").resolve())
    assert r.champion is None and r.challenger is None
    assert r.versions() == []
    m = r.manifest()
    assert m["format"] == "aitl.model_registry" and m["format_version"] == 1 and m["next_id"] == 1
    assert m["champion"] is None and m["champion_history"] == [] and m["versions"] == []
    assert repr(r) == f"ModelRegistry(path={r.path!r}, versions=0, champion=None, challenger=None)"
    assert (tmp_path / "reg" / "manifest.json").is_file()
    assert (tmp_path / "reg" / "versions").is_dir()


def test_add_promote_reject_and_supersede(reg, tmp_path):
    enc = write(tmp_path / "src" / "encoder.bin", blob(1, 5000))
    idx = write(tmp_path / "src" / "index.hnsw", blob(2, 3000))
    v1 = reg.add({"encoder.bin": enc, "index.hnsw": str(idx)}, watermark=42, metrics={"ndcg@10": 0.41},
                 note="round 1")
    assert v1 == "v000001"
    c = reg.challenger
    assert c["version"] == v1 and c["status"] == "challenger" and c["watermark"] == 42
    assert c["metrics"] == {"ndcg@10": 0.41} and c["note"] == "round 1" and c["decision"] is None
    assert c["parent"] == "" and c["created"].endswith("Z")
    assert [a["name"] for a in c["artifacts"]] == ["encoder.bin", "index.hnsw"]
    assert c["artifacts"][0] == {"name": "encoder.bin", "bytes": 5000,
                                 "sha256": hashlib.sha256(blob(1, 5000)).hexdigest()}
    assert Path(reg.file(v1, "index.hnsw")).read_bytes() == blob(2, 3000)
    reg.verify(v1)

    reg.promote(v1, {"promote": True, "reason": "first"})
    assert reg.champion["version"] == v1 and reg.champion["decision"] == {"promote": True, "reason": "first"}
    assert reg.challenger is None

    v2 = reg.add({"encoder.bin": enc}, parent=v1)
    v3 = reg.add({"encoder.bin": enc}, parent=v1)
    assert reg.get(v2)["status"] == "rejected" and reg.get(v2)["decision"] == {"reason": "superseded"}
    assert reg.get(v3)["parent"] == v1
    reg.reject(v3, {"reason": "no lift", "p_value": 0.4})
    assert reg.get(v3)["status"] == "rejected" and reg.get(v3)["decision"]["p_value"] == 0.4
    assert reg.challenger is None and reg.champion["version"] == v1

    v4 = reg.add({"encoder.bin": idx}, parent="")  # "" and None both mean no parent
    reg.promote(v4)
    assert reg.get(v1)["status"] == "retired"
    m = reg.manifest()
    assert m["champion"] == v4 and m["champion_history"] == [v1, v4] and m["next_id"] == 5
    assert [v["version"] for v in reg.versions()] == [v1, v2, v3, v4]
    assert [v["status"] for v in reg.versions()] == ["retired", "rejected", "rejected", "champion"]
    assert repr(reg).endswith("versions=4, champion='v000004', challenger=None)")
    assert aitl.ModelRegistry(reg.path).manifest() == m
    json.dumps(m)  # plain JSON types
    v5 = reg.add({"encoder.bin": enc}, v4, 7, {"loss": 0.1}, "positional")
    assert {k: reg.get(v5)[k] for k in ("parent", "watermark", "metrics", "note")} == {
        "parent": v4, "watermark": 7, "metrics": {"loss": 0.1}, "note": "positional"}


def test_rollback_restores_previous_champion_bit_for_bit(reg, tmp_path):
    assert reg.rollback() is None
    originals, ids = [], []
    for i in range(3):
        originals.append(blob(100 + i, 200_000 + i))
        src = write(tmp_path / "src" / "encoder.bin", originals[-1])  # same source path each time
        ids.append(reg.add({"encoder.bin": src}))
        reg.promote(ids[-1])
    assert reg.rollback() == ids[1]
    assert reg.champion["version"] == ids[1] and reg.get(ids[2])["status"] == "retired"
    data = Path(reg.file(ids[1], "encoder.bin")).read_bytes()
    assert data == originals[1]
    assert hashlib.sha256(data).hexdigest() == reg.champion["artifacts"][0]["sha256"]
    assert reg.rollback() == ids[0]
    assert Path(reg.file(ids[0], "encoder.bin")).read_bytes() == originals[0]
    before = reg.manifest()
    assert reg.rollback() is None
    assert reg.manifest() == before


def test_errors_map_to_aitl_exception_types(reg, tmp_path):
    src = write(tmp_path / "a.bin", b"bytes")
    with pytest.raises(aitl.ConfigError, match="no artifact files"):
        reg.add({})
    for bad in ["", "a/b", "..", "../x", "x.tmp"]:
        with pytest.raises(ValueError, match="invalid artifact name"):
            reg.add({bad: src})
    with pytest.raises(aitl.IoError, match="missing.bin"):
        reg.add({"a.bin": tmp_path / "missing.bin"})
    with pytest.raises(OSError):
        reg.add({"a.bin": tmp_path})  # a directory
    with pytest.raises(aitl.ConfigError, match="watermark"):
        reg.add({"a.bin": src}, watermark=-1)
    with pytest.raises(aitl.ConfigError, match="metrics"):
        reg.add({"a.bin": src}, metrics=[1, 2])
    with pytest.raises(aitl.NotFoundError, match="unknown parent"):
        reg.add({"a.bin": src}, parent="v000009")
    with pytest.raises(TypeError):
        reg.add({1: src})
    with pytest.raises(TypeError):
        reg.add([("a.bin", src)])
    with pytest.raises(TypeError):
        reg.add({"a.bin": src}, metrics={"x": object()})
    assert reg.versions() == [] and reg.manifest()["next_id"] == 1

    v1 = reg.add({"a.bin": src})
    with pytest.raises(KeyError):
        reg.get("v000002")
    with pytest.raises(aitl.NotFoundError):
        reg.promote("nope")
    with pytest.raises(aitl.NotFoundError):
        reg.reject("v000007", None)
    with pytest.raises(aitl.NotFoundError):
        reg.verify("v000007")
    with pytest.raises(aitl.NotFoundError, match="expected one of a.bin"):
        reg.file(v1, "b.bin")
    reg.promote(v1)
    with pytest.raises(aitl.StateError, match="status 'champion'"):
        reg.promote(v1)
    with pytest.raises(aitl.StateError, match="rollback"):
        reg.reject(v1, {"reason": "x"})
    v2 = reg.add({"a.bin": src})
    reg.reject(v2, {"reason": "worse"})
    with pytest.raises(aitl.StateError):
        reg.promote(v2)

    Path(reg.file(v1, "a.bin")).write_bytes(b"tampered")
    with pytest.raises(aitl.IoError, match="a.bin"):
        reg.verify(v1)
    write(tmp_path / "plain", b"x")
    with pytest.raises(aitl.IoError):
        aitl.ModelRegistry(tmp_path / "plain")


def test_corrupted_manifest_is_a_parse_error_naming_file_and_field(tmp_path):
    r = aitl.ModelRegistry(tmp_path / "reg")
    r.promote(r.add({"a.bin": write(tmp_path / "a.bin", b"a")}))
    manifest = tmp_path / "reg" / "manifest.json"
    good = json.loads(manifest.read_text())
    manifest.write_text('{"format": "aitl.model_registry", "versi')
    with pytest.raises(aitl.ParseError) as e:
        aitl.ModelRegistry(tmp_path / "reg")
    assert e.value.file == str(manifest.resolve()) and isinstance(e.value, ValueError)
    assert "manifest.json" in repr(r)  # repr shows the error instead of raising
    bad = dict(good, champion=None)
    manifest.write_text(json.dumps(bad))
    with pytest.raises(aitl.ParseError) as e:
        r.versions()
    assert e.value.field == "champion"
    bad = json.loads(json.dumps(good))
    bad["versions"][0]["status"] = "winner"
    manifest.write_text(json.dumps(bad))
    with pytest.raises(aitl.ParseError) as e:
        aitl.ModelRegistry(tmp_path / "reg")
    assert e.value.field == "versions[0]" and "winner" in str(e.value)


def _tree(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else "<dir>")
            for p in sorted(root.rglob("*"))}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_deleting_the_manifest_loses_no_version(tmp_path):
    d = tmp_path / "reg"
    r = aitl.ModelRegistry(d)
    for i in range(5):
        v = r.add({"m.bin": write(tmp_path / "m.bin", blob(40 + i, 3000))})
        if i % 2 == 0:
            r.promote(v)
    manifest = (d / "manifest.json").read_bytes()
    (d / "manifest.json").unlink()
    before = _tree(d)
    for _ in range(2):
        with pytest.raises(aitl.StateError) as e:
            aitl.ModelRegistry(d)
        msg = str(e.value)
        assert msg.startswith(f"model_registry::model_registry: manifest missing in '{d.resolve()}'")
        assert "5 version folder(s) in versions/: v000001, v000002, v000003, v000004, v000005" in msg
        assert "restore manifest.json from a backup" in msg and "nothing was changed" in msg
        assert _tree(d) == before
    (d / "manifest.json").write_bytes(manifest)
    r = aitl.ModelRegistry(d)
    assert [v["version"] for v in r.versions()] == [f"v{i:06d}" for i in range(1, 6)]
    assert r.recovered == []
    for v in r.versions():
        r.verify(v["version"])


def test_a_folder_that_is_not_a_registry_is_refused_and_untouched(tmp_path):
    a = tmp_path / "a"
    write(a / "versions" / "my-precious" / "a.bin", b"precious")
    before = _tree(a)
    with pytest.raises(aitl.StateError, match=r"1 version folder\(s\) in versions/: my-precious"):
        aitl.ModelRegistry(a)
    assert _tree(a) == before
    b = tmp_path / "project"
    write(b / "README.md", b"# mine")
    write(b / "src" / "main.py", b"print(1)")
    before = _tree(b)
    with pytest.raises(aitl.StateError, match=r"not a model registry: .* holds other files \(got 2 item\(s\): "
                                              r"README.md, src, expected an empty folder"):
        aitl.ModelRegistry(b, verify_artifacts=False)
    assert _tree(b) == before  # not even a .lock file
    (tmp_path / "empty").mkdir()
    assert aitl.ModelRegistry(tmp_path / "empty").versions() == []


def test_recovery_quarantines_unlisted_entries_and_reports_them(tmp_path, capfd):
    d = tmp_path / "reg"
    r = aitl.ModelRegistry(d)
    r.promote(r.add({"a.bin": write(tmp_path / "a.bin", b"a")}))
    write(d / "versions" / "my-precious" / "a.bin", b"precious")
    write(d / "versions" / "v000002" / "a.bin", b"complete, never committed")
    write(d / "versions" / "v000003" / ".aitl-uncommitted.tmp",
          b"aitl.model_registry: folder of version v000003 being added; not committed\n")
    write(d / "versions" / "v000003" / "a.bin.tmp", b"partial")
    capfd.readouterr()
    r = aitl.ModelRegistry(d)
    err = capfd.readouterr().err
    assert f"aitl: warning: model registry '{d.resolve()}': recovery moved 2 unlisted item(s) to quarantine " \
           "(versions/my-precious -> quarantine/my-precious, versions/v000002 -> quarantine/v000002) and removed 1 " \
           "uncommitted version folder(s) of interrupted adds (versions/v000003)" in err
    q = d.resolve() / "quarantine"
    assert (q / "my-precious" / "a.bin").read_bytes() == b"precious"
    assert (q / "v000002" / "a.bin").read_bytes() == b"complete, never committed"
    assert not (d / "versions" / "v000003").exists()
    rec = {Path(x["from"]).name: x for x in r.recovered}
    assert rec["my-precious"] == {"action": "quarantined", "from": str(d.resolve() / "versions" / "my-precious"),
                                  "to": str(q / "my-precious"), "reason": "not a version folder of this registry"}
    assert rec["v000002"]["action"] == "quarantined" and "not listed in the manifest" in rec["v000002"]["reason"]
    assert rec["v000003"]["action"] == "removed" and rec["v000003"]["to"] == ""
    assert sorted(p.name for p in (d / "versions").iterdir()) == ["v000001"]
    write(d / "versions" / "my-precious" / "a.bin", b"second")
    assert [x["to"] for x in aitl.ModelRegistry(d).recovered] == [str(q / "my-precious.1")]
    assert (q / "my-precious" / "a.bin").read_bytes() == b"precious"  # never overwritten
    assert aitl.ModelRegistry(d).recovered == []


def test_file_promote_rollback_and_open_refuse_tampered_artifacts(tmp_path):
    d = tmp_path / "reg"
    r = aitl.ModelRegistry(d)
    assert r.verify_artifacts
    b1, b2 = blob(61, 5000), blob(62, 5000)
    v1 = r.add({"m.bin": write(tmp_path / "m.bin", b1)})
    r.promote(v1)
    v2 = r.add({"m.bin": write(tmp_path / "m.bin", b2)})
    r.promote(v2)
    m1 = d.resolve() / "versions" / v1 / "m.bin"
    bad = bytearray(b1)
    bad[2500] ^= 0x20
    st = m1.stat()
    m1.write_bytes(bytes(bad))
    os.utime(m1, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    want = (f"artifact file corrupted: '{m1}' (got 5000 bytes, sha256 {_sha(bytes(bad))}, expected 5000 bytes, "
            f"sha256 {_sha(b1)})")
    with pytest.raises(aitl.IoError) as e:
        r.file(v1, "m.bin")
    assert str(e.value) == "model_registry::file: " + want and isinstance(e.value, OSError)
    before = r.manifest()
    with pytest.raises(aitl.IoError) as e:
        r.rollback()
    assert str(e.value).startswith(f"model_registry::rollback: cannot reinstate version 'v000001': {want}; "
                                   "nothing was changed")
    with pytest.raises(aitl.IoError, match="cannot promote version 'v000001'"):
        r.promote(v1)
    assert r.manifest() == before and r.champion["version"] == v2
    m1.write_bytes(b1)
    assert r.rollback() == v1 and Path(r.file(v1, "m.bin")).read_bytes() == b1
    # a challenger with a missing file cannot be promoted
    v3 = r.add({"m.bin": write(tmp_path / "m.bin", b2)})
    (d / "versions" / v3 / "m.bin").unlink()
    before = r.manifest()
    with pytest.raises(aitl.IoError, match=r"cannot promote version 'v000003': artifact file missing \(got no file"):
        r.promote(v3)
    assert r.manifest() == before
    # opening verifies the champion; verify_artifacts=False opens and trusts
    (d / "versions" / v1 / "m.bin").write_bytes(b"short")
    with pytest.raises(aitl.IoError, match=r"the champion 'v000001' does not verify: artifact file corrupted"):
        aitl.ModelRegistry(d)
    t = aitl.ModelRegistry(d, verify_artifacts=False)
    assert not t.verify_artifacts
    assert Path(t.file(v1, "m.bin")).read_bytes() == b"short"
    with pytest.raises(aitl.IoError, match="got 5 bytes"):
        t.verify(v1)
    t.promote(v2)
    assert aitl.ModelRegistry(d).champion["version"] == v2


@pytest.mark.parametrize("metrics, path, shown", [
    ({"ndcg@10": float("nan")}, "metrics.ndcg@10", "nan"),
    ({"ok": 1.0, "loss": float("inf")}, "metrics.loss", "inf"),
    ({"training": {"encoder": {"train_loss": [0.5, 0.4, float("-inf")]}}},
     "metrics.training.encoder.train_loss[2]", "-inf"),
    ({"folds": [{"r": 1}, {"r": float("nan")}]}, "metrics.folds[1].r", "nan"),
])
def test_add_refuses_non_finite_metrics(reg, tmp_path, metrics, path, shown):
    src = write(tmp_path / "a.bin", b"a")
    with pytest.raises(aitl.ConfigError) as e:
        reg.add({"a.bin": src}, metrics=metrics)
    assert str(e.value) == (f"model_registry::add: metric '{path}' is not a finite number (got {shown}, "
                            "expected a finite number)")
    assert isinstance(e.value, ValueError)
    assert reg.versions() == [] and list((Path(reg.path) / "versions").iterdir()) == []
    v = reg.add({"a.bin": src}, metrics={"x": 1e308, "s": "nan"})
    assert reg.get(v)["metrics"] == {"x": 1e308, "s": "nan"}


def test_two_objects_interleaving_lose_nothing(tmp_path):
    a = aitl.ModelRegistry(tmp_path / "reg")
    b = aitl.ModelRegistry(tmp_path / "reg")
    src = write(tmp_path / "a.bin", b"x" * 100)
    for _ in range(4):
        b.promote(a.add({"a.bin": src}))
        a.promote(b.add({"a.bin": src}))
    assert [v["version"] for v in a.versions()] == [f"v{i:06d}" for i in range(1, 9)]
    assert b.manifest() == a.manifest() and a.champion["version"] == "v000008"


def test_threads_adding_concurrently_lose_nothing(reg, tmp_path):
    srcs = [write(tmp_path / f"s{t}.bin", blob(t, 50_000 + t)) for t in range(4)]
    out: list[list[str]] = [[] for _ in range(4)]
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for _ in range(5):
                out[t].append(reg.add({"m.bin": srcs[t]}, note=str(t)))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    ids = sorted(v for vs in out for v in vs)
    assert ids == [f"v{i:06d}" for i in range(1, 21)]
    for v in reg.versions():
        t = int(v["note"])
        assert v["artifacts"][0]["bytes"] == 50_000 + t
        assert Path(reg.file(v["version"], "m.bin")).read_bytes() == blob(t, 50_000 + t)
    assert sum(v["status"] == "challenger" for v in reg.versions()) == 1


def _crash_child(reg_dir: str, stage: str, rnd: int, fd: int) -> None:
    """Loops add + promote forever, writing each promoted version to fd (runs in a forked process)."""
    reg = aitl.ModelRegistry(reg_dir)
    Path(stage).mkdir(parents=True, exist_ok=True)
    os.write(fd, b"ready\n")
    it = 0
    while True:
        seed = rnd * 100003 + it
        files = {name: write(Path(stage) / name, _crash_bytes(seed, f))
                 for f, name in enumerate(("encoder.bin", "index.hnsw"))}
        v = reg.add(files, note=f"{rnd} {it}")
        reg.promote(v, {"round": rnd, "iter": it})
        os.write(fd, (v + "\n").encode())
        it += 1


def _crash_bytes(seed: int, f: int) -> bytes:
    return blob(seed * 2 + f, 100_000 + (seed * 7919 + f) % 200_000)


def test_sigkill_at_random_moments_leaves_a_whole_champion(tmp_path):
    # A forked child (it inherits the imported aitl, whichever build the test runs against) loops
    # add + promote; it is killed with SIGKILL at a random moment, then the registry must open
    # with a champion that is not older than the last acknowledged promote and whose files are
    # the bytes the child wrote.
    reg_dir = tmp_path / "reg"
    ctx = multiprocessing.get_context("fork")
    rng = random.Random(20250605)
    last_acked = 0
    for rnd in range(6):
        rfd, wfd = os.pipe()
        child = ctx.Process(target=_crash_child, args=(str(reg_dir), str(tmp_path / f"stage{rnd}"), rnd, wfd))
        child.start()
        os.close(wfd)
        got = b""
        while b"ready\n" not in got:
            chunk = os.read(rfd, 4096)
            assert chunk, "the child died before it was ready"
            got += chunk
        time.sleep(rng.uniform(0.005, 0.3))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        assert child.exitcode == -signal.SIGKILL
        while chunk := os.read(rfd, 4096):
            got += chunk
        os.close(rfd)
        for line in got.decode().split()[1:]:
            last_acked = int(line[1:])

        r = aitl.ModelRegistry(reg_dir)  # opens and recovers
        names = sorted(p.name for p in (reg_dir / "versions").iterdir())
        assert names == [v["version"] for v in r.versions()]
        quarantine = reg_dir / "quarantine"  # an add killed between its last copy and its commit
        for p in quarantine.iterdir() if quarantine.exists() else []:
            assert re.fullmatch(r"v\d{6}(\.\d+)?", p.name) and p.is_dir(), p
        assert not (reg_dir / "manifest.json.tmp").exists()
        assert sum(v["status"] == "champion" for v in r.versions()) == (1 if r.champion else 0)
        c = r.champion
        if last_acked:
            assert c is not None and int(c["version"][1:]) >= last_acked
        if c is not None:
            r.verify(c["version"])
            crnd, cit = map(int, c["note"].split())
            for f, name in enumerate(("encoder.bin", "index.hnsw")):
                assert Path(r.file(c["version"], name)).read_bytes() == _crash_bytes(crnd * 100003 + cit, f)
            assert c["decision"] == {"round": crnd, "iter": cit}
    assert last_acked > 0
