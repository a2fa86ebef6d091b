"""Simulated support agents: the paper's human annotators, reproducible for a seed.

A :class:`Simulator` plays a population of support agents. Given a served impression (a dict in
the impression JSON form, ``case_id`` = the BEIR query id) it returns the annotation dicts the
agent who handled the case would have left: knowledge relevance, missing knowledge, a preference
between the two replies and the adoption outcome. Ground truth comes from a BEIR dataset: the
qrels (grade > 0 = relevant) and, when the dataset has them, the reference replies
(``responses.jsonl``, e.g. from :func:`aitl.dstc11.convert`). :class:`BaseSystem` is a
placeholder copilot that serves impressions (BM25 top-75, or another first stage given as
``retriever``; first 8 shown, two extractive replies); :func:`withhold` takes documents out of
the served knowledge base to create gaps.

>>> from aitl import beir, sim
>>> ds = beir.load("examples/data/helpcentre")
>>> served, withheld = sim.withhold(ds.kb.ids(), 0.1, seed=1)
>>> system = sim.BaseSystem(ds.kb, doc_ids=served, seed=1)
>>> agents = sim.Simulator.from_dataset(ds, kb_doc_ids=served, seed=1)
>>> imp = system.serve("q01", ds.queries["q01"])
>>> sorted(a["type"] for a in agents.annotate(imp))  # doctest: +SKIP
['adoption', 'knowledge_relevance', 'preference']

Parameters (:class:`SimConfig`)
-------------------------------

==========================  =======  ===========  =============================================
parameter                   default  range        meaning
==========================  =======  ===========  =============================================
noise                       0.05     [0, 0.5]     mean flip rate of careful agents: each
                                                  relevance label, and each quality-based
                                                  preference (a <-> b), is flipped with it
noise_spread                0.0      [0, 0.5]     careful agents' rates are evenly spaced over
                                                  [noise - spread, noise + spread] (clipped to
                                                  [0, 0.5]) and assigned to agents at random;
                                                  0: every careful agent has exactly ``noise``
select_probability          0.3      [0, 1]       a careful agent hand-selects one relevant
                                                  document that is in the served KB but was
                                                  not shown (when there is one)
missing_report_probability  0.9      [0, 1]       a careful agent flags missing knowledge when
                                                  no relevant document of the case is in the KB
position_bias               0.1      [0, 1]       q: on replies of equal quality the agent picks
                                                  the one shown on the LEFT with probability q
                                                  (else tie, or both_bad when neither is usable)
skip_rate                   0.05     [0, 1]       an agent leaves out each annotation type of an
                                                  impression independently with this probability
careless_share              0.0      [0, 1]       round(share * n_agents) agents are careless:
                                                  random relevance labels (p = 0.5), random
                                                  preference and adoption, spurious gap flags
edit_probability            0.5      [0, 1]       a fully grounded preferred reply is sent with
                                                  edits (else as is); partly grounded: always
n_agents                    20       [1, 9999]    agents "agent-01" .. "agent-20"
suggest_source_probability  0.5      [0, 1]       a gap flag names the withheld relevant
                                                  document's title as ``suggested_source``
careless_flag_probability   0.1      [0, 1]       a careless agent flags missing knowledge
                                                  whatever the KB holds
median_seconds              20.0     (0, 3600]    median time an agent spends on one annotation
time_sigma                  0.5      [0, 3]       sigma of the lognormal time to annotate
==========================  =======  ===========  =============================================

Out-of-range values raise :class:`aitl.ConfigError` naming the parameter and its range.

Agent model
-----------
*Who.* Each impression goes to one agent, drawn uniformly (optionally from a restricted pool)
with a generator seeded by ``(seed, impression id)``; all of that agent's draws for the
impression come from generators seeded by ``(seed, impression id, kind)`` (blake2b of the parts),
so the output depends on the seed and the impression only, never on the order of the calls.

*Quality of a reply.* Citations are ``[doc_id]`` markers naming documents of the corpus (other
bracketed text is ignored). With C the distinct cited ids, R the relevant ids of the case
(qrels grade > 0) and ``f1`` the SQuAD token F1 (lowercased ``\\w+`` tokens, markers removed)
between the reply and the case's reference reply::

    grounding = |C & R| / |C|           (0 when the reply cites nothing)
    quality   = grounding + f1          (f1 term only when the case has a reference reply)

A reply is *usable* ("grounded") when ``grounding > 0`` or ``f1 >= RESEMBLE_F1`` (0.30).

*Judges' quality* (:meth:`Simulator.judge`, e.g. the "helpfulness" of the flywheel and the
benchmarks). The annotators' preferences train the reward model, so the judges who measure it
weigh replies with a different function, on answer content rather than on the formula above:
with K the answer key's content words (lowercase ``\\w+`` minus stop words, markers removed)
and W those of the reply::

    content      = |K & W| / |K|        K from the case's reference reply (recall of its content)
                 = |W & K| / |W|        without one: K from the relevant documents' titles and
                                        texts (share of the reply that is on topic); 0 without both
    wrong        = share of the cited documents that are not relevant (0 when nothing is cited)
    judge_quality = content - JUDGE_CITATION_PENALTY * wrong - JUDGE_LENGTH_PENALTY * words / 100

(``JUDGE_CITATION_PENALTY`` 0.5, ``JUDGE_LENGTH_PENALTY`` 0.05; ``words``: ``\\w+`` tokens of
the reply without markers). A reply is usable for a judge when ``judge_quality > 0``. The rest of
the preference rule (margins, position bias, noise) is the annotators' one below.

*Preference* (careful agent): margin ``m = quality(A) - quality(B)``. ``|m| < TIE_MARGIN``
(0.02), or neither reply usable, means equal: with probability ``position_bias`` the agent picks
the reply shown on the left (strength slight), otherwise answers ``tie`` (``both_bad`` when
neither is usable). Otherwise the better reply wins with strength ``slight`` when
``|m| < CLEAR_MARGIN`` (0.15), ``clear`` when ``|m| < STRONG_MARGIN`` (0.40), else ``strong``;
the agent's noise flips the winner (strength slight) with probability equal to its flip rate.

*Adoption* follows the preference: the preferred reply (for a tie, the better one, the left one
when equal) is used when usable: as is with probability ``1 - edit_probability`` when every
citation is relevant, otherwise with edits; the final text is the reference reply when there is
one, else the reply's sentences that cite a relevant document, markers removed. An unusable
reply is ``not_used`` with reasons: ``missing_information`` (no relevant document in the KB or
an uncited reply), ``wrong_reference`` + ``not_applicable`` (cites only irrelevant documents),
``hallucinated_detail`` (cites a document outside the served KB).

*Knowledge relevance*: one label per shown document (qrels, flipped with the agent's rate) and,
with ``select_probability``, one relevant document of the served KB that was not shown.

*Missing knowledge*: when the case has judged documents and none of the relevant ones is in the
served KB, with ``missing_report_probability``. The description quotes the last line of the
query (the customer's turn) and names the subject (the title of a withheld relevant document).
Cases without qrels are never flagged by careful agents.

*Times*: annotations of an impression are written in the order relevance, preference, adoption,
missing knowledge; each takes a lognormal time (median ``median_seconds`` times a per-kind
factor: 1.5 relevance, 0.75 preference, 1.0 adoption (1.5 with edits), 1.25 missing knowledge);
``time_to_annotate_ms`` is the time since the impression was shown and ``timestamp_ms`` =
impression ``timestamp_ms`` + ``time_to_annotate_ms``. Ids are ``f"{impression_id}:{kind}"``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from typing import (Any, Collection, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence,
                    Set, Tuple)

import numpy as np

from ._core import ConfigError

__all__ = ["SimConfig", "Agent", "Simulator", "BaseSystem", "withhold", "case_stream",
           "reply_quality", "token_f1", "citations", "KINDS", "EPOCH_MS", "MODELS",
           "TIE_MARGIN", "CLEAR_MARGIN", "STRONG_MARGIN", "RESEMBLE_F1",
           "JUDGE_CITATION_PENALTY", "JUDGE_LENGTH_PENALTY"]

KINDS = ("knowledge_relevance", "preference", "adoption", "missing_knowledge")
TIE_MARGIN = 0.02
CLEAR_MARGIN = 0.15
STRONG_MARGIN = 0.40
RESEMBLE_F1 = 0.30
JUDGE_CITATION_PENALTY = 0.5
JUDGE_LENGTH_PENALTY = 0.05
_STOPWORDS = frozenset(
    "a about above after again all am an and any are as at be because been before being below "
    "between both but by can could did do does doing down during each few for from further had has "
    "have having he her here hers him his how i if in into is it its itself just me more most my no "
    "nor not now of off on once only or other our ours out over own same she should so some such "
    "than that the their theirs them then there these they this those through to too under until "
    "up very was we were what when where which while who whom why will with would you your yours".split())
EPOCH_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z: the simulated clock's start
MODELS = {"retriever": "bm25@0", "reranker": "identity@0", "generator": "extractive@0"}
_TIME_FACTOR = {"knowledge_relevance": 1.5, "preference": 0.75, "adoption": 1.0,
                "missing_knowledge": 1.25}
_CITATION = re.compile(r"\[([^\[\]\s]+)\]")
_WORD = re.compile(r"\w+")
_FALLBACK_REPLY = "Sorry, I could not find an article about this in our help centre."


# ----------------------------------------------------------------------------------------------
# configuration


_RANGES: Dict[str, Tuple[float, float, str]] = {
    "noise": (0.0, 0.5, "0 <= noise <= 0.5"),
    "noise_spread": (0.0, 0.5, "0 <= noise_spread <= 0.5"),
    "select_probability": (0.0, 1.0, "0 <= select_probability <= 1"),
    "missing_report_probability": (0.0, 1.0, "0 <= missing_report_probability <= 1"),
    "position_bias": (0.0, 1.0, "0 <= position_bias <= 1"),
    "skip_rate": (0.0, 1.0, "0 <= skip_rate <= 1"),
    "careless_share": (0.0, 1.0, "0 <= careless_share <= 1"),
    "edit_probability": (0.0, 1.0, "0 <= edit_probability <= 1"),
    "suggest_source_probability": (0.0, 1.0, "0 <= suggest_source_probability <= 1"),
    "careless_flag_probability": (0.0, 1.0, "0 <= careless_flag_probability <= 1"),
    "time_sigma": (0.0, 3.0, "0 <= time_sigma <= 3"),
}


@dataclass(frozen=True)
class SimConfig:
    """The agents' parameters (see the module docstring's table); validated on construction.

    :raises ConfigError: a value out of range or of the wrong type (names the parameter).
    """

    noise: float = 0.05
    noise_spread: float = 0.0
    select_probability: float = 0.3
    missing_report_probability: float = 0.9
    position_bias: float = 0.1
    skip_rate: float = 0.05
    careless_share: float = 0.0
    edit_probability: float = 0.5
    n_agents: int = 20
    suggest_source_probability: float = 0.5
    careless_flag_probability: float = 0.1
    median_seconds: float = 20.0
    time_sigma: float = 0.5

    def __post_init__(self) -> None:
        for name, (lo, hi, expected) in _RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"SimConfig: parameter '{name}' has the wrong type "
                                  f"(got {value!r}, expected a number, {expected})")
            if not (lo <= float(value) <= hi):  # also rejects NaN
                raise ConfigError(f"SimConfig: parameter '{name}' out of range "
                                  f"(got {value!r}, expected {expected})")
            object.__setattr__(self, name, float(value))
        n = self.n_agents
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= int(n) <= 9999:
            raise ConfigError(f"SimConfig: parameter 'n_agents' out of range "
                              f"(got {n!r}, expected an integer, 1 <= n_agents <= 9999)")
        object.__setattr__(self, "n_agents", int(n))
        m = self.median_seconds
        if (isinstance(m, bool) or not isinstance(m, (int, float))
                or not 0.0 < float(m) <= 3600.0):
            raise ConfigError(f"SimConfig: parameter 'median_seconds' out of range "
                              f"(got {m!r}, expected 0 < median_seconds <= 3600)")
        object.__setattr__(self, "median_seconds", float(m))

    def to_dict(self) -> Dict[str, Any]:
        """The parameters as a plain dict (``SimConfig.from_dict`` reads it back)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SimConfig":
        """A config from a dict of parameters (missing ones take their defaults).

        :raises ConfigError: an unknown parameter, or a value out of range.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        for key in d:
            if key not in names:
                raise ConfigError(f"SimConfig.from_dict: unknown parameter '{key}' "
                                  f"(expected one of {', '.join(names)})")
        return cls(**dict(d))


@dataclass(frozen=True)
class Agent:
    """One simulated agent: its id, flip rate and whether it is careless."""

    id: str
    noise: float
    careless: bool


# ----------------------------------------------------------------------------------------------
# helpers


def _rng(*parts: Any) -> np.random.Generator:
    """A numpy Generator seeded from a stable hash (blake2b) of the parts."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(str(p).encode("utf-8"))
        h.update(b"\x1f")
    return np.random.Generator(np.random.PCG64(int.from_bytes(h.digest(), "little")))


def _hash_key(*parts: Any) -> bytes:
    h = hashlib.blake2b(digest_size=8)
    for p in parts:
        h.update(str(p).encode("utf-8"))
        h.update(b"\x1f")
    return h.digest()


def citations(text: str, known: Optional[Collection[str]] = None) -> List[str]:
    """Distinct ``[doc_id]`` markers of a reply in order of appearance (only ids in ``known``
    when it is given)."""
    out: List[str] = []
    for m in _CITATION.finditer(text):
        d = m.group(1)
        if (known is None or d in known) and d not in out:
            out.append(d)
    return out


def _strip_markers(text: str, known: Optional[Collection[str]] = None) -> str:
    def repl(m: "re.Match[str]") -> str:
        return "" if known is None or m.group(1) in known else m.group(0)

    return re.sub(r"\s+", " ", _CITATION.sub(repl, text)).strip()


def _tokens(text: str) -> List[str]:
    return _WORD.findall(text.lower())


def token_f1(candidate: str, reference: str) -> float:
    """SQuAD token F1 between two texts: lowercased ``\\w+`` tokens, ``[doc_id]`` markers removed
    from both; 0 when either is empty."""
    a = _tokens(_strip_markers(candidate))
    b = _tokens(_strip_markers(reference))
    if not a or not b:
        return 0.0
    common = sum((Counter(a) & Counter(b)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(a), common / len(b)
    return 2 * precision * recall / (precision + recall)


def _sentences(text: str) -> List[str]:
    from ._core import split_sentences  # the generator's own sentence splitter (C++)

    return split_sentences(text)


_LEADING_MARKERS = re.compile(r"^(?:\s*\[[^\[\]\s]+\])+")


def _segments(text: str) -> List[str]:
    """A reply's sentences, each with the citation markers that follow it (a marker written
    after a sentence's final period belongs to that sentence)."""
    out: List[str] = []
    for s in _sentences(text):
        m = _LEADING_MARKERS.match(s)
        if m and out:
            out[-1] = f"{out[-1]} {m.group(0).strip()}"
            s = s[m.end():].strip()
        if s:
            out.append(s)
    return out


def _shorten(text: str, words: int) -> str:
    w = text.split()
    return " ".join(w) if len(w) <= words else " ".join(w[:words]) + " ..."


@dataclass(frozen=True)
class _Quality:
    cited: Tuple[str, ...]
    relevant_cited: int
    grounding: float
    f1: Optional[float]
    outside_kb: int  # cited documents not in the served KB

    @property
    def value(self) -> float:
        return self.grounding + (self.f1 or 0.0)

    @property
    def usable(self) -> bool:
        return self.grounding > 0 or (self.f1 is not None and self.f1 >= RESEMBLE_F1)


@dataclass(frozen=True)
class _JudgeQuality:
    cited: Tuple[str, ...]
    relevant_cited: int
    grounding: float
    content: float
    words: int

    @property
    def value(self) -> float:
        wrong = 1.0 - self.grounding if self.cited else 0.0
        return self.content - JUDGE_CITATION_PENALTY * wrong - JUDGE_LENGTH_PENALTY * self.words / 100.0

    @property
    def usable(self) -> bool:
        return self.value > 0


def _content_words(text: str) -> Set[str]:
    return {t for t in _tokens(_strip_markers(text)) if t not in _STOPWORDS}


def reply_quality(text: str, relevant: Collection[str], reference: Optional[str] = None,
                  known: Optional[Collection[str]] = None) -> float:
    """``grounding + f1`` of one reply (see the module docstring): the share of its cited
    documents that are in ``relevant``, plus the token F1 to ``reference`` when one is given.
    ``known``: the corpus ids (markers naming other ids are ignored)."""
    cited = citations(text, known)
    g = sum(1 for d in cited if d in relevant) / len(cited) if cited else 0.0
    return g + (token_f1(text, reference) if reference else 0.0)


# ----------------------------------------------------------------------------------------------
# knowledge-base gaps and query streams


def withhold(doc_ids: Iterable[str], fraction: float, seed: int = 0, *,
             group: Optional[Any] = None) -> Tuple[List[str], List[str]]:
    """Split document ids into (served, withheld): ``round(fraction * n)`` ids are withheld,
    those with the smallest blake2b hash of ``(seed, id)``; both lists keep the input order.

    With ``group`` (a function doc id -> group key, or a mapping; e.g. the entity of a DSTC11
    document, ``lambda d: ":".join(d.split(":")[:2])``) whole groups are withheld instead, so
    that a gap is a topic rather than scattered documents: groups in the order of the blake2b
    hash of ``(seed, key)``, until at least ``round(fraction * n)`` ids are withheld.

    The choice depends on the set of ids, not their order, and a larger fraction withholds a
    superset. :raises ConfigError: fraction outside [0, 1].
    """
    if (isinstance(fraction, bool) or not isinstance(fraction, (int, float))
            or not 0.0 <= fraction <= 1.0):
        raise ConfigError(f"sim.withhold: fraction out of range (got {fraction!r}, "
                          "expected 0 <= fraction <= 1)")
    ids = list(dict.fromkeys(doc_ids))
    k = int(round(fraction * len(ids)))
    if group is not None:
        key_of = group.__getitem__ if isinstance(group, Mapping) else group
        members: Dict[str, List[str]] = {}
        for d in ids:
            members.setdefault(str(key_of(d)), []).append(d)
        out = set()
        for g in sorted(members, key=lambda g: (_hash_key(seed, "withhold-group", g), g)):
            if len(out) >= k:
                break
            out.update(members[g])
        return [d for d in ids if d not in out], [d for d in ids if d in out]
    ranked = sorted(ids, key=lambda d: (_hash_key(seed, "withhold", d), d))
    out = set(ranked[:k])
    return [d for d in ids if d not in out], [d for d in ids if d in out]


def case_stream(queries: Mapping[str, str], n: int, seed: int = 0) -> Iterator[Tuple[str, str]]:
    """``n`` (case id, query text) pairs: the queries in a seeded random order, reshuffled for
    every further pass when ``n`` exceeds their number."""
    if n < 0:
        raise ConfigError(f"sim.case_stream: n must be >= 0 (got {n})")
    ids = sorted(queries)
    if not ids:
        return
    done, epoch = 0, 0
    while done < n:
        order = _rng(seed, "cases", epoch).permutation(len(ids))
        for i in order:
            if done == n:
                return
            yield ids[i], queries[ids[i]]
            done += 1
        epoch += 1


# ----------------------------------------------------------------------------------------------
# the agents


class Simulator:
    """A population of simulated agents annotating impressions against a dataset's ground truth.

    :param qrels: ``{case id: {doc id: grade}}`` (grade > 0 = relevant).
    :param corpus: the full corpus (a :class:`aitl.KnowledgeBase` or iterable of documents with
        ``.id``, ``.title``, ``.text``), used for titles of withheld documents and to recognise
        citation markers; ``None``: every marker counts as a citation.
    :param responses: ``{case id: reference reply}`` or ``None``.
    :param kb_doc_ids: ids of the documents in the served knowledge base (``None``: the whole
        corpus, or every judged document when there is no corpus).
    :param config: :class:`SimConfig` (defaults when ``None``). :param seed: the random seed.

    @note Thread safety: immutable after construction; ``annotate`` and ``judge`` may run
    concurrently.
    """

    def __init__(self, qrels: Mapping[str, Mapping[str, int]], *, corpus: Any = None,
                 responses: Optional[Mapping[str, str]] = None,
                 kb_doc_ids: Optional[Iterable[str]] = None,
                 config: Optional[SimConfig] = None, seed: int = 0) -> None:
        if config is None:
            config = SimConfig()
        if not isinstance(config, SimConfig):
            raise ConfigError(f"Simulator: config has the wrong type (got "
                              f"{type(config).__name__}, expected SimConfig)")
        self.config = config
        self.seed = int(seed)
        self._relevant: Dict[str, Set[str]] = {
            q: {d for d, g in docs.items() if g > 0} for q, docs in qrels.items()}
        self._responses: Dict[str, str] = {q: r for q, r in (responses or {}).items() if r}
        judged_docs = set().union(*self._relevant.values()) if self._relevant else set()
        self._titles: Dict[str, Tuple[str, str]] = {}
        self._corpus: Optional[Set[str]] = None
        if corpus is not None:
            self._corpus = set()
            for doc in corpus:
                self._corpus.add(doc.id)
                if doc.id in judged_docs:
                    self._titles[doc.id] = (doc.title, doc.text)
        if kb_doc_ids is None:
            self._kb: Set[str] = set(self._corpus) if self._corpus is not None else judged_docs
        else:
            self._kb = set(kb_doc_ids)
        self._agents = self._make_agents()
        self._agent_index = {a.id: i for i, a in enumerate(self._agents)}

    @classmethod
    def from_dataset(cls, dataset: Any, *, kb_doc_ids: Optional[Iterable[str]] = None,
                     config: Optional[SimConfig] = None, seed: int = 0) -> "Simulator":
        """Agents for a :class:`aitl.beir.BeirDataset` (its qrels, corpus and responses)."""
        return cls(dataset.qrels, corpus=dataset.kb, responses=dataset.responses,
                   kb_doc_ids=kb_doc_ids, config=config, seed=seed)

    # -- population --------------------------------------------------------------------------

    def _make_agents(self) -> List[Agent]:
        c = self.config
        n = c.n_agents
        width = max(2, len(str(n)))
        ids = [f"agent-{i + 1:0{width}d}" for i in range(n)]
        n_careless = int(round(c.careless_share * n))
        careless = set(_rng(self.seed, "careless").permutation(n)[:n_careless].tolist())
        if n > 1:
            rates = c.noise + c.noise_spread * np.linspace(-1.0, 1.0, n)
        else:
            rates = np.array([c.noise])
        rates = np.clip(rates, 0.0, 0.5)[_rng(self.seed, "noise").permutation(n)]
        return [Agent(ids[i], 0.5 if i in careless else float(rates[i]), i in careless)
                for i in range(n)]

    @property
    def agents(self) -> List[Agent]:
        """The population (``Agent(id, noise, careless)``; careless agents report noise 0.5)."""
        return list(self._agents)

    def agent_for(self, impression_id: str, agents: Optional[Sequence[str]] = None) -> Agent:
        """The agent who handles this impression, drawn uniformly from ``agents`` (ids; default
        every agent) with a generator seeded by ``(seed, impression id)``."""
        pool = self._pool(agents)
        i = int(_rng(self.seed, "agent", impression_id).integers(len(pool)))
        return pool[i]

    def _pool(self, agents: Optional[Sequence[str]]) -> List[Agent]:
        if agents is None:
            return self._agents
        if isinstance(agents, str):
            agents = [agents]
        pool = []
        for a in agents:
            if a not in self._agent_index:
                raise ConfigError(f"Simulator: unknown agent (got {a!r}, expected one of "
                                  f"{self._agents[0].id} .. {self._agents[-1].id})")
            pool.append(self._agents[self._agent_index[a]])
        if not pool:
            raise ConfigError("Simulator: empty agent pool (expected at least one agent id)")
        return pool

    # -- ground truth ------------------------------------------------------------------------

    def relevant(self, case_id: str) -> Set[str]:
        """The relevant documents of a case (qrels grade > 0), in the KB or not."""
        return set(self._relevant.get(case_id, ()))

    def missing(self, case_id: str) -> bool:
        """True when the case is judged, has relevant documents, and none is in the served KB."""
        rel = self._relevant.get(case_id)
        return bool(rel) and not (rel & self._kb)

    def quality(self, case_id: str, text: str) -> float:
        """``grounding + f1`` of a reply for this case (see the module docstring)."""
        return self._quality(case_id, text).value

    def judge_quality(self, case_id: str, text: str) -> float:
        """The judges' quality of a reply for this case (content - citation and length
        penalties, see the module docstring); not the annotators' :meth:`quality`."""
        return self._judge_quality(case_id, text).value

    def _judge_quality(self, case_id: str, text: str) -> _JudgeQuality:
        rel = self._relevant.get(case_id, set())
        cited = tuple(citations(text, self._corpus))
        n_rel = sum(1 for d in cited if d in rel)
        words = _content_words(text)
        ref = self._responses.get(case_id)
        if ref:
            key = _content_words(ref)
            content = len(key & words) / len(key) if key else 0.0
        else:
            key = set()
            for d in rel:
                if d in self._titles:
                    key |= _content_words(" ".join(self._titles[d]))
            content = len(words & key) / len(words) if key and words else 0.0
        return _JudgeQuality(cited=cited, relevant_cited=n_rel,
                             grounding=n_rel / len(cited) if cited else 0.0, content=content,
                             words=len(_tokens(_strip_markers(text))))

    def _quality(self, case_id: str, text: str) -> _Quality:
        rel = self._relevant.get(case_id, set())
        cited = tuple(citations(text, self._corpus))
        n_rel = sum(1 for d in cited if d in rel)
        ref = self._responses.get(case_id)
        return _Quality(cited=cited, relevant_cited=n_rel,
                        grounding=n_rel / len(cited) if cited else 0.0,
                        f1=token_f1(text, ref) if ref else None,
                        outside_kb=sum(1 for d in cited if d not in self._kb))

    # -- preference --------------------------------------------------------------------------

    def _prefer(self, agent: Agent, case_id: str, texts: Sequence[str], left: int,
                rng: np.random.Generator, judging: bool = False) -> Tuple[str, str, str]:
        """(choice, strength, rationale) of one agent; ``left`` is the slot shown on the left;
        ``judging``: weigh the replies with the judges' quality instead of the annotators'."""
        c = self.config
        if agent.careless:
            choice = str(rng.choice(["a", "b", "tie", "both_bad"], p=[0.4, 0.4, 0.1, 0.1]))
            strength = str(rng.choice(["slight", "clear", "strong"]))
            return choice, strength, ""
        quality = self._judge_quality if judging else self._quality
        qa, qb = quality(case_id, texts[0]), quality(case_id, texts[1])
        margin = qa.value - qb.value
        u_bias, u_noise = rng.random(), rng.random()
        if abs(margin) < TIE_MARGIN or not (qa.usable or qb.usable):
            if u_bias < c.position_bias:
                return "ab"[left], "slight", "Both are about the same; went with the first one."
            if not (qa.usable or qb.usable):
                return ("both_bad", "slight",
                        "Neither reply answers the question from the right article.")
            return "tie", "slight", "Both replies are equally good."
        winner = 0 if margin > 0 else 1
        m = abs(margin)
        strength = "slight" if m < CLEAR_MARGIN else "clear" if m < STRONG_MARGIN else "strong"
        if u_noise < agent.noise:
            winner, strength = 1 - winner, "slight"
        w, l = (qa, qb) if winner == 0 else (qb, qa)
        name, other = "AB"[winner], "AB"[1 - winner]
        if w.relevant_cited > l.relevant_cited or w.grounding > l.grounding:
            why = (f"{name} cites the right article; {other} cites {l.relevant_cited} relevant "
                   f"of {len(l.cited)}.")
        else:
            why = f"{name} is closer to what the customer needs."
        return "ab"[winner], strength, why

    def judge(self, case_id: str, reply_a: str, reply_b: str, *, left: str = "a",
              agents: Optional[Sequence[str]] = None, key: str = "") -> str:
        """One agent's verdict on a pair of replies, without storing anything.

        Judges weigh replies with :meth:`judge_quality` (answer content, wrong citations, length),
        not with the annotators' :meth:`quality` that the reward model learns from; margins,
        position bias and noise are the annotators' (see the module docstring).

        :param left: which reply is shown on the left ("a" or "b"; position bias favours it).
        :param agents: the pool to draw the agent from (e.g. held-out agents); default all.
        :param key: varies the draw (the agent and its noise) for repeated judgements of one
            pair; the verdict is a function of (seed, case, texts, left, key).
        :returns: "a", "b", "tie" or "both_bad".
        """
        if left not in ("a", "b"):
            raise ConfigError(f"Simulator.judge: left must be 'a' or 'b' (got {left!r})")
        digest = _hash_key(case_id, reply_a, reply_b, left, key).hex()
        agent = self.agent_for(f"judge:{digest}", agents)
        rng = _rng(self.seed, "judge", digest, "preference")
        return self._prefer(agent, case_id, [reply_a, reply_b], 0 if left == "a" else 1, rng,
                            judging=True)[0]

    # -- annotation --------------------------------------------------------------------------

    def annotate(self, impression: Mapping[str, Any], *, agents: Optional[Sequence[str]] = None,
                 agent: Optional[str] = None) -> List[Dict[str, Any]]:
        """The annotation dicts (JSON form) one agent leaves on one impression.

        :param impression: an impression dict (``id``, ``case_id``, ``timestamp_ms``, ``query``,
            ``shown``, ``replies`` with ``position`` are read).
        :param agents: draw the agent from these ids only. :param agent: force this agent.
        :returns: up to four dicts in the order knowledge_relevance, preference, adoption,
            missing_knowledge (skipped types and types that do not apply are left out).
        :raises ConfigError: the impression has no id, or an unknown agent id.
        """
        if hasattr(impression, "to_dict"):  # an aitl.Impression
            impression = impression.to_dict()
        imp_id = impression.get("id") or ""
        if not imp_id:
            raise ConfigError("Simulator.annotate: field 'id': empty (expected the impression "
                              "id; annotation ids are derived from it)")
        who = self._pool([agent])[0] if agent is not None else self.agent_for(imp_id, agents)
        case_id = impression["case_id"]
        shown = [c["doc_id"] for c in impression.get("shown", [])]
        replies = list(impression.get("replies", []))
        texts = [r["text"] for r in replies]
        left = next((i for i, r in enumerate(replies) if r.get("position", "left") == "left"), 0)
        c = self.config
        skip = _rng(self.seed, imp_id, "skip").random(len(KINDS)) < c.skip_rate
        out: List[Dict[str, Any]] = []
        clock = [0]
        t_rng = _rng(self.seed, imp_id, "time")

        def emit(kind: str, body: Dict[str, Any], factor: float = 1.0) -> None:
            seconds = c.median_seconds * _TIME_FACTOR[kind] * factor * float(
                np.exp(c.time_sigma * t_rng.standard_normal()))
            clock[0] += max(1, int(round(seconds * 1000)))
            rec = {"type": kind, "id": f"{imp_id}:{kind}", "impression_id": imp_id,
                   "annotator": who.id,
                   "timestamp_ms": int(impression.get("timestamp_ms", 0)) + clock[0],
                   "time_to_annotate_ms": clock[0], "weight": 1.0}
            rec.update(body)
            out.append(rec)

        # 1. knowledge relevance
        if not skip[0]:
            body = self._relevance(who, case_id, shown, _rng(self.seed, imp_id, "relevance"))
            if body["labels"] or body["selected"]:
                emit("knowledge_relevance", body)
        # 2. preference, 3. adoption
        choice: Optional[str] = None
        if len(texts) == 2:
            choice, strength, why = self._prefer(who, case_id, texts, left,
                                                 _rng(self.seed, imp_id, "preference"))
            if not skip[1]:
                emit("preference", {"choice": choice, "strength": strength, "rationale": why})
        if texts and not skip[2]:
            body = self._adoption(who, case_id, texts, left, choice,
                                  _rng(self.seed, imp_id, "adoption"))
            emit("adoption", body, 1.5 if body["outcome"] == "used_with_edits" else 1.0)
        # 4. missing knowledge
        if not skip[3]:
            body = self._missing(who, case_id, impression.get("query", ""),
                                 _rng(self.seed, imp_id, "missing"))
            if body is not None:
                emit("missing_knowledge", body)
        return out

    def annotate_many(self, impressions: Iterable[Mapping[str, Any]], *,
                      agents: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
        """``annotate`` for every impression, concatenated."""
        out: List[Dict[str, Any]] = []
        for imp in impressions:
            out.extend(self.annotate(imp, agents=agents))
        return out

    def _relevance(self, who: Agent, case_id: str, shown: Sequence[str],
                   rng: np.random.Generator) -> Dict[str, Any]:
        rel = self._relevant.get(case_id, set())
        u = rng.random(len(shown))
        if who.careless:
            labels = [{"doc_id": d, "relevant": bool(u[i] < 0.5)} for i, d in enumerate(shown)]
            return {"labels": labels, "selected": []}
        labels = [{"doc_id": d, "relevant": (d in rel) != bool(u[i] < who.noise)}
                  for i, d in enumerate(shown)]
        selected: List[str] = []
        if rng.random() < self.config.select_probability:
            shown_set = set(shown)
            pool = sorted(d for d in rel if d in self._kb and d not in shown_set)
            if pool:
                selected.append(pool[int(rng.integers(len(pool)))])
        return {"labels": labels, "selected": selected}

    def _edited(self, case_id: str, text: str) -> str:
        ref = self._responses.get(case_id)
        if ref:
            return ref
        rel = self._relevant.get(case_id, set())
        keep = [s for s in _segments(text) if any(d in rel for d in citations(s, self._corpus))]
        edited = _strip_markers(" ".join(keep) if keep else text, self._corpus)
        return edited or _FALLBACK_REPLY

    def _adoption(self, who: Agent, case_id: str, texts: Sequence[str], left: int,
                  choice: Optional[str], rng: np.random.Generator) -> Dict[str, Any]:
        c = self.config
        if who.careless:
            slot = int(rng.integers(len(texts)))
            outcome = str(rng.choice(["used_as_is", "used_with_edits", "not_used"]))
            body: Dict[str, Any] = {"outcome": outcome, "reply": slot, "final_text": "",
                                    "reasons": [], "rationale": ""}
            if outcome == "used_with_edits":
                body["final_text"] = _strip_markers(texts[slot], self._corpus) or _FALLBACK_REPLY
            elif outcome == "not_used":
                body["reasons"] = [str(rng.choice(["missing_information", "not_applicable",
                                                   "tone", "too_long", "other"]))]
            return body
        qs = [self._quality(case_id, t) for t in texts]
        if choice in ("a", "b"):
            slot = "ab".index(choice)
        elif len(qs) == 2 and abs(qs[0].value - qs[1].value) >= TIE_MARGIN:
            slot = 0 if qs[0].value > qs[1].value else 1
        else:
            slot = left if len(texts) == 2 else 0
        q = qs[slot]
        u = rng.random()
        if q.usable:
            if q.cited and q.relevant_cited == len(q.cited) and u >= c.edit_probability:
                return {"outcome": "used_as_is", "reply": slot, "final_text": "", "reasons": [],
                        "rationale": ""}
            reasons = ["wrong_reference"] if q.relevant_cited < len(q.cited) else ["tone"]
            why = ("Removed the parts backed by the wrong article."
                   if reasons[0] == "wrong_reference" else "Reworded it for the customer.")
            return {"outcome": "used_with_edits", "reply": slot,
                    "final_text": self._edited(case_id, texts[slot]), "reasons": reasons,
                    "rationale": why}
        rel_in_kb = self._relevant.get(case_id, set()) & self._kb
        if q.outside_kb:
            reasons = ["hallucinated_detail"]
            why = "Cites an article that is not in our knowledge base."
        elif not rel_in_kb:
            reasons, why = ["missing_information"], "We have no article that answers this."
        elif q.cited:
            reasons = ["not_applicable", "wrong_reference"]  # the enum's order (stores keep it)
            why = "The cited article is about something else."
        else:
            reasons, why = ["missing_information"], "Does not answer the question."
        return {"outcome": "not_used", "reply": slot, "final_text": "", "reasons": reasons,
                "rationale": why}

    def _missing(self, who: Agent, case_id: str, query: str,
                 rng: np.random.Generator) -> Optional[Dict[str, Any]]:
        c = self.config
        u_flag, u_template, u_source = rng.random(), rng.random(), rng.random()
        if who.careless:
            if u_flag >= c.careless_flag_probability:
                return None
            subject = ""
            source = ""
        else:
            if not self.missing(case_id) or u_flag >= c.missing_report_probability:
                return None
            withheld = sorted(self._relevant[case_id])
            doc = withheld[int(rng.integers(len(withheld)))]
            title, text = self._titles.get(doc, ("", ""))
            subject = title.strip()
            source = ""
            if u_source < c.suggest_source_probability:
                source = subject or _shorten(text, 8) or doc
        lines = [l.strip() for l in query.splitlines() if l.strip()]
        asked = _shorten(lines[-1] if lines else query.strip(), 25) or case_id
        templates = ["No article covers: {q}", "KB has nothing on this question: {q}",
                     "Could not find an article answering: {q}"]
        desc = templates[int(u_template * len(templates)) % len(templates)].format(q=asked)
        if subject and subject.lower() not in asked.lower():
            desc += f" (about {subject})"
        return {"description": desc, "suggested_source": source}


# ----------------------------------------------------------------------------------------------
# the placeholder copilot


class BaseSystem:
    """A placeholder copilot serving impressions: BM25 over the served KB, top-``k_retrieve``
    retrieved, the first ``k_show`` shown (identity reranker), two extractive replies.

    Replies: ``"top1"`` = the first two sentences of the best shown document + ``[doc_id]``;
    ``"top3"`` = the first sentence of each of the top 3 shown documents, each followed by its
    ``[doc_id]``. Which one is on the left is drawn per impression (seeded). Impression ``n``
    (0-based, counted per system) gets id ``f"imp-{seed}-{n}"`` and timestamp
    ``start_ms + n * interval_ms + jitter`` (jitter uniform in [0, interval_ms), seeded by
    ``(seed, n)``), so ids and times are strictly increasing and reproducible.

    :param kb: the corpus (:class:`aitl.KnowledgeBase` or iterable of documents).
    :param doc_ids: the ids to serve (e.g. from :func:`withhold`); ``None``: all.
    :param retriever: the first stage instead of BM25 over the served KB: any object with
        ``search(query, k)`` (and optionally ``search_batch(queries, k, threads)``) returning
        ranked :class:`aitl.Hit` s, e.g. an :class:`aitl.HybridRetriever` of BM25 and a MiniLM
        :class:`aitl.DenseRetriever` (what ``aitl learn --base hybrid-minilm`` serves with).
        Hits outside the served KB are dropped. ``None``: BM25 (the default).
    :param retriever_version: the impressions' ``models["retriever"]`` (default ``"bm25@0"``;
        with a ``retriever``: its ``version`` attribute, else ``"custom@0"``).

    @note Thread safety: not thread-safe (serving advances a counter).
    """

    def __init__(self, kb: Any, *, doc_ids: Optional[Iterable[str]] = None, seed: int = 0,
                 k_retrieve: int = 75, k_show: int = 8, start_ms: int = EPOCH_MS,
                 interval_ms: int = 60_000, retriever: Any = None,
                 retriever_version: Optional[str] = None) -> None:
        from ._core import BM25

        for name, v, lo in (("k_retrieve", k_retrieve, 1), ("k_show", k_show, 1),
                            ("interval_ms", interval_ms, 1), ("start_ms", start_ms, 0)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ConfigError(f"BaseSystem: parameter '{name}' out of range "
                                  f"(got {v!r}, expected an integer >= {lo})")
        if k_show > k_retrieve:
            raise ConfigError(f"BaseSystem: parameter 'k_show' out of range (got {k_show}, "
                              f"expected <= k_retrieve = {k_retrieve})")
        keep = None if doc_ids is None else set(doc_ids)
        docs = [d for d in kb if keep is None or d.id in keep]
        self.seed = int(seed)
        self.k_retrieve, self.k_show = int(k_retrieve), int(k_show)
        self.start_ms, self.interval_ms = int(start_ms), int(interval_ms)
        self.served = 0
        self._text = {d.id: d.text for d in docs}
        if retriever is not None and not callable(getattr(retriever, "search", None)):
            raise ConfigError(f"BaseSystem: parameter 'retriever' has no search method (got "
                              f"{type(retriever).__name__}, expected an object with "
                              ".search(query, k))")
        self._models = dict(MODELS)
        if retriever is None:
            self._retriever = BM25()
            if docs:
                self._retriever.add_documents(docs)
            self._filter = False
        else:
            self._retriever = retriever
            self._filter = keep is not None
        self._models["retriever"] = (retriever_version if retriever_version is not None else
                                     "bm25@0" if retriever is None else
                                     str(getattr(retriever, "version", "custom@0")))
        self.retriever = self._retriever

    def __len__(self) -> int:
        return len(self._text)

    def replies(self, shown: Sequence[str]) -> List[Tuple[str, str]]:
        """The two (variant, text) replies for shown doc ids, best first."""
        if not shown:
            return [("top1", _FALLBACK_REPLY), ("top3", _FALLBACK_REPLY)]
        best = _sentences(self._text[shown[0]]) or [self._text[shown[0]].strip() or shown[0]]
        top1 = f"{' '.join(best[:2])} [{shown[0]}]"
        parts = []
        for d in shown[:3]:
            s = _sentences(self._text[d])
            parts.append(f"{s[0] if s else d} [{d}]")
        return [("top1", top1), ("top3", " ".join(parts))]

    def _impression(self, case_id: str, query: str, hits: Sequence[Any]) -> Dict[str, Any]:
        n = self.served
        self.served += 1
        imp_id = f"imp-{self.seed}-{n}"
        rng = _rng(self.seed, "serve", n)
        ts = self.start_ms + n * self.interval_ms + int(rng.integers(self.interval_ms))
        retrieved = [{"doc_id": h.id, "rank": i + 1, "score": float(h.score)}
                     for i, h in enumerate(hits)]
        shown = [dict(c) for c in retrieved[:self.k_show]]
        left = int(rng.integers(2))
        replies = [{"variant": v, "position": "left" if slot == left else "right", "text": t}
                   for slot, (v, t) in enumerate(self.replies([c["doc_id"] for c in shown]))]
        return {"type": "impression", "id": imp_id, "case_id": case_id, "turn": 0,
                "timestamp_ms": ts, "query": query, "context": [], "retrieved": retrieved,
                "shown": shown, "replies": replies, "models": dict(self._models)}

    def serve(self, case_id: str, query: str) -> Dict[str, Any]:
        """Retrieve, show and reply for one case: the impression dict (JSON form)."""
        hits = (self._retriever.search(query, self.k_retrieve)
                if self._text and query.strip() else [])
        return self._impression(case_id, query, self._served(hits))

    def _served(self, hits: Sequence[Any]) -> List[Any]:
        return [h for h in hits if h.id in self._text] if self._filter else list(hits)

    def serve_many(self, cases: Iterable[Tuple[str, str]],
                   threads: int = 0) -> List[Dict[str, Any]]:
        """``serve`` for (case id, query) pairs, searching them as one parallel batch."""
        cases = list(cases)
        if self._text:
            queries = [q if q.strip() else "-" for _, q in cases]
            batch = getattr(self._retriever, "search_batch", None)
            hits = (batch(queries, self.k_retrieve, threads) if callable(batch) else
                    [self._retriever.search(q, self.k_retrieve) for q in queries])
        else:
            hits = [[] for _ in cases]
        return [self._impression(cid, q, self._served(h) if q.strip() else [])
                for (cid, q), h in zip(cases, hits)]
