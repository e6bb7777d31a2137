"""The executor's walk through the graph with stand-in steps (no nodes): slots, restarts that
wait outside them, dependency order, and the ready set it keeps as it goes (issue 14: apply
of a 1,000-node renewal, ~330 restarts waiting at once)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from reconciler.apply import executor
from reconciler.apply.executor import _Walk, execute
from reconciler.apply.steps import StepContext
from reconciler.model import Action, Plan

RESTART = 0.05  # seconds a stand-in restart waits


class Steps:
    """Stand-in steps: a restart waits, anything else yields once; how many of each ran at
    the same moment, and the order they started in."""

    def __init__(self) -> None:
        self.now: dict[str, int] = {"restart": 0, "other": 0}
        self.peak: dict[str, int] = {"restart": 0, "other": 0}
        self.started: list[str] = []
        self.fail: set[str] = set()

    async def run(self, walk: _Walk, action: Action) -> str:
        what = "restart" if action.kind in ("node.restart", "service.restart") else "other"
        self.started.append(action.id)
        self.now[what] += 1
        self.peak[what] = max(self.peak[what], self.now[what])
        try:
            await asyncio.sleep(RESTART if what == "restart" else 0.001)
        finally:
            self.now[what] -= 1
        if action.id in self.fail:
            raise executor.StepFailed(f"{action.id} broke")
        return "ok"


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> Iterator[Steps]:
    fake = Steps()

    async def guarded(walk: _Walk, action: Action) -> str:
        return await fake.run(walk, action)

    monkeypatch.setattr(_Walk, "guarded", guarded)
    yield fake


def sites(count: int) -> tuple[Action, ...]:
    """The synthetic lab's renewal: per site an install and a restart on the Expressway-E
    and -C, the C's restart after the E's (linked nodes never restart together)."""
    installs: list[Action] = []
    restarts: list[Action] = []
    for s in range(count):
        e, c = f"expe-{s:03d}", f"expc-{s:03d}"
        installs += [Action(id=f"{e}/cert.install", kind="cert.install", node=e, reason="t"),
                     Action(id=f"{c}/cert.install", kind="cert.install", node=c, reason="t")]
        restarts += [
            Action(id=f"{e}/node.restart", kind="node.restart", node=e, reason="t",
                   depends_on=(f"{e}/cert.install",)),
            Action(id=f"{c}/node.restart", kind="node.restart", node=c, reason="t",
                   depends_on=(f"{c}/cert.install", f"{e}/node.restart")),
        ]
    return (*installs, *restarts)


async def run(actions: tuple[Action, ...], parallelism: int, **kw: Any) -> Any:
    plan = Plan(created_at=datetime.now(UTC), desired_digest="d", actions=actions)
    ctx = cast(StepContext, SimpleNamespace(replaced={}))
    return await execute(plan, ctx, parallelism=parallelism, **kw)


async def test_restarts_wait_outside_the_slots_and_the_others_stay_within(steps: Steps) -> None:
    """40 sites at --parallelism 3: never more than 3 installs at once, while every site's
    first restart waits at the same moment; each C restarts only after its E."""
    result = await run(sites(40), parallelism=3)
    assert result.ok and {r.outcome for r in result.results} == {"done"}
    assert steps.peak["other"] == 3
    assert steps.peak["restart"] >= 20  # far above the parallelism (40 once all installed)
    order = {aid: i for i, aid in enumerate(steps.started)}
    for s in range(40):
        assert order[f"expc-{s:03d}/node.restart"] > order[f"expe-{s:03d}/node.restart"]
        assert order[f"expe-{s:03d}/node.restart"] > order[f"expe-{s:03d}/cert.install"]


async def test_ready_actions_with_equal_chains_start_in_plan_order(steps: Steps) -> None:
    """With one slot, installs whose restart chains are as long run in the plan's order."""
    actions = tuple(a for a in sites(5) if a.node.startswith("expe"))
    await run(actions, parallelism=1)
    installs = [aid for aid in steps.started if aid.endswith("cert.install")]
    assert installs == [a.id for a in actions if a.kind == "cert.install"]


async def test_installs_on_the_longest_restart_chain_start_first(steps: Steps) -> None:
    """The plan lists the -C installs before the -E ones (node order), but each -E's restart
    is followed by its -C's: the -E installs start first, so that their restarts (which
    the -C restarts wait for) are not held behind installs that have time to spare."""
    actions = sites(4)
    plan_order = [a for a in actions if a.kind == "cert.install" and a.node.startswith("expc")]
    plan_order += [a for a in actions if a not in plan_order]
    result = await run(tuple(plan_order), parallelism=1)
    assert result.ok
    installs = [aid for aid in steps.started if aid.endswith("cert.install")]
    assert installs == [*(f"expe-{s:03d}/cert.install" for s in range(4)),
                        *(f"expc-{s:03d}/cert.install" for s in range(4))]
    walk = _Walk(Plan(created_at=datetime.now(UTC), desired_digest="d",
                      actions=tuple(plan_order)),
                 cast(StepContext, SimpleNamespace(replaced={})), 1, lambda *_: None)
    assert walk.chain["expe-000/cert.install"] == 2
    assert walk.chain["expc-000/cert.install"] == walk.chain["expc-000/node.restart"] == 1


async def test_a_failure_stops_new_work_and_skips_what_waits_for_it(steps: Steps) -> None:
    steps.fail = {"expe-000/node.restart"}
    result = await run(sites(3), parallelism=16)
    by_id = {r.id: r for r in result.results}
    assert by_id["expe-000/node.restart"].outcome == "failed"
    assert by_id["expc-000/node.restart"].outcome == "skipped"
    assert "expe-000/node.restart" in by_id["expc-000/node.restart"].detail
    assert not result.ok and "expe-000/node.restart failed" in result.stopped_because


async def test_keep_going_runs_the_other_sites(steps: Steps) -> None:
    steps.fail = {"expe-000/node.restart"}
    result = await run(sites(3), parallelism=16, keep_going=True)
    outcomes = {r.id: r.outcome for r in result.results}
    assert outcomes["expc-000/node.restart"] == "skipped"
    assert outcomes["expc-002/node.restart"] == outcomes["expc-001/node.restart"] == "done"


async def test_a_dependency_the_plan_does_not_hold_is_never_done(steps: Steps) -> None:
    lone = Action(id="expe-009/node.restart", kind="node.restart", node="expe-009", reason="t",
                  depends_on=("expe-009/cert.install",))
    result = await run((*sites(1), lone), parallelism=16)
    outcomes = {r.id: r.outcome for r in result.results}
    assert outcomes.pop(lone.id) == "skipped"
    assert set(outcomes.values()) == {"done"}
    assert "which this plan does not hold" in (result.stopped_because or "")


async def test_a_manual_step_stops_what_comes_after_it_in_plan_order(steps: Steps) -> None:
    """Whatever its restart chain, an action after a ready manual step in the plan does not
    start; one before it does."""
    before = Action(id="expc-000/cert.install", kind="cert.install", node="expc-000",
                    reason="t")
    manual = Action(id="cucm-000/manual/x", kind="manual", node="cucm-000", manual="by hand",
                    reason="t")
    after = Action(id="expe-000/cert.install", kind="cert.install", node="expe-000",
                   reason="t")
    restart = Action(id="expe-000/node.restart", kind="node.restart", node="expe-000",
                     reason="t", depends_on=(after.id,))
    result = await run((before, manual, after, restart), parallelism=16)
    outcomes = {r.id: r.outcome for r in result.results}
    assert outcomes == {before.id: "done", manual.id: "manual", after.id: "skipped",
                        restart.id: "skipped"}
    assert steps.started == [before.id]


async def test_the_walk_touches_only_what_a_finished_step_unblocks(steps: Steps) -> None:
    """The ready set is kept as steps finish: a restart's end makes ready only the restarts
    waiting for it, and a start looks at the ready actions only (not the whole plan)."""
    actions = sites(2)
    plan = Plan(created_at=datetime.now(UTC), desired_digest="d", actions=actions)
    ctx = cast(StepContext, SimpleNamespace(replaced={}))
    walk = _Walk(plan, ctx, 16, lambda *_: None)
    assert {actions[i].id for i in walk.ready_others} == {
        a.id for a in actions if a.kind == "cert.install"}
    assert walk.ready_restarts == set()
    assert walk.users["expe-000/node.restart"] == ["expc-000/node.restart"]
    assert walk.waiting["expc-000/node.restart"] == 2


class Gate:
    """A stand-in window gate: the restarts of the nodes named are outside their window."""

    override = None

    def __init__(self, closed: set[str]) -> None:
        self.closed = closed

    def hold(self, node: str, kind: str, now: datetime) -> str | None:
        if node in self.closed and kind == "node.restart":
            return "owed to window w (closed; next opens later)"
        return None


async def test_restarts_outside_their_window_are_owed_with_what_waits_for_them(
        steps: Steps) -> None:
    """expe-001's restart is outside its window: owed, and so is expc-001's restart, which
    waits for it; everything else runs; the apply is ok (nothing failed)."""
    result = await run(sites(2), parallelism=4, gate=Gate({"expe-001"}))
    by_id = {r.id: r for r in result.results}
    assert result.ok and result.stopped_because is None
    assert by_id["expe-001/node.restart"].outcome == "owed"
    assert by_id["expc-001/node.restart"].outcome == "owed"
    assert by_id["expc-001/node.restart"].detail.startswith("waits for expe-001/node.restart")
    assert "expe-001/node.restart" not in steps.started
    assert {r.id for r in result.results if r.outcome == "done"} == {
        "expe-000/cert.install", "expc-000/cert.install", "expe-001/cert.install",
        "expc-001/cert.install", "expe-000/node.restart", "expc-000/node.restart"}


async def test_a_step_may_leave_its_change_owed(steps: Steps,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A step that raises StepOwed (a drain that timed out with on_drain_timeout: stop) is
    owed, not failed: what depends on it is owed too, the rest runs, the apply is ok."""
    inner = steps.run

    async def owing(walk: _Walk, action: Action) -> str:
        if action.id == "expe-000/node.restart":
            raise executor.StepOwed("calls did not end within drain_timeout: owed")
        return await inner(walk, action)

    monkeypatch.setattr(steps, "run", owing)
    result = await run(sites(2), parallelism=4)
    by_id = {r.id: r for r in result.results}
    assert result.ok
    assert by_id["expe-000/node.restart"].outcome == "owed"
    assert by_id["expc-000/node.restart"].outcome == "owed"
    assert by_id["expc-001/node.restart"].outcome == "done"


async def test_a_restart_runs_alone_on_its_node(steps: Steps,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing orders a Unified CM's CSRs after the restart its trust upload owes: the walk
    keeps them apart (a CSR sent while Tomcat restarts fails), whichever becomes ready
    first; another node's steps still run beside the restart."""
    inner = steps.run
    running: dict[str, list[str]] = {}
    overlaps: list[tuple[str, ...]] = []

    async def tracking(walk: _Walk, action: Action) -> str:
        here = running.setdefault(action.node, [])
        here.append(action.kind)
        if "service.restart" in here and len(here) > 1:
            overlaps.append(tuple(here))
        try:
            return await inner(walk, action)
        finally:
            here.remove(action.kind)

    monkeypatch.setattr(steps, "run", tracking)
    trust = Action(id="cucm/trust.add", kind="trust.add", node="cucm", reason="t")
    restart = Action(id="cucm/service.restart/trust", kind="service.restart", node="cucm",
                     reason="t", depends_on=(trust.id,))
    csrs = tuple(Action(id=f"cucm/csr.generate/{k}", kind="csr.generate", node="cucm",
                        reason="t", depends_on=(trust.id,) if k % 2 else ())
                 for k in range(4))
    other = tuple(Action(id=f"expe/csr.generate/{k}", kind="csr.generate", node="expe",
                         reason="t") for k in range(3))
    result = await run((trust, restart, *csrs, *other), parallelism=16)
    assert result.ok and {r.outcome for r in result.results} == {"done"}
    assert overlaps == []
    assert steps.peak["other"] >= 2  # the walk still runs steps in parallel
