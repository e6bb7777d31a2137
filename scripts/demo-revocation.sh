#!/usr/bin/env bash
# A CA's mass revocation, end to end on the HTTPS lab, twice: restart now (drained) and wait
# for the window.
#
# The clustered fleet with a nightly restart window (closed during the demo): the four
# Expressways get 47-day certificates (ACME profile sc081-2029, serverAuth only, X15.5) from
# the lab's ACME CA (acme2certifier + BIND 9 on loopback); the three Unified CM nodes keep
# theirs. The lab offers calls to every node (reconciler.lab.calls). Time is scaled: an hour
# is 4 s (the CA's 24 hours of notice: 96 s); the CA's ARI Retry-After is 60 s, the shortest
# certops honours (15 scaled hours).
#
# A. emergency: {revocation: restart-now}. The CA revokes half the Expressways (expe1, expc1)
#    with 24 hours' notice: ARI says "renew now" at once, the CRL lists them when the notice
#    is over. certops notices at its next look after Retry-After (cert.revocation_pending)
#    and replaces both in one apply, outside the nightly window, rolling and drained, before
#    the revocation takes effect: 0 seconds served revoked, 0 dropped calls.
# B. The same incident a minute later for the other half (expe2, expc2), with emergency:
#    {revocation: wait-for-window} and their restart window opening 6 hours after the
#    revocation: certops orders and installs at once, the restarts wait for the window, and
#    the nodes serve a revoked certificate until it opens: the seconds it costs.
# The figures come from the lab's own timeline (certops lab timeline --acme-dir: what each
# node served when, against the CA's record of its revocations), not from certops' reports.
# Runs in a temporary copy of desired-state-clusters/. Needs bind9 and openssl
# (scripts/system-deps.sh, as root) and the acme2certifier plug-in (scripts/setup.sh). About 4
# minutes, most of it waiting for the scaled times.
set -euo pipefail
cd "$(dirname "$0")/.."
DEMO=demo-revocation
# shellcheck source=scripts/demo-lib.sh
source scripts/demo-lib.sh
need named openssl
HOUR=4              # seconds per scaled hour
NOTICE=$(( 24 * HOUR ))       # the CA's 24 hours of notice
RETRY_AFTER=60                # the CA's ARI Retry-After: certops' floor (15 scaled hours)
LATE=$(( 6 * HOUR ))          # B: the window opens 6 hours after the revocation
EXPRESSWAYS=(expe1 expe2 expc1 expc2)
CUCM=(cucm-pub cucm-sub1 cucm-sub2)

workspace desired-state-clusters
start=$(date +%s)
inv=(--inventory "$lab/inventory.yaml")

step "1. the lab's ACME CA (acme2certifier: ARI, profiles, a CRL) + BIND 9 on loopback"
acme_up acme --ari-retry-after "$RETRY_AFTER" nart.com
curl -s --cacert "$ACME_TLS_CA" "$ACME_DIRECTORY" | python -c \
  'import json,sys; print("profiles:", ", ".join(json.load(sys.stdin)["meta"]["profiles"]))'

step "2. the Expressways name the ACME issuer (profile sc081-2029: 47 days); a nightly window, closed now; emergency: restart-now"
nightly_hour=$(( ($(date -u +%-H) + 12) % 24 ))  # twelve hours away: closed for the whole demo
cat >> "$ds/certops.yaml" <<YAML
issuers:
  acme:
    type: acme
    directory: $ACME_DIRECTORY
    tls_ca_file: $ACME_TLS_CA
    account_key_file: $work/acme-account.pem
    profile: sc081-2029
    lifetime: 47d
    dns01:
      provider: rfc2136
      server: $DNS_SERVER
      tsig_key_name: certops-acme
      tsig_secret_file: $TSIG_FILE
      propagation_timeout: 30
    ca_files: [cas/acme-root.pem, cas/acme-intermediate.pem]
emergency: {revocation: restart-now}
windows:
  nightly: {cron: "0 $nightly_hour * * *", duration: 2h, timezone: UTC}
YAML
sed -i 's/^defaults:$/defaults:\n  restart_window: nightly/' "$ds/certops.yaml"
for node in "${EXPRESSWAYS[@]}"; do
  sed -i "0,/server_certificate:/s//server_certificate:\n  issuer: acme/" "$ds/nodes/$node.yaml"
done
# not part of this story, but inside two nightly windows of their end (renewal.few_windows)
for node in "${CUCM[@]}"; do sed -i 's/  renew_before: 30d/  renew_before: 3d/' "$ds/nodes/$node.yaml"; done
certops validate "$ds"

step "3. certops lab up: the clustered fleet with calls, the Expressways on X15.5 (server and client certificates apart)"
sed 's/type: expressway-\([ec]\),/type: expressway-\1, version: X15.5.1,/' \
  reconciler/lab/topologies/clusters.yaml > "$work/topology.yaml"
certops lab up --detach --dir "$lab" --topology "$work/topology.yaml" --restart-seconds 0.5

step "4. onboarding (outside the window, by override): the Expressways get their 47-day certificates; drift says when each renews"
expect 0 certops apply "$ds" "${inv[@]}" --auto-approve --poll-interval 0.1 \
  --outside-window --reason "demo: onboarding the ACME issuer" >/dev/null
certops drift "$ds" "${inv[@]}" > "$work/drift0.txt" 2>&1 || true
grep -E "^renewal:|^Drift" "$work/drift0.txt"

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
crl_serials() {  # the serials (hex) on the lab CA's CRL, as any client downloads it
  python - "$ACME_DIRECTORY" "$ACME_TLS_CA" <<'PY'
import ssl, sys, urllib.request
from cryptography import x509
url = sys.argv[1].rsplit("/", 1)[0] + "/crl"
ctx = ssl.create_default_context(cafile=sys.argv[2])
crl = x509.load_der_x509_crl(urllib.request.urlopen(url, context=ctx).read())
print(" ".join(f"{r.serial_number:x}" for r in crl))
PY
}
figures() {  # figures MARK: the lab's own count since MARK: served revoked, dropped calls
  certops lab timeline --dir "$lab" --since "$1" --acme-dir "$acme" |
    grep -E "^(served revoked|dropped calls|invariant|INVARIANT)"
}
revoke() {  # revoke NODE...: the CA revokes their certificates with NOTICE; sets revoked_at
  local args=(); for node in "$@"; do args+=(--node "$node"); done
  certops lab revoke --dir "$lab" --acme-dir "$acme" "${args[@]}" --notice "${NOTICE}s"
  revoked_at=$(( $(date +%s) + NOTICE ))  # (at most a second after the CA's own moment)
}
sleep_until() { local left=$(( $1 - $(date +%s) )); [ "$left" -le 0 ] || sleep "$left"; }

step "A5. the CA revokes expe1 and expc1 with ${NOTICE}s of notice (24 hours, scaled): ARI says renew now"
mark_a=$(certops lab timeline --dir "$lab" --mark)
declare -A before
for node in expe1 expc1; do before[$node]=$(served "$node"); done
revoke expe1 expc1
a_revoked_at=$revoked_at
certops drift "$ds" "${inv[@]}" > "$work/drift-a5.txt" 2>&1 || true
grep -q revocation_pending "$work/drift-a5.txt" ||
  echo "drift: nothing yet (the CA's last answer stands until its Retry-After)"

step "A6. ${RETRY_AFTER}s later (the CA's Retry-After): drift sees the incident (exit 2)"
sleep_until $(( a_revoked_at - NOTICE + RETRY_AFTER ))
expect 2 certops drift "$ds" "${inv[@]}" > "$work/drift-a6.txt" 2>&1
grep -E 'revocation_pending|cert.emergency|^Drift' "$work/drift-a6.txt" | cut -c1-220

step "B7. a minute into the incident the CA revokes expe2 and expc2 too (certops has just asked: it sees them after Retry-After)"
revoke expe2 expc2
b_revoked_at=$revoked_at

step "A8. ONE certops apply replaces expe1 and expc1 outside the nightly window (emergency restart-now), rolling and drained"
expect 0 certops apply "$ds" "${inv[@]}" --auto-approve --poll-interval 0.1 > "$work/apply-a.txt"
grep -E "^Apply|^Outside" "$work/apply-a.txt" || true
replaced_at=$(date +%s)
for node in expe1 expc1; do
  echo "$node: serial ${before[$node]} -> $(served "$node"), $(( a_revoked_at - replaced_at ))s before the revocation"
done

step "B9. for B: emergency: wait-for-window, and expe2's and expc2's window opens 6 hours (${LATE}s) after their revocation"
mark_b=$(certops lab timeline --dir "$lab" --mark)  # B's count starts after A's apply
late=$(( b_revoked_at + LATE ))
late_cron=$(date -u -d "@$late" +"%-S %-M %-H %-d %-m *")
sed -i 's/^emergency: {revocation: restart-now}$/emergency: {revocation: wait-for-window}/' "$ds/certops.yaml"
echo "  late: {cron: \"$late_cron\", duration: 10m, timezone: UTC}" >> "$ds/certops.yaml"
for node in expe2 expc2; do echo "restart_window: late" >> "$ds/nodes/$node.yaml"; done
certops validate "$ds" >/dev/null
echo "window late: cron \"$late_cron\" (UTC), 10 minutes"

step "A10. A's notice is over: the CRL lists expe1's and expc1's old certificates; nobody serves them"
sleep_until $(( a_revoked_at + 2 ))
crl=$(crl_serials)
for node in expe1 expc1; do
  [[ " $crl " == *" ${before[$node]} "* ]] || { echo "$DEMO: ${before[$node]} is not on the CRL" >&2; exit 1; }
done
echo "on the CRL: $crl"
echo "A (restart-now, drained), from the lab's timeline:"
figures "$mark_a" | tee "$work/a.txt"
grep -q "^served revoked: 0.0 s$" "$work/a.txt" && grep -q "^dropped calls: 0$" "$work/a.txt" ||
  { echo "$DEMO: A served a revoked certificate or dropped calls" >&2; exit 1; }

step "B11. the CA's Retry-After has passed: certops orders and installs now; the restarts are owed to window late"
sleep_until $(( b_revoked_at - NOTICE + RETRY_AFTER ))
expect 2 certops drift "$ds" "${inv[@]}" > "$work/drift-b.txt" 2>&1
grep -E 'cert.emergency|^Drift' "$work/drift-b.txt" | cut -c1-220
expect 0 certops apply "$ds" "${inv[@]}" --auto-approve --poll-interval 0.1 > "$work/apply-b.txt"
grep -E "^Apply|^Owed|^  node.restart" "$work/apply-b.txt" | cut -c1-160 || true

step "B12. the window opens ${LATE}s (6 hours) after the revocation: certops apply restarts them, drained"
sleep_until "$late"
expect 0 certops apply "$ds" "${inv[@]}" --auto-approve --poll-interval 0.1 >/dev/null
for node in expe2 expc2; do echo "$node now serves $(served "$node")"; done
echo "B (wait-for-window, a window too late), from the lab's timeline:"
figures "$mark_b" | tee "$work/b.txt"
if grep -q "^served revoked: 0.0 s$" "$work/b.txt"; then echo "$DEMO: B cost nothing?" >&2; exit 1; fi
awk -v h="$HOUR" '/^served revoked:/ { printf "= %.1f scaled hours of revoked certificates served, for waiting for the window\n", $3 / h }' "$work/b.txt"
expect 0 certops plan "$ds" "${inv[@]}" --detailed-exitcode >/dev/null

step "Done in $(( $(date +%s) - start ))s: the lab, the ACME CA and BIND are stopped and the copy removed."
