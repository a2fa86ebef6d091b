"""atheris target: aitl.dstc11.convert on a folder built from the input (knowledge.json,
val/logs.json, val/labels.json separated by NUL bytes), then the written BEIR folder read back
with aitl.beir.load: what convert writes, beir.load must read.
"""
from __future__ import annotations

import fuzz_common as fc
from fuzz_common import atheris  # noqa: F401

with atheris.instrument_imports(include=["aitl"]):
    from aitl import beir, dstc11

FILES = ["knowledge.json", "val/logs.json", "val/labels.json"]


def test_one_input(data: bytes) -> None:
    src, out = fc.fresh_dir("src"), fc.fresh_dir("out")
    fc.write_files(src, dict(zip(FILES, fc.split_parts(data, len(FILES)))))
    try:
        counts = dstc11.convert(str(src), str(out), history_turns=1 + len(data) % 3)
    except fc.EXPECTED:
        return
    if counts["documents"] == 0:
        return  # an empty corpus.jsonl, which KnowledgeBase refuses (ConfigError): not a BEIR folder
    ds = beir.load(str(out))
    assert len(ds.kb) == counts["documents"], (len(ds.kb), counts)
    assert len(ds.queries) == counts["queries"], (len(ds.queries), counts)


if __name__ == "__main__":
    fc.run(test_one_input, fc.json_mutator(keep=0))
