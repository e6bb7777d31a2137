"""Drain before restart (issue 21, point 5) on the in-process lab.

The example fleet's renewal (expe1, expc1, cucm-pub) with calls offered to the Expressways
(``reconciler.lab.calls``): each Expressway restart comes after a ``node.drain`` that puts
the node into maintenance mode and waits for its calls to end. With calls and without; the
drain timeout both ways (``on_drain_timeout: restart`` drops the calls left and says how
many, ``stop`` restarts nothing, leaves maintenance mode and the restart owed); a node
whose RAML lists no maintenance-mode resource gets the drain as a manual step; a garbage
calls answer fails the drain with the node and the path named. The lab's own state is the judge: its
maintenance flag, its timeline's dropped calls, what each node serves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from unitkit import NODES, apply, copy_desired, plan, ready_to_install, served

from reconciler.lab.availability import dropped_calls
from reconciler.lab.ca import reuse_rsa_keys
from reconciler.lab.faults import Fault
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.topology import Topology, TopologyCalls, example_topology
from reconciler.model import ApplyResult

EXPRESSWAYS = ("expe1", "expc1")
# Arrivals every 0.05-0.15 s, each call 0.2-0.4 s: an Expressway always has a call on it.
BUSY = TopologyCalls(per_minute=600, duration_seconds=(0.2, 0.4))
# Calls that outlast any drain_timeout of these tests.
LONG = TopologyCalls(per_minute=600, duration_seconds=(60, 120))


def with_calls(calls: TopologyCalls | None, maintenance_api: bool = True) -> Topology:
    topology = example_topology()
    for node in topology.nodes:
        if node.name in EXPRESSWAYS:
            node.calls = calls
            node.maintenance_api = maintenance_api
    return topology


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    return copy_desired(tmp_path)


async def started(tmp_path: Path, topology: Topology) -> AsyncIterator[InProcessLab]:
    reuse_rsa_keys()
    async with InProcessLab.start(tmp_path / "lab", topology=topology) as lab:
        yield lab


def set_defaults(root: Path, **values: str) -> None:
    """Add keys under ``defaults:`` of certops.yaml."""
    path = root / "certops.yaml"
    lines = "".join(f"  {k}: {v}\n" for k, v in values.items())
    path.write_text(path.read_text().replace("defaults:\n", "defaults:\n" + lines, 1))


def details(result: ApplyResult | None) -> dict[str, tuple[str, str]]:
    assert result is not None
    return {r.id: (r.outcome, r.detail) for r in result.results}


async def renew(lab: InProcessLab, root: Path) -> tuple[ApplyResult | None, dict[str, int]]:
    """CSRs, the NEW CA's signatures, then the renewal's apply; the calls it dropped."""
    await ready_to_install(lab, root)
    mark = lab.lab.timeline.mark()
    _, result = await apply(lab, root)
    await lab.wait_idle()
    return result, dropped_calls(lab.lab.timeline.since(mark))


async def test_drain_with_calls_drops_none(tmp_path: Path, desired: Path) -> None:
    async for lab in started(tmp_path, with_calls(BUSY)):
        result, dropped = await renew(lab, desired)
        got = details(result)
        assert result is not None and result.ok, got
        for node in EXPRESSWAYS:
            _outcome, detail = got[f"{node}/node.drain"]
            assert "maintenance mode on; no active call left" in detail
            assert "maintenance mode is off" in got[f"{node}/node.restart"][1]
            assert lab.nodes[node].state.maintenance is False
            assert served(lab, node).issuer.rfc4514_string().endswith("New")
        assert not set(dropped) & set(EXPRESSWAYS), dropped
        # Calls arrived at the drained nodes meanwhile: refused (no cluster peer here).
        assert lab.lab.calls is not None
        assert all(lab.lab.calls.refused[n] > 0 for n in EXPRESSWAYS)


async def test_without_drain_the_same_calls_drop(tmp_path: Path, desired: Path) -> None:
    set_defaults(desired, drain="false")
    async for lab in started(tmp_path, with_calls(BUSY)):
        result, dropped = await renew(lab, desired)
        assert result is not None and result.ok, details(result)
        assert not any(a.kind == "node.drain" for a in result.results)
        assert all(dropped.get(n, 0) > 0 for n in EXPRESSWAYS), dropped


async def test_drain_without_calls_is_immediate(tmp_path: Path, desired: Path) -> None:
    async for lab in started(tmp_path, with_calls(None)):
        result, dropped = await renew(lab, desired)
        got = details(result)
        assert result is not None and result.ok, got
        assert all("no active call left after 0s" in got[f"{n}/node.drain"][1]
                   for n in EXPRESSWAYS), got
        assert dropped == {}
        # The timeline shows each drained node in maintenance mode before its restart.
        assert {s.node for s in lab.lab.timeline.samples if s.maintenance} == set(EXPRESSWAYS)


async def test_drain_timeout_restart_drops_the_calls_left(tmp_path: Path,
                                                          desired: Path) -> None:
    set_defaults(desired, drain_timeout="1s", on_drain_timeout="restart")
    async for lab in started(tmp_path, with_calls(LONG)):
        result, dropped = await renew(lab, desired)
        got = details(result)
        assert result is not None and result.ok, got
        for node in EXPRESSWAYS:
            detail = got[f"{node}/node.drain"][1]
            assert "still up after drain_timeout 1s: restarting anyway" in detail, detail
            left = int(detail.split("; ")[1].split(" call")[0])
            assert left > 0 and dropped[node] >= left, (detail, dropped)
            assert lab.nodes[node].state.maintenance is False


async def test_drain_timeout_stop_restarts_nothing(tmp_path: Path, desired: Path) -> None:
    """on_drain_timeout: stop (the default): nothing restarts, the node takes calls again,
    and the drain and its restart are owed (the apply is ok, as outside a window)."""
    set_defaults(desired, drain_timeout="1s")
    async for lab in started(tmp_path, with_calls(LONG)):
        before = {n: served(lab, n) for n in NODES}
        result, dropped = await renew(lab, desired)
        got = details(result)
        assert result is not None and result.ok, got
        assert not [a for a, (outcome, _) in got.items() if outcome == "failed"], got
        drains = [a for a, (outcome, _) in got.items()
                  if outcome == "owed" and a.endswith("/node.drain")]
        assert drains, got
        node = drains[0].split("/")[0]
        detail = got[drains[0]][1]
        assert "active call(s) after drain_timeout 1s" in detail
        assert "maintenance mode is off again; nothing restarted" in detail
        assert lab.nodes[node].state.maintenance is False
        assert got[f"{node}/node.restart"][0] == "owed"
        assert served(lab, node) == before[node] and node not in dropped
        # The restart stays to do: the next plan drains and restarts the node again.
        run, _ = await plan(lab, desired)
        kinds = [a.kind for a in run.plan.actions if a.node == node]
        assert kinds[-2:] == ["node.drain", "node.restart"], kinds


async def test_no_maintenance_resource_makes_the_drain_manual(tmp_path: Path,
                                                               desired: Path) -> None:
    async for lab in started(tmp_path, with_calls(None, maintenance_api=False)):
        await ready_to_install(lab, desired)
        run, _ = await plan(lab, desired)
        drains = {a.node: a for a in run.plan.actions if a.id.endswith("/node.drain")}
        assert set(drains) == set(EXPRESSWAYS)
        for action in drains.values():
            assert action.kind == "manual"
            assert action.manual is not None
            assert "/api/raml" in action.manual and "Maintenance > Maintenance mode: On" in (
                action.manual)
        restart = next(a for a in run.plan.actions if a.id == "expe1/node.restart")
        assert "expe1/node.drain" in restart.depends_on
        _, result = await apply(lab, desired)
        got = details(result)
        assert got["expe1/node.restart"][0] == "skipped" or got["expc1/node.restart"][0] == (
            "skipped")
        assert all(not lab.nodes[n].state.maintenance for n in EXPRESSWAYS)


async def test_a_garbage_calls_answer_fails_the_drain(tmp_path: Path, desired: Path) -> None:
    async for lab in started(tmp_path, with_calls(BUSY)):
        await ready_to_install(lab, desired)
        for node in EXPRESSWAYS:
            lab.set_fault(node, Fault(match="calls", malformed_json=True))
        before = {n: served(lab, n) for n in EXPRESSWAYS}
        _, result = await apply(lab, desired)
        await lab.wait_idle()
        got = details(result)
        failed = {a: d for a, (o, d) in got.items() if o == "failed"}
        assert len(failed) == 1, got
        (action, detail), = failed.items()
        node = action.split("/")[0]
        assert action == f"{node}/node.drain"
        assert f"{node}: GET /getxml?location=/Status/ResourceUsage/Calls" in detail
        assert "not in the documented shape" in detail and "nothing restarted" in detail
        assert lab.nodes[node].state.maintenance is False
        assert served(lab, node) == before[node]


async def test_drain_settings_nearest_level_wins(tmp_path: Path, desired: Path) -> None:
    """drain: false under defaults, true in expe1's node file: only expe1 drains."""
    set_defaults(desired, drain="false")
    node_file = desired / "nodes" / "expe1.yaml"
    node_file.write_text(node_file.read_text() + "drain: true\ndrain_timeout: 5m\n")
    async for lab in started(tmp_path, with_calls(None)):
        await ready_to_install(lab, desired)
        run, _ = await plan(lab, desired)
        drains = [a for a in run.plan.actions if a.kind == "node.drain"]
        assert [a.node for a in drains] == ["expe1"]
        assert "drain_timeout 5m" in drains[0].reason


async def test_a_restart_that_does_not_happen_leaves_maintenance_mode(
    tmp_path: Path, desired: Path
) -> None:
    """Drained, then the restart request fails: the node takes calls again meanwhile."""
    async for lab in started(tmp_path, with_calls(None)):
        await ready_to_install(lab, desired)
        lab.set_fault("expe1", Fault(match="restart", status=500))
        _, result = await apply(lab, desired)
        got = details(result)
        assert got["expe1/node.drain"][0] == "done"
        outcome, detail = got["expe1/node.restart"]
        assert outcome == "failed" and "maintenance mode is off again" in detail, detail
        assert lab.nodes["expe1"].state.maintenance is False
        assert any(s.node == "expe1" and s.maintenance for s in lab.lab.timeline.samples)
