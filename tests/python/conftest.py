"""Shared fixtures: the public datasets are read from ../shared/data (never copied)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_aitl(*args, timeout: float = 600, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """``python -m aitl ARGS`` in a fresh process (the command line as a user runs it)."""
    return subprocess.run([sys.executable, "-m", "aitl", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def last_json(proc: subprocess.CompletedProcess) -> dict:
    """The JSON summary a successful command prints last."""
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The one-line error of a command refused with exit code 2 (no traceback)."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]
    return lines[0]


def data_root() -> Path:
    return Path(os.environ.get("AITL_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    root = data_root()
    if not root.is_dir():
        pytest.fail(f"public datasets not found at {root} (set AITL_DATA_DIR)")
    return root


@pytest.fixture(scope="session")
def dstc11_beir(data_dir: Path, tmp_path_factory) -> Path:
    """DSTC11 Track 5 validation converted to a BEIR folder once per session."""
    from aitl import dstc11

    out = tmp_path_factory.mktemp("dstc11_beir")
    dstc11.convert(data_dir / "dstc11-track5", out, history_turns=3)
    return out
