"""atheris target: the other Python readers of untrusted files.

The first byte picks the reader, the rest is the file:
0 aitl.mtrag.load (the MTRAG human-evaluation JSON), 1 aitl.scenario.withheld_ids
(scenario.json), 2 aitl.scenario.phrasing_sides (queries.jsonl).
"""
from __future__ import annotations

import fuzz_common as fc
from fuzz_common import atheris  # noqa: F401

with atheris.instrument_imports(include=["aitl"]):
    from aitl import mtrag, scenario

READERS = [(mtrag.load, "reference_subset_with_human_evaluations.json"),
           (scenario.withheld_ids, "scenario.json"),
           (scenario.phrasing_sides, "queries.jsonl")]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    reader, name = READERS[data[0] % len(READERS)]
    folder = fc.fresh_dir("readers")
    (folder / name).write_bytes(data[1:])
    try:
        reader(str(folder / name))
    except fc.EXPECTED:
        pass


if __name__ == "__main__":
    fc.run(test_one_input, fc.json_mutator(keep=1))
