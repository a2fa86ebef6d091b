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
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Type

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


_VALUES: List[Any] = [None, True, False, 0, -1, 1, 2, 1.5, -0.0, 1e308, -2**63, 2**64 - 1, 2**64, "", "x",
                      "\ufffd", [], {}, [1, "a"], {"": 0}]


def _nodes(doc: Any, out: List[Tuple[Any, Any]], parent: Any = None, key: Any = None) -> None:
    out.append((parent, key))
    if isinstance(doc, dict):
        for k, v in doc.items():
            _nodes(v, out, doc, k)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            _nodes(v, out, doc, i)


def _mutate_json_text(text: str, rng: random.Random) -> Optional[str]:
    """One JSON document or JSON Lines with one value replaced by a value of another type (or
    a member removed, a key renamed, another node's value copied in); None when nothing parses."""
    lines: List[str] = []
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        lines = text.split("\n")
        ok = []
        for i, line in enumerate(lines):
            try:
                json.loads(line)
                ok.append(i)
            except (ValueError, RecursionError):
                pass
        if not ok:
            return None
        which = rng.choice(ok)
        doc = json.loads(lines[which])
    box = [doc]
    nodes: List[Tuple[Any, Any]] = []
    _nodes(doc, nodes, box, 0)
    parent, key = rng.choice(nodes)
    action = rng.randrange(5)
    if action == 4 and isinstance(parent, dict) and parent is not box:  # rename a key
        new = rng.choice(["", " " + key, "0" + key, key.upper(), key + "\t", key + "\u00e9"] +
                         [k for p, k in nodes if isinstance(p, dict) and p is not box])
        if new not in parent:
            parent[new] = parent.pop(key)
    elif action == 0 and isinstance(parent[key], (dict, list)) and parent[key]:
        target = parent[key]
        del target[rng.choice(list(target)) if isinstance(target, dict) else rng.randrange(len(target))]
    elif action == 1:
        p2, k2 = rng.choice(nodes)
        parent[key] = json.loads(json.dumps(p2[k2]))
    else:
        parent[key] = rng.choice(_VALUES)
    out = json.dumps(box[0], ensure_ascii=False)
    if not lines:
        return out
    lines[which] = out
    return "\n".join(lines)


def json_mutator(keep: int = 0) -> Callable[[bytes, int, int], bytes]:
    """An atheris custom mutator for inputs of NUL-separated parts after `keep` leading bytes
    (a selector), each JSON or JSON Lines: half the time one part gets the JSON mutation above,
    else atheris.Mutate (the byte-level mutation)."""
    def mutate(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if len(data) > keep and rng.randrange(2) == 0:
            parts = data[keep:].split(b"\0")
            i = rng.randrange(len(parts))
            try:
                text = _mutate_json_text(parts[i].decode("utf-8"), rng)
            except UnicodeDecodeError:
                text = None
            if text is not None:
                parts[i] = text.encode("utf-8", "surrogatepass")
                out = data[:keep] + b"\0".join(parts)
                if len(out) <= max_size:
                    return out
        return atheris.Mutate(data, max_size)
    return mutate


def run(test_one_input: Callable[[bytes], None],
        custom_mutator: Optional[Callable[[bytes, int, int], bytes]] = None) -> None:
    try:
        atheris.Setup(sys.argv, test_one_input, custom_mutator=custom_mutator)
        atheris.Fuzz()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
