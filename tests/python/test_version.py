"""One version everywhere: pyproject.toml == include/aitl/version.hpp == aitl.__version__."""
from __future__ import annotations

import re
from pathlib import Path

import aitl

REPO = Path(__file__).resolve().parents[2]


def _pyproject_version() -> str:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
        match = re.search(r'(?ms)^\[project\].*?^version\s*=\s*"([^"]+)"', text)
        assert match, "no version in pyproject.toml [project]"
        return match.group(1)
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["version"]


def _header_version() -> str:
    text = (REPO / "include" / "aitl" / "version.hpp").read_text(encoding="utf-8")
    parts = {}
    for key in ("MAJOR", "MINOR", "PATCH", "STRING"):
        match = re.search(rf"#define\s+AITL_VERSION_{key}\s+(\S+)", text)
        assert match, f"AITL_VERSION_{key} missing from version.hpp"
        parts[key] = match.group(1)
    string = parts["STRING"].strip('"')
    assert string == f'{parts["MAJOR"]}.{parts["MINOR"]}.{parts["PATCH"]}', \
        "AITL_VERSION_STRING disagrees with AITL_VERSION_MAJOR/MINOR/PATCH"
    return string


def _cmake_version() -> str:
    text = (REPO / "CMakeLists.txt").read_text(encoding="utf-8")
    match = re.search(r"project\(\s*aitl\s+VERSION\s+([0-9.]+)", text)
    assert match, "no project(aitl VERSION ...) in CMakeLists.txt"
    return match.group(1)


def test_versions_agree():
    assert _pyproject_version() == _header_version() == aitl.__version__


def test_cmake_project_version_agrees():
    assert _cmake_version() == _header_version()


def test_version_is_semantic():
    assert re.fullmatch(r"\d+\.\d+\.\d+", aitl.__version__)


def test_the_umbrella_header_includes_every_public_header():
    """aitl.hpp includes every public header but the opt-in retrieval/hnsw.hpp (and detail/)."""
    root = REPO / "include" / "aitl"
    text = (root / "aitl.hpp").read_text(encoding="utf-8")
    included = set(re.findall(r'^#include "([^"]+)"', text, flags=re.M))
    public = {p.relative_to(root).as_posix() for p in root.rglob("*.hpp")
              if p.parent.name != "detail" and p.name != "aitl.hpp"} - {"retrieval/hnsw.hpp"}
    assert public - included == set(), "missing from aitl.hpp"
    assert included - public == set(), "aitl.hpp includes what is not a public header"
