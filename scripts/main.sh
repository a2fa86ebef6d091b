#!/usr/bin/env bash
# The README's first command: set everything up, then run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python examples/python/01_search.py "$@"
