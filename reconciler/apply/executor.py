"""Executing a plan: refuse stale plans, walk the dependency graph, stop cleanly on failure.

Independent actions run in parallel (bounded); an action starts only when everything it
depends on is done, so the plan's edges carry the safety story: trust before install,
CUCM restarts before the install that needs them, restarts of linked nodes one at a time.
One rule is the walk's own: a restart runs alone on its node, no other step talks to a node
while it restarts (``_Walk.clashes``).
Restarts and drains hold no slot of the parallelism while they wait for their node; of the
steps ready at once, those with the longest chain of restarts after them start first.
On the first failure nothing new starts, running actions finish, and every action is
reported as done, failed, skipped, manual or owed.
A disruptive step (a restart) is asked of the window policy (``planning/windows.py``, the
``WindowGate``) just before it would start, at the clock's time: outside its node's change
window it is **owed**, not run, and so is every action that depends on it, transitively; a
window that closes during the walk only stops new disruptive steps (running ones finish).
With ``keep_going`` (as Terraform does), the actions that do not depend, transitively, on a
failed one (or on a manual step) still run; those that do are skipped, each naming the
failed action it waited for.
A manual drain the person confirmed (``apply --drained NODE``, ``apply/confirmed.py``) is no
stop: it runs as a drain (held by the windows, holding no slot) that waits for the calls.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.apply.confirmed import confirmed, confirmed_drain
from reconciler.apply.drain import release_held
from reconciler.apply.steps import STEPS, StepContext, StepFailed, StepOwed
from reconciler.desired.pending import Pending, merge_pending, read_pending
from reconciler.drivers import Driver, DriverError
from reconciler.drivers.fleet import read_all
from reconciler.model import (
    RESTART_KINDS,
    WAITING_KINDS,
    Action,
    ActionResult,
    ApplyResult,
    CertopsError,
    LiveNode,
    Outcome,
    Plan,
)
from reconciler.model.result import FINE
from reconciler.planning.drain import DRAIN_KIND
from reconciler.planning.graph import action_id
from reconciler.planning.windows import WindowGate

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
    plan: Plan, drivers: dict[str, Driver], desired_digest: str, parallelism: int,
    pending: Pending | None = None,
) -> dict[str, LiveNode]:
    """Re-read every node the plan knows and compare with the plan's fingerprints (the
    record of restarts still owed, ``pending``, and the restarts the plan assumed owed
    without a record, folded in as the planner saw them)."""
    reasons: list[str] = []
    if plan.desired_digest != desired_digest:
        reasons.append("the desired state (files) changed")
    live = await read_all(
        {n: drivers[n] for n in plan.node_fingerprints if n in drivers}, parallelism
    )
    live = merge_pending(merge_pending(live, pending or {}), plan.assumed_owed)
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


async def still_as_planned(plan: Plan, ctx: StepContext, node: str) -> None:
    """Compare-and-swap: immediately before the first write to ``node``, its live state must
    still be the one planned. Another apply (on another machine, or one that took the lock
    first) or a person at the GUI may have changed it since the freshness check."""
    want = plan.node_fingerprints.get(node)
    if want is None:
        raise StepFailed(f"the plan has no fingerprint of {node}: run certops plan again")
    live = merge_pending({node: await ctx.drivers[node].read()}, read_pending(ctx.desired_root))
    now = merge_pending(live, plan.assumed_owed)[node]
    if now.fingerprint() != want:
        before, parts = plan.node_state.get(node, {}), now.fingerprint_parts()
        changed = sorted(k for k in set(before) | set(parts) if before.get(k) != parts.get(k))
        if changed and set(changed) <= _replicated_here(plan, node):
            return
        raise StepFailed(
            f"{node} changed since the plan ({', '.join(changed) or 'its state'}) just before "
            "the first change to it: someone else is changing it. Nothing was sent to "
            f"{node}; run certops plan again"
        )


def _replicated_here(plan: Plan, node: str) -> set[str]:
    """The stores of ``node`` that this plan's own uploads on its cluster's publisher change
    by replication (``replicated_from``): a change there is expected, not someone else's."""
    return {a.store for a in plan.actions
            if a.node == node and a.replicated_from and a.store is not None}


@dataclass
class _Run:
    action: Action
    started: float
    started_at: datetime


@dataclass
class _Walk:
    """The state of one walk through the graph: results so far, steps running, the stop."""

    plan: Plan
    ctx: StepContext
    parallelism: int
    notify: Listener
    results: dict[str, ActionResult] = field(default_factory=dict)
    running: dict[asyncio.Task[str], _Run] = field(default_factory=dict)
    stop: str | None = None
    checks: dict[str, asyncio.Future[None]] = field(default_factory=dict)
    keep_going: bool = False
    failures: list[str] = field(default_factory=list)
    # The change windows (None: every step may run) and the clock they are judged by.
    gate: WindowGate | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    # Kept as the walk goes, so that each step's start and end costs what it touches, not
    # the whole plan (a 1,000-node apply: ~1,300 actions, ~330 restarts waiting at once):
    # for each action not yet ready, how many of its dependencies are not done yet; the
    # actions each one unblocks; the ready ones (plan positions, restarts apart, since only
    # they may start while the slots are full); the slots held.
    waiting: dict[str, int] = field(default_factory=dict)
    users: dict[str, list[str]] = field(default_factory=dict)
    position: dict[str, int] = field(default_factory=dict)
    ready_restarts: set[int] = field(default_factory=set)
    ready_others: set[int] = field(default_factory=set)
    ready_manual: set[int] = field(default_factory=set)  # among ready_others
    slots: int = 0
    # For each action, the restarts on the longest chain from it on (itself included): what
    # it delays if it waits for a slot. Ready actions start longest chain first, then in
    # plan order, so that the installs whose restarts others wait for (an Expressway-E
    # before its linked -C) do not queue behind the rest.
    chain: dict[str, int] = field(default_factory=dict)
    # Per node, the restarts and the other steps running on it now: a restart runs alone on
    # its node (``clashes``).
    restarting: Counter[str] = field(default_factory=Counter)
    working: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.users = {a.id: [] for a in self.plan.actions}
        for i, action in enumerate(self.plan.actions):
            self.position[action.id] = i
            deps = set(action.depends_on)
            for dep in deps & self.users.keys():
                self.users[dep].append(action.id)
            # A dependency the plan does not hold is never done: the action never starts
            # (missing_dependencies says why).
            self.waiting[action.id] = len(deps)
            if not deps:
                self.make_ready(action)
        # Plans list dependencies first, so one pass from the end sees every user before
        # the action it waits for (in a plan cut out of order the figure is only lower: the
        # order of starts changes, never what may start).
        for action in reversed(self.plan.actions):
            after = max((self.chain.get(u, 0) for u in self.users[action.id]), default=0)
            self.chain[action.id] = after + (action.kind in RESTART_KINDS)

    def priority(self, pos: int) -> tuple[int, int]:
        return (-self.chain[self.plan.actions[pos].id], pos)

    def waits(self, action: Action) -> bool:
        """A restart or drain: it mostly waits for its node and holds no slot."""
        return action.kind in WAITING_KINDS or confirmed(self.ctx, action)

    def by_hand(self, action: Action) -> bool:
        """A manual step that stops the walk (a drain confirmed by hand does not)."""
        return action.kind == "manual" and not confirmed(self.ctx, action)

    def make_ready(self, action: Action) -> None:
        pos = self.position[action.id]
        (self.ready_restarts if self.waits(action) else self.ready_others).add(pos)
        if self.by_hand(action):
            self.ready_manual.add(pos)

    def ready(self, action: Action) -> bool:
        """Not started yet, and everything it depends on is done."""
        pos = self.position.get(action.id)
        return pos is not None and (pos in self.ready_restarts or pos in self.ready_others)

    def clashes(self, action: Action, reserved: set[str]) -> bool:
        """Whether ``action`` must wait because of what runs on its node: a restart takes
        the node (or its API, Cisco Tomcat) away, so no other step of this walk may talk
        to the node meanwhile, and a restart waits for the steps already talking to it.
        Independent actions on one node are not ordered by the plan (a CSR and the restart
        its trust upload owes): a 12-node onboarding sent a CSR to a Unified CM while its
        Tomcat restarted. A restart that waits reserves its node (``reserved``, this pass)
        so that new steps there do not keep it waiting."""
        node = action.node
        if action.kind in RESTART_KINDS:
            if self.working[node]:
                reserved.add(node)
                return True
            return False
        return bool(self.restarting[node]) or node in reserved

    def busy(self) -> int:
        """Steps holding a slot of the parallelism: restarts do not, since they mostly wait
        for a node to come back (how many run at once is the plan's rolling rules' to say)."""
        return self.slots

    def start_ready(self) -> None:
        """Start what is ready (longest restart chain first, then in plan order), up to the
        parallelism; stop at the first manual step. Restarts start whatever the slots; the
        others only while one is free (as it fills, the later ones wait). A manual step that
        stops the walk (not with keep_going) lets only what comes before it in the plan
        start, then stops."""
        if self.stop is not None:
            return
        candidates = set(self.ready_restarts)
        if self.slots < self.parallelism:
            candidates |= self.ready_others
        order = sorted(candidates, key=self.priority)
        if self.ready_manual and not self.keep_going:
            cut = min(self.ready_manual)
            order = [p for p in order if p < cut] + [cut]
        reserved: set[str] = set()
        for pos in order:
            action = self.plan.actions[pos]
            restart = self.waits(action)
            if not restart and self.slots >= self.parallelism:
                continue
            if self.clashes(action, reserved):
                continue
            (self.ready_restarts if restart else self.ready_others).discard(pos)
            self.ready_manual.discard(pos)
            kind = "node.drain" if confirmed(self.ctx, action) else action.kind
            owed = self.gate.hold(action.node, kind, self.clock()) if self.gate else None
            if owed is not None:
                self.record(action, "owed", owed)
                continue
            if self.by_hand(action):
                self.record(action, "manual", action.manual or "")
                if self.keep_going:
                    continue
                self.stop = f"stopped before the manual step {action.id}: {action.manual}"
                return
            self.notify("started", action, action.reason)
            task = asyncio.create_task(self.guarded(action))
            self.running[task] = _Run(action, time.monotonic(), datetime.now(UTC))
            (self.restarting if action.kind in RESTART_KINDS else self.working)[action.node] += 1
            if not restart:
                self.slots += 1

    async def guarded(self, action: Action) -> str:
        """The step, after the compare-and-swap of its node (once per node, first write)."""
        check = self.checks.get(action.node)
        if check is None:
            check = self.checks[action.node] = asyncio.ensure_future(
                still_as_planned(self.plan, self.ctx, action.node)
            )
        await asyncio.shield(check)
        step = confirmed_drain if confirmed(self.ctx, action) else STEPS[action.kind]
        return await step(self.ctx, action)

    def finish(self, task: asyncio.Task[str]) -> None:
        """Record a finished step; the first failure stops new work."""
        run = self.running.pop(task)
        kind = run.action.kind
        (self.restarting if kind in RESTART_KINDS else self.working)[run.action.node] -= 1
        if not self.waits(run.action):
            self.slots -= 1
        outcome: Outcome = "done"
        try:
            detail = task.result()
        except StepOwed as exc:
            detail, outcome = str(exc), "owed"
        except (StepFailed, DriverError) as exc:
            detail, outcome = str(exc), "failed"
        except Exception as exc:  # a bug must not leave other nodes half-done silently
            detail, outcome = f"internal error: {type(exc).__name__}: {exc}", "failed"
        self.record(run.action, outcome, detail, run)
        if outcome != "failed":
            return
        self.failures.append(run.action.id)
        if self.keep_going:
            return
        if self.stop is None:
            self.stop = f"{run.action.id} failed: {detail}"

    def record(
        self, action: Action, outcome: Outcome, detail: str, run: _Run | None = None
    ) -> None:
        self.results[action.id] = ActionResult(
            id=action.id,
            kind=action.kind,
            node=action.node,
            outcome=outcome,
            detail=detail,
            started_at=run.started_at if run else None,
            seconds=round(time.monotonic() - run.started, 3) if run else 0.0,
            replaced_certificate=self.ctx.replaced.get(action.id) if run else None,
        )
        if outcome == "done":
            for user in self.users.get(action.id, ()):
                self.waiting[user] -= 1
                if self.waiting[user] == 0:
                    self.make_ready(self.plan.actions[self.position[user]])
        self.notify(outcome, action, detail)

    async def release_drains(self) -> None:
        """A drain done whose restart did not run (owed: the window closed between them;
        skipped after a failure) leaves maintenance mode on: switch it off again
        (``drain.release_held``) and say so in the drain's result. A restart that failed
        released its node itself (``steps.node_restart``)."""
        held = [a for a in self.plan.actions if a.kind in RESTART_KINDS
                and self.results.get(a.id) is not None
                and self.results[a.id].outcome in ("owed", "skipped")
                and (drain := self.results.get(action_id(a.node, DRAIN_KIND))) is not None
                and drain.outcome == "done"]
        if not held:
            return
        for drain_id, said in (await release_held(self.ctx, held)).items():
            if said:
                result = self.results[drain_id]
                self.results[drain_id] = result.model_copy(update={
                    "detail": f"{result.detail}; its restart did not run{said}"})

    def owed_only(self) -> bool:
        """Nothing failed and every action not run waits for an owed one: the walk is done
        for now (the window's run does the rest)."""
        if any(r.outcome not in FINE for r in self.results.values()):
            return False
        blockers = self.blockers()
        return all(a.id in self.results or a.id in blockers for a in self.plan.actions)

    def missing_dependencies(self) -> str | None:
        """Why nothing could start although nothing failed: actions wait for ids that are
        not in the plan (a plan cut down to a subset of its actions)."""
        ids = {a.id for a in self.plan.actions}
        for action in self.plan.actions:
            missing = sorted(set(action.depends_on) - ids)
            if action.id not in self.results and missing:
                return (f"{action.id} waits for {', '.join(missing[:3])}, which this plan does "
                        "not hold: run certops plan again and apply the whole plan")
        return None

    def blockers(self) -> dict[str, str]:
        """For each action, the first failed, manual or owed action it depends on,
        transitively.

        One pass: the plan's actions are in dependency order."""
        out: dict[str, str] = {}
        for action in self.plan.actions:
            for dep in sorted(action.depends_on):
                result = self.results.get(dep)
                if result is not None and result.outcome in ("failed", "manual", "owed"):
                    out[action.id] = dep
                    break
                if dep in out:
                    out[action.id] = out[dep]
                    break
        return out

    def because(self, blocker: str | None, why: str) -> str:
        """Why an action was not started: the failed action it waited for, or the stop."""
        if blocker is None:
            return why
        what = "failed" if self.results[blocker].outcome == "failed" else "is a manual step"
        return f"it depends on {blocker}, which {what}"

    def kept_going(self) -> str | None:
        """With --keep-going, what went wrong: the failures, then the manual steps."""
        manual = [a for a, r in self.results.items() if r.outcome == "manual"]
        if not self.failures and not manual:
            return None
        parts = [f"{aid} failed: {self.results[aid].detail}" for aid in self.failures[:3]]
        parts += [f"{len(self.failures) - 3} more failed"] if len(self.failures) > 3 else []
        parts += [f"manual step(s) {', '.join(manual[:3])}"] if manual else []
        return "; ".join(parts) + ("; --keep-going ran every action that did not depend on "
                                   "them")

    def skip_the_rest(self) -> None:
        if self.stop is None and self.keep_going:
            self.stop = self.kept_going()
        if self.stop is None and not self.owed_only():
            self.stop = self.missing_dependencies()
        why = self.stop or "a step it depends on did not complete"
        blockers = self.blockers()
        for action in self.plan.actions:
            blocker = blockers.get(action.id)
            if action.id not in self.results and blocker is not None and \
                    self.results[blocker].outcome == "owed":
                self.record(action, "owed", f"waits for {blocker}, "
                            f"{self.results[blocker].detail}")
            elif action.id not in self.results:
                because = self.because(blocker, why)
                self.results[action.id] = ActionResult(
                    id=action.id,
                    kind=action.kind,
                    node=action.node,
                    outcome="skipped",
                    detail=f"not started: {because}",
                )
                self.notify("skipped", action, because)


def _outside(gate: WindowGate | None) -> str | None:
    """What the report says about steps allowed outside the windows: ``--outside-window``'s
    reason, or the nodes in an emergency and why (planning.emergency)."""
    if gate is None:
        return None
    emergency = getattr(gate, "emergency", {})  # (stand-in gates of the walk tests have none)
    if gate.override is not None or not emergency:
        return gate.override
    return "; ".join(f"{node}: {why}" for node, why in sorted(emergency.items()))


async def execute(
    plan: Plan, ctx: StepContext, *, parallelism: int = 16, listener: Listener | None = None,
    keep_going: bool = False, gate: WindowGate | None = None,
    clock: Callable[[], datetime] | None = None,
) -> ApplyResult:
    """Run the plan's actions in dependency order; see the module docstring. ``gate`` holds
    the disruptive steps outside their windows, judged at ``clock()`` (default: now)."""
    t0, started_at = time.monotonic(), datetime.now(UTC)
    walk = _Walk(plan, ctx, parallelism, listener or (lambda *_: None), keep_going=keep_going,
                 gate=gate, clock=clock or (lambda: datetime.now(UTC)))
    while True:
        walk.start_ready()
        if not walk.running:
            break
        done, _ = await asyncio.wait(walk.running, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            walk.finish(task)
    walk.skip_the_rest()
    await walk.release_drains()
    return ApplyResult(
        started_at=started_at,
        seconds=round(time.monotonic() - t0, 3),
        desired_digest=plan.desired_digest,
        ok=all(r.outcome in FINE for r in walk.results.values()),
        results=tuple(walk.results[a.id] for a in plan.actions),
        stopped_because=walk.stop,
        outside_window=_outside(gate),
    )
