"""Helpers of the change-window tests on the in-process lab: a window on the example
fleet, sessions at a chosen time (the session's clock, never a patched ``datetime``), the
apply use case, and the restarts the nodes went through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from unitkit import ready_to_install, session_of

from reconciler.lab.availability import Timeline
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Action, Plan
from reconciler.usecases.apply import ApplyRequest, ApplyRun, ApplyUi, apply
from reconciler.usecases.session import Session, fixed

WINDOWS = """
windows:
  nightly: {cron: "0 22 * * 1-5", duration: 4h, timezone: Europe/Zurich}
"""
# Monday 7 December 2026: noon is outside the window, 22:30 Zurich (21:30 UTC) inside.
NOON = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
NIGHT = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)
RESTARTS = ("node.restart", "service.restart")


def with_window(root: Path, extra: str = "") -> None:
    """Every node restarts in window ``nightly`` (defaults.restart_window)."""
    path = root / "certops.yaml"
    text = path.read_text().replace("defaults:\n", "defaults:\n  restart_window: nightly\n", 1)
    path.write_text(text + WINDOWS + extra)


def at(lab: InProcessLab, root: Path,
       clock: datetime | Callable[[], datetime]) -> Session:
    """A session on ``root`` whose clock says ``clock`` (a moment, or a function)."""
    moment = clock if callable(clock) else fixed(clock)
    return replace(session_of(lab, root), clock=moment)


def approve(plan: Plan) -> bool:
    return True


async def run(session: Session, root: Path, ui: ApplyUi | None = None,
              **options: object) -> ApplyRun:
    return await apply(session, ApplyRequest(root, auto_approve=True, **options),  # type: ignore[arg-type]
                       ui or ApplyUi(prompt=approve))


async def run_closing(lab: InProcessLab, root: Path, closes_after: Callable[[Action], bool]
                      ) -> tuple[ApplyRun, list[Action]]:
    """An apply that starts in the window (``NIGHT``), whose window closes (02:30 Zurich) as
    soon as the first step that ``closes_after`` picks is done; the run and that step."""
    now = {"t": NIGHT}
    first: list[Action] = []

    def follow(plan: Plan) -> object:
        def notify(event: str, action: Action, detail: str) -> None:
            if event == "done" and closes_after(action) and not first:
                first.append(action)
                now["t"] = NIGHT + timedelta(hours=5)
        return notify

    ui = ApplyUi(prompt=approve, progress=follow)  # type: ignore[arg-type]
    return await run(at(lab, root, lambda: now["t"]), root, ui), first


async def renewal(lab: InProcessLab, desired: Path) -> Timeline:
    """CSRs generated and signed (nothing disruptive so far), then the window set; the
    timeline that records every restart from then on."""
    await ready_to_install(lab, desired)
    with_window(desired)
    timeline = Timeline()
    for node in lab.nodes.values():
        node.timeline = timeline
    return timeline


def restarts(timeline: Timeline) -> list[str]:
    """Every restart the nodes went through (node: what), from their own samples."""
    return [f"{s.node}: {s.why}" for s in timeline.samples if s.why.startswith("restarting")]
