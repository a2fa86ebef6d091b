"""Read a BEIR folder: corpus, queries, qrels of one split, plus aitl's optional extras.

A BEIR folder holds ``corpus.jsonl`` (``{"_id", "title", "text", ...}``), ``queries.jsonl``
(``{"_id", "text", ...}``) and ``qrels/<split>.tsv`` (``query-id  corpus-id  score`` with a
header line). Folders written by :func:`aitl.dstc11.convert` also hold ``groups.tsv``
(``query-id  dialogue-id``: queries that must stay on one side of a train/test split) and
``responses.jsonl`` (``{"_id": query-id, "response": reply text}``).

>>> from aitl import beir
>>> ds = beir.load("examples/data/helpcentre")
>>> len(ds.kb), len(ds.queries), len(ds.qrels)
(40, 34, 34)
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional, Union

from ._core import IoError, KnowledgeBase, ParseError, parse_json, read_qrels, read_queries

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["BeirDataset", "load", "load_queries", "load_groups", "load_responses"]


def _parse_error(file: PathLike, line: int, field: str, what: str) -> ParseError:
    """A ParseError shaped like the C++ one: ``file:line: field 'f': what`` with attributes
    (the one helper of the Python loaders: beir, dstc11, mtrag, scenario)."""
    err = ParseError(f"{file}:{line}: field '{field}': {what}")
    err.file = str(file)
    err.line = int(line)
    err.field = field
    return err


def _read_text(path: Path, what: str) -> str:
    """The whole file as text: a UTF-8 byte-order mark skipped; bytes that are not UTF-8 are a
    ParseError naming the line and the byte offset (the one text reader of the Python loaders)."""
    if not path.is_file():
        raise IoError(f"{what}: file not found (got {path}, expected an existing file)")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IoError(f"{what}: cannot read {path} ({e.strerror or e})") from None
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:
        return data[bom:].decode("utf-8")
    except UnicodeDecodeError as e:
        at = bom + e.start
        raise _parse_error(path, data.count(b"\n", 0, at) + 1, "",
                           f"not valid UTF-8 (got byte 0x{data[at]:02X} at byte {at}, "
                           "expected UTF-8 text)") from None


def _load_json(path: Path, what: str) -> Any:
    """A whole JSON file, parsed the way every aitl loader parses (the C++ ``parse_json``): a
    ParseError naming the line and byte for bytes that are not UTF-8, nesting deeper than
    :data:`aitl.json_max_depth` or a syntax error; never a RecursionError."""
    if not path.is_file():
        raise IoError(f"{what}: file not found (got {path}, expected an existing file)")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IoError(f"{what}: cannot read {path} ({e.strerror or e})") from None
    return parse_json(data, str(path), 0)


def _jsonl(path: Path, what: str, value_field: str) -> Dict[str, str]:
    """Read ``{"_id": id, value_field: str}`` lines into a dict, strictly (C++ ``read_queries``)."""
    if not path.is_file():
        raise IoError(f"beir.{what}: file not found (got {path}, expected an existing file)")
    return dict(read_queries(str(path), value_field))


def load_queries(path: PathLike) -> Dict[str, str]:
    """``queries.jsonl`` (or a BEIR folder holding it) -> ``{query id: text}`` in file order.

    :raises IoError: the file is missing. :raises ParseError: a line is not a JSON object, or
        ``_id`` / ``text`` is missing, of the wrong type or duplicated (names file, line, field).
    """
    p = Path(path)
    if p.is_dir():
        p = p / "queries.jsonl"
    return _jsonl(p, "load_queries", "text")


def load_responses(path: PathLike) -> Dict[str, str]:
    """``responses.jsonl`` (or a folder holding it) -> ``{query id: response}``."""
    p = Path(path)
    if p.is_dir():
        p = p / "responses.jsonl"
    return _jsonl(p, "load_responses", "response")


def load_groups(path: PathLike) -> Dict[str, str]:
    """``groups.tsv`` (or a folder holding it) -> ``{query id: group id}``.

    The first line is a header (``query-id<TAB>dialogue-id``); every other line has two
    tab-separated columns.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "groups.tsv"
    out: Dict[str, str] = {}
    for n, line in enumerate(_read_text(p, "beir.load_groups").split("\n"), start=1):
        line = line.rstrip("\r")
        if n == 1 or not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) != 2:
            raise _parse_error(p, n, "", f"wrong column count (got {len(cols)}, expected 2: "
                               "query-id, group-id)")
        qid, gid = cols[0].strip(), cols[1].strip()
        if not qid:
            raise _parse_error(p, n, "query-id", "empty")
        if not gid:
            raise _parse_error(p, n, "group-id", "empty")
        if qid in out:
            raise _parse_error(p, n, "query-id", f"duplicate id (got {qid!r} twice)")
        out[qid] = gid
    return out


class BeirDataset:
    """One split of a BEIR folder, loaded.

    :ivar path: the folder. :ivar split: the qrels split name.
    :ivar kb: :class:`aitl.KnowledgeBase` of ``corpus.jsonl``.
    :ivar queries: ``{query id: text}``: the queries judged in the split (all of them with
        ``all_queries=True``), in file order.
    :ivar qrels: ``{query id: {doc id: grade}}`` of ``qrels/<split>.tsv``.
    :ivar groups: ``{query id: group id}`` from ``groups.tsv``, or ``None`` when absent.
    :ivar responses: ``{query id: reply}`` from ``responses.jsonl``, or ``None`` when absent.
    """

    def __init__(self, path: Path, split: str, kb: KnowledgeBase, queries: Dict[str, str],
                 qrels: Dict[str, Dict[str, int]], groups: Optional[Dict[str, str]],
                 responses: Optional[Dict[str, str]]) -> None:
        self.path = path
        self.split = split
        self.kb = kb
        self.queries = queries
        self.qrels = qrels
        self.groups = groups
        self.responses = responses

    def __repr__(self) -> str:
        return (f"BeirDataset(path={str(self.path)!r}, split={self.split!r}, "
                f"documents={len(self.kb)}, queries={len(self.queries)}, "
                f"judgements={sum(len(v) for v in self.qrels.values())})")


def _line_of(path: Path, column: int, value: str) -> int:
    """1-based line of the first TSV row whose column holds value (0 when not found)."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, start=1):
                cols = line.rstrip("\r\n").split("\t")
                if len(cols) > column and cols[column].strip() == value:
                    return n
    except OSError:
        pass
    return 0


def load(path: PathLike, split: str = "test", all_queries: bool = False) -> BeirDataset:
    """Load BEIR folder ``path`` with the judgements of ``qrels/<split>.tsv``.

    :param all_queries: keep every query of queries.jsonl, not only the judged ones.
    :raises IoError: the folder, its corpus, queries or the split's qrels file is missing.
    :raises ParseError: malformed lines (file, line, field named), a qrels file without
        judgements, or a judged query or document that is not in queries.jsonl / corpus.jsonl.
    """
    from .export import check_plain_name

    check_plain_name(split, "beir.load: split")
    root = Path(path)
    if not root.is_dir():
        raise IoError(f"beir.load: folder not found (got {root}, expected a BEIR folder with "
                      "corpus.jsonl, queries.jsonl and qrels/)")
    qrels_path = root / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        found = sorted(p.stem for p in (root / "qrels").glob("*.tsv")) if (root / "qrels").is_dir() else []
        raise IoError(f"beir.load: no qrels for split '{split}' (got {qrels_path}, "
                      f"expected one of the splits {found})")
    corpus = root / "corpus.jsonl"
    if not corpus.is_file():
        raise IoError(f"beir.load: corpus not found (got {corpus}, expected corpus.jsonl)")
    kb = KnowledgeBase.load_beir(str(root))
    all_q = load_queries(root / "queries.jsonl")
    qrels = read_qrels(str(qrels_path))
    if not qrels:
        raise _parse_error(qrels_path, 0, "", "no judgements (got none, expected at least one "
                           "'query-id<TAB>corpus-id<TAB>score' line after the header)")
    for qid, judged in qrels.items():
        if qid not in all_q:
            raise _parse_error(qrels_path, _line_of(qrels_path, 0, qid), "query-id",
                               f"judged query not in queries.jsonl (got {qid!r})")
        for doc in judged:
            if doc not in kb:
                raise _parse_error(qrels_path, _line_of(qrels_path, 1, doc), "corpus-id",
                                   f"judged document not in corpus.jsonl (got {doc!r})")
    queries = all_q if all_queries else {q: t for q, t in all_q.items() if q in qrels}
    groups = load_groups(root / "groups.tsv") if (root / "groups.tsv").is_file() else None
    responses = (load_responses(root / "responses.jsonl")
                 if (root / "responses.jsonl").is_file() else None)
    return BeirDataset(root, split, kb, queries, qrels, groups, responses)
