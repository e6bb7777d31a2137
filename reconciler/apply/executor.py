"""Executing a plan: refuse stale plans, walk the dependency graph, stop cleanly on failure.

Independent actions run in parallel (bounded); an action starts only when everything it
depends on is done, so the plan's edges are the whole safety story: trust before install,
CUCM restarts before the install that needs them, restarts of linked nodes one at a time.
On the first failure nothing new starts, running actions finish, and every action is
reported as done, failed, skipped or manual.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.apply.steps import STEPS, StepContext, StepFailed
from reconciler.drivers import Driver, DriverError
from reconciler.drivers.fleet import read_all
from reconciler.model import Action, ActionResult, ApplyResult, CertopsError, LiveNode, Plan

Listener = Callable[[str, Action, str], None]  # (event, action, detail): started/done/failed


class StalePlan(CertopsError):
    """The nodes or the desired state changed since the plan was made."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        super().__init__(
            "the plan is stale: "
            + "; ".join(reasons)
            + ". Run certops plan again and review the new plan."
        )


async def check_fresh(
    plan: Plan, drivers: dict[str, Driver], desired_digest: str, parallelism: int
) -> dict[str, LiveNode]:
    """Re-read every node the plan knows and compare with the plan's fingerprints."""
    reasons: list[str] = []
    if plan.desired_digest != desired_digest:
        reasons.append("the desired state (files) changed")
    live = await read_all(
        {n: drivers[n] for n in plan.node_fingerprints if n in drivers}, parallelism
    )
    for name, fingerprint in sorted(plan.node_fingerprints.items()):
        node = live.get(name)
        if node is None:
            reasons.append(f"{name} was not read")
            continue
        if node.error:
            reasons.append(f"{name} cannot be read now ({node.error})")
            continue
        if node.fingerprint() == fingerprint:
            continue
        before, now = plan.node_state.get(name, {}), node.fingerprint_parts()
        changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
        reasons.append(f"{name}: {', '.join(changed) or 'its state'} changed since the plan")
    if reasons:
        raise StalePlan(reasons)
    return live


@dataclass
class _Run:
    action: Action
    started: float
    started_at: datetime


async def execute(
    plan: Plan, ctx: StepContext, *, parallelism: int = 16, listener: Listener | None = None
) -> ApplyResult:
    """Run the plan's actions in dependency order; see the module docstring."""
    t0, started_at = time.monotonic(), datetime.now(UTC)
    notify = listener or (lambda *_: None)
    results: dict[str, ActionResult] = {}
    running: dict[asyncio.Task[str], _Run] = {}
    stop: str | None = None
    order = list(plan.actions)

    def ready(action: Action) -> bool:
        return all(
            results.get(d) is not None and results[d].outcome == "done" for d in action.depends_on
        )

    while True:
        if stop is None:
            in_flight = {r.action.id for r in running.values()}
            for action in order:
                if len(running) >= parallelism:
                    break
                if action.id in results or action.id in in_flight or not ready(action):
                    continue
                if action.kind == "manual":
                    stop = f"stopped before the manual step {action.id}: {action.manual}"
                    results[action.id] = ActionResult(
                        id=action.id,
                        kind=action.kind,
                        node=action.node,
                        outcome="manual",
                        detail=action.manual or "",
                    )
                    notify("manual", action, action.manual or "")
                    break
                notify("started", action, action.reason)
                task = asyncio.create_task(STEPS[action.kind](ctx, action))
                running[task] = _Run(action, time.monotonic(), datetime.now(UTC))
        if not running:
            break
        done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            run = running.pop(task)
            action, seconds = run.action, time.monotonic() - run.started
            try:
                detail = task.result()
                outcome = "done"
            except (StepFailed, DriverError) as exc:
                detail, outcome = str(exc), "failed"
            except Exception as exc:  # a bug must not leave other nodes half-done silently
                detail, outcome = f"internal error: {type(exc).__name__}: {exc}", "failed"
            results[action.id] = ActionResult(
                id=action.id,
                kind=action.kind,
                node=action.node,
                outcome=outcome,
                detail=detail,
                started_at=run.started_at,
                seconds=round(seconds, 3),
                replaced_certificate=ctx.replaced.get(action.id),
            )
            notify(outcome, action, detail)
            if outcome == "failed" and stop is None:
                stop = f"{action.id} failed: {detail}"
    for action in order:
        if action.id not in results:
            why = stop or "a step it depends on did not complete"
            results[action.id] = ActionResult(
                id=action.id,
                kind=action.kind,
                node=action.node,
                outcome="skipped",
                detail=f"not started: {why}",
            )
            notify("skipped", action, why)
    ok = all(r.outcome == "done" for r in results.values())
    return ApplyResult(
        started_at=started_at,
        seconds=round(time.monotonic() - t0, 3),
        desired_digest=plan.desired_digest,
        ok=ok,
        results=tuple(results[a.id] for a in order),
        stopped_because=stop,
    )
