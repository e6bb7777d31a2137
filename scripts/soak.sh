#!/usr/bin/env bash
# A year hands-off, in the lab (issue 25): the clustered fleet of demo-clusters.sh (X15.5
# Expressways on the lab's ACME CA, a Unified CM 14 cluster and a 12.5 node over the CLI on a
# command CA) renews on its own for a simulated year while faults fire, and the lab's own
# record is counted (docs/soak.md).
#
#   bash scripts/soak.sh [--days 365] [--nodes 8] [--seed 1] [--day-seconds 1] [--out soak-out]
#
# Every option goes to `python -m reconciler.lab.soak` (its --help lists them); --nodes N
# adds Expressway-E pairs to the 8 nodes. Writes OUT/soak.json, OUT/soak.md and OUT/soak.png
# (matplotlib, installed here from PyPI with the soak extra). Needs BIND 9
# (scripts/system-deps.sh, as root) and acme2certifier (the lab extra, installed here).
# Duration: the simulated days x --day-seconds (about 6 min for the year at the default 1 s a
# day), plus ~45 s of set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -c "import matplotlib, acme2certifier" 2>/dev/null ||
  .venv/bin/pip install -q -e '.[soak,lab]'
exec .venv/bin/python -m reconciler.lab.soak "$@"
