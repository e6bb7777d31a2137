#!/usr/bin/env bash
# The main job: Cisco's Expressway certificate renewal, end to end, on the embedded lab.
#
# Emulated Expressway-E, Expressway-C and Unified CM run on loopback over real HTTPS; their
# certificates come from the lab's OLD issuing CA and are due for renewal. certops finds
# that, generates the CSRs on the nodes, the lab's NEW CA signs them, and certops plans and
# applies the change in Cisco's order: trust first on every peer (CUCM tomcat-trust and
# callmanager-trust, then CUCM restarts), then the certificates, then the restarts, and
# proves with a TLS handshake that each node serves its new certificate.
# Runs in a temporary copy of desired-state/ and leaves this tree clean. With --cucm-12.5
# the Unified CM runs release 12.5 (no REST API): the same story over its platform CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=demo
# shellcheck source=scripts/demo-lib.sh
source scripts/demo-lib.sh
demo_options "$@"

workspace desired-state
start=$(date +%s)

served() {  # print what a node serves in a TLS handshake
  python - "$lab" "$1" <<'PY'
import ssl, sys
from ruamel.yaml import YAML
inv = YAML(typ="safe").load(open(f"{sys.argv[1]}/inventory.yaml"))
host, port = inv["nodes"][sys.argv[2]]["api"].removeprefix("https://").split(":")
open(f"{sys.argv[1]}/{sys.argv[2]}-served.pem", "w").write(ssl.get_server_certificate((host, int(port))))
PY
  certops inspect "$lab/$1-served.pem"
}
inv=(--inventory "$lab/inventory.yaml")

step "0. certops validate: the desired state in git (offline checks)"
certops validate "$ds"

step "1. certops lab up: expe1 (Expressway-E), expc1 (Expressway-C), cucm-pub (Unified CM)"
certops lab up --detach --dir "$lab" --restart-seconds 1 "${lab_opts[@]}"

step "2. certops drift: renewal is due on every node (exit 2 = drift)"
expect 2 certops drift "$ds" "${inv[@]}"

step "3. certops apply: generate a CSR on each node with the desired SANs (Cisco's step B)"
# No replace_pending_csr: the lab's inventory declares cucm-pub's platform CLI, so certops
# reads its pending CSR (none) over SSH beside the REST read (README: "The pending CSR").
expect 0 certops apply "$ds" "${inv[@]}" --auto-approve --poll-interval 0.2
ls "$ds/csrs"

step "4. certops lab sign: the NEW CA signs each CSR (full chain, as CAs deliver it)"
for node in expe1 expc1 cucm-pub; do
  certops lab sign "$ds/csrs/$node.csr.pem" --ca new --out "$ds/certs/$node.pem" --dir "$lab"
  use_certificate "$node"
done
certops validate "$ds"

step "5. certops plan: trust first on every peer, CUCM restarts, install, restart (Cisco's steps C-E)"
expect 2 certops plan "$ds" "${inv[@]}" --out "$work/plan.json" --detailed-exitcode

step "6. certops apply plan.json: execute exactly that plan, verifying every step"
expect 0 certops apply "$work/plan.json" --dir "$ds" "${inv[@]}" --poll-interval 0.2 --report "$work/report.json"

step "7. certops drift: everything in sync"
expect 0 certops drift "$ds" "${inv[@]}"

step "8. TLS handshakes: each node now serves its certificate from the NEW CA"
for node in expe1 expc1 cucm-pub; do served "$node" | grep -E "certificate|Subject:|Issuer:|Valid:"; done

step "Done in $(( $(date +%s) - start ))s: the lab is stopped and the temporary copy removed."
