"""Real human preferences from MTRAG's human evaluation, as a check on the reward model.

Input: ``reference_subset_with_human_evaluations.json`` from
https://github.com/IBM/mt-rag-benchmark (``mtrag-human/evaluations/``; Katsis et al., "MTRAG: A
Multi-Turn Conversational Benchmark for Evaluating Retrieval-Augmented Generation Systems",
TACL 2025). The file is read in place, never copied.

What the file holds, and what :func:`load` makes of it:

Tasks (``tasks[i]``)
    A multi-turn conversation prefix (``input``: turns ``{"speaker", "text"}`` ending in a user
    turn) with its reference passages (``contexts[j].document_id`` -> ``documents``, each with
    ``title`` and ``text``). :class:`Task` carries

    - ``prompt``: the turns, each on one line (whitespace collapsed), joined by ``"\\n"``: the
      last line is the question, the lines before it the conversation, the form
      ``RewardModel`` expects (``make_prompt`` in learn/compile.hpp);
    - ``references``: ``"[document_id] title\\ntext"`` per passage, in ``contexts`` order;
    - ``conversation_id``: the ``task_id`` before ``"<::>"`` (tasks of one conversation share
      it; group cross-validation folds by it);
    - ``responses``: the evaluated replies (``evaluations`` of the task, in file order).
      ``targets`` (the reference reply again) is not read.

Comparisons
    Each response has, per annotator, a head-to-head ``win-rate`` of 0, 50 or 100
    (``evaluations[k].annotations["win-rate"][annotator]["value"]``). For every annotator who
    rated all responses of a task and every pair of responses (i < j in file order), the
    response with the higher win-rate wins; equal values are a tie. The file gives 159 tasks
    (20 conversations), 363 (task, annotator) triples and 1,089 comparisons, 70 of them ties.

The other per-response annotations (Rouge-L, BERT scores, naturalness, faithfulness, ...) are
not read: several are computed against the reference reply and would leak it.

    >>> from aitl import mtrag
    >>> ds = mtrag.load("/path/to/reference_subset_with_human_evaluations.json")
    >>> len(ds.tasks), len(ds.comparisons)
    (159, 1089)
    >>> pairs, refs = mtrag.preference_pairs(ds, ds.non_tied())
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ._core import ConfigError, IoError, ParseError
from .beir import _load_json

PathLike = Union[str, "os.PathLike[str]"]

FILE_NAME = "reference_subset_with_human_evaluations.json"
DATA_FOLDER = "mtrag-human-eval"
VERDICTS = ("a", "b", "tie")

__all__ = ["Comparison", "Dataset", "Response", "Task", "default_path", "load", "preference_pairs"]


@dataclass(frozen=True)
class Response:
    """One evaluated reply: ``model_id`` as in the file ("reference" for the human reply)."""

    model_id: str
    text: str


@dataclass(frozen=True)
class Task:
    """One generation task: conversation prefix, reference passages, evaluated replies."""

    task_id: str
    conversation_id: str
    prompt: str
    references: Tuple[str, ...]
    responses: Tuple[Response, ...]
    answerability: Tuple[str, ...] = ()
    collection: str = ""

    @property
    def question(self) -> str:
        """The last line of ``prompt``: the user question to answer."""
        return self.prompt.rsplit("\n", 1)[-1]


@dataclass(frozen=True)
class Comparison:
    """One annotator's verdict on two replies of one task.

    ``reply_a`` / ``reply_b`` index ``Task.responses`` (``reply_a < reply_b``: the order of the
    file); ``verdict`` is "a", "b" or "tie".
    """

    task_id: str
    conversation_id: str
    annotator: str
    reply_a: int
    reply_b: int
    verdict: str


@dataclass
class Dataset:
    """Tasks and comparisons of one file (:func:`load`)."""

    path: str
    tasks: List[Task]
    comparisons: List[Comparison]

    def __post_init__(self) -> None:
        self._by_id = {t.task_id: t for t in self.tasks}

    def task(self, task_id: str) -> Task:
        """The task of that id. :raises KeyError: unknown id."""
        return self._by_id[task_id]

    def texts(self, c: Comparison) -> Tuple[str, str]:
        """The two reply texts of a comparison, (reply_a, reply_b)."""
        t = self._by_id[c.task_id]
        return t.responses[c.reply_a].text, t.responses[c.reply_b].text

    def non_tied(self) -> List[Comparison]:
        """The comparisons with a winner ("a" or "b"), in order."""
        return [c for c in self.comparisons if c.verdict != "tie"]

    def conversations(self) -> List[str]:
        """The distinct conversation ids, in order of first task."""
        return list(dict.fromkeys(t.conversation_id for t in self.tasks))


def default_path(data_dir: Optional[PathLike] = None) -> Path:
    """``<data_dir>/mtrag-human-eval/reference_subset_with_human_evaluations.json``; data_dir
    defaults to ``$AITL_DATA_DIR``, else ``../shared/data`` next to the repository."""
    if data_dir is None:
        data_dir = os.environ.get("AITL_DATA_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "data")
    return Path(data_dir) / DATA_FOLDER / FILE_NAME


def _parse_error(file: PathLike, field: str, what: str, line: int = 0) -> ParseError:
    """:func:`aitl.beir._parse_error` with the field first (this file is one JSON document)."""
    from .beir import _parse_error as parse_error

    return parse_error(file, line, field, what)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def get(self, obj: Any, key: str, field: str, kind: type) -> Any:
        if not isinstance(obj, dict) or key not in obj:
            raise _parse_error(self.path, field, f"missing (expected a {kind.__name__})")
        v = obj[key]
        if kind is float and isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        if not isinstance(v, kind):
            raise _parse_error(self.path, field, f"wrong type (got {type(v).__name__}, expected {kind.__name__})")
        return v


def load(path: PathLike) -> Dataset:
    """Reads the MTRAG human-evaluation file (see the module docstring).

    :raises IoError: the file is missing or unreadable.
    :raises ParseError: not JSON, or a field is missing or malformed (file and field named,
        e.g. ``evaluations[12].annotations.win-rate.46542882.value``): a turn that is not
        ``{"speaker", "text"}``, a conversation not ending in a user turn, a context naming an
        unknown document, an evaluation of an unknown task, a win-rate other than 0, 50, 100.
    """
    p = Path(path)
    if not p.is_file():
        raise IoError(f"mtrag.load: file not found (got {p}, expected {FILE_NAME} from "
                      "mt-rag-benchmark/mtrag-human/evaluations)")
    raw = _load_json(p, "mtrag.load")
    r = _Reader(p)
    if not isinstance(raw, dict):
        raise _parse_error(p, "", f"wrong type (got {type(raw).__name__}, expected an object with "
                                  "'documents', 'tasks', 'evaluations')")

    docs: Dict[str, str] = {}
    for i, d in enumerate(r.get(raw, "documents", "documents", list)):
        f = f"documents[{i}]"
        did = r.get(d, "document_id", f + ".document_id", str)
        title = r.get(d, "title", f + ".title", str) if isinstance(d, dict) and "title" in d else ""
        docs[did] = f"[{did}] {_one_line(title)}\n{r.get(d, 'text', f + '.text', str)}"

    evals: Dict[str, List[Tuple[int, Response, Dict[str, float]]]] = {}
    task_ids = set()
    raw_tasks = r.get(raw, "tasks", "tasks", list)
    for i, t in enumerate(raw_tasks):
        task_ids.add(r.get(t, "task_id", f"tasks[{i}].task_id", str))
    for k, e in enumerate(r.get(raw, "evaluations", "evaluations", list)):
        f = f"evaluations[{k}]"
        tid = r.get(e, "task_id", f + ".task_id", str)
        if tid not in task_ids:
            raise _parse_error(p, f + ".task_id", f"unknown task (got '{tid}', expected a tasks[].task_id)")
        resp = Response(r.get(e, "model_id", f + ".model_id", str), r.get(e, "model_response", f + ".model_response", str))
        ann = r.get(e, "annotations", f + ".annotations", dict)
        wins: Dict[str, float] = {}
        for annotator, v in r.get(ann, "win-rate", f + ".annotations.win-rate", dict).items():
            field = f"{f}.annotations.win-rate.{annotator}.value"
            value = r.get(v, "value", field, float)
            if value not in (0.0, 50.0, 100.0):
                raise _parse_error(p, field, f"out of range (got {value:g}, expected 0, 50 or 100)")
            wins[annotator] = value
        evals.setdefault(tid, []).append((k, resp, wins))

    tasks: List[Task] = []
    comparisons: List[Comparison] = []
    for i, t in enumerate(raw_tasks):
        f = f"tasks[{i}]"
        tid = t["task_id"]
        turns = r.get(t, "input", f + ".input", list)
        if not turns:
            raise _parse_error(p, f + ".input", "empty (expected the conversation turns, the last by the user)")
        lines = []
        for j, turn in enumerate(turns):
            speaker = r.get(turn, "speaker", f"{f}.input[{j}].speaker", str)
            text = _one_line(r.get(turn, "text", f"{f}.input[{j}].text", str))
            if j + 1 == len(turns) and (speaker != "user" or not text):
                raise _parse_error(p, f"{f}.input[{j}]", f"the last turn must be a non-empty user turn "
                                                          f"(got speaker '{speaker}', {len(text)} characters)")
            if text:
                lines.append(text)
        refs = []
        for j, c in enumerate(r.get(t, "contexts", f + ".contexts", list)):
            did = r.get(c, "document_id", f"{f}.contexts[{j}].document_id", str)
            if did not in docs:
                raise _parse_error(p, f"{f}.contexts[{j}].document_id",
                                   f"unknown document (got '{did}', expected a documents[].document_id)")
            refs.append(docs[did])
        rated = evals.get(tid, [])
        answerability = t.get("Answerability", [])
        task = Task(task_id=tid, conversation_id=tid.split("<::>", 1)[0], prompt="\n".join(lines),
                    references=tuple(refs), responses=tuple(x[1] for x in rated),
                    answerability=tuple(a for a in answerability if isinstance(a, str)) if isinstance(answerability, list) else (),
                    collection=t.get("Collection", "") if isinstance(t.get("Collection", ""), str) else "")
        tasks.append(task)
        if not rated:
            continue
        annotators = [a for a in rated[0][2] if all(a in x[2] for x in rated)]
        for a in annotators:
            for x in range(len(rated)):
                for y in range(x + 1, len(rated)):
                    wx, wy = rated[x][2][a], rated[y][2][a]
                    verdict = "a" if wx > wy else "b" if wy > wx else "tie"
                    comparisons.append(Comparison(tid, task.conversation_id, a, x, y, verdict))
    return Dataset(path=str(p), tasks=tasks, comparisons=comparisons)


def preference_pairs(dataset: Dataset, comparisons: Sequence[Comparison],
                     tie_weight: float = 0.0) -> Tuple[List[Any], List[List[str]]]:
    """Training pairs for ``RewardModel.train`` from comparisons, and their references.

    A comparison with a winner gives one ``PreferencePair`` (prompt = the task's prompt, chosen
    = the winner, weight 1, source "preference", impression_id ``"<task_id>/<annotator>"``).
    A tie gives two pairs (each order) of weight ``tie_weight / 2`` when ``tie_weight > 0``
    (their gradients cancel: they only pull the score difference towards 0); by default ties
    are dropped. The second list holds each pair's references (the task's).

    :raises ConfigError: tie_weight is negative or not finite.
    """
    import math

    from ._core import PreferencePair

    if not (math.isfinite(tie_weight) and tie_weight >= 0):
        raise ConfigError(f"mtrag.preference_pairs: tie_weight out of range (got {tie_weight}, expected finite, >= 0)")
    pairs, refs = [], []

    def add(task: Task, c: Comparison, chosen: int, rejected: int, weight: float) -> None:
        pp = PreferencePair()
        pp.impression_id = f"{c.task_id}/{c.annotator}"
        pp.prompt = task.prompt
        pp.chosen, pp.rejected = task.responses[chosen].text, task.responses[rejected].text
        pp.weight = weight
        pp.source = "preference"
        pairs.append(pp)
        refs.append(list(task.references))

    for c in comparisons:
        task = dataset.task(c.task_id)
        if c.verdict == "a":
            add(task, c, c.reply_a, c.reply_b, 1.0)
        elif c.verdict == "b":
            add(task, c, c.reply_b, c.reply_a, 1.0)
        elif tie_weight > 0:
            add(task, c, c.reply_a, c.reply_b, tie_weight / 2)
            add(task, c, c.reply_b, c.reply_a, tie_weight / 2)
    return pairs, refs
