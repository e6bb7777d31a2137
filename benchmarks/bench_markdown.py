"""The size of the Markdown reports on a synthetic fleet, this checkout against another.

    python benchmarks/bench_markdown.py [--nodes 1000] [--vs DIR] [--name markdown]

Starts the synthetic lab (`certops lab up --nodes N`), imports it (its certificates are due
for renewal: a CSR per Expressway), then runs `plan --format markdown` and `drift --format
markdown` on it with this checkout and, with ``--vs``, with another checkout (e.g. the commit
before the change, from `git archive`), and reports each output's characters against
GitHub's comment limit (65,536). Loopback only.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from common import ROOT, certops, checkout_env, lab, save, table

GITHUB_LIMIT = 65_536


def sizes(desired: Path, inventory: Path, env: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for command in ("plan", "drift"):
        run = certops(command, str(desired), "--inventory", str(inventory), "--format",
                      "markdown", env=env)
        text = run.output
        out[f"{command}_chars"] = len(text)
        out[f"{command}_fits"] = len(text) <= GITHUB_LIMIT
        out[f"{command}_exit"] = run.code
        out[f"{command}_s"] = round(run.wall, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--vs", type=Path, help="another checkout to compare with (before)")
    ap.add_argument("--name", default="markdown", help="results/<name>.json")
    args = ap.parse_args()
    checkouts = [("this", ROOT)] + ([("vs", args.vs.resolve())] if args.vs else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp, lab(Path(tmp) / "lab", args.nodes) as running:
        desired = Path(tmp) / "desired"
        certops("import", str(desired), "--inventory", str(running.inventory), check=True,
                env=checkout_env(ROOT))
        for name, root in checkouts:
            rows.append({"checkout": name, "N": args.nodes,
                         **sizes(desired, running.inventory, checkout_env(root))})
    columns = ["checkout", "N", "plan_chars", "plan_fits", "plan_exit", "plan_s", "drift_chars",
               "drift_fits", "drift_exit", "drift_s"]
    print(table(rows, columns))
    print(f"wrote {save(args.name, rows)}")


if __name__ == "__main__":
    main()
