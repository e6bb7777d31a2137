#!/usr/bin/env bash
# The clientAuth sunset (issue 27), on the lab: the migration every Cisco fleet with public
# certificates must make before March 2027, as ONE reviewed plan.
#
# Part 1: the traversal pair (Expressway-E and -C) on X15.5 with Unified CM. The server
# certificates of the pair come from a public ACME CA (declared `eku: [serverAuth]`,
# `public: true`, as public CAs issue from 2027); their client certificates (X15.5's second
# store, `certificates: {client: ...}`) and Unified CM's tomcat certificate from the lab's
# private CA with both EKUs (TAC 225693's working set-up). `certops plan` shows the order:
# the private CA into every peer's trust first (the E's trusted CA list, Unified CM
# tomcat-trust and callmanager-trust with their restarts), then the client certificates,
# then the public server certificates, restarts last; `certops apply` converges; `certops lab
# timeline` checks every link as mutual TLS with roles: `refused handshakes: 0`.
# Part 2: the same pair on X15.3 with the same public issuer: the plan is blocked
# (issuer.no_client_auth), naming the links that would break and the ways out.
#
# The ACME server is the lab's (reconciler.lab.acme_ca.AcmeLab: acme2certifier, which issues
# serverAuth-only leaves as a public CA of 2027 does; the issuer is declared serverAuth-only
# too, and that declaration is what the plan judges). Runs in a temporary directory and leaves
# this tree clean. Needs bind9 and openssl (scripts/system-deps.sh installs them as root) and
# the acme2certifier plug-in (lab-plugins/certops-lab-a2c, scripts/setup.sh). About 60 s on a
# shared 2-core machine once .venv exists.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=demo-eku
# shellcheck source=scripts/demo-lib.sh
source scripts/demo-lib.sh
need named openssl

demo_cleanup() { certops lab down --dir "$lab153" >/dev/null 2>&1 || true; }
workspace desired-state
lab153="$work/lab153"
start=$(date +%s)

topology() {  # topology VERSION FILE: the example fleet, the pair at VERSION
  cat > "$2" <<YAML
nodes:
  - {name: expe1, type: expressway-e, fqdn: expe1.nart.com, version: $1, links: [expc1],
     sans: [expe.nart.com, expe1.nart.com, expe2.nart.com, join.nart.com, meeting.nart.com,
            meet.nart.com, guest.vngtp.aca, guest.vngtpres.aca, vngtp.lab, nart.com]}
  - {name: expc1, type: expressway-c, fqdn: expc1.nart.com, version: $1,
     links: [expe1, cucm-pub], sans: [expc.nart.com, expc1.nart.com]}
  - {name: cucm-pub, type: cucm, fqdn: cucm-pub.nart.com, links: [expc1],
     sans: [cucm-pub.nart.com, cucm.nart.com]}
YAML
}

step "1. certops lab up: expe1 and expc1 on X15.5.1 (server and client stores), cucm-pub"
topology X15.5.1 "$work/topology.yaml"
certops lab up --detach --dir "$lab" --topology "$work/topology.yaml" --restart-seconds 1
inv=(--inventory "$lab/inventory.yaml")

step "2. the CAs: a public-like ACME CA (acme2certifier + BIND 9 on loopback), the lab's private CA"
acme_up public nart.com vngtp.aca vngtpres.aca vngtp.lab
cp "$lab/ca/root.pem" "$ds/cas/lab-root.pem"
cp "$lab/ca/new.pem" "$ds/cas/lab-issuing-new.pem"
# The lab's enterprise CA as a command issuer (CSR on standard input, chain on standard output).
cat > "$work/private-ca.sh" <<SH
#!/bin/sh
set -e
t=\$(mktemp -d); trap 'rm -rf "\$t"' EXIT
cat > "\$t/csr.pem"
certops lab sign "\$t/csr.pem" --dir "$lab" --ca new --profile private --out "\$t/cert.pem" >/dev/null
cat "\$t/cert.pem"
SH
chmod +x "$work/private-ca.sh"

step "3. the desired state: issuers by what they can issue, the client role declared"
sed -i '/required_eku/d' "$ds/certops.yaml"   # the per-role, per-version defaults decide
cat >> "$ds/certops.yaml" <<YAML
issuers:
  public-acme:            # a public CA of 2027: serverAuth only
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
    eku: [serverAuth]
    public: true
    ca_files: [cas/public-root.pem, cas/public-intermediate.pem]
  lab-private:            # the lab's enterprise CA: both EKUs
    type: command
    run: [$work/private-ca.sh]
    eku: [serverAuth, clientAuth]
    ca_files: [cas/lab-root.pem, cas/lab-issuing-new.pem]
YAML
for node in expe1 expc1; do
  sed -i "0,/server_certificate:/s//server_certificate:\n  issuer: public-acme/" "$ds/nodes/$node.yaml"
  printf 'certificates:\n  client:            # X15.5: the client store, from the private CA\n    issuer: lab-private\n    subject_alt_names: [%s.nart.com]\n' "$node" >> "$ds/nodes/$node.yaml"
done
sed -i "0,/server_certificate:/s//server_certificate:\n  issuer: lab-private/" "$ds/nodes/cucm-pub.yaml"
cat "$ds/nodes/expc1.yaml"
certops validate "$ds"

step "4. certops plan: the migration in order (exit 2: changes)"
csr_flag on cucm-pub
expect 2 certops plan "$ds" "${inv[@]}" --out "$work/plan.json" --detailed-exitcode

step "5. certops apply: trust first, then the client certificates, then the server certificates"
expect 0 certops apply "$work/plan.json" --dir "$ds" "${inv[@]}" --poll-interval 0.2
csr_flag off cucm-pub
ls "$ds/certs" "$ds/csrs"
for node in expe1 expc1; do
  echo "$node server: $(certops inspect "$ds/certs/$node.pem" | grep -m1 -E 'Issuer:')"
  echo "$node client: $(certops inspect "$ds/certs/$node.client.pem" | grep -m1 -E 'Issuer:')"
done

step "6. certops plan: nothing left; certops drift: in sync; the timeline: refused handshakes: 0"
expect 0 certops plan "$ds" "${inv[@]}" --detailed-exitcode
expect 0 certops drift "$ds" "${inv[@]}"
certops lab timeline --dir "$lab" | tee "$work/timeline.txt" | tail -n 4
grep -qx "refused handshakes: 0" "$work/timeline.txt" || { echo "demo-eku: handshakes were refused" >&2; exit 1; }

step "7. the same pair on X15.3.2 with the public issuer: the plan is blocked (exit 1)"
topology X15.3.2 "$work/topology153.yaml"
certops lab up --detach --dir "$lab153" --topology "$work/topology153.yaml" --restart-seconds 1
rm -f "$ds"/certs/*.pem "$ds"/csrs/*.pem
set +e; certops plan "$ds" --inventory "$lab153/inventory.yaml" > "$work/blocked.txt"; rc=$?; set -e
grep -E "BLOCKED|no_client_auth" "$work/blocked.txt"
echo "(exit code $rc)"
[ "$rc" = 1 ] || { echo "demo-eku: the X15.3 plan should be blocked" >&2; exit 1; }

step "Done in $(( $(date +%s) - start ))s: the labs, the ACME CA and BIND are stopped and the copy removed."
