"""A second apply, a node changed behind the plan's back, a replan after a partial apply,
restarts that hang or never happen (issue 16, items 7, 8, 9 and 14)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from attack import apply_file, saved_plan
from unitkit import FAST, NODES, apply, plan, ready_to_install, session_of, snapshot

from reconciler.apply.executor import StalePlan, execute
from reconciler.apply.steps import StepContext
from reconciler.desired.lock import LockBusy, apply_lock
from reconciler.drivers.cucm import CucmDriver
from reconciler.lab import Fault
from reconciler.lab.inprocess import InProcessLab
from reconciler.model.layout import OWED_RESTARTS_FILE
from reconciler.usecases.loading import load_fleet


async def test_two_applies_of_one_plan_do_not_both_run(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """Item 7: 0.3 s apart, both passed the freshness check and both ran every action. Now
    the second waits for the lock and then finds the plan stale."""
    _, path = await saved_plan(lab, desired, tmp_path)

    async def second() -> object:
        await asyncio.sleep(0.01)
        return await apply_file(lab, desired, path, lock_timeout=10)

    first, late = await asyncio.gather(apply_file(lab, desired, path), second(),
                                       return_exceptions=True)
    assert not isinstance(first, BaseException) and first.result is not None  # type: ignore[union-attr]
    assert first.result.ok  # type: ignore[union-attr]
    assert isinstance(late, StalePlan), late


async def test_a_held_lock_refuses_naming_the_holder(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """Item 7: with --lock-timeout 0 an apply refuses at once while another holds the lock,
    naming the holder's pid, and writes nothing. The lock is held here as a running apply
    holds it (racing a real first apply made the test depend on which one got there first)."""
    _, path = await saved_plan(lab, desired, tmp_path)
    lab.reset_counters()
    async with apply_lock(desired, 0):
        with pytest.raises(LockBusy, match="pid "):
            await apply_file(lab, desired, path, lock_timeout=0)
    assert all(lab.counters(n)["non_get"] == 0 for n in NODES)
    assert (await apply_file(lab, desired, path, lock_timeout=0)).result is not None


async def test_compare_and_swap_before_the_first_write(lab: InProcessLab, desired: Path) -> None:
    """Item 7: a node changed after the freshness check gets no write at all."""
    run, drivers = await plan(lab, desired)
    state = lab.nodes["expe1"].state
    state.trusted_cas = state.trusted_cas[:-1]  # someone at the GUI, just now
    lab.reset_counters()
    ctx = StepContext(plan=run.plan, fleet=run.fleet, drivers=drivers, desired_root=desired,
                      timing=FAST)
    result = await execute(run.plan, ctx)
    assert not result.ok
    failed = [r for r in result.results if r.outcome == "failed"]
    assert {r.node for r in failed} == {"expe1"}
    assert "changed since the plan" in failed[0].detail
    assert lab.counters("expe1")["non_get"] == 0


async def test_a_replan_keeps_installs_behind_an_owed_restart(
    lab: InProcessLab, desired: Path
) -> None:
    """Item 8: the CUCM trust restart failed; the node (like a real CUCM) does not say a
    restart is owed. The replan must still restart it first and hold the installs."""
    await ready_to_install(lab, desired)
    lab.set_fault("cucm-pub", Fault(match="soap", status=503, count=50))
    _, result = await apply(lab, desired)
    assert result is not None and not result.ok
    assert {r.id for r in result.results if r.outcome == "failed"} == {
        "cucm-pub/service.restart/trust"}
    lab.clear_faults("cucm-pub")
    lab.nodes["cucm-pub"].state.restart_pending = []  # a real node has no such field
    assert "cucm-pub" in json.loads((desired / OWED_RESTARTS_FILE).read_text())
    run, _ = await plan(lab, desired)
    by_id = {a.id: a for a in run.plan.actions}
    assert "cucm-pub/service.restart/trust" in by_id
    for node in ("cucm-pub", "expc1"):
        install = next(a for a in run.plan.actions
                       if a.node == node and a.kind == "cert.install")
        assert "cucm-pub/service.restart/trust" in install.depends_on, install
    _, finished = await apply(lab, desired)
    assert finished is not None and finished.ok
    assert json.loads((desired / OWED_RESTARTS_FILE).read_text()) == {}


async def test_restart_timeout_and_poll_reach_the_cucm_driver(
    lab: InProcessLab, desired: Path
) -> None:
    """Item 9: --restart-timeout 10 still waited 900 s in the CUCM driver."""
    session = session_of(lab, desired)
    fleet = load_fleet(session, session.now()).fleet
    drivers = session.connect(fleet.desired, list(NODES))
    cucm = drivers["cucm-pub"]
    assert isinstance(cucm, CucmDriver)
    assert (cucm.restart_timeout, cucm.poll_seconds) == (FAST.up_timeout, FAST.poll)


async def test_a_restart_that_never_happened_is_named(lab: InProcessLab, desired: Path) -> None:
    """Item 14: the restart request never arrived; the node never went down."""
    await ready_to_install(lab, desired)
    run, drivers = await plan(lab, desired)

    async def lost() -> None:
        return None

    drivers["expe1"].restart = lost  # type: ignore[attr-defined]
    ctx = StepContext(plan=run.plan, fleet=run.fleet, drivers=drivers, desired_root=desired,
                      timing=FAST)
    result = await execute(run.plan, ctx)
    failed = {r.id: r.detail for r in result.results if r.outcome == "failed"}
    assert "restart did not happen" in failed["expe1/node.restart"]


async def test_a_plan_cut_to_a_subset_says_why_it_stopped(
    lab: InProcessLab, desired: Path
) -> None:
    """Item 14: the trust actions deleted from a plan: 'Stopped: None' before."""
    await ready_to_install(lab, desired)
    run, drivers = await plan(lab, desired)
    cut = run.plan.model_copy(update={"actions": tuple(
        a for a in run.plan.actions if a.kind != "trust.add")})
    before = snapshot(lab)
    ctx = StepContext(plan=cut, fleet=run.fleet, drivers=drivers, desired_root=desired,
                      timing=FAST)
    result = await execute(cut, ctx)
    assert not result.ok and "which this plan does not hold" in (result.stopped_because or "")
    assert snapshot(lab)["cucm-pub"]["identities"] == before["cucm-pub"]["identities"]


@pytest.mark.parametrize("lock", ["dir", "link"])
async def test_the_lock_file_is_not_a_door_out(
    lab: InProcessLab, desired: Path, tmp_path: Path, lock: str
) -> None:
    """Item 2/7: ``.certops/apply.lock`` as a link (or ``.certops`` a linked folder)."""
    victim = tmp_path / "victim"
    victim.write_text("keep")
    _, path = await saved_plan(lab, desired, tmp_path)
    if lock == "dir":
        (desired / ".certops").symlink_to(tmp_path, target_is_directory=True)
    else:
        (desired / ".certops").mkdir()
        (desired / ".certops" / "apply.lock").symlink_to(victim)
    with pytest.raises(Exception, match="symbolic link"):
        await apply_file(lab, desired, path)
    assert victim.read_text() == "keep"
