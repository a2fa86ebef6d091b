"""Shared fixtures: the public datasets are read from ../shared/data (never copied)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


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
