"""Offline lift experiment: learn from simulated feedback, evaluate on held-out queries.

:func:`run_lift_experiment` (and ``aitl learn``) splits the judged queries of a BEIR folder's
``test`` qrels into a feedback part and an evaluation part (whole groups of ``groups.tsv`` on one
side when present, at random otherwise), serves the feedback queries with the base system
(:class:`aitl.sim.BaseSystem`), lets the simulated agents of :mod:`aitl.sim` annotate the
impressions, compiles the store, trains encoder(s) and ranker, and evaluates base vs trained on
the held-out queries, with paired bootstrap 95% intervals of the per-query difference
(trained - base).

Base systems (``base``), both without a reranker:

* ``"bm25"``: BM25 top-75 (the default);
* ``"hybrid-minilm"``: RRF (k = 60, depth 100) of BM25 and the zero-shot all-MiniLM-L6-v2
  (exact cosine index), as ``aitl eval --retriever hybrid --encoder minilm``. The corpus
  embeddings of the zero-shot model are cached on disk (:func:`aitl.minilm.encode_cached`).

Encoder trainers (``encoder``, the slot of :mod:`aitl.trainers`; default ``"hashed"`` for the
BM25 base, ``"minilm"`` for the hybrid one):

* ``"hashed"``: the hashed n-gram encoder (:class:`aitl.trainers.HashedEncoderTrainer`:
  contrastive, in-batch + 1 hard negative, early stopping on a 10% time-split validation).
  Trained system: the feature ranker (LambdaRank, NDCG@8) over the pool RRF(BM25 top-300,
  trained dense top-300), with the dense-score feature of each training list computed out of
  fold (two encoders, each trained on the other half of the cases) so that the ranker does not
  learn to over-trust a dense score that is inflated on its own training queries.
* ``"minilm"``: the paper's path: all-MiniLM-L6-v2 fine-tuned with sentence-transformers'
  ``MultipleNegativesRankingLoss`` on (query, positive, hard negative) rows
  (:class:`aitl.trainers.MiniLMTrainer`), saved as a new encoder version and the corpus
  re-indexed with it; the hashed encoder is trained as well (it feeds the ranker's dense
  feature, which takes a HashedEncoder). Trained system: the feature ranker over the pool
  RRF(BM25 top-300, fine-tuned MiniLM top-300, trained hashed top-300). The ranker's training
  lists are pooled with the zero-shot MiniLM in place of the fine-tuned one (the fine-tuned
  model has seen those queries: its ranks there are better than on new queries).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np

METRICS = ["recall@75", "precision@8", "ndcg@10", "mrr@10"]
BASES = ["bm25", "hybrid-minilm"]
ENCODERS = ["hashed", "minilm"]
HYBRID_DEPTH = 100

__all__ = ["METRICS", "BASES", "ENCODERS", "split_queries", "collect_feedback", "train_system",
           "TrainedSystem", "PrecomputedEncoder", "evaluate_runs", "paired_bootstrap",
           "run_lift_experiment"]


def _h(*parts: Any) -> bytes:
    return hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=8).digest()


def split_queries(dataset: Any, eval_fraction: float = 0.5,
                  seed: int = 0) -> Tuple[List[str], List[str]]:
    """Judged query ids -> ``(feedback, eval)``.

    With ``dataset.groups`` (``groups.tsv``) whole groups go to one side: groups are ordered by a
    seeded hash and the first ``round((1 - eval_fraction) * n_groups)`` feed back; otherwise the
    queries themselves are split the same way. Order within each side follows ``dataset.queries``.

    :raises ConfigError: ``eval_fraction`` outside (0, 1), or a side would be empty.
    """
    from . import ConfigError

    if not (0.0 < float(eval_fraction) < 1.0):
        raise ConfigError(f"split_queries: eval_fraction out of range (got {eval_fraction!r}, "
                          "expected 0 < eval_fraction < 1)")
    qids = list(dataset.queries)
    groups = getattr(dataset, "groups", None)
    key = (lambda q: groups.get(q, q)) if groups else (lambda q: q)
    units = sorted(set(key(q) for q in qids), key=lambda g: (_h(seed, g), g))
    n_fb = int(round((1.0 - float(eval_fraction)) * len(units)))
    if n_fb < 1 or n_fb >= len(units):
        raise ConfigError(f"split_queries: too few {'groups' if groups else 'queries'} to split "
                          f"(got {len(units)} with eval_fraction={eval_fraction})")
    fb_units = set(units[:n_fb])
    fb = [q for q in qids if key(q) in fb_units]
    ev = [q for q in qids if key(q) not in fb_units]
    return fb, ev


def collect_feedback(dataset: Any, feedback: Sequence[str], store_path: str, seed: int = 0,
                     sim_config: Any = None, retriever: Any = None,
                     retriever_version: Optional[str] = None) -> Dict[str, Any]:
    """Serve the feedback queries with the base system (BM25, or ``retriever``: see
    :class:`aitl.sim.BaseSystem`), let the simulated agents annotate them and append everything
    to a new SQLite store at ``store_path``. Returns the store and counts."""
    import aitl
    from . import sim

    system = sim.BaseSystem(dataset.kb, seed=seed + 1, retriever=retriever,
                            retriever_version=retriever_version)
    imps = system.serve_many([(q, dataset.queries[q]) for q in feedback])
    kw = {"config": sim_config} if sim_config is not None else {}
    agents = sim.Simulator.from_dataset(dataset, seed=seed + 1, **kw)
    anns = agents.annotate_many(imps)
    store = aitl.SqliteStore(store_path, durability="normal")
    store.append(list(imps) + list(anns))
    return {"store": store, "impressions": len(imps), "annotations": len(anns)}


def _rrf(a: Sequence[Any], b: Sequence[Any], n: int, k: int = 60) -> List[Any]:
    return _rrf_lists([a, b], n, k)


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
    """BM25 + trained dense retriever(s) (RRF pool) reranked by the trained feature ranker.

    ``dense`` is one :class:`aitl.DenseRetriever` or a list of them (each contributes its top
    ``pool`` to the reciprocal rank fusion with BM25's)."""

    def __init__(self, bm25: Any, dense: Any, ranker: Any, pool: int) -> None:
        self.bm25, self.ranker, self.pool = bm25, ranker, pool
        self.dense = dense
        self.encoder: Any = None  # the trained hashed encoder (set by train_system)
        self._dense = list(dense) if isinstance(dense, (list, tuple)) else [dense]

    def pool_many(self, queries: Sequence[str],
                  dense: Optional[Sequence[Any]] = None) -> List[List[Any]]:
        """The fused candidate pools (``dense``: other dense retrievers than the system's)."""
        runs = [self.bm25.search_batch(list(queries), self.pool)]
        for d in (self._dense if dense is None else dense):
            runs.append(d.search_batch(list(queries), self.pool))
        return [_rrf_lists([r[i] for r in runs], self.pool) for i in range(len(queries))]

    def search_many(self, queries: Sequence[str]) -> List[List[Any]]:
        return self.ranker.rerank_many(list(queries), self.pool_many(queries), self.pool)


def _rrf_lists(lists: Sequence[Sequence[Any]], n: int, k: int = 60) -> List[Any]:
    import aitl

    s: Dict[str, float] = {}
    for hits in lists:
        for r, x in enumerate(hits):
            s[x.id] = s.get(x.id, 0.0) + 1.0 / (k + r + 1)
    out = sorted(s.items(), key=lambda t: (-t[1], t[0]))
    return [aitl.Hit(d, v) for d, v in out[:n]]


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


def train_system(kb: Any, store: Any, bm25: Any, seed: int = 0, pool: int = 300,
                 encoder_epochs: int = 10, validation: float = 0.1, ranker_epochs: int = 30,
                 progress: Optional[Callable[[str], None]] = None,
                 encoder_trainer: Any = None, train_pool_dense: Optional[Sequence[Any]] = None,
                 dense_index: Optional[Callable[[Any], Any]] = None,
                 until_seq: int = 0) -> Tuple[TrainedSystem, Dict]:
    """Train encoder(s) + ranker from the store.

    Encoder: ``aitl.train_encoder`` on a HashedEncoder(256) with tau 0.05, Adam 1e-3, batch 64,
    one hard negative, early stopping (patience 2) on the latest ``validation`` share of the
    compiled retrieval examples. Ranker: ``aitl.FeatureRanker`` (its default model: LambdaMART
    trees on NDCG@8; ``ranker_epochs`` applies to ``model="linear"`` only) on the compiled rerank
    lists over the RRF pool, whose dense feature holds 2-fold out-of-fold scores (two encoders,
    each trained on the other half of the cases) so that the ranker does not learn to over-trust
    a dense score inflated on its own training queries.

    ``encoder_trainer``: another trainer of the :mod:`aitl.trainers` slot (e.g.
    :class:`aitl.trainers.MiniLMTrainer`), trained on the same split; its re-indexed corpus
    joins the pool (``dense_index(encoder)`` builds that retriever; default: a
    :class:`aitl.DenseRetriever` over ``kb``). ``train_pool_dense``: the dense retrievers that
    stand in for it when the ranker's training lists are pooled (``None``: the trained one).
    ``until_seq``: train on the annotations with seq <= until_seq only (0: all; the flywheel
    keeps its fresh feedback out of training this way).
    Returns the system and a dict of training details."""
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
    dense_list = [dense]
    if encoder_trainer is not None:
        enc2, info2 = encoder_trainer.fit(rtr, rva, text)
        info["encoder_" + getattr(encoder_trainer, "name", "extra")] = info2
        step("encoder " + getattr(encoder_trainer, "name", "extra"))
        if dense_index is not None:
            dense2 = dense_index(enc2)
        else:
            dense2 = aitl.DenseRetriever(enc2)
            dense2.add_documents(list(kb))
        dense_list = [dense2, dense]
        step("re-index")
    system = TrainedSystem(bm25, dense_list if len(dense_list) > 1 else dense, None, pool)
    system.encoder = enc
    case_query = {}
    for l in rl:
        case_query.setdefault(l.case_id, l.query)
    cases = list(case_query)
    stand_in = None
    if encoder_trainer is not None and train_pool_dense is not None:
        stand_in = list(train_pool_dense) + [dense]
    pools = dict(zip(cases, system.pool_many([case_query[c] for c in cases], stand_in)))
    step("pool")

    # out-of-fold dense scores of the ranker's training lists (2 folds by case hash)
    fold = lambda case: _h("f", case)[0] & 1  # noqa: E731
    doc_ids = [d.id for d in kb]
    row = {d: i for i, d in enumerate(doc_ids)}
    fold_dense: Dict[str, List[Tuple[str, float]]] = {}
    enc0 = aitl.HashedEncoder(dim=256, seed=0)
    ecfg = dict(hashed.config)
    ecfg["patience"] = 0
    for f in (0, 1):
        train_f = _contrastive([e for e in rex if fold(e.case_id) != f], text)
        lists_f = [l for l in rl if fold(l.case_id) == f]
        if not train_f or not lists_f:
            continue
        enc_f, _ = aitl.train_encoder(enc0, train_f, None, ecfg)
        D = enc_f.encode([text[d] for d in doc_ids])
        Q = enc_f.encode([l.query for l in lists_f])
        for l, qv in zip(lists_f, Q):
            ids = [x.id for x in pools[l.case_id]] + list(l.doc_ids)
            fold_dense[l.impression_id] = [(d, float(D[row[d]] @ qv))
                                           for d in dict.fromkeys(ids) if d in row]
    step("out-of-fold")
    ranker = aitl.FeatureRanker(kb, epochs=ranker_epochs, learning_rate=0.05, ndcg_k=8,
                                deep_pair_weight=0.01, patience=0, seed=seed)
    ranker.set_encoder(enc)
    lists = []
    for l in rl:
        labels = list(zip(l.doc_ids, l.labels))
        if any(g > 0 for _, g in labels):
            lists.append(aitl.RankingList(l.query, pools[l.case_id], labels, l.weight,
                                          fold_dense.get(l.impression_id, [])))
    if not lists:
        raise aitl.ConfigError("learn: no rerank list has a relevant document; use more queries")
    rres = ranker.fit(lists, None)
    info["ranker"] = {"lists": len(lists), "epochs_run": rres.get("epochs_run")}
    system.ranker = ranker
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


def run_lift_experiment(data_dir: Any, seed: int = 0, eval_fraction: float = 0.5,
                        base: str = "bm25", sim_config: Any = None,
                        progress: bool = True, encoder: Optional[str] = None,
                        encoder_dir: Optional[Any] = None,
                        cache_dir: Optional[Any] = None) -> Dict[str, Any]:
    """Run the offline lift experiment on a BEIR folder; returns the report dict::

        {"base": {metric: x}, "trained": {metric: x}, "ci95": {metric: [lo, hi]},
         "queries": {"feedback": n, "eval": n}, "annotations": n,
         "relative_gain": {metric: x}, "timings": {...}, "config": {...}, "training": {...}}

    ``ci95`` is the paired bootstrap interval (1000 resamples, seeded) of trained - base.

    :param base: ``"bm25"`` or ``"hybrid-minilm"`` (see the module docstring).
    :param encoder: ``"hashed"`` or ``"minilm"``; ``None``: hashed for bm25, minilm for
        hybrid-minilm.
    :param encoder_dir: where the fine-tuned MiniLM versions are kept (and reused when the
        same base, data, seed and settings come again); ``None``: a temporary folder, deleted.
    :param cache_dir: embeddings cache of the zero-shot MiniLM (``None``:
        :func:`aitl.minilm.cache_dir`).
    :raises ConfigError: unknown ``base`` or ``encoder``, or a bad ``eval_fraction``.
    :raises ImportError: a MiniLM option without the ``models`` extra installed.
    """
    import sys

    import aitl
    from . import beir
    from tqdm.auto import tqdm

    if base not in BASES:
        raise aitl.ConfigError(f"learn: unknown base '{base}' (expected one of {', '.join(BASES)})")
    if encoder is None:
        encoder = "minilm" if base == "hybrid-minilm" else "hashed"
    if encoder not in ENCODERS:
        raise aitl.ConfigError(f"learn: unknown encoder '{encoder}' "
                               f"(expected one of {', '.join(ENCODERS)})")
    use_minilm = base == "hybrid-minilm" or encoder == "minilm"
    zs = None
    if use_minilm:
        from .minilm import MiniLMEncoder, cache_dir as default_cache

        zs = MiniLMEncoder(show_progress=None if progress else False)  # before torch loads
        cache = str(cache_dir) if cache_dir is not None else str(default_cache())
    T: Dict[str, float] = {}
    bar = tqdm(total=10 if use_minilm else 8, desc="learn", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    t_all = t0 = time.perf_counter()

    def tick(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        T[name] = round(now - t0, 3)
        t0 = now
        bar.set_postfix_str(f"{name} done")
        bar.update(1)

    pool = 300
    try:
        ds = beir.load(data_dir)
        fb, ev = split_queries(ds, eval_fraction, seed)
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
                                   retriever_version=base_version)
            tick("serve+annotate")
            store = got["store"]
            kw: Dict[str, Any] = {}
            if encoder == "minilm":
                from .trainers import MiniLMTrainer

                train_queries = ([ds.queries[q] for q in ev]
                                 + [e.query for e in aitl.compile_rerank(store)])
                kw = dict(encoder_trainer=MiniLMTrainer(
                              encoder_dir if encoder_dir is not None else
                              os.path.join(tmp, "encoders"), seed=seed,
                              show_progress=progress, reuse=encoder_dir is not None),
                          train_pool_dense=[zs_dense],
                          dense_index=lambda e: _minilm_index(
                              ds.kb, e, train_queries,
                              cache if encoder_dir is not None else None, progress))
            system, info = train_system(ds.kb, store, bm, seed=seed, pool=pool, progress=tick,
                                        **kw)
            del store
        if base == "bm25":
            base_run = dict(zip(ev, bm.search_batch(queries, pool)))
        else:
            base_run = dict(zip(ev, base_retriever.search_batch(queries, 75)))
        trained_run = dict(zip(ev, system.search_many(queries)))
        tick("search eval")
        qrels = {q: ds.qrels[q] for q in ev}
        E = evaluate_runs(qrels, {"base": base_run, "trained": trained_run})
        ci = {m: [round(x, 4) for x in paired_bootstrap(
                  [E["base"].per_query[q][m] for q in ev],
                  [E["trained"].per_query[q][m] for q in ev], 1000, seed)] for m in METRICS}
        tick("evaluate")
    finally:
        bar.close()
    res = {k: {m: round(float(E[k].mean[m]), 4) for m in METRICS} for k in ("base", "trained")}
    rel = {m: (round(res["trained"][m] / res["base"][m] - 1.0, 4) if res["base"][m] > 0 else None)
           for m in METRICS}
    T["total"] = round(time.perf_counter() - t_all, 3)
    if encoder == "minilm":
        recipe = ("hashed encoder (early-stopped) + all-MiniLM-L6-v2 fine-tuned "
                  "(MultipleNegativesRankingLoss, 1 hard negative, 1 epoch) and re-indexed + "
                  "RRF pool 300 of BM25, fine-tuned MiniLM and hashed dense + LambdaRank feature "
                  "ranker with 2-fold out-of-fold hashed dense scores; training lists pooled "
                  "with the zero-shot MiniLM")
    else:
        recipe = ("hashed encoder (early-stopped) + RRF pool 300 + LambdaRank feature ranker "
                  "with 2-fold out-of-fold dense scores")
    cfg = {"data": str(data_dir), "seed": seed, "eval_fraction": eval_fraction, "base": base,
           "base_system": ("BM25 top-75" if base == "bm25" else
                           f"RRF(k=60, depth {HYBRID_DEPTH}) of BM25 and zero-shot "
                           "all-MiniLM-L6-v2 (exact cosine), top-75; no reranker"),
           "encoder": encoder,
           "split": "groups" if ds.groups else "random",
           "sim_config": (sim_config.to_dict() if sim_config is not None else "default"),
           "recipe": recipe,
           "bootstrap": {"resamples": 1000, "seed": seed, "statistic": "mean paired difference "
                         "trained - base"}}
    if use_minilm:
        import torch

        cfg["torch_threads"] = torch.get_num_threads()
        cfg["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return {"base": res["base"], "trained": res["trained"], "ci95": ci,
            "queries": {"feedback": len(fb), "eval": len(ev)}, "annotations": got["annotations"],
            "impressions": got["impressions"], "relative_gain": rel, "timings": T,
            "config": cfg, "training": info}
