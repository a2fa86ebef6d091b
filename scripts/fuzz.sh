#!/usr/bin/env bash
# Coverage-guided fuzzing of aitl's loaders: libFuzzer targets (C++, Clang, ASan+UBSan, leak
# checks) and atheris targets (the Python readers). See tests/fuzz/ and the README's "Fuzzing".
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
#   SECONDS_PER_TARGET  fuzzing time of each target (default 600); 0 only replays the seeds
#   TARGET              any of: corpus qrels trec_run records manifest hnsw models
#                       py_beir py_dstc11 py_store py_readers (default: all)
#
# Environment:
#   AITL_FUZZ_JOBS        targets fuzzed at once, and build jobs (default 1: the CPU is shared)
#   AITL_FUZZ_CXX         the Clang used for the C++ targets (default clang++-14)
#   AITL_FUZZ_PYTHON      the Python with aitl and atheris (default .venv/bin/python)
#   AITL_FUZZ_KEEP_GOING  =1: the libFuzzer targets run in fork mode and keep fuzzing after a
#                         finding (each one saved), and after a failed replay of the seeds
#   AITL_FUZZ_SCRATCH     where the harnesses write each input (default /dev/shm, else the work folder)
#   AITL_FUZZ_WORK        the working folder of the runs (default build/fuzz/work): a second run
#                         at the same time needs its own
#   AITL_FUZZ_ALLOW       e.g. RecursionError,UnicodeDecodeError: exceptions the atheris targets
#                         also swallow, to look past known findings (see fuzz_common.py)
#
# Each target first replays its seeds (tests/fuzz/corpus/<target>/, read only; crash-* files there
# are reproducers of findings, which must pass once fixed), then fuzzes a working corpus
# build/fuzz/work/<target>/corpus (the other seeds copied in; what the fuzzer finds stays there,
# never in the repository; delete build/fuzz/work to start over). Findings (crash-*,
# leak-*, timeout-*, oom-* inputs) go to build/fuzz/work/<target>/artifacts/, the log to
# build/fuzz/work/<target>/fuzz.log. Prints one line per target and writes
# build/fuzz/work/summary.json; exits 1 when any target found something (paths printed), 2 on a
# usage or set-up error; a requested target that did not build counts as a failure (1).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

cxx_targets=(corpus qrels trec_run records manifest hnsw models)
py_targets=(py_beir py_dstc11 py_store py_readers)
declare -A max_len=([corpus]=4096 [qrels]=2048 [trec_run]=2048 [records]=8192 [manifest]=4096
                    [hnsw]=4096 [models]=8192 [py_beir]=4096 [py_dstc11]=4096 [py_store]=4096
                    [py_readers]=4096)

seconds=600
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${cxx_targets[@]}" "${py_targets[@]}")
for t in "${targets[@]}"; do
  if [ -z "${max_len[$t]:-}" ]; then
    echo "fuzz.sh: unknown target '$t' (expected one of: ${cxx_targets[*]} ${py_targets[*]})" >&2
    exit 2
  fi
done
jobs=${AITL_FUZZ_JOBS:-1}
keep_going=${AITL_FUZZ_KEEP_GOING:-0}
scratch_root=${AITL_FUZZ_SCRATCH:-/dev/shm}
cxx=${AITL_FUZZ_CXX:-clang++-14}
python=${AITL_FUZZ_PYTHON:-.venv/bin/python}
build=build/fuzz
work=${AITL_FUZZ_WORK:-$build/work}

wants_cxx=0 wants_py=0
for t in "${targets[@]}"; do
  case "$t" in py_*) wants_py=1 ;; *) wants_cxx=1 ;; esac
done

if [ $wants_cxx -eq 1 ]; then
  if ! command -v "$cxx" >/dev/null; then
    echo "fuzz.sh: $cxx not found (install clang-14 and libclang-rt-14-dev, or set AITL_FUZZ_CXX)" >&2
    exit 2
  fi
  echo "[aitl] fuzz: building the libFuzzer targets with $cxx in $build" >&2
  if [ ! -f $build/CMakeCache.txt ]; then
    cmake -S . -B $build -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Debug -DAITL_BUILD_FUZZ=ON \
          -DAITL_BUILD_TESTS=OFF -DAITL_BUILD_EXAMPLES=OFF -DAITL_INSTALL=OFF >/dev/null
  fi
  build_targets=()
  for t in "${targets[@]}"; do
    case "$t" in py_*) ;; *) build_targets+=(--target "fuzz_$t") ;; esac
  done
  [ ${#build_targets[@]} -gt 0 ] && cmake --build $build -j "$jobs" "${build_targets[@]}"
fi
if [ $wants_py -eq 1 ] && ! "$python" -c "import aitl, atheris" 2>/dev/null; then
  echo "fuzz.sh: $python cannot import aitl and atheris (run scripts/bootstrap.sh test, or set AITL_FUZZ_PYTHON)" >&2
  exit 2
fi

# Runs one target: replay, then fuzz; writes $work/<t>/result (key=value lines).
run_target() {
  local t=$1 dir=$work/$1 seeds=tests/fuzz/corpus/$1 cmd=() opts=() status=ok rc=0
  rm -rf "$dir/artifacts" "$dir/tmp"
  mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/tmp"
  : > "$dir/fuzz.log"
  case "$t" in
    py_*) cmd=("$python" "tests/fuzz/python/fuzz_${t#py_}.py") ;;
    *)    cmd=("$build/tests/fuzz/fuzz_$t")
          # (atheris re-runs a script, not an executable: no fork mode there)
          [ "$keep_going" = 1 ] && opts+=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1) ;;
  esac
  [ -f "tests/fuzz/$t.dict" ] && opts+=("-dict=tests/fuzz/$t.dict")
  if [ "${cmd[0]}" != "$python" ] && [ ! -x "${cmd[0]}" ]; then
    printf 'status=not built\n' > "$dir/result"
    return
  fi
  local start=$SECONDS
  # The harnesses write every input to a scratch file: in memory (/dev/shm) when possible, which
  # was 15-60x faster than a disk folder here; removed afterwards with whatever a crash left.
  local scratch=$root/$dir/tmp
  if [ -d "$scratch_root" ] && [ -w "$scratch_root" ]; then
    scratch=$(mktemp -d "$scratch_root/aitl-fuzz-$t.XXXXXX")
  fi
  export TMPDIR=$scratch UBSAN_OPTIONS=print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1
  echo "== replay of $seeds" >> "$dir/fuzz.log"
  local replay_failed=
  if ! "${cmd[@]}" -artifact_prefix="$dir/artifacts/" -timeout=10 -rss_limit_mb=2048 "$seeds"/* \
       >> "$dir/fuzz.log" 2>&1; then
    status=crash
    # The seed that failed: the last one started ("Running: <file>").
    replay_failed=$(sed -nE 's/^Running: (.*)/\1/p' "$dir/fuzz.log" | tail -1)
  fi
  if { [ $status = ok ] || [ "$keep_going" = 1 ]; } && [ "$seconds" -gt 0 ]; then
    find "$seeds" -maxdepth 1 -type f ! -name 'crash-*' -exec cp {} "$dir/corpus/" \;
    echo "== fuzzing for $seconds s" >> "$dir/fuzz.log"
    "${cmd[@]}" "$dir/corpus" -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=10 \
        -rss_limit_mb=2048 "${opts[@]}" -artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
        >> "$dir/fuzz.log" 2>&1 || rc=$?
    [ $rc -ne 0 ] && status=crash
  fi
  [ "$scratch" != "$root/$dir/tmp" ] && rm -rf "$scratch"
  [ -n "$(ls -A "$dir/artifacts")" ] && status=crash
  {
    printf 'status=%s\nseconds=%s\nreplay_failed=%s\n' "$status" "$((SECONDS - start))" "$replay_failed"
    local last
    last=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$dir/fuzz.log" | tail -1 || true)
    # Fork mode prints no stat:: lines: then the count of its last status line "#N: cov: ...".
    printf 'executions=%s\n' "$(sed -nE 's/^stat::number_of_executed_units: +([0-9]+)/\1/p' "$dir/fuzz.log" | tail -1)"
    printf 'last_status_executions=%s\n' "$(sed -nE 's/^#([0-9]+).*/\1/p' <<< "$last")"
    printf 'exec_per_sec=%s\n' "$(sed -nE 's/^stat::average_exec_per_sec: +([0-9]+)/\1/p' "$dir/fuzz.log" | tail -1)"
    printf 'coverage=%s\n' "$(sed -nE 's/.*cov: ([0-9]+).*/\1/p' <<< "$last")"
    printf 'features=%s\n' "$(sed -nE 's/.*ft: ([0-9]+).*/\1/p' <<< "$last")"
    printf 'corpus=%s\n' "$(ls "$dir/corpus" | wc -l)"
  } > "$dir/result"
}

mkdir -p "$work"
echo "[aitl] fuzz: ${targets[*]} for ${seconds} s each, $jobs at a time" >&2
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$t" &
done
wait

# One line per target, the JSON summary, the findings.
python3 - "$work" "$seconds" "${targets[@]}" <<'EOF'
import json, os, sys
work, seconds, targets = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rows, findings = [], []
for t in targets:
    d = os.path.join(work, t)
    r = dict(line.rstrip("\n").split("=", 1) for line in open(os.path.join(d, "result")) if "=" in line)
    arts = sorted(os.path.join(d, "artifacts", f) for f in os.listdir(os.path.join(d, "artifacts"))) \
        if os.path.isdir(os.path.join(d, "artifacts")) else []
    if r.get("replay_failed"):
        arts.insert(0, r["replay_failed"])
    num = lambda k: int(r[k]) if r.get(k, "").isdigit() else None
    execs = num("executions") if num("executions") is not None else num("last_status_executions")
    secs = num("seconds")
    row = {"target": t, "kind": "atheris" if t.startswith("py_") else "libfuzzer", "status": r["status"],
           "seconds": secs, "executions": execs,
           "exec_per_sec": num("exec_per_sec") if num("exec_per_sec") is not None else
                           round(execs / secs) if execs is not None and secs else None,
           "coverage": num("coverage"), "features": num("features"), "corpus_units": num("corpus"),
           "findings": arts, "log": os.path.join(d, "fuzz.log")}
    rows.append(row)
    if row["status"] == "crash":
        findings.append(row)
    show = lambda v: "-" if v is None else str(v)
    print(f"{t:<11} {r['status']:<9} {show(row['seconds']):>5} s  {show(row['executions']):>9} execs "
          f"({show(row['exec_per_sec'])}/s)  cov {show(row['coverage'])}  ft {show(row['features'])}  "
          f"corpus {show(row['corpus_units'])}  findings {len(arts)}")
with open(os.path.join(work, "summary.json"), "w") as f:
    json.dump({"seconds_per_target": seconds, "targets": rows}, f, indent=2)
    f.write("\n")
for row in findings:
    print(f"FINDING in {row['target']}: see {row['log']}", file=sys.stderr)
    for a in row["findings"]:
        print(f"  {a}", file=sys.stderr)
    if not row["findings"]:
        print("  (no input written: the fuzzer itself failed)", file=sys.stderr)
not_built = [r["target"] for r in rows if r["status"] == "not built"]
if not_built:  # a target asked for and not built is a failure, never a silent skip
    print(f"not built (see the build output): {' '.join(not_built)}", file=sys.stderr)
sys.exit(1 if findings or not_built else 0)
EOF
