"""Loading the desired state for the use cases that read nodes: once, with offline findings."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.checks import FleetView, build_view, offline_findings
from reconciler.desired import LoadResult, load
from reconciler.desired.loader import load_steps
from reconciler.model import CertopsError, DesiredNode, Finding, PemFile, Severity
from reconciler.model.layout import NODE_SUFFIXES, NODES_DIR
from reconciler.usecases.session import Session

# Errors in these code families leave no desired state to plan from.
UNUSABLE = ("input.", "node.", "link.", "repo.")


class InputError(CertopsError):
    """The desired state cannot be used; ``findings`` says why, with file:line:col."""

    def __init__(self, findings: tuple[Finding, ...]) -> None:
        self.findings = findings
        errors = [f for f in findings if f.severity is Severity.ERROR]
        super().__init__(f"the desired state has {len(errors)} error(s): run certops validate")


@dataclass(frozen=True, repr=False)
class LoadedFleet:
    """The desired state as a fleet view, and every loader and offline finding."""

    fleet: FleetView
    findings: tuple[Finding, ...]

    def __repr__(self) -> str:
        return f"LoadedFleet({len(self.fleet.nodes)} nodes, {len(self.findings)} findings)"


def load_fleet(session: Session, now: datetime) -> LoadedFleet:
    """The desired state with offline findings; InputError when it cannot be loaded at all."""
    return _checked(load(session.root, session.cache), session, now)


async def load_fleet_reading(
    session: Session, now: datetime, early: Callable[[DesiredNode, Mapping[str, PemFile]], None],
    shard: Sequence[tuple[str, str]] | None = None,
) -> LoadedFleet:
    """``load_fleet``, handing each node to ``early`` as soon as its file validates and letting
    the event loop run between files: reads started there proceed while the rest loads (the
    loading hides in their network waits). One thread: the loop runs between node files.
    With ``shard`` (``--select``'s labels), only the shard's part of the fleet is loaded and
    checked: its nodes and the nodes their links reach (``desired/shardscope.py``)."""
    steps = load_steps(session.root, session.cache, shard)
    while True:
        try:
            parsed = next(steps)
        except StopIteration as done:
            return _checked(done.value, session, now)
        early(parsed.node, parsed.files)
        await asyncio.sleep(0)


def _checked(loaded: LoadResult, session: Session, now: datetime) -> LoadedFleet:
    """The fleet view and offline findings of ``loaded``; InputError when it is unusable."""
    if loaded.desired is None or any(
        f.severity is Severity.ERROR and f.code.startswith(UNUSABLE) for f in loaded.findings
    ):
        raise InputError(loaded.findings)
    fleet = build_view(loaded.desired, session.cache)
    findings = (*loaded.findings, *offline_findings(fleet, session.cache, now))
    return LoadedFleet(fleet, findings)


def count_node_files(root: Path) -> int:
    """How many node files the desired state has, from a directory listing (nothing parsed):
    enough to size the reading before the files are loaded."""
    try:
        with os.scandir(root / NODES_DIR) as entries:
            return sum(1 for e in entries if e.name.endswith(NODE_SUFFIXES))
    except OSError:
        return 0


DIRTY = "-dirty"  # as `git describe --dirty`: the planned files differ from the commit


def git_commit(root: Path) -> str | None:
    """The commit of the desired-state repository, when it is one (for the plan's record),
    with ``-dirty`` appended when files under ``root`` differ from it or are untracked: a
    plan made from uncommitted files must not pass for the commit's."""
    head = _git(root, "rev-parse", "HEAD")
    if not head:
        return None
    changed = _git(root, "status", "--porcelain", "--untracked-files=normal", "--", ".")
    return head + DIRTY if changed else head


def _git(root: Path, *args: str) -> str | None:
    """A git command's output in ``root`` (stripped); None when git or the repository fails."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None
