# Helpers the demo scripts share (sourced from the repository root, not run): the set-up,
# a temporary workspace, the system binaries and the lab's ACME CA a demo needs, headings,
# exit-code checks, and the small edits a person would make to node files during a renewal.
# Needs DEMO (the script's name, for messages).

bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

# workspace SRC: a temporary copy of the directory SRC as $ds, $lab for the lab, both removed
# on exit (the lab stopped first; a demo may define demo_cleanup for what else it started).
workspace() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/certops-$DEMO.XXXXXX")
  lab="$work/lab"
  ds="$work/$(basename "$1")"
  trap _cleanup EXIT
  cp -r "$1" "$ds"
}
_cleanup() {
  certops lab down --dir "$lab" >/dev/null 2>&1 || true
  if [ -n "${acme:-}" ]; then python -m reconciler.lab.acme_ca down --dir "$acme" >/dev/null 2>&1 || true; fi
  if declare -F demo_cleanup >/dev/null; then demo_cleanup; fi
  rm -rf "$work"
}

# need BIN...: stop the demo naming a system binary it lacks (scripts/system-deps.sh installs
# them as root; BIND's named may live in /usr/sbin, outside a user's PATH).
need() {
  local bin
  for bin in "$@"; do
    command -v "$bin" >/dev/null || [ -x "/usr/sbin/$bin" ] ||
      { echo "$DEMO: $bin is missing (run scripts/system-deps.sh as root)" >&2; exit 1; }
  done
}

# acme_up NAME [OPTION...] DOMAIN...: the lab's ACME CA (acme2certifier + BIND 9 on loopback,
# `python -m reconciler.lab.acme_ca up` with the options and domains) in $acme, stopped on
# exit; its environment ($ACME_DIRECTORY, $ACME_TLS_CA, $DNS_SERVER, $TSIG_FILE); its root and
# intermediate as cas/NAME-root.pem and cas/NAME-intermediate.pem of $ds; and an ACME account
# key outside the desired state (certops refuses one inside it): $work/acme-account.pem.
acme_up() {
  local name=$1; shift
  acme="$work/acme"
  python -m reconciler.lab.acme_ca up --dir "$acme" "$@"
  # shellcheck disable=SC1091
  . "$acme/acme.env"
  cp "$acme/ca-root.pem" "$ds/cas/$name-root.pem"
  cp "$acme/ca-intermediate.pem" "$ds/cas/$name-intermediate.pem"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/acme-account.pem" 2>/dev/null
}

# demo_options "$@": --cucm-12.5 runs every Unified CM node of the lab at release 12.5 (no
# REST API: certops reads and changes its certificates over the platform CLI); lab_opts
# holds what `certops lab up` then needs.
CUCM_125=12.5.1.16900-48
demo_options() {
  lab_opts=()
  case "${1:-}" in
    --cucm-12.5) lab_opts=(--cucm-version "$CUCM_125")
                 echo "$DEMO: Unified CM at $CUCM_125 (platform CLI, no REST API)" ;;
    "") ;;
    *) echo "usage: $0 [--cucm-12.5]" >&2; exit 1 ;;
  esac
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

expect() {  # expect CODE COMMAND...: run, show the exit code, fail the demo on a surprise
  local want=$1; shift
  set +e; "$@"; local rc=$?; set -e
  echo "(exit code $rc)"
  [ "$rc" = "$want" ] || { echo "$DEMO: expected exit code $want from: $*" >&2; exit 1; }
}

# Over REST alone Unified CM cannot show a pending CSR, and a new one would silently replace
# it, so certops asks first (csr.pending_unknown). The lab's inventory declares each node's
# CLI, where the pending CSR is read (demo.sh and demo-clusters.sh need no flag); the other
# demos keep allowing a new CSR for one apply, which does no harm.
csr_flag() {  # csr_flag on|off NODE: replace_pending_csr in NODE's file (server_certificate
  # and, where declared, the callmanager identity)
  python - "$ds/nodes/$2.yaml" "$1" <<'PY'
import re, sys
path, on = sys.argv[1], sys.argv[2] == "on"
text = re.sub(r" *replace_pending_csr: true\n", "", open(path).read())
if on:
    text = text.replace("server_certificate:", "server_certificate:\n  replace_pending_csr: true", 1)
    text = re.sub(r"\n  callmanager: *(#[^\n]*)?\n", lambda m: m[0] + "    replace_pending_csr: true\n",
                  text, count=1)
open(path, "w").write(text)
PY
}

use_role_certificate() {  # use_role_certificate NODE ROLE: certificates.ROLE.file
  python - "$ds/nodes/$1.yaml" "$1" "$2" <<'PY'
import sys
path, node, role = sys.argv[1:]
text = open(path).read()
if f"file: ../certs/{node}.{role}.pem" not in text:
    text = text.replace(f"\n  {role}:", f"\n  {role}:\n    file: ../certs/{node}.{role}.pem", 1)
open(path, "w").write(text)
PY
}

use_certificate() {  # use_certificate NODE: point NODE's file at certs/NODE.pem (signed)
  python - "$ds/nodes/$1.yaml" "$1" <<'PY'
import sys
path, node = sys.argv[1], sys.argv[2]
text = open(path).read()
if "file: ../certs/" not in text:
    text = text.replace("server_certificate:", f"server_certificate:\n  file: ../certs/{node}.pem", 1)
open(path, "w").write(text)
PY
}
