#!/usr/bin/env bash
# The README's second command (and what .ci/run calls): set everything up, build, run every test:
# C++ through ctest (plain, under ASan+UBSan, the store under TSan), Python through pytest, then
# a bounded fuzzing run (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh test
jobs=$(nproc)

echo "[aitl] C++ build + ctest" >&2
cmake -S . -B build/cpp -DCMAKE_BUILD_TYPE=Release -DAITL_BUILD_TESTS=ON -DAITL_BUILD_EXAMPLES=ON \
      >/dev/null
cmake --build build/cpp -j "$jobs"
(cd build/cpp && ctest --output-on-failure -j "$jobs")

echo "[aitl] C++ build + ctest under AddressSanitizer + UndefinedBehaviorSanitizer" >&2
san="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=Debug -DAITL_BUILD_TESTS=ON -DAITL_BUILD_EXAMPLES=ON \
      -DCMAKE_CXX_FLAGS="$san -O1" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build build/asan -j "$jobs" --target aitl_tests
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 build/asan/tests/aitl_tests

echo "[aitl] store tests under ThreadSanitizer (group commit, concurrent readers and writers)" >&2
cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=Debug -DAITL_BUILD_TESTS=ON -DAITL_BUILD_EXAMPLES=OFF \
      -DCMAKE_CXX_FLAGS="-fsanitize=thread -O1 -g" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" >/dev/null
cmake --build build/tsan -j "$jobs" --target aitl_store_tests
TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/aitl_store_tests "[store],[feedback],[registry]"

echo "[aitl] pytest" >&2
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv/bin/python -m pytest -q tests/python "$@"

echo "[aitl] fuzzing: every seed replayed, then each target fuzzed for 15 s (fails on any finding)" >&2
AITL_FUZZ_JOBS="$jobs" bash scripts/fuzz.sh 15
