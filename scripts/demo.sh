#!/usr/bin/env bash
# The main job on the embedded lab: emulated Expressway-E, Expressway-C and Unified CM on
# loopback, their certificates from the lab's old CA and due for renewal; certops validates
# the example desired state and plans against the live nodes. Runs in a temporary copy and
# leaves this tree clean.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

work=$(mktemp -d "${TMPDIR:-/tmp}/certops-demo.XXXXXX")
lab="$work/lab"
cleanup() { certops lab down --dir "$lab" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
cp -r desired-state "$work/desired-state"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. certops validate: the example desired state (offline checks)"
certops validate "$work/desired-state"

step "2. certops lab up: three emulated nodes over HTTPS on loopback"
certops lab up --detach --dir "$lab" --restart-seconds 1

step "3. What expe1 serves (TLS handshake), decoded like Expressway's 'Show decoded'"
python - "$lab" <<'PY'
import ssl, sys
from ruamel.yaml import YAML
inv = YAML(typ="safe").load(open(f"{sys.argv[1]}/inventory.yaml"))
node = inv["nodes"]["expe1"]
host, port = node["api"].removeprefix("https://").split(":")
pem = ssl.get_server_certificate((host, int(port)))
open(f"{sys.argv[1]}/expe1-served.pem", "w").write(pem)
PY
certops inspect "$lab/expe1-served.pem"

step "4. certops plan: live state vs desired (renewal due: CSRs are planned)"
set +e
certops plan "$work/desired-state" --inventory "$lab/inventory.yaml" --out "$work/plan.json" --detailed-exitcode
rc=$?
set -e
echo "(plan exit code $rc: 0 in sync, 1 error, 2 changes)"
[ "$rc" = 2 ] || { echo "demo: expected a plan with changes" >&2; exit 1; }

step "5. The same plan as a pull-request comment (Markdown)"
certops plan "$work/desired-state" --inventory "$lab/inventory.yaml" --format markdown

step "Done: the lab is stopped and the temporary copy removed."
