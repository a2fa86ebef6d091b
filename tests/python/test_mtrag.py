"""aitl.mtrag: MTRAG human-evaluation loader (tasks, replies, pairwise human verdicts) and the
reward model checked against those real human preferences."""
from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path

import pytest

import aitl
from aitl import mtrag

from conftest import REPO, data_root


@pytest.fixture(scope="module")
def mtrag_file() -> Path:
    path = mtrag.default_path(data_root())
    if not path.is_file():
        pytest.skip(f"MTRAG human evaluation not found at {path} (set AITL_DATA_DIR)")
    return path


@pytest.fixture(scope="module")
def ds(mtrag_file):
    return mtrag.load(mtrag_file)


def test_loads_the_tasks_replies_and_verdicts(ds, mtrag_file):
    assert len(ds.tasks) == 159 and len(ds.conversations()) == 20
    assert len(ds.comparisons) == 1_089
    assert Counter(c.verdict for c in ds.comparisons)["tie"] == 70
    assert len({(c.task_id, c.annotator) for c in ds.comparisons}) == 363
    raw = json.loads(mtrag_file.read_text(encoding="utf-8"))
    t0, task = raw["tasks"][0], ds.tasks[0]
    assert task.task_id == t0["task_id"] and task.conversation_id == t0["task_id"].split("<::>")[0]
    assert task.question == " ".join(t0["input"][-1]["text"].split())
    assert len(task.prompt.split("\n")) == len([t for t in t0["input"] if t["text"].strip()])
    assert [r.model_id for r in task.responses] == ["reference", "llama-3.1-405b-instruct", "gpt-4o"]
    assert len(task.references) == len(t0["contexts"])
    doc = next(d for d in raw["documents"] if d["document_id"] == t0["contexts"][0]["document_id"])
    assert task.references[0] == f"[{doc['document_id']}] {doc['title']}\n{doc['text']}"
    # each annotator's three replies give three verdicts, pairs in file order
    c = ds.comparisons[0]
    assert (c.reply_a, c.reply_b) == (0, 1)
    wr = {e["model_id"]: e["annotations"]["win-rate"][c.annotator]["value"]
          for e in raw["evaluations"] if e["task_id"] == c.task_id}
    a, b = wr["reference"], wr["llama-3.1-405b-instruct"]
    assert c.verdict == ("a" if a > b else "b" if b > a else "tie")
    # facts of the data: the human reference wins most of its pairs, shorter replies win more
    nt = ds.non_tied()
    ref_pairs = [x for x in nt if x.reply_a == 0]
    assert (len(ref_pairs), sum(x.verdict == "a" for x in ref_pairs)) == (688, 412)
    longer = sum(len(ds.texts(x)[0].split()) > len(ds.texts(x)[1].split()) for x in nt if x.verdict == "a") + \
        sum(len(ds.texts(x)[1].split()) > len(ds.texts(x)[0].split()) for x in nt if x.verdict == "b")
    assert longer / len(nt) == pytest.approx(0.41, abs=0.005)  # strictly longer wins; equal lengths count 0


def test_preference_pairs_drop_ties_or_weigh_them(ds):
    nt = ds.non_tied()
    pairs, refs = mtrag.preference_pairs(ds, nt)
    assert len(pairs) == len(refs) == 1_019
    c, p = nt[0], pairs[0]
    assert p.chosen == ds.texts(c)[0 if c.verdict == "a" else 1]
    assert p.prompt == ds.task(c.task_id).prompt and p.weight == 1.0
    assert p.impression_id == f"{c.task_id}/{c.annotator}"
    with_ties, _ = mtrag.preference_pairs(ds, ds.comparisons, tie_weight=1.0)
    assert len(with_ties) == 1_019 + 2 * 70
    assert sorted({p.weight for p in with_ties}) == [0.5, 1.0]
    with pytest.raises(aitl.ConfigError, match="tie_weight"):
        mtrag.preference_pairs(ds, nt, tie_weight=-1.0)


def test_reward_model_trained_on_human_pairs_beats_length_by_conversation(ds):
    """Grouped 5-fold CV by conversation (default settings, no inner l2 search): the reward
    model ranks the human winner above always-longer and above 0.60 (bench_reward_mtrag.py runs
    the full protocol with intervals)."""
    spec = importlib.util.spec_from_file_location("bench_reward_mtrag", REPO / "bench" / "bench_reward_mtrag.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    nt = ds.non_tied()
    fold = bench.grouped_folds([c.conversation_id for c in nt], 5, 0)
    right = 0.0
    for k in range(5):
        tr = [c for c in nt if fold[c.conversation_id] != k]
        te = [c for c in nt if fold[c.conversation_id] == k]
        rm = bench.train_mtrag(ds, tr, 0.01)
        right += bench.credits(ds, te, bench.model_scorer(rm)).sum()
    acc = right / len(nt)
    longer = bench.credits(ds, nt, lambda t, i: len(t.responses[i].text.split())).mean()
    assert acc >= 0.60, acc
    assert acc >= longer + 0.05, (acc, longer)
    lo, hi = bench.bootstrap(bench.credits(ds, nt, lambda t, i: -i), [c.conversation_id for c in nt], 200, 0)
    assert 0 < lo < hi < 1


# -- malformed input -------------------------------------------------------------------------


def _minimal() -> dict:
    wr = lambda v: {"win-rate": {"ann-1": {"value": v}}}  # noqa: E731
    return {"documents": [{"document_id": "doc-1", "title": "Parking", "text": "Free parking."}],
            "tasks": [{"task_id": "conv-1<::>1", "contexts": [{"document_id": "doc-1"}],
                       "input": [{"speaker": "user", "text": "Hi"}, {"speaker": "agent", "text": "Hello!\nHow can I help?"},
                                 {"speaker": "user", "text": "  is   parking free? "}]}],
            "evaluations": [{"task_id": "conv-1<::>1", "model_id": "m1", "model_response": "Yes.", "annotations": wr(100.0)},
                            {"task_id": "conv-1<::>1", "model_id": "m2", "model_response": "No.", "annotations": wr(0.0)},
                            {"task_id": "conv-1<::>1", "model_id": "m3", "model_response": "Maybe.", "annotations": wr(0.0)}]}


def _write(tmp_path: Path, data) -> Path:
    p = tmp_path / "eval.json"
    p.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return p


def test_a_minimal_file_and_its_prompt_form(tmp_path):
    ds = mtrag.load(_write(tmp_path, _minimal()))
    t = ds.tasks[0]
    assert t.prompt == "Hi\nHello! How can I help?\nis parking free?"
    assert t.question == "is parking free?" and t.conversation_id == "conv-1"
    assert t.references == ("[doc-1] Parking\nFree parking.",)
    assert [(c.reply_a, c.reply_b, c.verdict) for c in ds.comparisons] == [(0, 1, "a"), (0, 2, "a"), (1, 2, "tie")]
    rm = aitl.RewardModel()
    assert len(rm.features(t.prompt, t.responses[0].text, list(t.references))) == len(rm.feature_names())


@pytest.mark.parametrize("edit, field", [
    (lambda d: d["evaluations"][1]["annotations"]["win-rate"]["ann-1"].update(value=70.0),
     "evaluations[1].annotations.win-rate.ann-1.value"),
    (lambda d: d["evaluations"][0]["annotations"]["win-rate"]["ann-1"].update(value="high"),
     "evaluations[0].annotations.win-rate.ann-1.value"),
    (lambda d: d["tasks"][0]["contexts"][0].update(document_id="nope"), "tasks[0].contexts[0].document_id"),
    (lambda d: d["tasks"][0]["input"].pop(), "tasks[0].input[1]"),
    (lambda d: d["tasks"][0]["input"][0].pop("text"), "tasks[0].input[0].text"),
    (lambda d: d["evaluations"][2].update(task_id="other"), "evaluations[2].task_id"),
    (lambda d: d.pop("documents"), "documents"),
    (lambda d: d["evaluations"][0].pop("model_response"), "evaluations[0].model_response"),
])
def test_malformed_fields_raise_parse_error_naming_file_and_field(tmp_path, edit, field):
    d = _minimal()
    edit(d)
    path = _write(tmp_path, d)
    with pytest.raises(aitl.ParseError) as e:
        mtrag.load(path)
    assert e.value.field == field and e.value.file == str(path)
    assert f"field '{field}'" in str(e.value) and str(path) in str(e.value)
    assert isinstance(e.value, ValueError)


def test_unreadable_input(tmp_path):
    with pytest.raises(aitl.IoError, match="not found") as e:
        mtrag.load(tmp_path / "missing.json")
    assert isinstance(e.value, OSError)
    with pytest.raises(aitl.ParseError, match="not valid JSON"):
        mtrag.load(_write(tmp_path, "{not json"))
    with pytest.raises(aitl.ParseError, match="expected an object"):
        mtrag.load(_write(tmp_path, "[1, 2]"))
