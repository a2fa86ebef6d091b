#!/usr/bin/env bash
# Regenerates python/aitl/_core.pyi from a built extension (tests/python/test_stub.py checks it):
#   scripts/stubgen.sh [BUILD_DIR]      (default build/cpp; configure it with -DAITL_BUILD_PYTHON=ON)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build/cpp}"
[ -x .venv/bin/pybind11-stubgen ] || .venv/bin/pip install -q pybind11-stubgen
out=$(mktemp -d)
# SKBUILD_EDITABLE_SKIP: the editable install must not shadow the build given here.
SKBUILD_EDITABLE_SKIP="$PWD/$(ls -d build/py-* 2>/dev/null | head -1)" PYTHONPATH="$build/python_pkg" \
  .venv/bin/pybind11-stubgen aitl._core -o "$out" 2>/dev/null
# The KnowledgeBase iterator is an internal C++ type: stubgen writes '...'; it yields Documents.
sed -e 's/def __iter__(self) -> \.\.\.:/def __iter__(self) -> collections.abc.Iterator[Document]:/' \
    "$out/aitl/_core.pyi" > python/aitl/_core.pyi
rm -rf "$out"
echo "wrote python/aitl/_core.pyi" >&2
