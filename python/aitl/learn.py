"""Offline lift experiment: learn from simulated feedback, evaluate on held-out queries.

:func:`run_lift_experiment` (and ``aitl learn``) splits the judged queries of a BEIR folder's
``test`` qrels into a feedback part and an evaluation part (whole groups of ``groups.tsv`` on one
side when present, at random otherwise), serves the feedback queries with the base system
(:class:`aitl.sim.BaseSystem`, BM25), lets the simulated agents of :mod:`aitl.sim` annotate the
impressions, compiles the store, trains

* the hashed n-gram encoder (contrastive, in-batch + 1 hard negative, early stopping on a 10%
  time-split validation), and
* the feature ranker (LambdaRank, NDCG@8) over the pool RRF(BM25 top-300, trained dense top-300),
  with the dense-score feature of each training list computed out of fold (two encoders, each
  trained on the other half of the cases) so that the ranker does not learn to over-trust a dense
  score that is inflated on its own training queries,

and evaluates base (BM25) vs trained (pool reranked) on the held-out queries, with paired
bootstrap 95% intervals of the per-query difference (trained - base).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

METRICS = ["recall@75", "precision@8", "ndcg@10", "mrr@10"]
BASES = ["bm25", "hybrid-minilm"]

__all__ = ["METRICS", "BASES", "split_queries", "collect_feedback", "train_system",
           "TrainedSystem", "evaluate_runs", "paired_bootstrap", "run_lift_experiment"]


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
                     sim_config: Any = None) -> Dict[str, Any]:
    """Serve the feedback queries with the base system, let the simulated agents annotate them and
    append everything to a new SQLite store at ``store_path``. Returns the store and counts."""
    import aitl
    from . import sim

    system = sim.BaseSystem(dataset.kb, seed=seed + 1)
    imps = system.serve_many([(q, dataset.queries[q]) for q in feedback])
    kw = {"config": sim_config} if sim_config is not None else {}
    agents = sim.Simulator.from_dataset(dataset, seed=seed + 1, **kw)
    anns = agents.annotate_many(imps)
    store = aitl.SqliteStore(store_path, durability="normal")
    store.append(list(imps) + list(anns))
    return {"store": store, "impressions": len(imps), "annotations": len(anns)}


def _rrf(a: Sequence[Any], b: Sequence[Any], n: int, k: int = 60) -> List[Any]:
    import aitl

    s: Dict[str, float] = {}
    for hits in (a, b):
        for r, x in enumerate(hits):
            s[x.id] = s.get(x.id, 0.0) + 1.0 / (k + r + 1)
    out = sorted(s.items(), key=lambda t: (-t[1], t[0]))
    return [aitl.Hit(d, v) for d, v in out[:n]]


class TrainedSystem:
    """BM25 + trained hashed encoder (RRF pool) reranked by the trained feature ranker."""

    def __init__(self, bm25: Any, dense: Any, ranker: Any, pool: int) -> None:
        self.bm25, self.dense, self.ranker, self.pool = bm25, dense, ranker, pool

    def pool_many(self, queries: Sequence[str]) -> List[List[Any]]:
        b = self.bm25.search_batch(list(queries), self.pool)
        d = self.dense.search_batch(list(queries), self.pool)
        return [_rrf(x, y, self.pool) for x, y in zip(b, d)]

    def search_many(self, queries: Sequence[str]) -> List[List[Any]]:
        return self.ranker.rerank_many(list(queries), self.pool_many(queries), self.pool)


def _contrastive(examples: Sequence[Any], text: Mapping[str, str]) -> List[Any]:
    import aitl

    out = []
    for e in examples:
        negs = [text[n] for n in e.hard_negatives if n in text]
        for p in e.positives:
            if p in text:
                out.append(aitl.ContrastiveExample(e.query, text[p], negs, e.weight))
    return out


def train_system(kb: Any, store: Any, bm25: Any, seed: int = 0, pool: int = 300,
                 encoder_epochs: int = 10, validation: float = 0.1, ranker_epochs: int = 30,
                 progress: Optional[Callable[[str], None]] = None) -> Tuple[TrainedSystem, Dict]:
    """Train encoder + ranker from the store (recipe "C" of wip/NOTES_cpp.md).

    Encoder: ``aitl.train_encoder`` on a HashedEncoder(256) with tau 0.05, Adam 1e-3, batch 64,
    one hard negative, early stopping (patience 2) on the latest ``validation`` share of the
    compiled retrieval examples. Ranker: ``aitl.FeatureRanker`` (LambdaRank NDCG@8, lr 0.05) on
    the compiled rerank lists over the RRF pool, with 2-fold out-of-fold dense scores.
    Returns the system and a dict of training details."""
    import aitl

    step = progress or (lambda _s: None)
    info: Dict[str, Any] = {}
    rex = aitl.compile_retrieval(store)
    rl = aitl.compile_rerank(store)
    info["retrieval_examples"], info["rerank_lists"] = len(rex), len(rl)
    if not rex or not rl:
        raise aitl.ConfigError("learn: the feedback produced no training examples "
                               f"(retrieval {len(rex)}, rerank {len(rl)}); use more queries")
    text = {d.id: d.indexed_text() for d in kb}
    rtr, rva = aitl.time_split(rex, validation) if validation > 0 else (rex, [])
    ctr, cva = _contrastive(rtr, text), _contrastive(rva, text)
    info["contrastive_pairs"], info["validation_pairs"] = len(ctr), len(cva)
    enc0 = aitl.HashedEncoder(dim=256, seed=0)
    ecfg = dict(epochs=encoder_epochs, batch_size=64, learning_rate=1e-3, temperature=0.05,
                hard_negatives=1, sparse_adam=True, patience=2 if cva else 0, seed=seed)
    enc, eres = aitl.train_encoder(enc0, ctr, cva or None, ecfg)
    info["encoder"] = {k: eres[k] for k in ("epochs_run", "best_epoch", "train_loss")
                       if k in eres}
    step("encoder")
    dense = aitl.DenseRetriever(enc)
    dense.add_documents(list(kb))
    system = TrainedSystem(bm25, dense, None, pool)
    case_query = {}
    for l in rl:
        case_query.setdefault(l.case_id, l.query)
    cases = list(case_query)
    pools = dict(zip(cases, system.pool_many([case_query[c] for c in cases])))
    step("pool")

    # out-of-fold dense scores of the ranker's training lists (2 folds by case hash)
    fold = lambda case: _h("f", case)[0] & 1  # noqa: E731
    doc_ids = [d.id for d in kb]
    row = {d: i for i, d in enumerate(doc_ids)}
    fold_dense: Dict[str, List[Tuple[str, float]]] = {}
    for f in (0, 1):
        train_f = _contrastive([e for e in rex if fold(e.case_id) != f], text)
        lists_f = [l for l in rl if fold(l.case_id) == f]
        if not train_f or not lists_f:
            continue
        enc_f, _ = aitl.train_encoder(enc0, train_f, None, ecfg)
        D = enc_f.encode([text[d] for d in doc_ids])
        Q = enc_f.encode([l.query for l in lists_f])
        for l, qv in zip(lists_f, Q):
            ids = [x.id for x in pools[l.case_id]] + [c.doc_id for c in l.candidates]
            fold_dense[l.impression_id] = [(d, float(D[row[d]] @ qv))
                                           for d in dict.fromkeys(ids) if d in row]
    step("out-of-fold")
    ranker = aitl.FeatureRanker(kb, epochs=ranker_epochs, learning_rate=0.05, ndcg_k=8,
                                deep_pair_weight=0.01, patience=0, seed=seed)
    ranker.set_encoder(enc)
    lists = []
    for l in rl:
        labels = [(c.doc_id, float(g)) for c, g in zip(l.candidates, l.labels)]
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
    """Percentile bootstrap interval of mean(trained - base) over queries (paired)."""
    d = np.asarray(trained, dtype=float) - np.asarray(base, dtype=float)
    if d.size == 0:
        return [0.0, 0.0]
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, d.size, size=(resamples, d.size))
    means = d[idx].mean(axis=1)
    return [float(np.percentile(means, 100 * alpha / 2)),
            float(np.percentile(means, 100 * (1 - alpha / 2)))]


def run_lift_experiment(data_dir: Any, seed: int = 0, eval_fraction: float = 0.5,
                        base: str = "bm25", sim_config: Any = None,
                        progress: bool = True) -> Dict[str, Any]:
    """Run the offline lift experiment on a BEIR folder; returns the report dict::

        {"base": {metric: x}, "trained": {metric: x}, "ci95": {metric: [lo, hi]},
         "queries": {"feedback": n, "eval": n}, "annotations": n,
         "relative_gain": {metric: x}, "timings": {...}, "config": {...}, "training": {...}}

    ``ci95`` is the paired bootstrap interval (1000 resamples, seeded) of trained - base.

    :raises ConfigError: unknown ``base``, ``--base hybrid-minilm`` (not implemented yet), or a
        bad ``eval_fraction``.
    """
    import sys

    import aitl
    from . import beir
    from tqdm.auto import tqdm

    if base not in BASES:
        raise aitl.ConfigError(f"learn: unknown base '{base}' (expected one of {', '.join(BASES)})")
    if base == "hybrid-minilm":
        raise aitl.ConfigError("learn: --base hybrid-minilm is not implemented yet "
                               "(expected bm25)")
    T: Dict[str, float] = {}
    bar = tqdm(total=8, desc="learn", file=sys.stderr, disable=not progress, dynamic_ncols=True)
    t_all = t0 = time.perf_counter()

    def tick(name: str) -> None:
        nonlocal t0
        now = time.perf_counter()
        T[name] = round(now - t0, 3)
        t0 = now
        bar.set_postfix_str(f"{name} done")
        bar.update(1)

    try:
        ds = beir.load(data_dir)
        fb, ev = split_queries(ds, eval_fraction, seed)
        tick("load+split")
        with tempfile.TemporaryDirectory(prefix="aitl_learn_") as tmp:
            got = collect_feedback(ds, fb, os.path.join(tmp, "store.db"), seed, sim_config)
            tick("serve+annotate")
            store = got["store"]
            bm = aitl.BM25()
            bm.add_documents(list(ds.kb))
            pool = 300
            system, info = train_system(ds.kb, store, bm, seed=seed, pool=pool, progress=tick)
            del store
        queries = [ds.queries[q] for q in ev]
        base_run = dict(zip(ev, bm.search_batch(queries, pool)))
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
    cfg = {"data": str(data_dir), "seed": seed, "eval_fraction": eval_fraction, "base": base,
           "split": "groups" if ds.groups else "random",
           "sim_config": (sim_config.to_dict() if sim_config is not None else "default"),
           "recipe": "hashed encoder (early-stopped) + RRF pool 300 + LambdaRank feature ranker "
                     "with 2-fold out-of-fold dense scores",
           "bootstrap": {"resamples": 1000, "seed": seed, "statistic": "mean paired difference "
                         "trained - base"}}
    return {"base": res["base"], "trained": res["trained"], "ci95": ci,
            "queries": {"feedback": len(fb), "eval": len(ev)}, "annotations": got["annotations"],
            "impressions": got["impressions"], "relative_gain": rel, "timings": T,
            "config": cfg, "training": info}
