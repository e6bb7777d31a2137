"""``certops drift`` as a library call: a read-only plan plus the drift and hygiene report."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from reconciler.apply.planrun import compute_plan
from reconciler.drivers import Driver, Inventory
from reconciler.pki import default_cache
from reconciler.planning.drift import DriftReport, drift_report


def csr_since(root: Path, node: str) -> datetime | None:
    """When the node's CSR was committed (git), else the file's mtime; None without a file."""
    path = root / "csrs" / f"{node}.csr.pem"
    if not path.is_file():
        return None
    try:
        proc = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "log",
                "-1",
                "--format=%cI",
                "--",
                str(path.relative_to(root)),
            ],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if proc.returncode == 0 and proc.stdout.strip():
            return datetime.fromisoformat(proc.stdout.strip())
    except (OSError, subprocess.TimeoutExpired, ValueError):
        pass
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


async def compute_drift(
    root: Path,
    *,
    now: datetime,
    inventory: Inventory,
    env: Mapping[str, str],
    parallelism: int = 16,
    targets: list[str] | None = None,
    selectors: list[str] | None = None,
    drivers: dict[str, Driver] | None = None,
) -> DriftReport:
    """Read-only: the plan of ``compute_plan`` (``drivers`` as there) and the drift report."""
    run = await compute_plan(
        root,
        now=now,
        inventory=inventory,
        env=env,
        parallelism=parallelism,
        targets=targets,
        selectors=selectors,
        drivers=drivers,
    )
    ages = {n: t for n in run.live if (t := csr_since(root, n)) is not None}
    return drift_report(run.fleet, run.live, run.plan, now, default_cache(), ages)
