#!/usr/bin/env bash
# The whole test command: lint, types, layer contracts, then the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff";          ruff check reconciler tests lab-plugins $(ls -d benchmarks 2>/dev/null)

echo "== mypy (strict)"; mypy
echo "== import-linter"; lint-imports
echo "== pytest";        pytest -n 2 --dist loadfile -q "$@"
