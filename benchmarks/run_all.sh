#!/usr/bin/env bash
# Every benchmark, one after the other (about 18 minutes on 2 cores: apply, N = 1000 with 60 s restarts, ~5). Results: benchmarks/results/*.json
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
cd benchmarks
python bench_startup.py
python bench_validate.py
python bench_certinfo.py --rounds 3
python bench_plan.py "$@"
python bench_apply.py
python bench_markdown.py
