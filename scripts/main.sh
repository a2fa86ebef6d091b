#!/usr/bin/env bash
# The README's first command: set everything up, then run the main job: the flywheel on the
# built-in support scenario (5 rounds), writing flywheel/report.json, flywheel/flywheel.png and
# flywheel/gaps.md. Extra arguments go to `aitl flywheel` (e.g. --data BEIR_DIR --rounds 3).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh main
rm -rf flywheel/work && mkdir -p flywheel  # a rerun starts a fresh store and registry
exec .venv/bin/aitl flywheel --rounds 5 --seed 0 --store flywheel/work \
     --report flywheel/report.json --plot flywheel/flywheel.png --gaps flywheel/gaps.md "$@"
