"""The flywheel: serve, collect feedback, retrain, gate, promote, rebuild, report, round after round.

:class:`Flywheel` (and ``aitl flywheel``) runs the paper's loop on a BEIR folder (or, with no
data, on the built-in support scenario of :mod:`aitl.scenario`):

1. **Split.** The judged queries are split (whole ``groups.tsv`` groups on one side) into a
   held-out *test* set, a frozen *guard* set and a feedback *stream* cut into ``rounds`` batches.
   A share of the documents is withheld from the served knowledge base (the scenario names its
   own gap; otherwise :func:`aitl.sim.withhold` by topic) so that missing knowledge exists.
2. **Round 0.** The base champion (BM25 top-75, identity reranker, the extractive generator's
   ``top`` variant) is evaluated on the test set.
3. **Round r.** Batch r is served through :class:`aitl.Pipeline` with the current champion
   (two replies per case: the generator's champion and challenger variants, sides randomised,
   every impression logged to the SQLite store); the simulated agents (all but the
   ``judge_agents`` held out for evaluation) annotate. Everything goes to ``store.db``; the
   records of a seeded ``fresh_fraction`` of the conversations also go to the gate's holdout
   store (``holdout.db``, never trained on, growing round by round), the others to the training
   store (``train.db``). The :class:`aitl.Scheduler` decides whether a cycle runs;
   :meth:`Flywheel.step` runs it: compile the training store -> train (hashed encoder, feature
   ranker, reward model) -> evaluate champion and challenger on the holdout's qrels (condensed
   lists: only judged documents, so that the champion, which chose what was shown, gets no
   pooling advantage; the primary metric there is nDCG@10) and on the guard set ->
   :func:`aitl.gate` -> promote or reject in the :class:`aitl.ModelRegistry` (artifacts and the
   decision in the manifest) -> rebuild the serving index when the encoder changed -> report.
   The champion is then evaluated on the test set.
4. **Report.** Per round: annotations so far, recall@75, precision@8, nDCG@10, MRR@10 on the test
   set; *helpfulness* = win rate (ties half) of the champion's served reply over the round-0
   reply for the test cases, judged by the held-out agents; *adoption rate* = share of the held-out
   agents' adoption outcomes on the test cases that use a reply (as is or edited); promoted or
   rejected and why. At the end, the knowledge-gap report of the store.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .learn import METRICS  # the metrics reported and gated: one list
from .protocols import _h as _hash

__all__ = ["FlywheelConfig", "Flywheel", "run_flywheel", "METRICS", "plot_rounds",
           "format_table"]


_ADOPTED = ("used_as_is", "used_with_edits")


def _h(*parts: Any) -> int:
    return int.from_bytes(_hash(*parts), "big")


def _frac(*parts: Any) -> float:
    return _h(*parts) / float(1 << 64)


@dataclass(frozen=True)
class FlywheelConfig:
    """Settings of :class:`Flywheel` (validated; :class:`aitl.ConfigError` names the field)."""

    rounds: int = 5             #: feedback rounds after round 0
    seed: int = 0
    test_fraction: float = 0.3  #: held-out test set (share of query groups)
    guard_fraction: float = 0.1  #: frozen guard set of the gate (share of query groups)
    fresh_fraction: float = 0.2  #: share of each batch's cases kept out of training (gate data)
    withhold: float = 0.1       #: share of documents withheld (whole titles) when the data names no gap
    k: int = 75                 #: retrieved per case
    n: int = 8                  #: shown per case
    pool: int = 300             #: candidate pool of the trained system (RRF of BM25 + dense)
    judge_agents: int = 4       #: agents held out of the feedback to judge helpfulness
    min_annotations: int = 100  #: the scheduler's count trigger (relevance annotations)
    alpha: float = 0.05         #: the gate's significance level
    guard_tolerance: float = 0.01  #: the gate's allowed drop of a guard metric (absolute)
    encoder_epochs: int = 10
    reward_model: bool = True   #: train the reward model and serve its best-of-2 reply
    corrupt_rounds: Tuple[int, ...] = ()  #: rounds (1..rounds) whose labels are inverted (demo)
    #: how the test and guard queries are kept apart from the stream (aitl.protocols): group
    #: (whole conversations), cold, entity (held-out entities' documents are never shown to the
    #: stream), time (the stream comes first)
    protocol: str = "group"
    #: the built-in scenario with disjoint phrasings (test/guard from its eval side, the stream
    #: from its feedback side); only without data
    disjoint_phrasings: bool = False

    def __post_init__(self) -> None:
        from ._core import ConfigError

        def bad(name: str, expected: str) -> None:
            raise ConfigError(f"FlywheelConfig: field '{name}' out of range (got "
                              f"{getattr(self, name)!r}, expected {expected})")

        for name, lo in (("rounds", 1), ("k", 1), ("n", 1), ("pool", 1), ("judge_agents", 1),
                         ("min_annotations", 1), ("encoder_epochs", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                bad(name, f"an integer >= {lo}")
        for name in ("test_fraction", "guard_fraction", "fresh_fraction", "alpha"):
            if not 0.0 < float(getattr(self, name)) < 1.0:
                bad(name, "0 < value < 1")
        if not 0.0 <= float(self.withhold) < 0.5:
            bad("withhold", "0 <= withhold < 0.5")
        if not 0.0 <= float(self.guard_tolerance) <= 1.0:
            bad("guard_tolerance", "0 <= guard_tolerance <= 1")
        if self.test_fraction + self.guard_fraction >= 0.9:
            bad("test_fraction", "test_fraction + guard_fraction < 0.9 (the stream needs queries)")
        if self.n > self.k or self.k > self.pool:
            bad("n", f"n <= k <= pool (got n={self.n}, k={self.k}, pool={self.pool})")
        rounds = tuple(self.corrupt_rounds)
        if any(isinstance(r, bool) or not isinstance(r, (int, np.integer))
               or not 1 <= r <= self.rounds for r in rounds):  # round 0 is the base: no training
            bad("corrupt_rounds", f"feedback rounds from 1 to rounds={self.rounds}")
        object.__setattr__(self, "corrupt_rounds", tuple(int(r) for r in rounds))
        from .protocols import PROTOCOLS

        if self.protocol not in PROTOCOLS:
            bad("protocol", f"one of {', '.join(PROTOCOLS)}")
        if not isinstance(self.disjoint_phrasings, bool):
            bad("disjoint_phrasings", "True or False")

    def to_dict(self) -> Dict[str, Any]:
        d = dataclasses.asdict(self)
        d["corrupt_rounds"] = list(self.corrupt_rounds)
        return d


class _System:
    """A champion or challenger: BM25 alone (the base) or the trained system, plus the reward
    model that picks the served reply (None: the generator's champion variant)."""

    def __init__(self, version: str, bm25: Any, pool: int, trained: Any = None,
                 reward: Any = None, encoder: Any = None) -> None:
        self.version, self.bm25, self.pool = version, bm25, pool
        self.trained, self.reward, self.encoder = trained, reward, encoder
        # the exact dense retrievers it was trained and gated with (a promotion may swap in the
        # shared HNSW index, which a later champion re-embeds)
        self.exact_dense = list(trained.dense) if trained is not None else []

    def rank(self, queries: Sequence[str]) -> List[List[Any]]:
        queries = [q if q.strip() else "-" for q in queries]
        if self.trained is None:
            return self.bm25.search_batch(list(queries), self.pool)
        return self.trained.search_many(list(queries))

    def retriever(self) -> Any:
        """The served retriever: the C++ composition (BM25, fused with the dense ranking, reranked
        by the feature ranker, as trained), searched with no Python per query."""
        return self.bm25 if self.trained is None else self.trained.retriever

    def models(self) -> Dict[str, str]:
        """The impression's model names: the served retriever's kind @ its registry version
        ("base" for the untrained BM25)."""
        kind = "bm25" if self.trained is None else self.trained.kind()
        return {"retriever": f"{kind}@{self.version}"}


class Flywheel:
    """The loop of the module docstring, one round per :meth:`run_round`.

    :param data: a BEIR folder; ``None``: the built-in scenario (:func:`aitl.scenario.load`).
    :param workdir: where the store (``store.db``), the registry (``registry/``) and the reports
        go; ``None``: a temporary folder kept for the object's life.
    :param config: :class:`FlywheelConfig`. :param sim_config: the agents' :class:`aitl.sim.SimConfig`.
    :param progress: show tqdm bars on stderr.
    @note Thread safety: not thread-safe; one flywheel per thread.
    """

    def __init__(self, data: Any = None, *, workdir: Any = None,
                 config: Optional[FlywheelConfig] = None, sim_config: Any = None,
                 progress: bool = True, log: Optional[Callable[[str], None]] = None) -> None:
        import aitl
        from . import beir, scenario, sim

        self.config = cfg = config if config is not None else FlywheelConfig()
        if not isinstance(cfg, FlywheelConfig):
            raise aitl.ConfigError(f"Flywheel: config has the wrong type (got "
                                   f"{type(cfg).__name__}, expected FlywheelConfig)")
        self.progress = progress
        self._log = log or (lambda s: print(s, file=sys.stderr, flush=True) if progress else None)
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="aitl_flywheel_")
            workdir = self._tmp.name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if data is not None and cfg.disjoint_phrasings:
            raise aitl.ConfigError("Flywheel: disjoint_phrasings applies to the built-in scenario "
                                   f"only (got data={str(data)!r}, expected data=None)")
        self.data = Path(data) if data is not None else Path(scenario.load(
            config=scenario.ScenarioConfig(seed=cfg.seed,
                                           disjoint_phrasings=cfg.disjoint_phrasings)))
        self.dataset = ds = beir.load(self.data)

        # the knowledge gap: the scenario's withheld topics, else a seeded share of documents
        if (self.data / "scenario.json").is_file():
            withheld = set(scenario.withheld_ids(self.data))
        else:
            # whole topics: documents sharing a title (e.g. one DSTC11 hotel's FAQs and reviews)
            title = {d.id: d.title.strip() or d.id for d in ds.kb}
            _, w = sim.withhold(ds.kb.ids(), cfg.withhold, seed=cfg.seed, group=title)
            withheld = set(w)
        self.withheld = sorted(withheld)
        self.kb = aitl.KnowledgeBase([d for d in ds.kb if d.id not in withheld])
        self.served_ids = set(self.kb.ids())

        # test / guard / stream: by the protocol (whole conversations on one side)
        self.split = self._split(ds)
        self.test, self.guard, stream = self.split["test"], self.split["guard"], self.split["stream"]
        self.hidden = self.split["hidden"]  # never shown to the stream (entity protocol)
        self.batches = [list(b) for b in np.array_split(np.array(stream, dtype=object),
                                                         cfg.rounds)]

        self.agents = sim.Simulator.from_dataset(ds, kb_doc_ids=self.served_ids - self.hidden,
                                                 config=sim_config, seed=cfg.seed)
        ids = [a.id for a in self.agents.agents]
        if cfg.judge_agents >= len(ids):
            raise aitl.ConfigError(f"FlywheelConfig: field 'judge_agents' out of range (got "
                                   f"{cfg.judge_agents}, expected fewer than the {len(ids)} agents)")
        self.annotators, self.judges = ids[:-cfg.judge_agents], ids[-cfg.judge_agents:]

        self.bm25 = aitl.BM25()
        self.bm25.add_documents(list(self.kb))
        self.generator = aitl.ExtractiveGenerator()
        self.store = aitl.SqliteStore(str(self.workdir / "store.db"), durability="normal")
        # the same records split by conversation: what training may read, and the gate's holdout
        # (fresh feedback that no challenger is ever trained on; it grows round by round)
        self.train_store = aitl.SqliteStore(str(self.workdir / "train.db"), durability="normal")
        self.holdout = aitl.SqliteStore(str(self.workdir / "holdout.db"), durability="normal")
        self.registry = aitl.ModelRegistry(str(self.workdir / "registry"))
        self.scheduler = aitl.Scheduler(aitl.SchedulerConfig(
            min_counts={"knowledge_relevance": cfg.min_annotations}))
        self.schedule_state = aitl.SchedulerState()
        # fresh feedback judges only what the champion showed (8 documents + hand-selected):
        # on those condensed lists recall@75 and precision@8 are ~constant for any system, so
        # the fresh primary is the order of the judged documents (nDCG@10); recall@75,
        # precision@8, nDCG@10 and MRR@10 are guarded on the fully judged guard set
        self.gate_config = aitl.GateConfig(primary=["ndcg@10"], require="all",
                                           alpha=cfg.alpha, tolerance=cfg.guard_tolerance,
                                           seed=cfg.seed)
        self.index = aitl.ServingIndex()  # the champion's dense index (blue/green)
        self.champion = _System("base", self.bm25, cfg.pool)
        self.base = self.champion
        self._systems: Dict[str, _System] = {}  # promoted systems by registry version (rollback)
        self.pipeline = aitl.Pipeline(self.kb, self.store, retriever=self._served(self.champion),
                                      generator=self.generator, k=cfg.k, n=cfg.n, seed=cfg.seed,
                                      models=self.champion.models())
        self.round = 0
        self.rounds: List[Dict[str, Any]] = []
        self.watermark = 0  # seq (training store) of the last annotation the champion saw
        self._base_replies: Dict[str, str] = {}

    # -- serving -------------------------------------------------------------------------------

    def _split(self, ds: Any) -> Dict[str, Any]:
        from ._core import ConfigError
        from . import protocols, scenario

        cfg = self.config
        qids = list(ds.queries)
        groups = ds.groups or {}
        unit = lambda q: groups.get(q, q)  # noqa: E731
        hidden: set = set()
        info: Dict[str, Any] = {"protocol": cfg.protocol}
        if cfg.disjoint_phrasings:
            sides = scenario.phrasing_sides(self.data)
            held = [q for q in qids if sides.get(q) == "eval"]
            stream = [q for q in qids if sides.get(q) == "feedback"]
            info = {"protocol": "disjoint-phrasings",
                    "overlap": scenario.phrasing_overlap(self.data, stream, held)}
        elif cfg.protocol == "group":
            held = stream = []
        else:
            s = protocols.split_queries(ds, cfg.protocol, cfg.test_fraction + cfg.guard_fraction,
                                        cfg.seed)
            held, stream, hidden, info = s.eval, s.feedback, set(s.hidden), s.info
        if cfg.protocol == "group" and not cfg.disjoint_phrasings:
            units = sorted(set(unit(q) for q in qids), key=lambda g: (_h(cfg.seed, "split", g), g))
            n_test = int(round(cfg.test_fraction * len(units)))
            n_guard = int(round(cfg.guard_fraction * len(units)))
            side = {g: ("test" if i < n_test else "guard" if i < n_test + n_guard else "stream")
                    for i, g in enumerate(units)}
        else:  # held-out queries: test and guard by conversation, in the test:guard ratio
            units = sorted(set(unit(q) for q in held), key=lambda g: (_h(cfg.seed, "split", g), g))
            n_test = int(round(cfg.test_fraction / (cfg.test_fraction + cfg.guard_fraction)
                               * len(units)))
            side = {g: ("test" if i < n_test else "guard") for i, g in enumerate(units)}
            side.update({unit(q): "stream" for q in stream})
            n_guard = len(units) - n_test
        pool = qids if cfg.protocol == "group" and not cfg.disjoint_phrasings else held + stream
        inside = set(pool)  # a protocol's dropped queries stay out of every side
        test = [q for q in qids if q in inside and side.get(unit(q)) == "test"]
        guard = [q for q in qids if q in inside and side.get(unit(q)) == "guard"]
        stream = [q for q in qids if q in inside and side.get(unit(q)) == "stream"]
        if n_test < 1 or n_guard < 1 or len(set(unit(q) for q in stream)) < cfg.rounds:
            raise ConfigError(f"Flywheel: too few query groups to split (got {len(units)} "
                              f"held-out and {len(set(unit(q) for q in stream))} stream groups, "
                              f"expected at least 2 held-out and {cfg.rounds} stream groups)")
        # stream order: by group (conversations stay together), groups in a seeded order (time:
        # arrival order)
        pos = {q: i for i, q in enumerate(qids)}
        if cfg.protocol == "time":
            stream.sort(key=lambda q: pos[q])
        else:
            stream.sort(key=lambda q: (_h(cfg.seed, "order", unit(q)), unit(q), pos[q]))
        info.update({"test": len(test), "guard": len(guard), "stream": len(stream),
                     "hidden_documents": len(hidden)})
        return {"test": test, "guard": guard, "stream": stream, "hidden": hidden, "info": info}

    def _served(self, system: _System) -> Any:
        """What the pipeline serves for ``system``: its C++ retriever; under the entity protocol
        without the held-out entities' documents, which are not served yet."""
        import aitl

        r = system.retriever()
        return aitl.FilteredRetriever(r, sorted(self.hidden), depth=self.config.pool) if self.hidden else r

    def _serve_champion(self) -> None:
        """Swap the champion into the pipeline; later impressions name its version."""
        c = self.champion
        self.pipeline.set_retriever(self._served(c), version=c.models()["retriever"])

    def _refs(self, hits: Sequence[Any]) -> List[Any]:
        import aitl

        return aitl.make_references(self.kb, [h.id for h in hits[:self.config.n]])

    def _reply(self, system: _System, query: str, hits: Sequence[Any]) -> str:
        """The system's reply: the generator's champion variant, or with a reward model the
        better of the first two variants (best-of-2, :class:`aitl.RewardSelectedGenerator`)."""
        import aitl

        refs = self._refs(hits)
        variants = self.generator.variants
        if system.reward is None:
            return self.generator.generate(query, refs, variants[0]).text
        best = aitl.RewardSelectedGenerator(self.generator, system.reward, candidates=variants[:2])
        return best.generate(query, refs, "best").text

    def serve(self, case_ids: Sequence[str]) -> List[Dict[str, Any]]:
        """Serve cases through the pipeline with the current champion; the impression dicts."""
        q = self.dataset.queries
        cases = [{"case_id": c, "query": q[c]} for c in case_ids]
        return [i.to_dict() for i in self.pipeline.suggest_many(cases)]

    # -- one round -------------------------------------------------------------------------------

    def run_round(self) -> Dict[str, Any]:
        """Round 0: evaluate the base. Round r >= 1: serve batch r, annotate, let the scheduler
        decide, run the cycle (:meth:`step`) when due, evaluate the champion. Returns the row."""
        t0 = time.perf_counter()
        cfg = self.config
        row: Dict[str, Any] = {"round": self.round}
        if self.round == 0:
            row.update({"promoted": False, "reason": "base system (BM25, no reranker)",
                        "champion": self.champion.version, "served": 0, "retrain": []})
        else:
            if self.round > len(self.batches):
                from ._core import StateError

                raise StateError(f"Flywheel.run_round: the stream is used up (got round "
                                 f"{self.round}, expected at most {len(self.batches)})")
            imps, anns = self.feed(self.batches[self.round - 1])
            adopt = [a["outcome"] for a in anns if a["type"] == "adoption"]
            row["served"] = len(imps)
            row["served_adoption_rate"] = (round(sum(o in _ADOPTED for o in adopt) / len(adopt), 4)
                                           if adopt else None)
            for a in anns:
                self.schedule_state.observe(a)
            now = max((a["timestamp_ms"] for a in anns), default=0)
            due = self.scheduler.due(self.schedule_state, now)
            row["retrain"] = list(due.retrain)
            row["schedule"] = list(due.reasons)
            if due.run:
                out = self.step(corrupt=self.round in cfg.corrupt_rounds)
                row.update(out)
                self.schedule_state.record_run(now)
            else:
                row.update({"promoted": False, "reason": "not due: " + "; ".join(due.reasons),
                            "champion": self.champion.version})
        row["annotations"] = self.store.stats().annotations
        row.update(self.evaluate(self.champion))
        row["seconds"] = round(time.perf_counter() - t0, 2)
        self.rounds.append(row)
        self.round += 1
        return row

    def feed(self, case_ids: Sequence[str]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        """Serve cases through the champion pipeline and store the feedback annotators leave on
        them: everything in the store, and each conversation's records also in the training store
        or (its ``fresh_fraction`` share) the gate's holdout. Returns (impressions, annotations)."""
        imps = self.serve(case_ids)
        anns = [a for imp in imps for a in self.agents.annotate(imp, agents=self.annotators)]
        is_fresh = {i["id"]: self._is_fresh(i["case_id"]) for i in imps}
        if anns:
            self.store.append(anns)
        for target, side in ((self.train_store, False), (self.holdout, True)):
            recs = ([i for i in imps if is_fresh[i["id"]] == side] +
                    [a for a in anns if is_fresh[a["impression_id"]] == side])
            if recs:
                target.append(recs)
        return imps, anns

    def _is_fresh(self, case: str) -> bool:
        group = (self.dataset.groups or {}).get(case, case)  # whole conversations on one side
        return _frac(self.config.seed, "fresh", group) < self.config.fresh_fraction

    def _last_seq(self, store: Any) -> int:
        got = store.annotations(after_seq=0, limit=0)
        return got[-1].seq if got else 0

    # -- the cycle -------------------------------------------------------------------------------

    def step(self, corrupt: bool = False) -> Dict[str, Any]:
        """One cycle: compile -> train -> evaluate -> gate -> promote/reject -> rebuild -> report.

        Trains on the training store; the gate's fresh data are the holdout store's relevance
        feedback (conversations never trained on). ``corrupt`` inverts every relevance label and
        preference of the training data (a deliberately bad challenger the gate must reject).
        """
        import aitl
        from .learn import train_system

        cfg = self.config
        T: Dict[str, float] = {}
        t = time.perf_counter()
        w_train = self._last_seq(self.train_store)
        train_store, until = self.train_store, w_train
        tmp = None
        if corrupt:
            tmp = tempfile.TemporaryDirectory(prefix="aitl_corrupt_")
            train_store, until = self._corrupted_copy(Path(tmp.name) / "store.db", w_train), 0
        version = f"r{self.round}"
        system, info = train_system(self.kb, train_store, self.bm25, seed=cfg.seed + self.round,
                                    pool=cfg.pool, encoder_epochs=cfg.encoder_epochs,
                                    until_seq=until)
        reward = self._train_reward(train_store, until) if cfg.reward_model else None
        T["train"] = round(time.perf_counter() - t, 2)
        challenger = _System(version, self.bm25, cfg.pool, system, reward, system.encoder)
        t = time.perf_counter()
        scores_champ, scores_chall, n_fresh = self._gate_scores(self.champion, challenger)
        decision = aitl.gate(scores_champ, scores_chall, self.gate_config)
        T["evaluate+gate"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        files = self._artifacts(challenger, system, Path(self.workdir / "staging" / version))
        v = self.registry.add(files, parent=self._champion_version(), watermark=w_train,
                              metrics={"fresh_queries": n_fresh, "corrupted": corrupt,
                                       "training": _jsonable(info)})
        index: Optional[Dict[str, Any]] = None
        if decision.promote:
            self.registry.promote(v, decision.to_dict())
            challenger.version = v
            T["registry"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            if any(w > 0 for w in system.weights):  # the dense ranking serves: rebuild it
                index = self._rebuild_index(challenger)
            T["rebuild"] = round(time.perf_counter() - t, 2)
            self.champion = challenger
            self._systems[v] = challenger
            self._serve_champion()
            self.watermark = w_train
        else:
            self.registry.reject(v, decision.to_dict())
            T["registry"] = round(time.perf_counter() - t, 2)
        if tmp is not None:
            tmp.cleanup()
        self._log(f"[flywheel] round {self.round}: {decision.reason}")
        return {"promoted": bool(decision.promote), "reason": decision.reason,
                "champion": self.champion.version, "challenger": v, "corrupted": corrupt,
                "gate": decision.to_dict(), "index": index, "cycle_seconds": T}

    def rollback(self) -> Optional[str]:
        """Reinstate the previous champion (:meth:`aitl.ModelRegistry.rollback`) and serve it:
        later impressions name its version. Its dense ranking is re-embedded into the serving
        index (or served exactly when the index's recall check fails). Returns the version now
        champion, or None when there is no previous champion (nothing changes).
        Raises StateError for a champion this flywheel did not train (e.g. after a restart)."""
        from ._core import StateError

        c = self.registry.champion
        if c is None:
            return None
        if self.registry.rollback() is None:
            return None
        now = self.registry.champion
        v = now["version"] if now else "base"
        system = self.base if v == "base" else self._systems.get(v)
        if system is None:
            raise StateError(f"Flywheel.rollback: version {v} was not trained by this flywheel "
                             f"(got {v!r}, expected one of {sorted(self._systems)})")
        if system.trained is not None and any(w > 0 for w in system.trained.weights):
            system.trained.dense = system.exact_dense
            self._rebuild_index(system)
        self.champion = system
        self._serve_champion()
        self._log(f"[flywheel] rolled back {c['version']} -> {v}")
        return v

    def _rebuild_index(self, system: _System) -> Dict[str, Any]:
        """Re-embed the KB with the promoted encoder into a new HNSW index (blue/green: the old
        one serves meanwhile), check its recall@10 against exact search on the round's queries,
        publish it to the index registry and switch; the champion then searches through it.
        A failed check keeps the exact index the challenger was evaluated with."""
        last = self.store.stats().impression_watermark
        queries = [i.query for i in self.store.impressions(after_seq=max(0, last - 400))]
        rep = self.index.rebuild(self.kb, system.encoder, registry=str(self.workdir / "index"),
                                 queries=queries, k=10, min_recall=0.9,
                                 hnsw={"ef": max(100, self.config.pool)})
        if rep["switched"]:
            system.trained.dense = [self.index]
        return {k: rep[k] for k in ("switched", "reason", "version", "recall", "sample",
                                    "documents", "seconds_embed", "seconds_build",
                                    "seconds_check", "seconds_publish")}

    def _champion_version(self) -> str:
        c = self.registry.champion
        return c["version"] if c else ""

    def _artifacts(self, system: _System, trained: Any, out: Path) -> Dict[str, str]:
        out.mkdir(parents=True, exist_ok=True)
        files: Dict[str, str] = {}
        if trained.ranker is not None:
            (out / "ranker.bin").write_bytes(trained.ranker.save())
            files["ranker.bin"] = str(out / "ranker.bin")
        (out / "selection.json").write_text(json.dumps(
            {"choice": trained.choice, "weights": trained.weights}, sort_keys=True) + "\n")
        files["selection.json"] = str(out / "selection.json")
        system.encoder.save(str(out / "encoder.bin"))
        files["encoder.bin"] = str(out / "encoder.bin")
        # how C++ serves it (aitl::serving_recipe, aitl::load_champion): BM25 fused with the
        # hashed-encoder dense ranking at its weight, reranked by the ranker over the pool
        ranker = trained.ranker
        recipe = {"format": "aitl.serving", "version": 1, "pool": self.config.pool, "rrf_k": 60.0,
                  "dense": [{"encoder": "encoder.bin", "weight": w} for w in trained.weights[:1]],
                  "ranker": "ranker.bin" if ranker is not None else None,
                  "ranker_encoder": ("encoder.bin" if ranker is not None and ranker.has_encoder
                                     else None)}
        (out / "serving.json").write_text(json.dumps(recipe, sort_keys=True) + "\n")
        files["serving.json"] = str(out / "serving.json")
        if system.reward is not None:
            (out / "reward.json").write_bytes(system.reward.to_bytes())
            files["reward.json"] = str(out / "reward.json")
        return files

    def _corrupted_copy(self, path: Path, until: int) -> Any:
        """A store holding the impressions and the annotations with seq <= until, every relevance
        label inverted (hand-selected documents dropped) and every preference swapped."""
        import aitl

        out = aitl.SqliteStore(str(path), durability="normal")
        anns = [a for a in self.train_store.annotations(as_dict=True) if a["seq"] <= until]
        imps = {a["impression_id"] for a in anns}
        recs: List[Dict[str, Any]] = [i for i in self.train_store.impressions(as_dict=True)
                                      if i["id"] in imps]
        swap = {"a": "b", "b": "a"}
        for a in anns:
            a = dict(a)
            a.pop("seq", None)
            if a["type"] == "knowledge_relevance":
                a["labels"] = [dict(l, relevant=not l["relevant"]) for l in a["labels"]]
                a["selected"] = []
                if not a["labels"]:
                    continue
            elif a["type"] == "preference":
                a["choice"] = swap.get(a["choice"], a["choice"])
            recs.append(a)
        for r in recs:
            r.pop("seq", None)
        out.append(recs)
        return out

    def _train_reward(self, store: Any, until: int) -> Any:
        import aitl

        pairs = [p for p in aitl.compile_preferences(store, until_seq=until).pairs]
        if len(pairs) < 20:
            return self.champion.reward
        rm = aitl.RewardModel({"seed": self.config.seed})
        rm.set_document_relevance(aitl.compile_qrels(store, until_seq=until).qrels)
        refs = [self._impression_refs(store, p.impression_id) for p in pairs]
        rm.train(pairs, refs)
        return rm

    def _impression_refs(self, store: Any, impression_id: str) -> List[str]:
        import aitl

        imp = store.get_impression(impression_id)
        shown = [c.doc_id for c in imp.shown if c.doc_id in self.served_ids]
        return aitl.reward_references(aitl.make_references(self.kb, shown))

    def _gate_scores(self, champ: _System,
                     chall: _System) -> Tuple[Dict[str, Any], Dict[str, Any], int]:
        """Per-query metrics of both systems on the fresh feedback (condensed lists) and on the
        guard set (ground truth)."""
        import aitl

        fq = aitl.compile_qrels(self.holdout)
        qrels, texts = fq.qrels, fq.queries  # each attribute access converts the whole map
        fresh_q = [q for q, js in qrels.items() if any(g > 0 for g in js.values())]
        gq = [q for q in self.guard
              if any(g > 0 and d in self.served_ids for d, g in self.dataset.qrels[q].items())]
        out = []
        for system in (champ, chall):
            runs = system.rank([texts[q] for q in fresh_q])
            condensed = {q: [h for h in r if h.id in qrels[q]] for q, r in zip(fresh_q, runs)}
            fresh = _per_query({q: qrels[q] for q in fresh_q}, condensed)
            gruns = system.rank([self.dataset.queries[q] for q in gq])
            guard = _per_query({q: self.dataset.qrels[q] for q in gq}, dict(zip(gq, gruns)))
            out.append({"fresh": fresh, "guard": guard})
        return out[0], out[1], len(fresh_q)

    # -- evaluation ------------------------------------------------------------------------------

    def evaluate(self, system: _System) -> Dict[str, Any]:
        """Test-set metrics, helpfulness vs the round-0 reply and adoption rate of ``system``."""
        import aitl

        ds, q = self.dataset, self.test
        runs = system.rank([ds.queries[x] for x in q])
        per = _per_query({x: ds.qrels[x] for x in q}, dict(zip(q, runs)))
        res: Dict[str, Any] = {m: round(float(np.mean(per[m])), 4) for m in METRICS}
        replies = {x: self._reply(system, ds.queries[x], r) for x, r in zip(q, runs)}
        if not self._base_replies:
            base_runs = runs if system is self.base else self.base.rank([ds.queries[x] for x in q])
            self._base_replies = {x: self._reply(self.base, ds.queries[x], r)
                                  for x, r in zip(q, base_runs)}
        wins = losses = ties = 0
        adopted = judged = 0
        for x in q:
            mine, base = replies[x], self._base_replies[x]
            left = "a" if _frac(self.config.seed, "left", x) < 0.5 else "b"
            v = ("tie" if mine == base else  # the same reply cannot be preferred to itself
                 self.agents.judge(x, mine, base, left=left, agents=self.judges,
                                   key="helpfulness"))
            wins += v == "a"
            losses += v == "b"
            ties += v in ("tie", "both_bad")
            o = self._adoption(x, mine)
            if o is not None:
                judged += 1
                adopted += o in _ADOPTED
        n = wins + losses + ties
        res["helpfulness"] = round((wins + 0.5 * ties) / n, 4) if n else None
        res["helpfulness_counts"] = {"wins": wins, "losses": losses, "ties": ties}
        res["helpfulness_p"] = float(f"{aitl.sign_test(wins, losses):.3g}")
        res["adoption_rate"] = round(adopted / judged, 4) if judged else None
        return res

    def _adoption(self, case_id: str, reply: str) -> Optional[str]:
        """The held-out agents' adoption outcome for one reply shown alone."""
        imp = {"id": f"eval:{case_id}", "case_id": case_id, "timestamp_ms": 0,
               "query": self.dataset.queries[case_id], "shown": [],
               "replies": [{"variant": "served", "text": reply, "position": "left"}]}
        for a in self.agents.annotate(imp, agents=self.judges):
            if a["type"] == "adoption":
                return a["outcome"]
        return None

    # -- the whole run ---------------------------------------------------------------------------

    def run(self, rounds: Optional[int] = None) -> Dict[str, Any]:
        """Round 0 and ``rounds`` (default: the config's) feedback rounds, then the gap report.
        Returns the report dict (see :func:`run_flywheel`)."""
        from tqdm.auto import tqdm

        total = (rounds if rounds is not None else self.config.rounds) + 1 - self.round
        for _ in tqdm(range(total), desc="flywheel", file=sys.stderr, disable=not self.progress,
                      dynamic_ncols=True):
            row = self.run_round()
            self._log(format_table([row], header=self.round == 1))
        return self.report()

    def gap_report(self, top: int = 10) -> Dict[str, Any]:
        """The knowledge-gap report of the store and how many of the withheld documents' cases
        its top clusters hold."""
        import aitl

        rep = aitl.gap_report(self.store, max_clusters=top)
        d = rep.to_dict()
        withheld = set(self.withheld)
        gap_cases = {q for q in self.dataset.queries
                     if any(g > 0 for g in self.dataset.qrels[q].values())
                     and all(doc in withheld for doc, g in self.dataset.qrels[q].items() if g > 0)}
        clusters = d.get("clusters", [])[:top]
        covered = set()
        for c in clusters:
            covered |= set(c.get("case_ids", []))
        signalled = {i.case_id for i in self.store.impressions()} & gap_cases
        d["withheld_documents"] = len(withheld)
        d["withheld_cases_signalled"] = len(signalled)
        d["withheld_cases_in_top_clusters"] = len(signalled & covered)
        d["withheld_recall"] = (round(len(signalled & covered) / len(signalled), 4)
                                if signalled else None)
        d["markdown"] = rep.to_markdown()
        return d

    def report(self) -> Dict[str, Any]:
        gaps = self.gap_report()
        return {"rounds": self.rounds, "gaps": gaps.get("clusters", []),
                "simulated": {"metrics": ["helpfulness", "adoption_rate"],
                              "note": "judged by held-out simulated agents (aitl.sim), not by "
                                      "people; the annotations are simulated too"},
                "gap_summary": {k: gaps[k] for k in ("withheld_documents", "withheld_cases_signalled",
                                                     "withheld_cases_in_top_clusters",
                                                     "withheld_recall")},
                "gap_markdown": gaps["markdown"],
                "protocol": _jsonable(self.split["info"]),
                "split": {"test": len(self.test), "guard": len(self.guard),
                          "stream": sum(len(b) for b in self.batches),
                          "batches": [len(b) for b in self.batches]},
                "knowledge_base": {"documents": len(self.kb), "withheld": len(self.withheld)},
                "data": str(self.data), "config": self.config.to_dict(),
                "registry": self.registry.manifest()}


def _per_query(qrels: Mapping[str, Mapping[str, int]],
               runs: Mapping[str, Sequence[Any]]) -> Dict[str, List[float]]:
    """{metric: per-query values in the order of ``qrels``} (ranks rescored so ties keep order)."""
    import aitl

    order = list(qrels)
    ranked = {q: [aitl.Hit(h.id, float(len(runs[q]) - i)) for i, h in enumerate(runs[q])]
              for q in order}
    if not order:
        return {m: [] for m in METRICS}
    res = aitl.evaluate(dict(qrels), ranked, METRICS)
    return {m: [float(res.per_query[q][m]) if q in res.per_query else 0.0 for q in order]
            for m in METRICS}


def _jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x, default=str))


_COLS = [("round", "round", "{:>5}"), ("annotations", "annot.", "{:>7}"),
         ("recall@75", "R@75", "{:>6.3f}"), ("precision@8", "P@8", "{:>6.3f}"),
         ("ndcg@10", "nDCG@10", "{:>7.3f}"), ("helpfulness", "helpful*", "{:>8.3f}"),
         ("adoption_rate", "adopt*", "{:>6.3f}")]


def format_table(rows: Sequence[Mapping[str, Any]], header: bool = True) -> str:
    """The round table as text (one line per round, then promoted/rejected and why). Columns
    marked * are simulated: judged by the held-out simulated agents (:mod:`aitl.sim`)."""
    lines = []
    if header:
        lines.append("  ".join(f"{h:>{len(f.format(0) if 'd' in f else f.format(0.0))}}"
                               for _, h, f in _COLS) + "  decision")
    for r in rows:
        cells = []
        for key, _, f in _COLS:
            v = r.get(key)
            width = len(f.format(0.0)) if "f}" in f else len(f.format(0))
            cells.append(f.format(v) if v is not None else " " * (width - 1) + "-")
        verdict = ("promoted" if r.get("promoted") else "kept") + f" {r.get('champion', '')}"
        lines.append("  ".join(cells) + f"  {verdict}: {r.get('reason', '')}")
    return "\n".join(lines)


def plot_rounds(rows: Sequence[Mapping[str, Any]], path: Any, title: str = "aitl flywheel") -> None:
    """Save a PNG of the round metrics (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = [x["round"] for x in rows]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for key, label in (("recall@75", "recall@75"), ("precision@8", "precision@8"),
                       ("ndcg@10", "nDCG@10")):
        ax1.plot(r, [x[key] for x in rows], marker="o", label=label)
    for x in rows:
        if x.get("promoted"):
            ax1.axvline(x["round"], color="0.85", lw=1, zorder=0)
    ax1.set_xlabel("round")
    ax1.set_title("held-out test set (grey: promoted)")
    ax1.legend()
    ax1.grid(alpha=0.3)
    ax2.plot(r, [x["helpfulness"] for x in rows], marker="o", label="helpfulness (win rate vs round 0)")
    ax2.plot(r, [x["adoption_rate"] for x in rows], marker="s", label="adoption rate")
    ax2.axhline(0.5, color="0.6", ls="--", lw=1)
    ax2.set_xlabel("round")
    ax2.set_ylim(0, 1)
    ax2.set_title("replies, judged by held-out agents")
    ax2.legend()
    ax2.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)


def run_flywheel(data: Any = None, rounds: int = 5, seed: int = 0, *, workdir: Any = None,
                 progress: bool = True, **config: Any) -> Dict[str, Any]:
    """Run the whole loop; returns ``{"rounds": [...], "gaps": [...], ...}`` (see the module
    docstring). ``config``: further :class:`FlywheelConfig` fields."""
    fw = Flywheel(data, workdir=workdir, config=FlywheelConfig(rounds=rounds, seed=seed, **config),
                  progress=progress)
    return fw.run()
