"""Shared by the atheris targets: the exceptions the fuzzed entry points document, a scratch
folder per process, and the run entry point.

Expected (swallowed): aitl.AitlError and its subclasses (ParseError, IoError, ConfigError, ...).
Everything else escaping an entry point (RecursionError, UnicodeDecodeError, KeyError,
TypeError, SystemError, a crash of the extension) is a finding: atheris stops and writes the
input as crash-<sha1>.

AITL_FUZZ_ALLOW=RecursionError,UnicodeDecodeError (names of built-in exceptions) also swallows
those, to look past findings already reported (e.g. deep JSON nesting while the loaders lack a
depth limit); scripts/fuzz.sh passes it through but never sets it.
"""
from __future__ import annotations

import builtins
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Callable, Dict, Tuple, Type

import atheris

with atheris.instrument_imports(include=["aitl"]):
    import aitl

EXPECTED: Tuple[Type[BaseException], ...] = (aitl.AitlError,) + tuple(
    getattr(builtins, name.strip()) for name in os.environ.get("AITL_FUZZ_ALLOW", "").split(",") if name.strip())

SCRATCH = Path(tempfile.mkdtemp(prefix="aitl-fuzz-py-"))


def fresh_dir(name: str) -> Path:
    """An empty folder <scratch>/<name> (emptied on every call)."""
    d = SCRATCH / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    return d


def write_files(folder: Path, files: Dict[str, bytes]) -> None:
    for name, data in files.items():
        p = folder / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)


def split_parts(data: bytes, n: int) -> list:
    """`data` cut at NUL bytes into exactly n parts (missing ones empty, extra NULs kept in the last)."""
    parts = data.split(b"\0", n - 1)
    return parts + [b""] * (n - len(parts))


def run(test_one_input: Callable[[bytes], None]) -> None:
    try:
        atheris.Setup(sys.argv, test_one_input)
        atheris.Fuzz()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
