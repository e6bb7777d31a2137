#!/usr/bin/env bash
# Change windows: install at merge, restart in the window, in a fresh CI clone.
#
# The example fleet's renewal is merged while its change window is closed: certops apply
# uploads the trust and everything that disrupts nothing, leaves every restart (and what
# waits for one) owed, exits 0, and nothing the nodes serve changes. The record of restarts
# owed after trust uploads is committed back, as certops-apply.yml does. When the window
# opens (a real cron expression, a few minutes from now, in Europe/Zurich: no faked clock),
# the window's run, in a fresh `git clone` as a new CI job has, runs the owed restarts in
# dependency order, each Expressway drained first (maintenance mode until its calls end: the
# lab's nodes carry seeded calls), and the fleet converges; the lab's timeline counts the
# calls the restarts dropped (none on the Expressways; a Unified CM CallManager restart
# cannot be drained).
# Runs in a temporary copy of desired-state/ and leaves this tree clean.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=demo-windows
# shellcheck source=scripts/demo-lib.sh
source scripts/demo-lib.sh

workspace desired-state
start=$(date +%s)
inv=(--inventory "$lab/inventory.yaml")
git_() { git -C "$work" -c user.name=certops-demo -c user.email=demo@example.com "$@"; }

serials() {  # what every node serves now (TLS handshake): node, serial, issuer CN
  python - "$lab" <<'PY'
import ssl, sys
from cryptography import x509
from ruamel.yaml import YAML
inv = YAML(typ="safe").load(open(f"{sys.argv[1]}/inventory.yaml"))
for node, entry in sorted(inv["nodes"].items()):
    host, port = entry["api"].removeprefix("https://").split(":")
    cert = x509.load_pem_x509_certificate(ssl.get_server_certificate((host, int(port))).encode())
    cn = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    print(f"  {node:10} serial {cert.serial_number:x}  issuer {cn}")
PY
}

step "1. certops lab up (the example fleet, with calls), and the desired state as a git repository (main)"
# The example fleet's nodes carry the seeded calls of reconciler.lab.calls (DEMO_CALLS), so
# the window's run shows each Expressway drained before its restart and the calls dropped.
python - "$work/topology.yaml" <<'PY'
import sys
from ruamel.yaml import YAML
from reconciler.lab.topology import DEMO_CALLS, example_topology
topology = example_topology()
topology.defaults.calls = DEMO_CALLS
YAML().dump(topology.model_dump(mode="json", exclude_defaults=True), open(sys.argv[1], "w"))
PY
certops lab up --detach --dir "$lab" --restart-seconds 1 --topology "$work/topology.yaml"
printf 'lab/\nci-run/\ntopology.yaml\n' > "$work/.gitignore"
git_ init -q -b main
git_ add -A && git_ commit -qm "fleet"

step "2. The renewal: CSRs generated on the nodes, signed by the lab's NEW CA"
csr_flag on cucm-pub
expect 0 certops apply "$ds" "${inv[@]}" --auto-approve --poll-interval 0.2 >/dev/null
csr_flag off cucm-pub
for node in expe1 expc1 cucm-pub; do
  certops lab sign "$ds/csrs/$node.csr.pem" --ca new --out "$ds/certs/$node.pem" --dir "$lab"
  use_certificate "$node"
done

step "3. A change window in certops.yaml: it opens in a few minutes (Europe/Zurich)"
# A real cron expression: the next full minute at least 40 s away, open for 10 minutes.
IFS="|" read -r cron opens_utc < <(python - <<'PY'
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo
now = datetime.now(UTC)
at = (now + timedelta(seconds=100)).replace(second=0, microsecond=0)
local = at.astimezone(ZoneInfo("Europe/Zurich"))
print(f"{local.minute} {local.hour} * * *|{int(at.timestamp())}")
PY
)
python - "$ds/certops.yaml" "$cron" <<'PY'
import sys
path, cron = sys.argv[1], sys.argv[2]
text = open(path).read().replace("defaults:\n", "defaults:\n  restart_window: demo\n", 1)
text += f'windows:\n  demo: {{cron: "{cron}", duration: 10m, timezone: Europe/Zurich}}\n'
open(path, "w").write(text)
PY
grep -A2 "^windows:" "$ds/certops.yaml"
certops validate "$ds"
git_ add -A && git_ commit -qm "renewal: signed certificates; restarts in window demo"

step "4. certops plan (the pull request's comment): installs at merge; restarts in the window"
expect 2 certops plan "$ds" "${inv[@]}" --detailed-exitcode | grep -A5 "^Change windows"

step "5. The merge's apply, window closed: no restart, exit 0, the restarts owed"
echo "Served before:"; serials
expect 0 certops apply "$ds" "${inv[@]}" --auto-approve --poll-interval 0.2 \
  --report "$work/merge-report.json"
echo "Served after (unchanged: nothing disruptive ran):"; serials
echo "The record of owed restarts (committed back, as certops-apply.yml does):"
cat "$ds/owed-restarts.json"
git_ add -- desired-state/csrs desired-state/certs desired-state/owed-restarts.json
git_ commit -qm "certops: restarts owed after the merge's apply"

step "6. Waiting for the window to open ($(date -u -d "@$opens_utc" +%H:%M) UTC)"
while [ "$(date +%s)" -lt "$opens_utc" ]; do sleep 5; done

step "7. The window's run in a fresh clone (a new CI job: no .certops/, only git)"
git clone -q "$work" "$work/ci-run"
fresh="$work/ci-run/desired-state"
mark=$(certops lab timeline --dir "$lab" --mark)
expect 0 certops apply "$fresh" "${inv[@]}" --auto-approve --poll-interval 0.2 \
  --report "$work/window-report.json"
echo "Each Expressway drained (maintenance mode until its calls ended) before its restart:"
python - "$work/window-report.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    if r["kind"] == "node.drain" or r["kind"] == "node.restart":
        print(f"  {r['id']}: {r['outcome']}: {r['detail']}")
PY
echo "The calls the window's restarts dropped (certops lab timeline):"
certops lab timeline --dir "$lab" --since "$mark" | grep -E "^(dropped calls|since the lab)"
echo "Served after the window's run:"; serials
echo "The record, committed back again:"; cat "$fresh/owed-restarts.json"

step "8. certops drift: everything in sync"
expect 0 certops drift "$fresh" "${inv[@]}"

step "Done in $(( $(date +%s) - start ))s (most of it waiting for the window): the lab is stopped and the temporary copy removed."
