"""Start-up cost: `certops --help`, `certops --version`, and what `validate` imports.

python benchmarks/bench_startup.py
"""

from __future__ import annotations

import statistics
import sys
from typing import Any

from common import certops, run, save, table


def main() -> None:
    rows: list[dict[str, Any]] = []
    for args in (["--help"], ["--version"], ["validate", "--help"]):
        runs = [certops(*args) for _ in range(7)]
        rows.append(
            {
                "command": "certops " + " ".join(args),
                "median_wall_s": statistics.median(r.wall for r in runs),
                "min_wall_s": min(r.wall for r in runs),
                "peak_mb": max(r.peak_rss_mb for r in runs),
            }
        )
    # Which heavy modules load for `certops validate` (should not include httpx or the lab).
    probe = run(
        [
            sys.executable,
            "-c",
            "import sys; from reconciler.cli.app import build_app; build_app();"
            "import reconciler.cli.offline, reconciler.usecases.validate;"
            "print(' '.join(m for m in ('httpx', 'starlette', 'uvicorn', 'asyncssh',"
            " 'reconciler.lab', 'reconciler.drivers') if m in sys.modules))",
        ]
    )
    rows.append(
        {
            "command": "modules loaded for validate (of httpx, starlette, uvicorn, "
            "asyncssh, lab, drivers)",
            "median_wall_s": probe.output.strip() or "none",
        }
    )
    print(table(rows, ["command", "median_wall_s", "min_wall_s", "peak_mb"]))
    print(f"wrote {save('startup', rows)}")


if __name__ == "__main__":
    main()
