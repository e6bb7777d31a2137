"""``certops drift``: a read-only plan plus the drift and hygiene report."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from reconciler.model.layout import csr_path
from reconciler.planning.drift import DriftReport, drift_report
from reconciler.usecases.plan import PlanRequest, plan
from reconciler.usecases.session import Session, fixed


def csr_since(root: Path, node: str) -> datetime | None:
    """When the node's CSR was committed (git), else the file's mtime; None without a file."""
    path = root / csr_path(node)
    if not path.is_file():
        return None
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%cI", "--", csr_path(node)],
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


async def drift(session: Session, request: PlanRequest | None = None) -> DriftReport:
    """Read-only: the plan of ``plan`` (same request) and the drift report.

    Always strict: a node that cannot be read is an error of drift (exit 1), so monitoring
    sees it even while partial plans renew the rest of the fleet."""
    now = session.now()
    session = replace(session, clock=fixed(now))  # the plan and the report judge one moment
    run = await plan(session, replace(request or PlanRequest(), strict=True))
    ages = {n: t for n in run.live if (t := csr_since(session.root, n)) is not None}
    return drift_report(run.fleet, run.live, run.plan, now, session.cache, ages,
                        renewal=run.renewal)
