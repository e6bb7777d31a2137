"""Blast radius at fleet scale (issue 16 item 13), on a synthetic in-process fleet.

One node that cannot be read holds back itself and the nodes linked to it, not the fleet;
with ``--keep-going`` one failed action skips only what depends on it; a chaos run with a
third of the nodes faulted keeps the safety invariant and converges once the faults clear.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fleetkit import assert_fleet_invariant, renewal_ready, served_by_new_ca
from unitkit import Events, apply, plan

from reconciler.lab import Fault, synthetic_topology
from reconciler.lab.ca import reuse_rsa_keys
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Action, ApplyResult, Code, Severity

SITES = 4  # expe-NNN <-> expc-NNN <-> cucm-NNN


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    reuse_rsa_keys()
    async with InProcessLab.start(tmp_path / "lab", topology=synthetic_topology(3 * SITES)) as lab:
        yield lab


def site(n: int) -> set[str]:
    return {f"expe-{n:03d}", f"expc-{n:03d}", f"cucm-{n:03d}"}


def outcome(result: ApplyResult, prefix: str) -> tuple[str, str]:
    """The outcome and detail of the one action whose id starts with ``prefix``."""
    found = [r for r in result.results if r.id == prefix or r.id.startswith(prefix + "/")]
    assert len(found) == 1, (prefix, [r.id for r in result.results])
    return found[0].outcome, found[0].detail


def action_id(result: ApplyResult, prefix: str) -> str:
    return next(r.id for r in result.results if r.id == prefix or r.id.startswith(prefix + "/"))


async def converge(lab: InProcessLab, root: Path, runs: int = 3) -> int:
    """Apply until the plan is empty (faults cleared); the applies that changed something
    (at most ``runs``)."""
    for done in range(runs + 1):
        await lab.wait_idle()
        run, result = await apply(lab, root, keep_going=True)
        if result is None:
            assert not run.plan.partial and not run.plan.blocked
            return done
        assert result.ok, [(r.id, r.detail) for r in result.results if r.outcome != "done"]
    run, _ = await plan(lab, root)
    raise AssertionError(f"not converged: {[a.id for a in run.plan.actions]}")


async def test_an_unreachable_node_holds_back_its_links_only(
    fleet: InProcessLab, tmp_path: Path
) -> None:
    """expe-002 unreachable: expc-002 (linked) and cucm-002 (its install waits for
    expc-002's trust) are held back and named; the three other sites are planned and
    renewed; the plan says it is partial; after the fault, the next apply finishes site 2."""
    root = tmp_path / "desired"
    names = await renewal_ready(fleet, root)
    fleet.set_fault("expe-002", Fault(match="*", drop=True, count=10_000))
    run, _ = await plan(fleet, root)
    made = run.plan
    assert not made.blocked and made.partial
    assert made.unread == ("expe-002",)
    assert made.held_back == ("cucm-002", "expc-002")
    held = {f.node: f for f in made.findings if f.code == Code.NODE_HELD_BACK}
    assert "linked to expe-002" in held["expc-002"].message
    assert "held-back actions of expc-002" in held["cucm-002"].message
    assert all(f.severity is Severity.WARNING for f in held.values())
    assert not {a.node for a in made.actions} & {"expe-002", "expc-002"}
    # cucm-002 still adds the new CA to its own stores (always safe), but its install
    # waits for expc-002's trust of its new chain: held back
    assert {a.kind for a in made.actions if a.node == "cucm-002"} <= {"trust.add",
                                                                      "service.restart"}
    assert {a.node for a in made.actions} - {"cucm-002"} == set(names) - site(2)
    _, result = await apply(fleet, root)
    assert result is not None and result.ok, result
    for name in set(names) - site(2):
        assert served_by_new_ca(fleet, name), name
    assert not any(served_by_new_ca(fleet, n) for n in site(2))
    assert_fleet_invariant(fleet)
    fleet.clear_faults("expe-002")
    await converge(fleet, root)
    assert all(served_by_new_ca(fleet, n) for n in names)
    assert_fleet_invariant(fleet)


async def test_strict_keeps_the_whole_plan_blocked(fleet: InProcessLab, tmp_path: Path) -> None:
    root = tmp_path / "desired"
    await renewal_ready(fleet, root)
    fleet.set_fault("cucm-003", Fault(match="*", drop=True, count=10_000))
    run, _ = await plan(fleet, root, strict=True)
    assert run.plan.blocked and not run.plan.partial
    errors = [(f.code, f.node) for f in run.plan.findings if f.severity is Severity.ERROR]
    assert errors == [(Code.NODE_UNREACHABLE, "cucm-003")]
    assert not any(f.code == Code.NODE_HELD_BACK for f in run.plan.findings)


async def test_keep_going_renews_the_independent_sites(
    fleet: InProcessLab, tmp_path: Path
) -> None:
    """expc-002's install fails: with --keep-going every other site is renewed and only
    the actions that depend on the failed install are skipped, each naming it."""
    root = tmp_path / "desired"
    names = await renewal_ready(fleet, root)
    fleet.set_fault("expc-002", Fault(match="cert.upload", status=500, count=50))
    events = Events()
    run, result = await apply(fleet, root, events, keep_going=True)
    assert result is not None and not result.ok
    failed = action_id(result, "expc-002/cert.install")
    assert outcome(result, failed)[0] == "failed"
    by_id = {a.id: a for a in run.plan.actions}
    dependents = _dependents(by_id, failed)
    assert dependents and "expc-002/node.restart" in dependents
    for r in result.results:
        if r.id in dependents:
            assert r.outcome == "skipped" and f"depends on {failed}, which failed" in r.detail
        elif r.id != failed:
            assert r.outcome == "done", (r.id, r.detail)
    started = {aid for e, aid in events.seen if e == "started"}
    assert not started & dependents
    for name in set(names) - site(2):
        assert served_by_new_ca(fleet, name), name
    assert "--keep-going" in (result.stopped_because or "")
    assert_fleet_invariant(fleet)
    fleet.clear_faults("expc-002")
    await converge(fleet, root)
    assert all(served_by_new_ca(fleet, n) for n in names)


async def test_without_keep_going_nothing_new_starts(fleet: InProcessLab, tmp_path: Path) -> None:
    """Today's stop: after the first failure nothing new starts; every action not run is
    skipped, those that depend on the failed one naming it."""
    root = tmp_path / "desired"
    await renewal_ready(fleet, root)
    fleet.set_fault("expe-003", Fault(match="trust.add", status=500, count=50))
    events = Events()
    run, result = await apply(fleet, root, events)
    assert result is not None and not result.ok
    assert events.started_after_first_failure() == []
    failed = next(r.id for r in result.results if r.outcome == "failed")
    dependents = _dependents({a.id: a for a in run.plan.actions}, failed)
    skipped = {r.id: r.detail for r in result.results if r.outcome == "skipped"}
    assert dependents <= set(skipped)
    assert all(f"depends on {failed}" in skipped[d] for d in dependents)
    assert any(f"{failed} failed" in d for d in skipped.values())
    assert_fleet_invariant(fleet)


async def test_keep_going_never_installs_before_an_unconfirmed_trust_restart(
    fleet: InProcessLab, tmp_path: Path
) -> None:
    """cucm-004's trust restart never comes back: with --keep-going the installs that need
    it (its own and expc-004's, whose chain cucm-004 must trust) are skipped, not run."""
    root = tmp_path / "desired"
    await renewal_ready(fleet, root)
    before = {n: fleet.nodes[n].state.served.cert_pem for n in ("cucm-004", "expc-004")}
    fleet.set_fault("cucm-004", Fault(match="restart", restart_hang=True))
    _, result = await apply(fleet, root, keep_going=True)
    assert result is not None and not result.ok
    restart = "cucm-004/service.restart/trust"
    assert outcome(result, restart)[0] == "failed"
    for install in ("cucm-004/cert.install", "expc-004/cert.install"):
        state, detail = outcome(result, install)
        assert state == "skipped" and restart in detail, (install, detail)
    assert {n: fleet.nodes[n].state.served.cert_pem for n in before} == before
    assert outcome(result, "expc-001/cert.install")[0] == "done"
    assert_fleet_invariant(fleet)
    fleet.clear_faults("cucm-004")
    await fleet.wait_idle()


def chaos(sites: int) -> dict[str, Fault]:
    """A third of the nodes faulted, five ways in turn: unreachable, malformed reads, 503s on
    writes, slow answers, a restart that never returns."""
    ways = [
        ("expe", Fault(match="*", drop=True, count=100_000)),
        ("cucm", Fault(match="snapshot", malformed_json=True, count=100_000)),
        ("expc", Fault(match="trust.add", status=503, count=100_000)),
        ("expe", Fault(match="*", latency_ms=20)),
        ("cucm", Fault(match="restart", restart_hang=True)),
    ]
    return {f"{kind}-{n:03d}": ways[(n - 1) % len(ways)][1]
            for n in range(1, sites + 1) for kind in [ways[(n - 1) % len(ways)][0]]}


@pytest.mark.parametrize("sites", [4, 10], ids=["12-nodes", "30-nodes"])
async def test_chaos_a_third_faulted_keeps_the_invariant_and_converges(
    tmp_path: Path, sites: int
) -> None:
    """A third of the fleet misbehaves (one node per site, five ways); two --keep-going
    applies renew what they can; no node ever serves what a linked peer does not trust;
    once the faults clear, one apply converges the fleet (every node on the new CA, the
    next plan empty)."""
    reuse_rsa_keys()
    async with InProcessLab.start(tmp_path / "lab",
                                  topology=synthetic_topology(3 * sites)) as fleet:
        root = tmp_path / "desired"
        names = await renewal_ready(fleet, root)
        faults = chaos(sites)
        for name, fault in faults.items():
            fleet.set_fault(name, fault)
        for _ in range(2):
            run, _ = await apply(fleet, root, keep_going=True)
            assert run.plan.partial and "expe-001" in run.plan.unread
            assert "cucm-002" in run.plan.unread
            assert_fleet_invariant(fleet)
        renewed = {n for n in names if served_by_new_ca(fleet, n)}
        assert renewed, "nothing was renewed while a third of the fleet was faulted"
        for name in faults:
            fleet.clear_faults(name)
        assert await converge(fleet, root) == 1  # one apply after the faults clear
        assert all(served_by_new_ca(fleet, n) for n in names)
        assert_fleet_invariant(fleet)


def _dependents(by_id: dict[str, Action], failed: str) -> set[str]:
    """Every action that depends, transitively, on ``failed``."""
    out: set[str] = set()
    changed = True
    while changed:
        changed = False
        for aid, action in by_id.items():
            if aid not in out and set(action.depends_on) & (out | {failed}):
                out.add(aid)
                changed = True
    return out
