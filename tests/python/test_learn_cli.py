"""`aitl learn`: the offline lift experiment (split, serve + annotate, train, evaluate)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aitl import learn

REPO = Path(__file__).resolve().parents[2]
HELPCENTRE = REPO / "examples" / "data" / "helpcentre"
METRICS = ["recall@75", "precision@8", "ndcg@10", "mrr@10"]


def run_aitl(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aitl", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)


def check_shape(rep: dict) -> None:
    for key in ("base", "trained"):
        assert list(rep[key]) == METRICS
        assert all(0.0 <= rep[key][m] <= 1.0 for m in METRICS), rep[key]
    assert list(rep["ci95"]) == METRICS
    for m in METRICS:
        lo, hi = rep["ci95"][m]
        assert -1.0 <= lo <= hi <= 1.0
    assert set(rep["queries"]) == {"feedback", "eval"}
    assert rep["queries"]["feedback"] > 0 and rep["queries"]["eval"] > 0
    assert isinstance(rep["annotations"], int) and rep["annotations"] > 0


def test_learn_on_the_helpcentre_example_writes_the_report(tmp_path: Path):
    out = tmp_path / "report.json"
    proc = run_aitl("learn", "--data", HELPCENTRE, "--seed", "0", "--report", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # --quiet: no progress bar
    rep = json.loads(out.read_text())
    check_shape(rep)
    assert rep["queries"]["feedback"] + rep["queries"]["eval"] == 34
    assert rep["config"]["split"] == "random"  # no groups.tsv
    for m in METRICS:
        assert m in proc.stdout
    # same seed -> same report numbers
    out2 = tmp_path / "report2.json"
    assert run_aitl("learn", "--data", HELPCENTRE, "--seed", "0", "--report", out2,
                    "-q").returncode == 0
    rep2 = json.loads(out2.read_text())
    for key in ("base", "trained", "ci95", "queries", "annotations"):
        assert rep2[key] == rep[key]


@pytest.mark.parametrize("args, needle", [
    (["--base", "hybrid-minilm"], "not implemented yet"),
    (["--eval-fraction", "1.5"], "eval_fraction"),
    (["--careless-share", "2"], "careless_share"),
])
def test_learn_errors_are_one_line_with_status_2(tmp_path: Path, args, needle):
    proc = run_aitl("learn", "--data", HELPCENTRE, "--report", tmp_path / "r.json", "-q", *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aitl learn: error:") and needle in lines[0]


def test_split_keeps_groups_on_one_side():
    class D:
        queries = {f"q{i}": "x" for i in range(40)}
        groups = {f"q{i}": f"g{i // 4}" for i in range(40)}

    fb, ev = learn.split_queries(D(), 0.5, seed=3)
    assert sorted(fb + ev) == sorted(D.queries) and not set(fb) & set(ev)
    assert not {D.groups[q] for q in fb} & {D.groups[q] for q in ev}
    assert (fb, ev) == learn.split_queries(D(), 0.5, seed=3)


def test_paired_bootstrap_is_seeded_and_brackets_the_mean():
    base = [0.0, 0.5, 1.0, 0.2] * 10
    trained = [0.5, 0.5, 1.0, 0.6] * 10
    lo, hi = learn.paired_bootstrap(base, trained, 1000, seed=0)
    assert [lo, hi] == learn.paired_bootstrap(base, trained, 1000, seed=0)
    assert lo <= 0.225 <= hi and lo > 0


def test_learn_on_dstc11_beats_the_paper_gains(dstc11_beir: Path, tmp_path: Path):
    out = tmp_path / "dstc11.json"
    proc = run_aitl("learn", "--data", dstc11_beir, "--seed", "0", "--report", out, "-q")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(out.read_text())
    check_shape(rep)
    assert rep["config"]["split"] == "groups"
    b, t = rep["base"], rep["trained"]
    assert t["recall@75"] >= b["recall@75"] * 1.117, rep
    assert t["precision@8"] >= b["precision@8"] * 1.148, rep
    assert rep["ci95"]["recall@75"][0] > 0 and rep["ci95"]["precision@8"][0] > 0, rep["ci95"]
