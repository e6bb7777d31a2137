"""Start-up cost: `certops --help` beside a bare typer app's `--help` (``bare_typer_app.py``,
run in turn with it, the ratio taken run by run; with ``--vs DIR`` also certops from another
checkout), `certops --version`, and what `validate` imports.

python benchmarks/bench_startup.py [--runs 15] [--vs ../before]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from common import CERTOPS, ROOT, Measure, certops, checkout_env, run, save, table

BARE = Path(__file__).resolve().parent / "bare_typer_app.py"


def help_vs_bare(runs: int, vs: Path | None) -> list[dict[str, Any]]:
    """``certops --help`` (this checkout, and ``vs``) and the bare app's, alternated."""
    cmds = {"certops --help": ([*CERTOPS, "--help"], checkout_env(ROOT))}
    if vs is not None:
        cmds["before: certops --help"] = ([*CERTOPS, "--help"], checkout_env(vs.resolve()))
    cmds["bare typer app --help"] = ([sys.executable, str(BARE), "--help"], {})
    seen: dict[str, list[Measure]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, (argv, env) in cmds.items():
            seen[name].append(run(argv, env=env))
    peers = {"÷bare": seen["bare typer app --help"], "÷before": seen.get("before: certops --help")}
    return [{"command": name, "median_wall_s": statistics.median(m.wall for m in ms),
             "min_wall_s": min(m.wall for m in ms), "peak_mb": max(m.peak_rss_mb for m in ms),
             **{column: run_by_run(ms, peer) for column, peer in peers.items() if peer}}
            for name, ms in seen.items()]


def run_by_run(ms: list[Measure], peer: list[Measure]) -> float:
    """The median of the wall-time ratios of runs made one after the other."""
    return statistics.median(m.wall / p.wall for m, p in zip(ms, peer, strict=True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--vs", type=Path, help="another checkout of certops to compare with")
    args = ap.parse_args()
    rows: list[dict[str, Any]] = help_vs_bare(args.runs, args.vs)
    for args_ in (["--version"], ["validate", "--help"]):
        runs = [certops(*args_) for _ in range(7)]
        rows.append(
            {
                "command": "certops " + " ".join(args_),
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
    print(table(rows, ["command", "median_wall_s", "min_wall_s", "peak_mb", "÷bare", "÷before"]))
    print(f"wrote {save('startup', rows)}")


if __name__ == "__main__":
    main()
