"""``apply --drained NODE``: a drain done by hand, on the in-process lab.

The example fleet's renewal with calls offered to the Expressways, whose RAML lists no
maintenance-mode resource (``maintenance_api: false``, as on a real node): the plan's drain
is a manual step. Without ``--drained`` apply stops there; with it, once the person has
switched maintenance mode on (the lab's node, as the GUI would), apply waits for the calls,
restarts and converges, dropping none. Calls outlasting ``drain_timeout`` both ways; calls
that cannot be read; ``--drained`` for a node with no drain refused. The lab's own state is
the judge: its maintenance flag, its timeline's dropped calls, what each node serves.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from test_drain_inprocess import BUSY, EXPRESSWAYS, LONG, set_defaults, with_calls
from unitkit import copy_desired, ready_to_install, served, session_of
from windowkit import NIGHT, NOON, WINDOWS, at, run

from reconciler.lab.availability import dropped_calls
from reconciler.lab.ca import reuse_rsa_keys
from reconciler.lab.faults import Fault
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.topology import TopologyCalls
from reconciler.model import ApplyResult
from reconciler.report.apply import apply_text
from reconciler.report.apply_markdown import apply_markdown
from reconciler.usecases.apply import ApplyRequest, ApplyRun, ApplyUi, Refused, apply


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    return copy_desired(tmp_path)


async def started(tmp_path: Path, calls: TopologyCalls | None
                  ) -> AsyncIterator[InProcessLab]:
    reuse_rsa_keys()
    topology = with_calls(calls, maintenance_api=False)
    async with InProcessLab.start(tmp_path / "lab", topology=topology) as lab:
        yield lab


def by_hand(lab: InProcessLab, on: bool = True) -> None:
    """The person at each Expressway's GUI: Maintenance > Maintenance mode: On > Save (the
    lab's control, as `certops lab maintenance NODE on`)."""
    for node in EXPRESSWAYS:
        assert lab.maintenance(node, on) == f"{node}: maintenance mode {'on' if on else 'off'}"
        assert lab.nodes[node].state.maintenance is on


async def carrying_calls(lab: InProcessLab, within: float = 10.0) -> None:
    """Wait until every Expressway carries a call. The lab routes the calls that have arrived
    when it is next asked, by the nodes' state then: maintenance mode switched on before
    that (a loaded machine's slow set-up) would send every call away, and a drain that must
    outlast its calls would find none."""
    deadline = asyncio.get_running_loop().time() + within
    while not all(lab.nodes[n].calls.current(n) for n in EXPRESSWAYS):  # type: ignore[union-attr]
        assert asyncio.get_running_loop().time() < deadline, "no calls on the Expressways"
        await asyncio.sleep(0.05)


async def apply_drained(lab: InProcessLab, root: Path, *drained: str
                        ) -> tuple[ApplyRun, dict[str, int]]:
    """``certops apply DIR --auto-approve [--drained ...] --reason``; the calls dropped."""
    mark = lab.lab.timeline.mark()
    request = ApplyRequest(root, auto_approve=True, drained=drained, drained_by="alice",
                           reason="drained at 02:00 for CHG-7" if drained else None)
    run = await apply(session_of(lab, root), request, ApplyUi(prompt=lambda plan: True))
    await lab.wait_idle()
    return run, dropped_calls(lab.lab.timeline.since(mark))


def details(result: ApplyResult | None) -> dict[str, tuple[str, str]]:
    assert result is not None
    return {r.id: (r.outcome, r.detail) for r in result.results}


async def test_without_drained_apply_stops_at_the_manual_drain(tmp_path: Path,
                                                               desired: Path) -> None:
    async for lab in started(tmp_path, BUSY):
        await ready_to_install(lab, desired)
        by_hand(lab)
        before = {n: served(lab, n) for n in EXPRESSWAYS}
        run, _ = await apply_drained(lab, desired)
        got = details(run.result)
        assert run.result is not None and not run.result.ok
        assert "stopped before the manual step" in (run.result.stopped_because or "")
        assert any(got[f"{n}/node.drain"][0] == "manual" for n in EXPRESSWAYS), got
        assert {n: served(lab, n) for n in EXPRESSWAYS} == before
        manual = next(a.manual for a in run.plan.actions if a.id == "expe1/node.drain")
        assert manual is not None and manual.endswith("then run: certops apply --drained expe1")


async def test_drained_waits_for_the_calls_and_drops_none(tmp_path: Path,
                                                          desired: Path) -> None:
    async for lab in started(tmp_path, BUSY):
        await ready_to_install(lab, desired)
        by_hand(lab)
        run, dropped = await apply_drained(lab, desired, *EXPRESSWAYS)
        result = run.result
        got = details(result)
        assert result is not None and result.ok, got
        for node in EXPRESSWAYS:
            outcome, detail = got[f"{node}/node.drain"]
            assert outcome == "done", detail
            assert f"confirmed: apply --drained {node}" in detail
            assert "no active call left" in detail
            assert "ends with the node's restart: check on the node" in (
                got[f"{node}/node.restart"][1])
            assert served(lab, node).issuer.rfc4514_string().endswith("New")
            assert lab.nodes[node].state.maintenance is False  # the restart ended it
        assert not set(dropped) & set(EXPRESSWAYS), dropped
        assert result.drained is not None
        assert result.drained.nodes == tuple(sorted(EXPRESSWAYS))
        assert result.drained.by == "alice"
        assert result.drained.reason == "drained at 02:00 for CHG-7"
        text = "\n".join(apply_text(result, len(run.plan.actions)))
        assert "confirmed by alice: drained at 02:00 for CHG-7" in text
        assert "confirmed by alice: drained at 02:00 for CHG-7" in apply_markdown(result)


async def test_drained_calls_outlasting_the_timeout_restart(tmp_path: Path,
                                                            desired: Path) -> None:
    set_defaults(desired, drain_timeout="1s", on_drain_timeout="restart")
    async for lab in started(tmp_path, LONG):
        await ready_to_install(lab, desired)
        await carrying_calls(lab)
        by_hand(lab)
        run, dropped = await apply_drained(lab, desired, *EXPRESSWAYS)
        got = details(run.result)
        assert run.result is not None and run.result.ok, got
        for node in EXPRESSWAYS:
            detail = got[f"{node}/node.drain"][1]
            assert "still up after drain_timeout 1s: restarting anyway" in detail, detail
            left = int(detail.split("; ")[1].split(" call")[0])
            assert left > 0 and dropped[node] >= left, (detail, dropped)
            assert served(lab, node).issuer.rfc4514_string().endswith("New")


async def test_drained_calls_outlasting_the_timeout_stop(tmp_path: Path,
                                                         desired: Path) -> None:
    """on_drain_timeout: stop: nothing restarts, the drain and the restart are owed, and the
    person is told to switch maintenance mode off (certops cannot on such a node)."""
    set_defaults(desired, drain_timeout="1s")
    async for lab in started(tmp_path, LONG):
        await ready_to_install(lab, desired)
        by_hand(lab)
        before = {n: served(lab, n) for n in EXPRESSWAYS}
        run, dropped = await apply_drained(lab, desired, *EXPRESSWAYS)
        got = details(run.result)
        assert run.result is not None and run.result.ok, got
        drains = {a: d for a, (o, d) in got.items() if o == "owed" and a.endswith("/node.drain")}
        assert drains, got
        for action, detail in drains.items():
            node = action.split("/")[0]
            assert "(on_drain_timeout: stop)" in detail and "switch it off" in detail, detail
            assert got[f"{node}/node.restart"][0] == "owed"
            assert served(lab, node) == before[node]
            assert lab.nodes[node].state.maintenance is True  # the person's to switch off
        assert not set(dropped) & set(EXPRESSWAYS), dropped


async def test_drained_with_calls_unreadable_counts_the_confirmation(
        tmp_path: Path, desired: Path) -> None:
    async for lab in started(tmp_path, None):
        await ready_to_install(lab, desired)
        by_hand(lab)
        for node in EXPRESSWAYS:
            lab.set_fault(node, Fault(match="calls", malformed_json=True))
        run, _ = await apply_drained(lab, desired, *EXPRESSWAYS)
        got = details(run.result)
        assert run.result is not None and run.result.ok, got
        for node in EXPRESSWAYS:
            detail = got[f"{node}/node.drain"][1]
            assert "active calls cannot be read" in detail, detail
            assert "the confirmation alone counts" in detail
            assert served(lab, node).issuer.rfc4514_string().endswith("New")


async def test_drained_without_a_drain_in_the_plan_is_refused(tmp_path: Path,
                                                              desired: Path) -> None:
    async for lab in started(tmp_path, None):
        await ready_to_install(lab, desired)
        before = {n: served(lab, n) for n in EXPRESSWAYS}
        with pytest.raises(Refused, match=r"--drained cucm-pub: the plan has no drain"):
            await apply_drained(lab, desired, "expe1", "cucm-pub")
        assert {n: served(lab, n) for n in EXPRESSWAYS} == before
        assert lab.nodes["expe1"].state.maintenance is False


async def test_a_confirmed_drain_waits_for_the_window(tmp_path: Path, desired: Path) -> None:
    """Windows still apply: outside its window the confirmed drain is owed like any drain
    (and so is the restart after it); in the window the same --drained converges."""
    async for lab in started(tmp_path, None):
        await ready_to_install(lab, desired)
        # The window on the Expressways only: cucm-pub's restarts run at once, so their
        # drains are ready and held by the window themselves, not by what they wait for.
        (desired / "certops.yaml").write_text((desired / "certops.yaml").read_text() + WINDOWS)
        for node in EXPRESSWAYS:
            path = desired / "nodes" / f"{node}.yaml"
            path.write_text(path.read_text() + "restart_window: nightly\n")
        by_hand(lab)
        before = {n: served(lab, n) for n in EXPRESSWAYS}
        closed = await run(at(lab, desired, NOON), desired, drained=EXPRESSWAYS)
        got = details(closed.result)
        assert closed.result is not None and closed.result.ok, got
        for node in EXPRESSWAYS:
            assert got[f"{node}/node.drain"][0] == "owed", got
            assert "owed to window nightly" in got[f"{node}/node.drain"][1], got
            assert got[f"{node}/node.restart"][0] == "owed"
            assert served(lab, node) == before[node]
        # The first Expressway's drain is held by the window itself (the other waits for it).
        assert got["expe1/node.drain"][1].startswith("owed to window nightly"), got
        assert got["cucm-pub/service.restart/trust"][0] == "done", got
        opened = await run(at(lab, desired, NIGHT), desired, drained=EXPRESSWAYS)
        got = details(opened.result)
        assert opened.result is not None and opened.result.ok and not opened.result.owed, got
        for node in EXPRESSWAYS:
            assert got[f"{node}/node.drain"][0] == "done"
            assert served(lab, node).issuer.rfc4514_string().endswith("New")
