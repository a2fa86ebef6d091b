#!/usr/bin/env bash
# Runs every benchmark side by side with its peers and writes bench/results/*.json,
# each script also prints its markdown table (the README copies them).
#   bench/run.sh           full sizes (several minutes)
#   bench/run.sh --quick   smaller sizes, for a smoke run
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh bench
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DAITL_BUILD_BENCH=ON -DAITL_BUILD_TESTS=OFF \
      -DAITL_BUILD_EXAMPLES=OFF -DAITL_NATIVE_ARCH=ON >/dev/null
cmake --build build/bench -j "$(nproc)"
export AITL_BENCH_BIN="$PWD/build/bench/bench"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/python bench/bench_dense.py "$@"
.venv/bin/python bench/bench_bm25.py "$@"
.venv/bin/python bench/bench_store.py "$@"
.venv/bin/python bench/bench_learn.py "$@"
.venv/bin/python bench/bench_reward.py "$@"
.venv/bin/python bench/bench_reward_mtrag.py "$@"
.venv/bin/python bench/bench_minilm.py "$@"
# Does learning generalise? The lift experiment of `aitl learn` under every evaluation protocol,
# with the popularity baseline and the shuffled-label controls (README "Learning from feedback"):
# BM25 base (about 6 minutes), then the hybrid MiniLM base on three protocols (full runs only).
.venv/bin/python bench/bench_generalize.py "$@"
if [[ " $* " != *" --quick "* ]]; then
  .venv/bin/python bench/bench_generalize.py --base hybrid-minilm --rows entity,cold,group
  # Cross-encoder reranker trained from feedback: learners' costs per 1,000 feedback pairs,
  # rerank latency (75 candidates), quality on the cold split (about 6 minutes).
  .venv/bin/python bench/bench_crossencoder.py
  # The flywheel on DSTC11 with whole entities held out of the stream (5 rounds).
  dstc="$(mktemp -d)/dstc11"
  .venv/bin/aitl convert dstc11 "${AITL_DATA_DIR:-../shared/data}/dstc11-track5" "$dstc" >/dev/null
  .venv/bin/aitl flywheel --data "$dstc" --rounds 5 --seed 0 --protocol entity --quiet \
      --store "$(mktemp -d)/fw" --report bench/results/flywheel_dstc11_entity.json \
      --plot bench/results/flywheel_dstc11_entity.png
fi
# One full flywheel cycle (compile, train, evaluate, gate, promote, re-embed + rebuild) on DSTC11
# with >= 50,000 stored annotations (README "The flywheel").
.venv/bin/python bench/bench_flywheel.py "$@"
