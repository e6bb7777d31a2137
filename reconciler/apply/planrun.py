"""``certops plan`` as a library call: load, check, read every node, plan.

This is where I/O meets the pure core: files through ``desired``, nodes through ``drivers``,
then ``checks`` and ``planning`` on plain data. Nothing here writes to a node.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.checks import FleetView, build_view, offline_findings
from reconciler.desired import load
from reconciler.drivers import Driver, Inventory, make_drivers, read_all
from reconciler.drivers.fleet import close_all
from reconciler.model import CertopsError, Finding, LiveNode, Plan, Severity
from reconciler.pki import default_cache
from reconciler.planning import make_plan


class InputError(CertopsError):
    """The desired state cannot be used; ``findings`` says why, with file:line:col."""

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        self.findings = findings
        errors = [f for f in findings if f.severity is Severity.ERROR]
        super().__init__(f"the desired state has {len(errors)} error(s): run certops validate")


@dataclass(frozen=True, repr=False)
class PlanRun:
    """A plan with the fleet and live state it was made from.

    The repr is a summary on purpose: Python 3.11's asyncio.Runner formats the repr of the
    task's result when it checks its SIGINT handler, and a full repr of a 1,000-node fleet
    costs hundreds of megabytes.
    """

    plan: Plan
    fleet: FleetView
    live: dict[str, LiveNode]

    def __repr__(self) -> str:
        return f"PlanRun({len(self.live)} nodes, {len(self.plan.actions)} actions)"


def git_commit(root: Path) -> str | None:
    """The commit of the desired-state repository, when it is one (for the plan's record)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def load_fleet(root: Path, now: datetime) -> tuple[FleetView, tuple[Finding, ...]]:
    """The desired state with offline findings; InputError when it cannot be loaded at all."""
    loaded = load(root)
    if loaded.desired is None or any(
        f.severity is Severity.ERROR and f.code.startswith(("input.", "node.", "link.", "repo."))
        for f in loaded.findings
    ):
        raise InputError(loaded.findings)
    cache = default_cache()
    fleet = build_view(loaded.desired, cache)
    return fleet, (*loaded.findings, *offline_findings(fleet, cache, now))


def select(fleet: FleetView, targets: list[str] | None) -> list[str]:
    """The nodes to read: every node, or the targets and their linked peers."""
    names = sorted(fleet.nodes)
    if not targets:
        return names
    unknown = sorted(set(targets) - set(names))
    if unknown:
        raise ValueError(f"--node {', '.join(unknown)}: no such node (known: {', '.join(names)})")
    wanted = set(targets)
    for name in targets:
        wanted.update(p for p in fleet.desired.peers(name) if p in fleet.nodes)
    return sorted(wanted)


def select_labels(fleet: FleetView, selectors: list[str]) -> frozenset[str]:
    """Nodes whose labels match every ``key=value`` selector."""
    wanted: list[tuple[str, str]] = []
    for sel in selectors:
        key, sep, value = sel.partition("=")
        if not sep or not key:
            raise ValueError(f"--select {sel!r}: write it as key=value, e.g. site=dc1")
        wanted.append((key.strip(), value.strip()))
    chosen = frozenset(
        name
        for name, view in fleet.nodes.items()
        if all(view.node.spec.labels.get(k) == v for k, v in wanted)
    )
    if not chosen:
        raise ValueError(f"--select {' '.join(selectors)}: no node has those labels")
    return chosen


async def compute_plan(
    root: Path,
    *,
    now: datetime,
    inventory: Inventory,
    env: Mapping[str, str],
    parallelism: int = 16,
    targets: list[str] | None = None,
    selectors: list[str] | None = None,
    drivers: dict[str, Driver] | None = None,
) -> PlanRun:
    """Read-only: load, read every node (bounded concurrency), and plan.

    ``targets`` (``--node``) plans those nodes and the peer trust they need; ``selectors``
    (``--select key=value``) makes a shard: the matching nodes' actions only, the rest named.
    """
    fleet, findings = load_fleet(root, now)
    shard = select_labels(fleet, selectors) if selectors else None
    if shard is not None:
        targets = sorted(shard)
    names = select(fleet, targets)
    own = drivers is None
    drivers = drivers if drivers is not None else make_drivers(fleet.desired, names, inventory, env)
    try:
        live = await read_all(drivers, parallelism)
    finally:
        if own:
            await close_all(drivers)
    plan = make_plan(
        fleet,
        live,
        now,
        cache=default_cache(),
        findings=findings,
        targets=frozenset(targets) if targets and shard is None else None,
        shard=shard,
    )
    plan = plan.model_copy(update={"git_commit": git_commit(root), "desired_root": str(root)})
    return PlanRun(plan=plan, fleet=fleet, live=live)


def run_plan(root: Path, **kwargs: object) -> PlanRun:
    return asyncio.run(compute_plan(root, **kwargs))  # type: ignore[arg-type]
