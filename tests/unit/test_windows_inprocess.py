"""Change windows on the in-process lab: the example fleet's renewal with its restarts
waiting for a window (``windows:``, ``restart_window``), through the apply use case with
the session's clock injected (never a patched ``datetime``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from unitkit import assert_invariant, issuer_of, snapshot
from windowkit import NIGHT, NOON, RESTARTS, at, renewal, restarts, run, run_closing

from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Code
from reconciler.report.apply import apply_text
from reconciler.report.plan import plan_markdown, plan_text
from reconciler.usecases.apply import ApplyUi, Refused


async def test_a_closed_window_disrupts_nothing_and_the_open_one_converges(
        lab: InProcessLab, desired: Path) -> None:
    timeline = await renewal(lab, desired)
    served_before = {n: lab.nodes[n].state.served.cert_pem for n in lab.nodes}

    closed = await run(at(lab, desired, NOON), desired)
    result = closed.result
    assert result is not None and result.ok and result.owed
    # No record yet, but the plan restarts cucm-pub's trust services anyway (it uploads the
    # new CA there): nothing to assume, nothing to warn about.
    assert Code.RESTART_RECORD_MISSING not in {f.code for f in closed.plan.findings}
    # Nothing disruptive ran: no node restarted, every node serves what it served.
    assert restarts(timeline) == []
    assert {n: lab.nodes[n].state.served.cert_pem for n in lab.nodes} == served_before
    outcomes = {r.id: r.outcome for r in result.results}
    assert all(outcomes[a.id] == "owed" for a in closed.plan.actions if a.kind in RESTARTS)
    assert any(o == "done" for o in outcomes.values())  # the trust went up at once
    text = "\n".join(apply_text(result, len(closed.plan.actions)))
    assert "complete for now" in text
    assert "owed to window nightly (closed; next opens 2026-12-07 22:00 Europe/Zurich = " \
           "21:00 UTC)" in text
    # Every step that waits for an owed restart is owed too, naming it (a drain is owed to
    # the window itself: it disrupts, as the restart after it does).
    by_id = {a.id: a for a in closed.plan.actions}
    for r in result.owed:
        if by_id[r.id].kind not in (*RESTARTS, "node.drain"):
            assert r.detail.startswith("waits for ")
    assert_invariant(lab)

    opened = await run(at(lab, desired, NIGHT), desired)
    assert opened.result is not None and opened.result.ok and not opened.result.owed
    assert {r.kind for r in opened.result.results} & set(RESTARTS)
    assert {s.split(":")[0] for s in restarts(timeline)} == set(lab.nodes)
    for node in lab.nodes:
        assert "New" in issuer_of(lab, node), node
    assert_invariant(lab)
    again = await run(at(lab, desired, NIGHT), desired)
    assert again.result is None and not again.plan.actions  # converged


async def test_the_plan_says_which_restarts_wait_for_which_window(
        lab: InProcessLab, desired: Path) -> None:
    await renewal(lab, desired)
    closed = await run(at(lab, desired, NOON), desired, ApplyUi(prompt=lambda p: False))
    plan = closed.plan
    assert set(plan.restart_windows) == {a.node for a in plan.actions if a.kind in RESTARTS}
    note = plan.restart_windows["expc1"]
    assert (note.window, note.open, note.next_text()) == (
        "nightly", False, "2026-12-07 22:00 Europe/Zurich = 21:00 UTC")
    text = "\n".join(plan_text(plan))
    # expe1's install needs only trust that takes effect at once: it runs at merge. expc1's
    # waits for cucm-pub's trust restart, which waits for the window: so does the install.
    assert ("expe1: installs at merge; restarts in window nightly (next: 2026-12-07 22:00 "
            "Europe/Zurich = 21:00 UTC)") in text
    assert ("expc1: uploads at merge; installs and restarts in window nightly (next: "
            "2026-12-07 22:00 Europe/Zurich = 21:00 UTC)") in text
    assert "**expe1**: installs at merge; restarts in window nightly (next: " in \
        plan_markdown(plan)
    assert '"restart_windows"' in plan.model_dump_json()


async def test_a_window_closing_mid_apply_stops_new_restarts(
        lab: InProcessLab, desired: Path) -> None:
    await renewal(lab, desired)
    # The clock says "in the window" until the first restart has finished, then "after it".
    ran, finished = await run_closing(lab, desired, lambda a: a.kind in RESTARTS)
    result = ran.result
    assert result is not None and result.ok and finished
    restarts = [r for r in result.results if r.kind in RESTARTS]
    started = [r for r in restarts if r.outcome == "done"]
    owed = [r for r in restarts if r.outcome == "owed"]
    # The restarts that started before the close finished; none started after it.
    assert finished[0].id in {r.id for r in started}
    assert owed and all("next opens 2026-12-08 22:00 Europe/Zurich" in r.detail for r in owed)
    for r in started:
        assert r.started_at is not None
    assert_invariant(lab)


async def test_a_freeze_refuses_with_its_reason_and_sends_nothing(
        lab: InProcessLab, desired: Path) -> None:
    await renewal(lab, desired)
    path = desired / "certops.yaml"
    path.write_text(path.read_text() + "freeze:\n  - {from: 2026-12-01, to: 2026-12-31, "
                    "reason: year-end freeze}\n")
    before = snapshot(lab)
    for options in ({}, {"outside_window": True, "reason": "P1 incident"}):
        with pytest.raises(Refused, match="year-end freeze"):
            await run(at(lab, desired, NIGHT), desired, **options)
    assert snapshot(lab) == before


async def test_the_override_needs_a_reason_and_records_it(
        lab: InProcessLab, desired: Path) -> None:
    await renewal(lab, desired)
    before = snapshot(lab)
    for options in ({"outside_window": True}, {"outside_window": True, "reason": "  "},
                    {"reason": "no flag"}):
        with pytest.raises(Refused, match="--outside-window"):
            await run(at(lab, desired, NOON), desired, **options)
    assert snapshot(lab) == before
    forced = await run(at(lab, desired, NOON), desired, outside_window=True,
                       reason="CHG-1234 approved emergency renewal")
    result = forced.result
    assert result is not None and result.ok and not result.owed
    assert result.outside_window == "CHG-1234 approved emergency renewal"
    assert "CHG-1234" in "\n".join(apply_text(result, len(forced.plan.actions)))
    for node in lab.nodes:
        assert "New" in issuer_of(lab, node), node


async def test_a_window_too_short_for_this_plans_chain_of_restarts_is_named(
        lab: InProcessLab, desired: Path) -> None:
    """validate's estimate per cluster (10 min for one Expressway) fits a 15-minute window;
    the plan's own order does not: expe1, then expc1 (linked), or cucm-pub's two restarts
    then expc1, one after another, ~20 minutes."""
    await renewal(lab, desired)
    path = desired / "certops.yaml"
    path.write_text(path.read_text().replace("duration: 4h", "duration: 15m"))
    closed = await run(at(lab, desired, NOON), desired, ApplyUi(prompt=lambda p: False))
    short = [f for f in closed.plan.findings if f.code == Code.WINDOW_SHORT]
    assert len(short) == 1 and "~20 min" in short[0].message, short
    assert short[0].location is not None and short[0].location.line > 1


async def test_a_window_closing_between_a_drain_and_its_restart_leaves_no_node_drained(
        lab: InProcessLab, desired: Path) -> None:
    """The first drain ends, then the window closes: its restart is owed, and the node takes
    calls again until the next window drains it again (left in maintenance mode, its
    cluster would run on the other members for days; the soak's loaded year refused 163
    calls when one of them restarted in the next window)."""
    await renewal(lab, desired)
    ran, drained = await run_closing(lab, desired, lambda a: a.kind == "node.drain")
    result = ran.result
    assert result is not None and result.ok and drained
    by_id = {r.id: r for r in result.results}
    node = drained[0].node
    assert by_id[f"{node}/node.restart"].outcome == "owed"
    drain = by_id[f"{node}/node.drain"]
    assert drain.outcome == "done" and drain.detail.startswith("maintenance mode on")
    assert "its restart did not run; maintenance mode is off again" in drain.detail
    assert lab.nodes[node].state.maintenance is False
