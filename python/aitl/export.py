"""Exports of the compiled feedback in the formats training and evaluation tools read.

Every export compiles the store (annotations with ``after_seq < seq``, see
:func:`aitl.compile_retrieval` and friends) and writes JSON Lines (UTF-8, one object per line)
or TSV. Field names are exactly the consumers':

=======================  =======================================================================
format                   rows
=======================  =======================================================================
``trl-preference``       ``{"prompt", "chosen", "rejected"}`` (TRL ``DPOTrainer`` / ``RewardTrainer``)
``trl-kto``              ``{"prompt", "completion", "label"}`` (TRL ``KTOTrainer``; label bool)
``openai-dpo``           ``{"input": {"messages": [{"role": "user", "content": prompt}]},
                         "preferred_output": [{"role": "assistant", "content": chosen}],
                         "non_preferred_output": [{"role": "assistant", "content": rejected}]}``
                         (OpenAI preference fine-tuning)
``sentence-transformers``  ``{"anchor", "positive", "negative_1", ..., "negative_n"}``: one row
                         per (query, positive); n fixed per file (``negatives``, default 1)
``flagembedding``        ``{"query", "pos": [...], "neg": [...]}``: one row per query
``beir-qrels``           a BEIR folder: ``qrels/<split>.tsv`` (``query-id<TAB>corpus-id<TAB>score``
                         with that header), ``queries.jsonl`` (``{"_id", "text"}``) and, when a
                         corpus is given, ``corpus.jsonl``
``trec-run``             ``qid Q0 docid rank score tag``: a retriever's top-k for each judged
                         query of the feedback (``beir-qrels`` queries)
=======================  =======================================================================

The prompt is the conversation context, one turn per line, then the query (``make_prompt`` in
learn/compile.hpp). Document texts are the knowledge base's ``indexed_text()`` (title, newline,
text). Rows whose documents are not in the given knowledge base are dropped.

Negatives (``sentence-transformers``, ``flagembedding``): the agents' hard negatives (shown and
judged not relevant) first, then, when an example has fewer than ``negatives`` of them and
``fill="mine"``, negatives mined from a BM25 index of the knowledge base (top ``mine_depth``
hits that are neither a positive nor a hard negative, best first). A row that still has fewer
than ``negatives`` is dropped (``fill="drop"`` drops without mining). FlagEmbedding rows carry
every hard negative (and at least ``negatives``); a row with no negative at all is dropped.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from ._core import mine_negatives  # noqa: F401  (re-exported: the C++ aitl::mine_negatives)

__all__ = ["FORMATS", "export", "write_jsonl", "trl_preference_rows", "trl_kto_rows",
           "openai_dpo_rows", "sentence_transformers_rows", "flagembedding_rows",
           "mine_negatives", "write_beir_qrels", "write_trec_run", "check_plain_name"]

PathLike = Union[str, "os.PathLike[str]"]
FORMATS = ("trl-preference", "trl-kto", "openai-dpo", "sentence-transformers", "flagembedding",
           "beir-qrels", "trec-run")
NEEDS_CORPUS = ("sentence-transformers", "flagembedding", "trec-run")


def check_plain_name(value: Any, what: str = "name", example: str = "test") -> str:
    """Return ``value`` when it can be used as one file name inside a folder: a non-empty str
    with no path separator (``/`` or ``\\``), not ``.`` or ``..``, no drive (``C:``) and no
    control character (NUL, newline, ...). Used for every user-given name that becomes part of
    a path (``split`` of :func:`write_beir_qrels`, the CLI's ``--split``).

    :param what: names the argument in the message (e.g. ``"export: --split"``).
    :raises ConfigError: otherwise, naming ``what``, the value and what is expected.
    """
    import ntpath
    import unicodedata

    from ._core import ConfigError

    ok = (isinstance(value, str) and value not in ("", ".", "..") and "/" not in value
          and "\\" not in value and not ntpath.splitdrive(value)[0] and not os.path.isabs(value)
          and not any(unicodedata.category(c) in ("Cc", "Cs") for c in value))
    if not ok:
        raise ConfigError(f"{what}: not a plain name (got {value!r}, expected a plain name such as "
                          f"{example!r}: no path separator, '..', absolute path or control "
                          "character)")
    return value


def write_jsonl(path: PathLike, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write ``rows`` as JSON Lines (UTF-8, non-ASCII kept); returns the number of rows."""
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False))
            f.write("\n")
            n += 1
    return n


def trl_preference_rows(data: Any) -> List[Dict[str, str]]:
    """TRL preference rows ``{"prompt", "chosen", "rejected"}`` of a :class:`aitl.PreferenceData`."""
    return [{"prompt": p.prompt, "chosen": p.chosen, "rejected": p.rejected} for p in data.pairs]


def trl_kto_rows(data: Any) -> List[Dict[str, Any]]:
    """TRL KTO rows ``{"prompt", "completion", "label"}`` of a :class:`aitl.PreferenceData`."""
    return [{"prompt": k.prompt, "completion": k.completion, "label": bool(k.label)}
            for k in data.kto]


def openai_dpo_rows(data: Any) -> List[Dict[str, Any]]:
    """OpenAI DPO rows of a :class:`aitl.PreferenceData` (the prompt as one user message)."""
    return [{"input": {"messages": [{"role": "user", "content": p.prompt}]},
             "preferred_output": [{"role": "assistant", "content": p.chosen}],
             "non_preferred_output": [{"role": "assistant", "content": p.rejected}]}
            for p in data.pairs]


def _bm25(kb: Any):
    from ._core import BM25

    r = BM25()
    r.add_documents(kb)
    return r


def _fill(examples: Sequence[Any], kb: Any, negatives: int, fill: str, mine_depth: int) -> None:
    if fill not in ("mine", "drop"):
        from ._core import ConfigError

        raise ConfigError(f"export: fill must be 'mine' or 'drop' (got {fill!r})")
    short = [ex for ex in examples if len(ex.hard_negatives) < negatives]
    if fill == "mine" and short:
        mine_negatives(short, _bm25(kb), k=mine_depth, n=negatives)
        for ex in short:  # only what the hard negatives leave missing
            ex.mined_negatives = ex.mined_negatives[:negatives - len(ex.hard_negatives)]


def _text(kb: Any, doc_id: str) -> Optional[str]:
    return kb.get(doc_id).indexed_text() if doc_id in kb else None


def sentence_transformers_rows(examples: Sequence[Any], kb: Any, negatives: int = 1,
                               fill: str = "mine", mine_depth: int = 30) -> List[Dict[str, str]]:
    """sentence-transformers rows ``{"anchor", "positive", "negative_1".."negative_n"}`` (n =
    ``negatives``, may be 0): one per (query, positive) whose documents are in ``kb``."""
    from ._core import ConfigError

    if negatives < 0:
        raise ConfigError(f"export: negatives out of range (got {negatives}, expected >= 0)")
    _fill(examples, kb, negatives, fill, mine_depth)
    rows: List[Dict[str, str]] = []
    for ex in examples:
        negs = [t for t in (_text(kb, d) for d in ex.negatives()) if t is not None][:negatives]
        if len(negs) < negatives:
            continue
        for pos in ex.positives:
            text = _text(kb, pos)
            if text is None:
                continue
            row = {"anchor": ex.query, "positive": text}
            for i, t in enumerate(negs):
                row[f"negative_{i + 1}"] = t
            rows.append(row)
    return rows


def flagembedding_rows(examples: Sequence[Any], kb: Any, negatives: int = 1, fill: str = "mine",
                       mine_depth: int = 30) -> List[Dict[str, Any]]:
    """FlagEmbedding rows ``{"query", "pos": [...], "neg": [...]}``, one per query."""
    _fill(examples, kb, negatives, fill, mine_depth)
    rows: List[Dict[str, Any]] = []
    for ex in examples:
        pos = [t for t in (_text(kb, d) for d in ex.positives) if t is not None]
        neg = [t for t in (_text(kb, d) for d in ex.negatives()) if t is not None]
        if not pos or not neg:
            continue
        rows.append({"query": ex.query, "pos": pos, "neg": neg})
    return rows


def write_beir_qrels(out_dir: PathLike, fq: Any, kb: Any = None, split: str = "test") -> Dict[str, int]:
    """Write ``out_dir/qrels/<split>.tsv`` and ``out_dir/queries.jsonl`` from a
    :class:`aitl.FeedbackQrels` (and ``corpus.jsonl`` from ``kb`` when given); returns counts.

    :raises ConfigError: ``split`` is not a plain name (see :func:`check_plain_name`)."""
    from ._core import write_qrels

    check_plain_name(split, "write_beir_qrels: split")
    root = Path(out_dir)
    (root / "qrels").mkdir(parents=True, exist_ok=True)
    qrels = fq.qrels
    write_qrels(str(root / "qrels" / f"{split}.tsv"), qrels, format="beir")
    queries = fq.queries
    n_q = write_jsonl(root / "queries.jsonl", ({"_id": q, "text": queries[q]} for q in sorted(queries)))
    out = {"queries": n_q, "judgements": sum(len(v) for v in qrels.values())}
    if kb is not None:
        out["documents"] = write_jsonl(root / "corpus.jsonl",
                                       ({"_id": d.id, "title": d.title, "text": d.text} for d in kb))
    return out


def write_trec_run(path: PathLike, fq: Any, retriever: Any, k: int = 100,
                   tag: str = "aitl") -> Dict[str, int]:
    """Search every judged query of a :class:`aitl.FeedbackQrels` with ``retriever`` (top ``k``)
    and write the TREC run; returns counts."""
    from ._core import write_trec_run as _write

    run = {qid: retriever.search(fq.queries[qid], k) for qid in sorted(fq.queries)}
    _write(str(path), run, tag=tag)
    return {"queries": len(run), "lines": sum(len(h) for h in run.values())}


def export(fmt: str, store: Any, out: PathLike, *, kb: Any = None, after_seq: int = 0,
           negatives: int = 1, fill: str = "mine", mine_depth: int = 30, k: int = 100,
           split: str = "test", keep_ties: bool = False) -> Dict[str, Any]:
    """Compile ``store`` (a :class:`aitl.SqliteStore` or its path) and write format ``fmt`` to
    ``out``. ``kb`` (a :class:`aitl.KnowledgeBase`) is needed for document texts
    (sentence-transformers, flagembedding, trec-run). Returns the counts written (``rows``)
    and compiled (``compiled``).

    :raises ConfigError: unknown format, missing kb, bad parameters (``split`` not a plain name
        for beir-qrels), all before anything is compiled or written.
    """
    import aitl

    if fmt not in FORMATS:
        raise aitl.ConfigError(f"export: unknown format (got {fmt!r}, expected one of "
                               f"{', '.join(FORMATS)})")
    if fmt == "beir-qrels":
        check_plain_name(split, "export: split")
    if fmt in NEEDS_CORPUS and kb is None:
        raise aitl.ConfigError(f"export: format {fmt} needs the documents' texts (got no "
                               "knowledge base, expected --data BEIR_DIR)")
    result: Dict[str, Any] = {"format": fmt, "out": str(out)}
    if fmt in ("trl-preference", "trl-kto", "openai-dpo"):
        data = aitl.compile_preferences(store, after_seq=after_seq, keep_ties=keep_ties)
        rows = {"trl-preference": trl_preference_rows, "trl-kto": trl_kto_rows,
                "openai-dpo": openai_dpo_rows}[fmt](data)
        result["compiled"] = len(data.kto) if fmt == "trl-kto" else len(data.pairs)
        result["rows"] = write_jsonl(out, rows)
    elif fmt in ("sentence-transformers", "flagembedding"):
        examples = aitl.compile_retrieval(store, after_seq=after_seq)
        make: Callable[..., List[Dict[str, Any]]] = (
            sentence_transformers_rows if fmt == "sentence-transformers" else flagembedding_rows)
        rows = make(examples, kb, negatives=negatives, fill=fill, mine_depth=mine_depth)
        result["compiled"] = len(examples)
        result["rows"] = write_jsonl(out, rows)
    elif fmt == "beir-qrels":
        fq = aitl.compile_qrels(store, after_seq=after_seq)
        result.update(write_beir_qrels(out, fq, kb, split=split))
        result["compiled"] = len(fq)
        result["rows"] = result["judgements"]
    else:  # trec-run
        if k < 1:
            raise aitl.ConfigError(f"export: k out of range (got {k}, expected >= 1)")
        fq = aitl.compile_qrels(store, after_seq=after_seq)
        result.update(write_trec_run(out, fq, _bm25(kb), k=k, tag="aitl-bm25"))
        result["compiled"] = len(fq.queries)
        result["rows"] = result["lines"]
    return result
