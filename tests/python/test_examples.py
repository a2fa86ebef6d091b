"""Every examples/python/*.py runs to completion and prints what it promises."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import aitl

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples" / "python").glob("*.py"))

# Text each example must print (besides exiting 0).
EXPECTED = {
    "01_search.py": ["40 articles, 34 questions", "retriever", "bm25", "dense", "hybrid",
                     "recall@5", "payment-declined"],
    "02_feedback.py": ["case q01", "refused:", "field 'labels[0].doc_id'", "store: 31 impressions",
                       "since watermark 4", "agent-01 left", "identical=True"],
    "03_learn.py": ["feedback: 17 questions served", "compiled:", "exported trl-preference",
                    "exported sentence-transformers", "trained: encoder", "held out: 17 questions",
                    "recall@75", "reward model picks reply"],
    "04_pipeline.py": ["7 retrieved, 7 shown", "refused:", "field 'labels[0].doc_id'", "'retriever': 'hybrid@0'",
                       "[payment-declined]", "after the swap: reranker linear@1", "store: 4 impressions, 1 annotations"],
}


def test_there_are_examples():
    assert EXAMPLES, "no examples/python/*.py found"
    assert {p.name for p in EXAMPLES} >= EXPECTED.keys()


def _env() -> dict:
    """The environment with the aitl under test first on PYTHONPATH, as an absolute path
    (the examples run in another working directory)."""
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(aitl.__file__)))
    path = [pkg_parent] + [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(example: Path, tmp_path: Path):
    proc = subprocess.run([sys.executable, str(example)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path, env=_env())
    assert proc.returncode == 0, f"{example.name} failed:\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    for text in EXPECTED.get(example.name, []):
        assert text in proc.stdout, f"{example.name}: {text!r} not in output:\n{proc.stdout}"
