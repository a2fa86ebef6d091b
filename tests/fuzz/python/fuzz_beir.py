"""atheris target: the BEIR readers of aitl.beir and the eval readers bound from C++.

The first byte picks the reader, the rest is the file (or, for beir.load, the folder: corpus,
queries, qrels/test.tsv, groups, responses separated by NUL bytes):
0 beir.load_queries, 1 beir.load_responses, 2 beir.load_groups, 3 aitl.read_qrels,
4 aitl.read_trec_run, 5 aitl.KnowledgeBase.load_beir, 6 beir.load (a whole folder).
"""
from __future__ import annotations

import fuzz_common as fc
from fuzz_common import atheris  # noqa: F401  (instrumentation set up there)

with atheris.instrument_imports(include=["aitl"]):
    import aitl
    from aitl import beir

FILE_READERS = [beir.load_queries, beir.load_responses, beir.load_groups, aitl.read_qrels,
                aitl.read_trec_run, aitl.KnowledgeBase.load_beir]
FOLDER = ["corpus.jsonl", "queries.jsonl", "qrels/test.tsv", "groups.tsv", "responses.jsonl"]


def _use(result) -> None:
    """Reads every value a caller would (ids of hits, documents' fields)."""
    if isinstance(result, aitl.KnowledgeBase):
        for d in result:
            d.id, d.title, d.text, d.metadata
    elif isinstance(result, dict):
        for key, value in result.items():
            if isinstance(value, list):
                for h in value:
                    h.id, h.score


def test_one_input(data: bytes) -> None:
    if not data:
        return
    which, body = data[0] % (len(FILE_READERS) + 1), data[1:]
    if which < len(FILE_READERS):
        path = fc.SCRATCH / "input"
        path.write_bytes(body)
        try:
            result = FILE_READERS[which](str(path))
        except fc.EXPECTED:
            return
        _use(result)
        return
    folder = fc.fresh_dir("beir")
    fc.write_files(folder, dict(zip(FOLDER, fc.split_parts(body, len(FOLDER)))))
    try:
        ds = beir.load(str(folder), all_queries=bool(len(body) % 2))
    except fc.EXPECTED:
        return
    _use(ds.kb)


if __name__ == "__main__":
    fc.run(test_one_input, fc.json_mutator(keep=1))
