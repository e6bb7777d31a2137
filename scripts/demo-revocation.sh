#!/usr/bin/env bash
# A CA's mass revocation, end to end on the HTTPS lab (restarts drained as the clustered
# fleet's settings say; no restart window here: see scripts/demo-windows.sh and the
# emergency: policy in docs/issuers.md).
#
# The clustered fleet: the four Expressways get 47-day certificates (ACME profile
# sc081-2029, serverAuth only, X15.5) from the lab's ACME CA (acme2certifier + BIND 9 on
# loopback); the three Unified CM nodes keep theirs (renew_before 1d here: not part of this
# story). Then the CA revokes half
# of the Expressways' certificates with notice (24 hours scaled to 3 minutes; the CA's ARI
# Retry-After of 6 hours scaled to 60 s): ARI says "renew now" at once, the CRL lists them
# when the notice is over. certops notices at its next look after Retry-After
# (cert.revocation_pending), replaces them in one apply (rolling, one member of a cluster at
# a time, drained) before the revocation takes effect, and the demo checks that no node serves a
# revoked certificate: 0 seconds served revoked. Runs in a temporary copy of
# desired-state-clusters/. Needs bind9 and openssl (scripts/system-deps.sh, as root) and
# acme2certifier (the lab extra). About 4 minutes, most of it waiting for the scaled times.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=demo-revocation
# shellcheck source=scripts/demo-lib.sh
source scripts/demo-lib.sh
need named openssl
NOTICE=180          # the CA's 24 hours of notice, scaled
RETRY_AFTER=60      # the CA's ARI Retry-After (6 hours), scaled
EXPRESSWAYS=(expe1 expe2 expc1 expc2)
CUCM=(cucm-pub cucm-sub1 cucm-sub2)
REVOKED=(expe1 expc1)

workspace desired-state-clusters
start=$(date +%s)
inv=(--inventory "$lab/inventory.yaml")

step "1. the lab's ACME CA (acme2certifier: ARI, profiles, a CRL) + BIND 9 on loopback"
acme_up acme --ari-retry-after "$RETRY_AFTER" nart.com
curl -s --cacert "$ACME_TLS_CA" "$ACME_DIRECTORY" | python -c \
  'import json,sys; print("profiles:", ", ".join(json.load(sys.stdin)["meta"]["profiles"]))'

step "2. the Expressways name the ACME issuer (profile sc081-2029: 47 days)"
cat >> "$ds/certops.yaml" <<YAML
issuers:
  acme:
    type: acme
    directory: $ACME_DIRECTORY
    tls_ca_file: $ACME_TLS_CA
    account_key_file: $work/acme-account.pem
    profile: sc081-2029
    dns01:
      provider: rfc2136
      server: $DNS_SERVER
      tsig_key_name: certops-acme
      tsig_secret_file: $TSIG_FILE
      propagation_timeout: 30
    ca_files: [cas/acme-root.pem, cas/acme-intermediate.pem]
YAML
for node in "${EXPRESSWAYS[@]}"; do
  sed -i "0,/server_certificate:/s//server_certificate:\n  issuer: acme/" "$ds/nodes/$node.yaml"
done
for node in "${CUCM[@]}"; do sed -i 's/  renew_before: 30d/  renew_before: 1d/' "$ds/nodes/$node.yaml"; done
certops validate "$ds"

step "3. certops lab up: the clustered fleet, the Expressways on X15.5 (server and client certificates apart)"
sed 's/type: expressway-\([ec]\),/type: expressway-\1, version: X15.5.1,/' \
  reconciler/lab/topologies/clusters.yaml > "$work/topology.yaml"
certops lab up --detach --dir "$lab" --topology "$work/topology.yaml" --restart-seconds 0.5

step "4. certops apply: the Expressways get their 47-day certificates; drift says when each renews"
expect 0 certops apply "$ds" "${inv[@]}" --auto-approve --poll-interval 0.1 >/dev/null
certops drift "$ds" "${inv[@]}" > "$work/drift0.txt" 2>&1 || true
grep -E "^renewal:|^Drift|warning|error" "$work/drift0.txt"

served() {  # served NODE: the serial (hex) of the certificate NODE presents
  python - "$lab" "$1" <<'PY'
import ssl, sys
from cryptography import x509
from ruamel.yaml import YAML
inv = YAML(typ="safe").load(open(f"{sys.argv[1]}/inventory.yaml"))
host, port = inv["nodes"][sys.argv[2]]["api"].removeprefix("https://").split(":")
cert = x509.load_pem_x509_certificate(ssl.get_server_certificate((host, int(port))).encode())
print(f"{cert.serial_number:x}")
PY
}
declare -A before
for node in "${REVOKED[@]}"; do before[$node]=$(served "$node"); done

step "5. the CA revokes ${REVOKED[*]} with ${NOTICE}s of notice (24 hours, scaled): ARI says renew now"
args=(); for node in "${REVOKED[@]}"; do args+=(--node "$node"); done
certops lab revoke --dir "$lab" --acme-dir "$acme" "${args[@]}" --notice "${NOTICE}s"
revoked_at=$(( $(date +%s) + NOTICE ))  # (at most a second after the CA's own moment)

step "6. certops drift at once: the CA's last answer is still valid (its Retry-After): nothing yet"
certops drift "$ds" "${inv[@]}" 2>&1 | grep -E 'revocation|^Drift' || true

step "7. ${RETRY_AFTER}s later (the CA's Retry-After): drift sees the incident (exit 2)"
sleep "$RETRY_AFTER"
expect 2 certops drift "$ds" "${inv[@]}" > "$work/drift.txt" 2>&1
grep -E 'revocation_pending|^Drift' "$work/drift.txt"

step "8. ONE certops apply replaces them, rolling (one member of a cluster at a time)"
expect 0 certops apply "$ds" "${inv[@]}" --auto-approve --poll-interval 0.1 >/dev/null
replaced_at=$(date +%s)
for node in "${REVOKED[@]}"; do
  echo "$node: serial ${before[$node]} -> $(served "$node"), $(( revoked_at - replaced_at ))s before the revocation"
done

step "9. the notice is over: the CRL lists the old certificates; no node serves one"
sleep $(( revoked_at - $(date +%s) + 3 ))
crl_serials=$(python - "$ACME_DIRECTORY" "$ACME_TLS_CA" <<'PY'
import ssl, sys, urllib.request
from cryptography import x509
url = sys.argv[1].rsplit("/", 1)[0] + "/crl"
ctx = ssl.create_default_context(cafile=sys.argv[2])
crl = x509.load_der_x509_crl(urllib.request.urlopen(url, context=ctx).read())
print(" ".join(f"{r.serial_number:x}" for r in crl))
PY
)
echo "on the CRL: $crl_serials"
served_revoked=0
for node in "${EXPRESSWAYS[@]}" "${CUCM[@]}"; do
  serial=$(served "$node")
  if [[ " $crl_serials " == *" $serial "* ]]; then
    served_revoked=$(( served_revoked + $(date +%s) - revoked_at )); echo "$node serves a REVOKED certificate"
  fi
done
for node in "${REVOKED[@]}"; do
  [[ " $crl_serials " == *" ${before[$node]} "* ]] || { echo "demo-revocation: ${before[$node]} is not on the CRL" >&2; exit 1; }
done
echo "seconds served revoked: $served_revoked"
[ "$served_revoked" = 0 ] || exit 1
expect 0 certops plan "$ds" "${inv[@]}" --detailed-exitcode >/dev/null

step "Done in $(( $(date +%s) - start ))s: the lab, the ACME CA and BIND are stopped and the copy removed."
