"""Convert DSTC11 Track 5 (subjective-knowledge task-oriented dialogue) into a BEIR folder.

Input (``src_dir``, a copy of the ``data/`` folder of https://github.com/alexa/dstc11-track5):
``knowledge.json`` plus ``<split>/logs.json`` and ``<split>/labels.json`` (the validation split,
``val``, is the one whose labels are public).

Output (``out_dir``)::

    corpus.jsonl       one document per FAQ pair and per review sentence
    queries.jsonl      one query per knowledge-seeking turn (labels[i]["target"] is true)
    qrels/test.tsv     query-id, corpus-id, score (1 per gold knowledge item)
    groups.tsv         query-id, dialogue-id (see "Dialogues" below)
    responses.jsonl    {"_id": query-id, "response": the human-written reply}

Documents
    ``_id`` is ``<domain>:<entity_id>:faq:<faq_id>`` or
    ``<domain>:<entity_id>:review:<review_id>:<sent_id>`` (e.g. ``hotel:20:faq:3``,
    ``hotel:20:review:9:4``); ``title`` is the hotel or restaurant name; ``text`` is
    ``question + " " + answer`` for an FAQ and the sentence for a review. Extra keys
    (BEIR loaders keep them as metadata): ``domain``, ``entity_id``, ``entity_name``,
    ``doc_type`` ("faq" | "review"), ``doc_id``, and for reviews ``sent_id``,
    ``traveler_type`` and, when the review has them, ``dishes`` and ``drinks``.

Queries
    ``_id`` is ``<split>-<index>`` where index is the 0-based position of the instance in
    ``logs.json``. ``text`` is the last ``history_turns`` turns of the instance (the last one
    is the knowledge-seeking user turn), each stripped, joined with ``"\\n"`` (no speaker
    tags). Extra keys: ``instance`` (the index), ``turns`` (turns in the full log).

Dialogues (groups.tsv)
    logs.json holds partial conversations, each from the first turn up to a user turn, in no
    particular order; several instances come from one conversation, and DSTC11 built several
    variants of one MultiWOZ conversation by inserting a different knowledge-seeking turn.
    To keep every partial copy of one conversation on the same side of a train/test split,
    instances (all of them, knowledge-seeking or not, so that non-target instances bridge)
    are joined with union-find when, after collapsing whitespace and lowercasing the turns,
    (a) one log is a prefix of the other (this includes identical logs), or (b) the two logs
    share their first two turns (the opening user turn and the system's reply; variants of
    one conversation diverge at the inserted turn, but the opening user turn alone is too
    generic: "I am planning a trip in Cambridge." opens unrelated conversations). The
    dialogue id is ``dialogue-<smallest instance index in the component>``. On the validation
    split this gives 1,806 dialogues over the 4,173 instances; the 2,129 queries fall into
    1,805 of them (e.g. ``val-165`` and ``val-2262`` are two variants of one conversation).

The validation split gives 10,882 documents (2,869 FAQ + 8,013 review sentences),
2,129 queries and 8,669 qrels lines.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple, Union

from ._core import ConfigError, IoError
from .beir import _load_json, _parse_error

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["convert", "dialogue_groups"]


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise IoError(f"dstc11.convert: missing input file (got {path}, expected a file "
                      "from the DSTC11 Track 5 data folder)")
    return _load_json(path, "dstc11.convert")


def _expect(cond: bool, path: Path, field: str, what: str) -> None:
    if not cond:
        raise _parse_error(path, 0, field, what)


def _type_name(v: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(v), type(v).__name__)


def _int_key(path: Path, field: str, key: str) -> int:
    """A key written as a canonical decimal integer: "1", never "01", " 1", "+1" or "1_0" (each
    of which Python's int() accepts, and which would give two documents the same id)."""
    if not (key.isascii() and key.isdigit() and (key == "0" or not key.startswith("0"))):
        raise _parse_error(path, 0, field, f"key is not a canonical integer (got {key!r}, expected "
                           "decimal digits without a sign or leading zeros, e.g. '1')")
    return int(key)


def _check_domain(path: Path, domain: str) -> None:
    """A domain becomes part of every document id and of the qrels TSV: no separator (':'),
    tab, newline or other control character may reach them."""
    bad = [c for c in domain if c == ":" or ord(c) < 0x20 or ord(c) == 0x7F or c in "\u2028\u2029"]
    _expect(bool(domain) and not bad and domain == domain.strip(), path, repr(domain)[1:-1],
            f"invalid domain name (got {domain!r}, expected a non-empty name without ':', "
            "surrounding spaces, tabs, newlines or control characters)")


def _get_str(obj: Dict[str, Any], key: str, path: Path, field: str) -> str:
    _expect(key in obj, path, f"{field}.{key}", "missing")
    v = obj[key]
    _expect(isinstance(v, str), path, f"{field}.{key}",
            f"wrong type (got {_type_name(v)}, expected string)")
    return v


def _documents(knowledge: Any, path: Path) -> Tuple[List[Dict[str, Any]], int, int, int]:
    """knowledge.json -> list of BEIR corpus rows (sorted by domain order, entity, faq/review)."""
    _expect(isinstance(knowledge, dict), path, "",
            f"wrong type (got {_type_name(knowledge)}, expected object of domains)")
    _expect(len(knowledge) > 0, path, "", "no domains (got 0, expected at least 1)")
    docs: List[Dict[str, Any]] = []
    n_faq = n_review = n_entities = 0
    for domain, entities in knowledge.items():
        _check_domain(path, domain)
        _expect(isinstance(entities, dict), path, domain,
                f"wrong type (got {_type_name(entities)}, expected object of entities)")
        for ekey in sorted(entities, key=lambda k: _int_key(path, domain, k)):
            entity_id = int(ekey)
            n_entities += 1
            entity = entities[ekey]
            efield = f"{domain}.{ekey}"
            _expect(isinstance(entity, dict), path, efield,
                    f"wrong type (got {_type_name(entity)}, expected object)")
            name = entity.get("name") or ""
            _expect(isinstance(name, str), path, f"{efield}.name",
                    f"wrong type (got {_type_name(name)}, expected string)")
            faqs = entity.get("faqs", {})
            reviews = entity.get("reviews", {})
            _expect(isinstance(faqs, dict), path, f"{efield}.faqs",
                    f"wrong type (got {_type_name(faqs)}, expected object)")
            _expect(isinstance(reviews, dict), path, f"{efield}.reviews",
                    f"wrong type (got {_type_name(reviews)}, expected object)")
            base = {"domain": domain, "entity_id": entity_id, "entity_name": name}
            for fkey in sorted(faqs, key=lambda k: _int_key(path, f"{efield}.faqs", k)):
                ffield = f"{efield}.faqs.{fkey}"
                faq = faqs[fkey]
                _expect(isinstance(faq, dict), path, ffield,
                        f"wrong type (got {_type_name(faq)}, expected object)")
                q = _get_str(faq, "question", path, ffield).strip()
                a = _get_str(faq, "answer", path, ffield).strip()
                docs.append({"_id": f"{domain}:{entity_id}:faq:{int(fkey)}", "title": name,
                             "text": f"{q} {a}", **base, "doc_type": "faq",
                             "doc_id": int(fkey)})
                n_faq += 1
            for rkey in sorted(reviews, key=lambda k: _int_key(path, f"{efield}.reviews", k)):
                rfield = f"{efield}.reviews.{rkey}"
                review = reviews[rkey]
                _expect(isinstance(review, dict), path, rfield,
                        f"wrong type (got {_type_name(review)}, expected object)")
                sents = review.get("sentences")
                _expect(isinstance(sents, dict), path, f"{rfield}.sentences",
                        "missing" if sents is None else
                        f"wrong type (got {_type_name(sents)}, expected object)")
                extra: Dict[str, Any] = {}
                # The README nests these under "metadata"; the data has them at the top level.
                meta = review.get("metadata") if isinstance(review.get("metadata"), dict) else {}
                for key in ("traveler_type", "dishes", "drinks"):
                    if key in review:
                        extra[key] = review[key]
                    elif key in meta:
                        extra[key] = meta[key]
                for skey in sorted(sents, key=lambda k: _int_key(path, f"{rfield}.sentences", k)):
                    sent = sents[skey]
                    _expect(isinstance(sent, str), path, f"{rfield}.sentences.{skey}",
                            f"wrong type (got {_type_name(sent)}, expected string)")
                    docs.append({"_id": f"{domain}:{entity_id}:review:{int(rkey)}:{int(skey)}",
                                 "title": name, "text": sent.strip(), **base,
                                 "doc_type": "review", "doc_id": int(rkey),
                                 "sent_id": int(skey), **extra})
                    n_review += 1
    _expect(len(docs) > 0, path, "", "no documents (got entities without FAQs or review sentences, "
            "expected at least one)")
    seen: Dict[str, int] = {}
    for i, d in enumerate(docs):  # a safety net: every id unique, whatever the keys were
        _expect(seen.setdefault(d["_id"], i) == i, path, d["_id"],
                f"duplicate document id (got {d['_id']!r} twice, expected unique ids)")
    return docs, n_faq, n_review, n_entities


def _knowledge_id(ref: Any, path: Path, field: str) -> str:
    _expect(isinstance(ref, dict), path, field,
            f"wrong type (got {_type_name(ref)}, expected object)")
    for key in ("domain", "entity_id", "doc_type", "doc_id"):
        _expect(key in ref, path, f"{field}.{key}", "missing")
    domain, entity, doc_type, doc = ref["domain"], ref["entity_id"], ref["doc_type"], ref["doc_id"]
    _expect(isinstance(domain, str), path, f"{field}.domain",
            f"wrong type (got {_type_name(domain)}, expected string)")
    for key, v in (("entity_id", entity), ("doc_id", doc)):
        _expect(isinstance(v, int) and not isinstance(v, bool), path, f"{field}.{key}",
                f"wrong type (got {_type_name(v)}, expected integer)")
    if doc_type == "faq":
        return f"{domain}:{entity}:faq:{doc}"
    if doc_type == "review":
        _expect("sent_id" in ref, path, f"{field}.sent_id", "missing (required for reviews)")
        sent = ref["sent_id"]
        _expect(isinstance(sent, int) and not isinstance(sent, bool), path, f"{field}.sent_id",
                f"wrong type (got {_type_name(sent)}, expected integer)")
        return f"{domain}:{entity}:review:{doc}:{sent}"
    raise _parse_error(path, 0, f"{field}.doc_type",
                       f"unknown value (got {doc_type!r}, expected 'faq' or 'review')")


def _normalise_turn(turn: Dict[str, Any]) -> Tuple[str, str]:
    return (turn["speaker"], " ".join(turn["text"].split()).lower())


def dialogue_groups(logs: Sequence[Sequence[Dict[str, Any]]]) -> List[int]:
    """Dialogue of each instance: the smallest instance index of its union-find component.

    Two instances are joined when (after collapsing whitespace and lowercasing) one log is a
    prefix of the other, or both share their first two turns. See the module docstring.
    """
    keys = [tuple(_normalise_turn(t) for t in log) for log in logs]
    parent = list(range(len(keys)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        a, b = find(a), find(b)
        if a != b:
            parent[max(a, b)] = min(a, b)

    by_log: Dict[tuple, int] = {}
    for i, k in enumerate(keys):
        if k in by_log:
            union(i, by_log[k])
        else:
            by_log[k] = i
    for i, k in enumerate(keys):
        for n in range(1, len(k)):  # proper prefixes that are themselves instances
            j = by_log.get(k[:n])
            if j is not None:
                union(i, j)
    by_opening: Dict[tuple, int] = {}
    for i, k in enumerate(keys):
        if len(k) >= 2:
            j = by_opening.setdefault(k[:2], i)
            union(i, j)
    return [find(i) for i in range(len(keys))]


def _check_logs(logs: Any, path: Path) -> None:
    _expect(isinstance(logs, list), path, "",
            f"wrong type (got {_type_name(logs)}, expected array of instances)")
    for i, log in enumerate(logs):
        _expect(isinstance(log, list) and len(log) > 0, path, f"[{i}]",
                "expected a non-empty array of turns")
        for t, turn in enumerate(log):
            field = f"[{i}][{t}]"
            _expect(isinstance(turn, dict), path, field,
                    f"wrong type (got {_type_name(turn)}, expected object)")
            _get_str(turn, "speaker", path, field)
            _get_str(turn, "text", path, field)


def convert(src_dir: PathLike, out_dir: PathLike, history_turns: int = 3,
            split: str = "val") -> Dict[str, int]:
    """Convert DSTC11 Track 5 ``src_dir`` into a BEIR folder ``out_dir`` (created if needed).

    :param src_dir: folder holding ``knowledge.json`` and ``<split>/logs.json``, ``labels.json``.
    :param out_dir: output folder (files in it are overwritten).
    :param history_turns: how many of the last turns form a query's text (>= 1).
    :param split: the DSTC11 split folder to read (only ``val`` has public labels).
    :returns: counts: documents, faq_documents, review_documents, entities, instances,
        queries, qrels, dialogues (over all instances), query_dialogues (among the queries).
    :raises IoError: the folder or one of its files is missing or unreadable.
    :raises ParseError: a file is not valid JSON or a field is missing / of the wrong type
        (the message and the ``file``/``line``/``field`` attributes name it).
    :raises ConfigError: ``history_turns`` < 1.
    """
    if isinstance(history_turns, bool) or not isinstance(history_turns, int) or history_turns < 1:
        raise ConfigError(f"dstc11.convert: history_turns must be a positive integer "
                          f"(got {history_turns!r}, expected >= 1)")
    src = Path(src_dir)
    if not src.is_dir():
        raise IoError(f"dstc11.convert: source folder not found (got {src}, expected a folder "
                      "with knowledge.json and val/logs.json, val/labels.json)")
    from .export import check_plain_name

    check_plain_name(split, "dstc11.convert: split", "val")
    kpath, lpath, ypath = src / "knowledge.json", src / split / "logs.json", src / split / "labels.json"
    for p in (kpath, lpath, ypath):
        if not p.is_file():
            raise IoError(f"dstc11.convert: missing input file (got {p}, expected a file "
                          "from the DSTC11 Track 5 data folder)")

    docs, n_faq, n_review, n_entities = _documents(_read_json(kpath), kpath)
    doc_ids = {d["_id"] for d in docs}
    logs = _read_json(lpath)
    _check_logs(logs, lpath)
    labels = _read_json(ypath)
    _expect(isinstance(labels, list), ypath, "",
            f"wrong type (got {_type_name(labels)}, expected array of labels)")
    if len(labels) != len(logs):
        raise _parse_error(ypath, 0, "", f"one label per instance of {lpath} "
                           f"(got {len(labels)}, expected {len(logs)})")

    groups = dialogue_groups(logs)
    queries: List[Dict[str, Any]] = []
    qrels: List[Tuple[str, str]] = []
    responses: List[Dict[str, str]] = []
    group_rows: List[Tuple[str, str]] = []
    for i, (log, label) in enumerate(zip(logs, labels)):
        field = f"[{i}]"
        _expect(isinstance(label, dict), ypath, field,
                f"wrong type (got {_type_name(label)}, expected object)")
        _expect("target" in label, ypath, f"{field}.target", "missing")
        target = label["target"]
        _expect(isinstance(target, bool), ypath, f"{field}.target",
                f"wrong type (got {_type_name(target)}, expected boolean)")
        if not target:
            continue
        qid = f"{split}-{i}"
        refs = label.get("knowledge")
        _expect(isinstance(refs, list) and len(refs) > 0, ypath, f"{field}.knowledge",
                "missing" if refs is None else "expected a non-empty array of knowledge items")
        seen = set()
        for j, ref in enumerate(refs):
            rfield = f"{field}.knowledge[{j}]"
            did = _knowledge_id(ref, ypath, rfield)
            _expect(did in doc_ids, ypath, rfield,
                    f"gold knowledge item not in {kpath.name} (got {did})")
            if did not in seen:
                seen.add(did)
                qrels.append((qid, did))
        response = _get_str(label, "response", ypath, field)
        text = "\n".join(t["text"].strip() for t in log[-history_turns:])
        queries.append({"_id": qid, "text": text, "instance": i, "turns": len(log)})
        responses.append({"_id": qid, "response": response})
        group_rows.append((qid, f"dialogue-{groups[i]}"))
    _expect(len(queries) > 0, ypath, "", "no knowledge-seeking turns (got no label with \"target\": true, "
            "expected at least one: the BEIR folder would have no judgements)")

    out = Path(out_dir)
    try:
        (out / "qrels").mkdir(parents=True, exist_ok=True)
        with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
            for d in docs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        with open(out / "queries.jsonl", "w", encoding="utf-8") as f:
            for q in queries:
                f.write(json.dumps(q, ensure_ascii=False) + "\n")
        with open(out / "qrels" / "test.tsv", "w", encoding="utf-8") as f:
            f.write("query-id\tcorpus-id\tscore\n")
            for qid, did in qrels:
                f.write(f"{qid}\t{did}\t1\n")
        with open(out / "groups.tsv", "w", encoding="utf-8") as f:
            f.write("query-id\tdialogue-id\n")
            for qid, gid in group_rows:
                f.write(f"{qid}\t{gid}\n")
        with open(out / "responses.jsonl", "w", encoding="utf-8") as f:
            for r in responses:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
    except OSError as e:
        raise IoError(f"dstc11.convert: cannot write to {out} ({e.strerror or e})") from None

    return {
        "documents": len(docs),
        "faq_documents": n_faq,
        "review_documents": n_review,
        "entities": n_entities,
        "instances": len(logs),
        "queries": len(queries),
        "qrels": len(qrels),
        "dialogues": len(set(groups)),
        "query_dialogues": len({g for _, g in group_rows}),
    }

