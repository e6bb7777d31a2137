#!/usr/bin/env bash
# Clusters, end to end on the HTTPS lab: an Expressway-E pair, an Expressway-C pair and a
# Unified CM publisher with two subscribers renew from the lab's OLD CA to its NEW CA.
#
# Each peer makes its own CSR (with its cluster's shared name) and gets its own certificate;
# trust goes first on every member that needs it (callmanager-trust once, on the publisher:
# the subscribers wait until it replicates); the restarts roll, publisher first, one member
# of a cluster at a time. The lab records each node's availability; the demo prints the
# plan's waves and that timeline, and checks the invariant at every change: each cluster
# keeps members - max_unavailable up, and every member that is up serves a certificate
# that every linked node trusts. Every node carries calls (the topology's seeded calls):
# each Expressway is drained before its restart (maintenance mode, its calls run to their
# end while new ones go to its peer), and the timeline counts the calls restarts dropped.
# DRAIN=off runs the same renewal on the same calls with `defaults: drain: false`.
# Runs in a temporary copy of desired-state-clusters/.
# With --cucm-12.5 the Unified CM cluster runs release 12.5 (no REST API: platform CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=demo-clusters
# shellcheck source=scripts/demo-lib.sh
source scripts/demo-lib.sh
demo_options "$@"

workspace desired-state-clusters
if [ "${DRAIN:-on}" = off ]; then  # the same renewal without draining, to compare
  sed -i 's/^defaults:$/defaults:\n  drain: false/' "$ds/certops.yaml"
fi
start=$(date +%s)
NODES=(expe1 expe2 expc1 expc2 cucm-pub cucm-sub1 cucm-sub2)
CUCM=(cucm-pub cucm-sub1 cucm-sub2)

issuer() {  # the issuer of what a node serves in a TLS handshake
  python - "$lab" "$1" <<'PY'
import ssl, sys
from cryptography import x509
from ruamel.yaml import YAML
inv = YAML(typ="safe").load(open(f"{sys.argv[1]}/inventory.yaml"))
host, port = inv["nodes"][sys.argv[2]]["api"].removeprefix("https://").split(":")
cert = x509.load_pem_x509_certificate(ssl.get_server_certificate((host, int(port))).encode())
print(f"{sys.argv[2]:<10} serves {cert.subject.rfc4514_string()}  issued by {cert.issuer.rfc4514_string()}")
PY
}
inv=(--inventory "$lab/inventory.yaml")

step "0. certops validate: three clusters, links naming clusters, shared names in every member's SANs"
certops validate "$ds"
sed -n '/^clusters:/,/^defaults:/p' "$ds/certops.yaml"

step "1. certops lab up --topology reconciler/lab/topologies/clusters.yaml"
certops lab up --detach --dir "$lab" --topology reconciler/lab/topologies/clusters.yaml \
  --restart-seconds 0.5 "${lab_opts[@]}"

step "2. certops drift: renewal is due on every member (exit 2 = drift)"
expect 2 certops drift "$ds" "${inv[@]}"

step "3. certops apply: a CSR on each peer, with its own name and the cluster's shared name"
# No replace_pending_csr: the lab's inventory declares each Unified CM's platform CLI, so
# certops reads their pending CSRs (none) over SSH beside the REST read.
expect 0 certops apply "$ds" "${inv[@]}" --auto-approve --poll-interval 0.1
ls "$ds/csrs"

step "4. certops lab sign: the NEW CA signs each peer's CSR (one certificate per peer), and each Unified CM's CallManager CSR"
for node in "${NODES[@]}"; do
  certops lab sign "$ds/csrs/$node.csr.pem" --ca new --out "$ds/certs/$node.pem" --dir "$lab"
  use_certificate "$node"
done
for node in "${CUCM[@]}"; do
  certops lab sign "$ds/csrs/$node.callmanager.csr.pem" --ca new \
    --out "$ds/certs/$node.callmanager.pem" --dir "$lab"
  use_role_certificate "$node" callmanager
done
certops validate "$ds"

step "5. certops plan: trust on every member first, then the restarts wave by wave"
set +e; certops plan "$ds" "${inv[@]}" --out "$work/plan.json" --detailed-exitcode > "$work/plan.txt"; rc=$?; set -e
[ "$rc" = 2 ] || { cat "$work/plan.txt"; echo "demo: expected exit code 2 from certops plan" >&2; exit 1; }
sed -n '/Restarts, wave by wave/,/^$/p' "$work/plan.txt"
echo "Drains before the Expressway restarts (drain ${DRAIN:-on}):"
grep -A1 ' node.drain ' "$work/plan.txt" || echo "  none (defaults: drain: false)"
echo "Subscribers wait for the publisher's callmanager-trust upload to replicate:"
python - "$work/plan.json" <<'PY'
import json, sys
actions = json.load(open(sys.argv[1]))["actions"]
for a in actions:
    if a.get("replicated_from"):
        print(f"  {a['id']}: {a['reason']}")
print("The CallManager identities: one node at a time, publisher first (the phones' ITL):")
for a in actions:
    if a.get("role") == "callmanager" and a["kind"] in ("cert.install", "service.restart"):
        print(f"  {a['id']}: {', '.join(a.get('services') or []) or a['kind']}")
PY

step "6. certops apply plan.json, while the lab records every member's availability"
mark=$(certops lab timeline --dir "$lab" --mark)
expect 0 certops apply "$work/plan.json" --dir "$ds" "${inv[@]}" --poll-interval 0.1

step "7. certops lab timeline: down/up, maintenance mode, the certificate served, the calls dropped, phones that lost trust, the invariant at every change"
expect 0 certops lab timeline --dir "$lab" --since "$mark" | tee "$work/timeline.txt"
grep -q "^phones that lost trust: 0$" "$work/timeline.txt" || { echo "demo: phones lost trust" >&2; exit 1; }

step "8. certops drift: everything in sync"
expect 0 certops drift "$ds" "${inv[@]}"

step "9. TLS handshakes: every member serves its own certificate from the NEW CA"
for node in "${NODES[@]}"; do issuer "$node"; done

step "Done in $(( $(date +%s) - start ))s: the lab is stopped and the temporary copy removed."
