#!/usr/bin/env bash
# System packages the issuer tests and the issuer demos use: Pebble (Let's Encrypt's test ACME
# server, for the protocol tests; the lab's default ACME CA, acme2certifier, comes from PyPI
# with the plug-in lab-plugins/certops-lab-a2c, which scripts/setup.sh installs), BIND 9 (RFC 2136 dynamic DNS) and openssl (a CA through `openssl ca`);
# and Chromium, in which the report tests render the Mermaid diagrams with the real renderer
# (headless; any of chromium, chromium-browser, google-chrome on the PATH will do).
# Installs them only when they are missing, we are root and apt-get exists; otherwise it says
# why it skips, and the tests that need them skip with that reason.
set -euo pipefail
missing=()
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
{ command -v named >/dev/null 2>&1 || [ -x /usr/sbin/named ]; } || missing+=(bind9)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
{ command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
  command -v google-chrome >/dev/null 2>&1; } || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: not installing ${missing[*]} (needs root and apt-get); the tests that use them will skip" >&2
  exit 0
fi
echo "system-deps: installing ${missing[*]} with apt-get" >&2
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  echo "system-deps: installed ${missing[*]} in $(( $(date +%s) - start ))s" >&2
else
  echo "system-deps: apt-get failed; the tests that need ${missing[*]} will skip" >&2
fi
