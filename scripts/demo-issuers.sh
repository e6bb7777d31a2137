#!/usr/bin/env bash
# Issuance, hands-off: ONE `certops apply` renews the whole example fleet.
#
# The node files name issuers instead of committed certificates: an ACME issuer (the lab's
# ACME CA, acme2certifier on loopback issuing like a public CA of 2027: serverAuth only, 64-day
# `classic` profile; DNS-01 through RFC 2136 updates to a BIND 9 on loopback) for the
# Expressway-E, and a `command` issuer (`openssl ca`) for the Expressway-C and Unified CM.
# `certops apply` generates the CSRs on the nodes, has them signed, uploads the new CA chains
# to every node first, installs, restarts and proves each certificate served; then `certops
# plan` is empty and `certops drift` exits 0. The lab's Expressway pair runs X15.5 here, which
# separates server and client certificates, so the ACME issuer's default `eku: [serverAuth]`
# is allowed for its server certificate (on X15.0 the plan would refuse it:
# issuer.no_client_auth), and its client certificate (`certificates: {client: ...}`) comes
# from the command CA, which issues clientAuth (scripts/demo-eku.sh shows the whole migration).
# Runs in a temporary directory and leaves this tree clean. Needs bind9 and openssl
# (scripts/system-deps.sh installs them as root) and the acme2certifier plug-in
# (lab-plugins/certops-lab-a2c, GPL-3.0, which scripts/setup.sh installs).
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=demo-issuers
# shellcheck source=scripts/demo-lib.sh
source scripts/demo-lib.sh
need named openssl
workspace desired-state
start=$(date +%s)

step "1. the CAs: the lab's ACME CA (acme2certifier) + BIND 9 (RFC 2136, TSIG) on loopback; openssl ca"
acme_up acme nart.com vngtp.aca vngtpres.aca vngtp.lab
python - "$work/corp-ca" <<'PY'
import sys
sys.path.insert(0, "tests/issuers")
from pathlib import Path
from openssl_ca import make_openssl_ca
make_openssl_ca(Path(sys.argv[1]))
PY
cp "$work/corp-ca/root.pem" "$ds/cas/corp-root.pem"
echo "ACME $ACME_DIRECTORY, BIND $DNS_SERVER, openssl ca in $work/corp-ca"

step "2. the desired state names issuers (certops.yaml) and the nodes name them"
cat >> "$ds/certops.yaml" <<YAML
issuers:
  acme:                   # ACME, DNS-01 through RFC 2136 (BIND), verified TLS to the CA
    type: acme
    directory: $ACME_DIRECTORY
    tls_ca_file: $ACME_TLS_CA
    account_key_file: $work/acme-account.pem
    dns01:
      provider: rfc2136
      server: $DNS_SERVER
      tsig_key_name: certops-acme
      tsig_secret_file: $TSIG_FILE
      propagation_timeout: 30
    ca_files: [cas/acme-root.pem, cas/acme-intermediate.pem]
  corp:                   # any CA through a command: here openssl ca
    type: command
    run: [$work/corp-ca/sign.sh]
    ca_files: [cas/corp-root.pem]
YAML
for node in expe1 expc1 cucm-pub; do
  issuer=corp; [ "$node" = expe1 ] && issuer=acme
  sed -i "0,/server_certificate:/s//server_certificate:\n  issuer: $issuer/" "$ds/nodes/$node.yaml"
done
for node in expe1 expc1; do  # X15.5's client stores: they need clientAuth, so the command CA
  printf 'certificates:\n  client:\n    issuer: corp\n    subject_alt_names: [%s.nart.com]\n' \
    "$node" >> "$ds/nodes/$node.yaml"
done
sed -n '/^issuers:/,$p' "$ds/certops.yaml"
certops validate "$ds"

step "3. certops lab up: the example fleet, the Expressway pair on X15.5 (the same version)"
cat > "$work/topology.yaml" <<'YAML'
nodes:
  - {name: expe1, type: expressway-e, fqdn: expe1.nart.com, version: X15.5.1, links: [expc1],
     sans: [expe.nart.com, expe1.nart.com, expe2.nart.com, join.nart.com, meeting.nart.com,
            meet.nart.com, guest.vngtp.aca, guest.vngtpres.aca, vngtp.lab, nart.com]}
  - {name: expc1, type: expressway-c, fqdn: expc1.nart.com, version: X15.5.1,
     links: [expe1, cucm-pub], sans: [expc.nart.com, expc1.nart.com]}
  - {name: cucm-pub, type: cucm, fqdn: cucm-pub.nart.com, links: [expc1],
     sans: [cucm-pub.nart.com, cucm.nart.com]}
YAML
certops lab up --detach --dir "$lab" --topology "$work/topology.yaml" --restart-seconds 1
inv=(--inventory "$lab/inventory.yaml")

step "4. certops drift: renewal is due on every node (exit 2)"
expect 2 certops drift "$ds" "${inv[@]}"

step "5. ONE certops apply: CSRs, signatures (ACME + openssl ca), trust first, installs, restarts"
# Unified CM cannot show whether a CSR is pending, and a new one would replace it: certops asks
# first (csr.pending_unknown). The lab's cucm-pub has none pending: allow it for this apply.
csr_flag on cucm-pub
expect 0 certops apply "$ds" "${inv[@]}" --auto-approve --poll-interval 0.2 --report "$work/report.json"
csr_flag off cucm-pub
ls "$ds/certs" "$ds/csrs"

step "6. certops plan: nothing left (exit 0), certops drift: in sync (exit 0)"
expect 0 certops plan "$ds" "${inv[@]}" --detailed-exitcode
expect 0 certops drift "$ds" "${inv[@]}"
for node in expe1 expc1 cucm-pub; do
  echo "$node: $(certops inspect "$ds/certs/$node.pem" | grep -m1 -E 'Issuer:')"
done

step "Done in $(( $(date +%s) - start ))s: the lab, the ACME CA and BIND are stopped and the copy removed."
