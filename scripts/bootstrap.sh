#!/usr/bin/env bash
# Installs everything aitl needs on a fresh Debian 12/13 machine (run as root) and builds it.
#   scripts/bootstrap.sh            C++ deps + .venv with aitl (editable)
#   scripts/bootstrap.sh main       ... plus matplotlib (the main job's plot)
#   scripts/bootstrap.sh test       ... plus the test extras (real MiniLM model, trec_eval, Xapian,
#                                   atheris) and Clang with libFuzzer (scripts/fuzz.sh)
#   scripts/bootstrap.sh bench      ... plus the benchmark peers (faiss, hnswlib, bm25s, Xapian)
set -euo pipefail
cd "$(dirname "$0")/.."
extra="${1:-}"

apt_pkgs=(cmake g++ make libeigen3-dev libhnswlib-dev nlohmann-json3-dev catch2 libsqlite3-dev libstemmer-dev)
# The fuzz targets (scripts/fuzz.sh, run by scripts/test.sh) need Clang and its libFuzzer runtime.
if [ "$extra" = test ] || [ "$extra" = bench ]; then apt_pkgs+=(clang-14 libclang-rt-14-dev); fi
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[aitl] apt-get install ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "[aitl] creating .venv" >&2
  "$PY" -m venv .venv
  .venv/bin/pip install -q --upgrade pip
fi
case "$extra" in
  main)  spec=".[plot]" ;;
  test)  spec=".[test]" ;;
  bench) spec=".[test,bench]" ;;
  *)     spec="." ;;
esac
# torch first and pinned: 2.13.0 is the CPU wheel on this machine kind's disk.
if { [ "$extra" = test ] || [ "$extra" = bench ]; } && ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
  echo "[aitl] pip install torch==2.13.0 (CPU)" >&2
  .venv/bin/pip install -q torch==2.13.0
fi
echo "[aitl] pip install -e '$spec'" >&2
.venv/bin/pip install -q -e "$spec"
