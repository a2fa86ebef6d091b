"""Evaluation protocols: how feedback queries and evaluation queries are kept apart, and what every
report of a gain must carry next to it.

A gain from feedback only means something with its protocol. The weakest protocol lets the
evaluation ask about the same documents the feedback was about, so a system that merely
remembers which documents agents liked looks good. The protocols (:func:`split_queries`):

``group``
    whole conversations (``groups.tsv``) on one side; the evaluation may ask about documents that
    got feedback (the weakest protocol; what ``aitl learn`` measured before 0.2).
``cold``
    no evaluation query has a relevant document that was relevant to any feedback query: the
    judged queries are joined into connected components by shared relevant documents, the
    components are taken in a seeded order until the evaluation share is reached, and evaluation
    queries whose conversation also has feedback queries are dropped. (The components are not
    joined through conversations: on DSTC11 that glues 76% of the queries into one component.)
``entity``
    whole entities are held out (a DSTC11 hotel or restaurant, a product line of the built-in
    scenario; see :func:`document_entity`), with all their documents and conversations: the
    entities are taken in a seeded order until the evaluation share of (query, entity) pairs is
    reached; a query whose relevant documents span both sides is dropped, and so are
    evaluation queries sharing a conversation with feedback queries. The held-out entities'
    documents are *hidden*: they are left out of the knowledge base while feedback is collected
    (they get no feedback at all, like a new product's articles) and served at evaluation.
``time``
    by arrival order: conversations in the order of their first query in ``queries.jsonl``, the
    first ``1 - eval_fraction`` of them feed back, the rest evaluate.

Every report also splits the evaluation queries into *gold seen* (a relevant document of the query
got a positive relevance label in the feedback) and *gold unseen*, and carries the **popularity
baseline** (:func:`popularity_rerank`: the base ranking re-sorted by the number of positive
feedback labels of each document alone, ties in base order) next to ``base`` and ``trained``.
:func:`shuffle_relevance` makes the no-signal control (relevance labels shuffled across queries).
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Sequence, Set

PROTOCOLS = ("group", "cold", "entity", "time")

__all__ = ["PROTOCOLS", "Split", "split_queries", "components", "document_entity",
           "positive_feedback",
           "popularity_rerank", "seen_split", "shuffle_relevance"]


def _h(*parts: Any) -> bytes:
    return hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest()


@dataclass
class Split:
    """Judged query ids on each side of a protocol's split.

    ``hidden``: document ids to leave out of the served knowledge base while feedback is
    collected (``entity``: the held-out entities' documents; empty otherwise). ``dropped``:
    judged queries on neither side. ``info``: counts and how the split was made (for reports).
    """

    protocol: str
    feedback: List[str]
    eval: List[str]
    dropped: List[str] = field(default_factory=list)
    hidden: Set[str] = field(default_factory=set)
    info: Dict[str, Any] = field(default_factory=dict)


def document_entity(doc: Any) -> str:
    """The entity a document is about: metadata ``entity`` when present, else
    ``"<domain>:<entity_id>"`` (DSTC11), else ``product`` (the built-in scenario's product line;
    policy and account articles fall back further), else the title, else the id."""
    md = getattr(doc, "metadata", None) or {}
    if "entity" in md:
        return str(md["entity"])
    if "domain" in md and "entity_id" in md:
        return f"{md['domain']}:{md['entity_id']}"
    if "product" in md:
        return f"product:{md['product']}"
    title = (getattr(doc, "title", "") or "").strip()
    return title or doc.id


def _relevant(dataset: Any, q: str) -> List[str]:
    return sorted(d for d, g in dataset.qrels.get(q, {}).items() if g > 0)


def split_queries(dataset: Any, protocol: str = "group", eval_fraction: float = 0.5,
                  seed: int = 0) -> Split:
    """Split ``dataset``'s queries (a :class:`aitl.beir.BeirDataset`) by ``protocol``.

    :raises ConfigError: unknown protocol, ``eval_fraction`` outside (0, 1), or a side empty.
    """
    from . import ConfigError

    if protocol not in PROTOCOLS:
        raise ConfigError(f"split_queries: unknown protocol (got {protocol!r}, expected one of "
                          f"{', '.join(PROTOCOLS)})")
    f = float(eval_fraction)
    if not 0.0 < f < 1.0:
        raise ConfigError(f"split_queries: eval_fraction out of range (got {eval_fraction!r}, "
                          "expected 0 < eval_fraction < 1)")
    qids = list(dataset.queries)
    groups = getattr(dataset, "groups", None) or {}
    unit = lambda q: groups.get(q, q)  # noqa: E731
    info: Dict[str, Any] = {"protocol": protocol, "eval_fraction": f, "seed": seed}
    hidden: Set[str] = set()
    if protocol in ("group", "time"):
        if protocol == "group":
            units = sorted(set(unit(q) for q in qids), key=lambda g: (_h(seed, g), g))
            info["rule"] = "whole conversations (groups.tsv) in a seeded order"
        else:
            units = list(dict.fromkeys(unit(q) for q in qids))
            info["rule"] = "conversations in arrival order (first query in queries.jsonl)"
        n_fb = int(round((1.0 - f) * len(units)))
        if n_fb < 1 or n_fb >= len(units):
            raise ConfigError(f"split_queries: too few conversations to split (got {len(units)} "
                              f"with eval_fraction={eval_fraction})")
        fb_units = set(units[:n_fb])
        side = {q: ("f" if unit(q) in fb_units else "e") for q in qids}
    elif protocol == "cold":
        side = _cold_sides(dataset, qids, f, seed, info)
    else:
        side = _entity_sides(dataset, qids, f, seed, info, hidden)
    # a conversation never straddles the split: evaluation queries sharing one with feedback go
    fb_units = {unit(q) for q in qids if side[q] == "f"}
    for q in qids:
        if side[q] == "e" and unit(q) in fb_units:
            side[q] = "x"
    fb = [q for q in qids if side[q] == "f"]
    ev = [q for q in qids if side[q] == "e"]
    dropped = [q for q in qids if side[q] == "x"]
    if not fb or not ev:
        raise ConfigError(f"split_queries: protocol {protocol!r} left a side empty (feedback "
                          f"{len(fb)}, eval {len(ev)}, dropped {len(dropped)})")
    info.update({"feedback": len(fb), "eval": len(ev), "dropped": len(dropped),
                 "hidden_documents": len(hidden)})
    if protocol in ("cold", "entity"):
        fb_rel = {d for q in fb for d in _relevant(dataset, q)}
        info["eval_queries_with_feedback_gold"] = sum(
            1 for q in ev if any(d in fb_rel for d in _relevant(dataset, q)))
    return Split(protocol, fb, ev, dropped, hidden, info)


def components(relevant: Mapping[str, Iterable[str]]) -> Dict[str, str]:
    """Connected components of items (queries, cases) that share a relevant document: item ->
    a component key (union-find; items without documents are alone)."""
    parent: Dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for item, docs in relevant.items():
        find("q:" + item)
        for d in docs:
            parent[find("q:" + item)] = find("d:" + d)
    return {item: find("q:" + item) for item in relevant}


def _cold_sides(dataset: Any, qids: Sequence[str], f: float, seed: int,
                info: Dict[str, Any]) -> Dict[str, str]:
    comp = components({q: _relevant(dataset, q) for q in qids})
    members: Dict[str, List[str]] = {}
    for q in qids:
        members.setdefault(comp[q], []).append(q)
    order = sorted(members, key=lambda c: (_h(seed, "cold", min(members[c])), min(members[c])))
    target, n_ev, ev_comps = f * len(qids), 0, set()
    for c in order:
        if n_ev >= target:
            break
        if n_ev + len(members[c]) > 1.5 * target and n_ev > 0:
            continue  # a giant component would overshoot: leave it to feedback
        ev_comps.add(c)
        n_ev += len(members[c])
    info["rule"] = ("connected components of queries sharing a relevant document, in a seeded "
                    "order; no evaluation query has a relevant document of a feedback query")
    info["components"] = len(members)
    info["largest_component"] = max(len(m) for m in members.values())
    return {q: ("e" if comp[q] in ev_comps else "f") for q in qids}


def _entity_sides(dataset: Any, qids: Sequence[str], f: float, seed: int, info: Dict[str, Any],
                  hidden: Set[str]) -> Dict[str, str]:
    ent = {d.id: document_entity(d) for d in dataset.kb}
    qent = {q: {ent[d] for d in _relevant(dataset, q) if d in ent} for q in qids}
    weight = Counter(e for es in qent.values() for e in es)
    order = sorted(weight, key=lambda e: (_h(seed, "entity", e), e))
    target, acc, held = f * sum(weight.values()), 0, set()
    for e in order:
        if acc >= target:
            break
        held.add(e)
        acc += weight[e]
    side = {}
    for q in qids:
        sides = {e in held for e in qent[q]}
        if not sides:  # no relevant document: by a seeded draw
            side[q] = "e" if int.from_bytes(_h(seed, "entity-q", q), "big") / 2 ** 64 < f else "f"
        else:
            side[q] = "x" if len(sides) > 1 else ("e" if True in sides else "f")
    hidden.update(d for d, e in ent.items() if e in held)
    info["rule"] = ("whole entities (document_entity) in a seeded order, their documents hidden "
                    "while feedback is collected; queries about both sides dropped")
    info["entities"] = len(weight)
    info["held_out_entities"] = len(held)
    return side


def positive_feedback(store: Any, until_seq: int = 0) -> Dict[str, float]:
    """Weighted number of positive relevance labels (relevant or hand-selected) per document in
    a store's feedback (the evidence the popularity baseline sorts by)."""
    import aitl

    counts: Dict[str, float] = {}
    for l in aitl.compile_rerank(store, until_seq=until_seq):
        for c, g in zip(l.candidates, l.labels):
            if g > 0:
                counts[c.doc_id] = counts.get(c.doc_id, 0.0) + float(l.weight)
    return counts


def popularity_rerank(run: Mapping[str, Sequence[Any]],
                      counts: Mapping[str, float]) -> Dict[str, List[Any]]:
    """The base ranking re-sorted by positive feedback counts alone (ties keep the base order):
    the memorising baseline every learned system must beat."""
    import aitl

    out = {}
    for q, hits in run.items():
        order = sorted(range(len(hits)), key=lambda i: (-counts.get(hits[i].id, 0.0), i))
        out[q] = [aitl.Hit(hits[i].id, float(len(hits) - r)) for r, i in enumerate(order)]
    return out


def seen_split(qrels: Mapping[str, Mapping[str, int]], eval_ids: Iterable[str],
               seen_docs: Iterable[str]) -> Dict[str, List[str]]:
    """``{"seen": [...], "unseen": [...]}``: evaluation queries with at least one relevant
    document among ``seen_docs`` (documents with positive feedback), and the others."""
    seen = set(seen_docs)
    out: Dict[str, List[str]] = {"seen": [], "unseen": []}
    for q in eval_ids:
        rel = [d for d, g in qrels.get(q, {}).items() if g > 0]
        out["seen" if any(d in seen for d in rel) else "unseen"].append(q)
    return out


def shuffle_relevance(store: Any, path: str, seed: int = 0, keep_positions: bool = False) -> Any:
    """A copy of ``store`` at ``path`` (a new SQLite file) whose relevance labels are shuffled
    across queries: every knowledge-relevance annotation takes the label vector and the
    hand-selected documents of another, drawn by a seeded permutation; the labels are also
    permuted across the shown positions unless ``keep_positions`` (then label i goes to the i-th
    shown reference, which keeps the rank profile: "the base's top ranks are relevant more
    often", a signal that needs no feedback). Hand-selected documents that this impression
    showed are dropped; other annotations are copied unchanged. The labels keep their counts
    but no longer say anything about the documents: the no-signal control."""
    import numpy as np

    import aitl

    imps = store.impressions(as_dict=True)
    shown = {i["id"]: [c["doc_id"] for c in i["shown"]] for i in imps}
    anns = store.annotations(as_dict=True)
    rel = [a for a in anns if a["type"] == "knowledge_relevance"]
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(rel))
    src = [([bool(l["relevant"]) for l in rel[j]["labels"]], list(rel[j]["selected"]))
           for j in perm]
    out: List[Dict[str, Any]] = []
    for r in imps:
        r = dict(r)
        r.pop("seq", None)
        out.append(r)
    k = 0
    for a in anns:
        a = dict(a)
        a.pop("seq", None)
        if a["type"] == "knowledge_relevance":
            flags, selected = src[k]
            k += 1
            docs = shown[a["impression_id"]]
            flags = [flags[i] if i < len(flags) else False for i in range(len(docs))]
            if not keep_positions:
                flags = [flags[i] for i in rng.permutation(len(flags))]
            a["labels"] = [{"doc_id": d, "relevant": bool(f)} for d, f in zip(docs, flags)]
            a["selected"] = [d for d in selected if d not in set(docs)]
            if not a["labels"] and not a["selected"]:
                continue
        out.append(a)
    copy = aitl.SqliteStore(path, durability="normal")
    copy.append(out)
    return copy
