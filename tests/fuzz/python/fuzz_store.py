"""atheris target: feedback records from Python into aitl.SqliteStore (a fresh store per input).

The first byte picks the entry point, the rest is the data:
0 SqliteStore.import_jsonl of the data as a file;
1 SqliteStore.append(json.loads(data)) (a dict or a list of them; other JSON is skipped);
2 Impression.from_dict / Annotation.from_dict of json.loads(data), by its "type".
What append accepts must read back (impressions/annotations as_dict) and survive
export_jsonl + import_jsonl into a second store. The C++ reader behind import_jsonl has its own
libFuzzer target (fuzz_records); this one is about the binding: dict conversion and errors.
"""
from __future__ import annotations

import json

import fuzz_common as fc
from fuzz_common import atheris  # noqa: F401

with atheris.instrument_imports(include=["aitl"]):
    import aitl


def _json(body: bytes):
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # not JSON (JSONDecodeError, UnicodeDecodeError) or too deep for json
        return None


def _store(folder, name: str) -> "aitl.SqliteStore":
    return aitl.SqliteStore(str(folder / name), durability="normal")


# The store is C++ (not instrumented): the harness's own branches are the coverage signal.
@atheris.instrument_func
def test_one_input(data: bytes) -> None:
    if not data:
        return
    which, body = data[0] % 3, data[1:]
    folder = fc.fresh_dir("store")
    if which == 0:
        (folder / "in.jsonl").write_bytes(body)
        with _store(folder, "a.db") as s:
            try:
                s.import_jsonl(str(folder / "in.jsonl"))
            except fc.EXPECTED:
                return
            s.impressions(as_dict=True), s.annotations(as_dict=True)
        return
    x = _json(body)
    if which == 2:
        if not isinstance(x, dict):
            return
        cls = aitl.Impression if x.get("type") == "impression" else aitl.Annotation
        try:
            r = cls.from_dict(x)
        except fc.EXPECTED:
            return
        assert cls.from_dict(r.to_dict()) == r
        return
    if not (isinstance(x, dict) or (isinstance(x, list) and all(isinstance(i, dict) for i in x))):
        return
    with _store(folder, "a.db") as s:
        try:
            s.append(x)
        except fc.EXPECTED:
            return
        imps, anns = s.impressions(as_dict=True), s.annotations(as_dict=True)
        s.export_jsonl(str(folder / "out.jsonl"))
    with _store(folder, "b.db") as t:
        t.import_jsonl(str(folder / "out.jsonl"))
        assert t.impressions(as_dict=True) == imps and t.annotations(as_dict=True) == anns


if __name__ == "__main__":
    fc.run(test_one_input, fc.json_mutator(keep=1))
