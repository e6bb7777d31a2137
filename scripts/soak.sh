#!/usr/bin/env bash
# A year hands-off, in the lab (issue 25): the clustered fleet of demo-clusters.sh renews on
# its own for a simulated year while faults fire, and the lab's own record is counted.
#
#   bash scripts/soak.sh [--days 365] [--seed 1] [--day-seconds 1] [--out soak-out] [...]
#
# Every option goes to `python -m reconciler.lab.soak` (its --help lists them). Writes
# OUT/soak.json, OUT/soak.md and OUT/soak.png (matplotlib, installed here from PyPI with
# the soak extra). Duration: the simulated days x --day-seconds, plus ~30 s of set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -c "import matplotlib" 2>/dev/null || .venv/bin/pip install -q -e '.[soak]'
exec .venv/bin/python -m reconciler.lab.soak "$@"
