"""The executor and the steps end to end on the in-process lab: renewal, failures, refusals.

The cheap core of ``tests/integration/test_apply_lab.py`` without HTTPS or a CLI
subprocess: the same drivers and steps, the lab's apps behind an httpx transport.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from unitkit import (
    FAST,
    NODES,
    Events,
    apply,
    assert_invariant,
    installed,
    issuer_of,
    plan,
    ready_to_install,
)

from reconciler.apply.executor import StalePlan, check_fresh, execute
from reconciler.apply.steps import StepContext
from reconciler.lab import Fault
from reconciler.lab.ca import cert_pem, load_or_create_pki
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Action
from reconciler.pki import CertCache


def sha(pem: str) -> str:
    return CertCache().parse(pem.encode())[0].sha256


async def test_renewal_with_a_new_ca_converges(lab: InProcessLab, desired: Path) -> None:
    """Cisco's steps A to E on every node: CSRs, signed by the new CA, installed, served."""
    await ready_to_install(lab, desired)
    old = {n: installed(lab, n) for n in NODES}
    run, result = await apply(lab, desired)
    kinds = {a.kind for a in run.plan.actions}
    assert {"trust.add", "service.restart", "cert.install", "node.restart"} <= kinds
    assert result is not None and result.ok, result
    assert {r.outcome for r in result.results} == {"done"}
    for node in NODES:
        assert "Issuing CA New" in issuer_of(lab, node), node
        want = sha((desired / "certs" / f"{node}.pem").read_text())
        assert sha(lab.nodes[node].state.served.cert_pem) == want
    replaced = {r.node: r.replaced_certificate for r in result.results if r.kind == "cert.install"}
    assert replaced == old
    assert not lab.nodes["cucm-pub"].state.restart_pending
    assert "utils service restart Cisco Tomcat" in lab.nodes["cucm-pub"].ssh_commands
    assert_invariant(lab)
    # converged: the next plan is empty, and applying it sends no write
    lab.reset_counters()
    run, result = await apply(lab, desired)
    assert run.plan.actions == () and result is None
    assert all(lab.counters(n)["non_get"] == 0 for n in NODES)


PHASE_FAULTS = [
    pytest.param("expe1", Fault(match="trust.add", status=500, count=50), "trust.add",
                 id="trust-500"),
    pytest.param("expc1", Fault(match="trust.add", status=503, count=50), "trust.add",
                 id="trust-503-after-retries"),
    pytest.param("cucm-pub", Fault(match="trust.add", drop=True, count=50), "trust.add",
                 id="trust-dropped"),
    pytest.param("cucm-pub", Fault(match="soap", status=503, count=50), "service.restart",
                 id="soap-restart-503"),
    pytest.param("cucm-pub", Fault(match="restart", restart_hang=True), "service.restart",
                 id="tomcat-restart-never-back"),
    pytest.param("expc1", Fault(match="cert.upload", status=500, count=50), "cert.install",
                 id="expressway-install-500"),
    pytest.param("cucm-pub", Fault(match="identity.install", status=500, count=50),
                 "cert.install", id="cucm-install-500"),
    pytest.param("expe1", Fault(match="restart", restart_hang=True), "node.restart",
                 id="expressway-restart-never-back"),
]


@pytest.mark.parametrize(("node", "fault", "phase"), PHASE_FAULTS)
async def test_failure_at_each_phase_stops_cleanly_and_converges(
    lab: InProcessLab, desired: Path, node: str, fault: Fault, phase: str
) -> None:
    await ready_to_install(lab, desired)
    old = {n: installed(lab, n) for n in NODES}
    lab.set_fault(node, fault)
    events = Events()
    run, result = await apply(lab, desired, events)
    assert result is not None and not result.ok
    failed = [r for r in result.results if r.outcome == "failed"]
    assert failed and {(r.node, r.kind) for r in failed} == {(node, phase)}, failed
    assert {r.outcome for r in result.results} <= {"done", "failed", "skipped"}
    # the first failure to finish is the reason (parallel ones may also fail)
    assert result.stopped_because
    assert any(result.stopped_because.startswith(f"{r.id} failed") for r in failed)
    assert events.started_after_first_failure() == []
    # every action that depends on the failed one was skipped, never run
    outcome = {r.id: r.outcome for r in result.results}
    failed_ids = {r.id for r in failed}
    for action in run.plan.actions:
        if failed_ids & set(action.depends_on):
            assert outcome[action.id] == "skipped", action.id
    # nothing installed where the install did not run
    for r in result.results:
        if r.kind == "cert.install" and r.outcome != "done":
            assert installed(lab, r.node) == old[r.node], r.node

    lab.clear_faults(node)
    await lab.wait_idle()
    assert_invariant(lab)
    # the second run finishes exactly what is left, and then there is nothing left
    _, second = await apply(lab, desired)
    assert second is not None and second.ok, second
    done_first = {(r.kind, r.node) for r in result.results if r.outcome == "done"}
    redone = {(r.kind, r.node) for r in second.results} & done_first
    assert not {k for k in redone if k[0] in ("trust.add", "cert.install")}, redone
    assert_invariant(lab)
    run, third = await apply(lab, desired)
    assert run.plan.actions == () and third is None
    for n in NODES:
        assert "Issuing CA New" in issuer_of(lab, n), n


async def test_stale_plan_is_refused(lab: InProcessLab, desired: Path) -> None:
    run, drivers = await plan(lab, desired)
    state = lab.nodes["expe1"].state
    state.trusted_cas = state.trusted_cas[:-1]  # a CA removed by hand between plan and apply
    with pytest.raises(StalePlan) as caught:
        await check_fresh(run.plan, drivers, run.fleet.desired.digest, 4)
    assert "expe1: trusted-ca-list changed" in str(caught.value)


async def test_apply_stops_before_a_manual_step(lab: InProcessLab, desired: Path) -> None:
    """Removing one trusted CA has no Expressway API: a manual action, and apply stops."""
    state = lab.nodes["expe1"].state
    new_ca = cert_pem(load_or_create_pki(lab.lab.paths.ca).chain_for("new")[0])
    state.trusted_cas = [*state.trusted_cas, new_ca]
    node_file = desired / "nodes" / "expe1.yaml"
    node_file.write_text(
        node_file.read_text().replace("trust: []", "trust: {cas: [], prune: true}")
    )
    run, drivers = await plan(lab, desired)
    manual = [a for a in run.plan.actions if a.kind == "manual"]
    assert len(manual) == 1 and "Issuing CA New" in (manual[0].manual or "")
    ctx = StepContext(plan=run.plan, fleet=run.fleet, drivers=drivers, desired_root=desired,
                      timing=FAST)
    result = await execute(run.plan, ctx)
    assert not result.ok and result.stopped_because
    outcomes = {r.kind: r.outcome for r in result.results}
    assert outcomes["manual"] == "manual"
    assert new_ca in lab.nodes["expe1"].state.trusted_cas  # nothing removed it behind our back


async def test_a_restart_waiting_for_its_node_holds_no_parallelism_slot(
    lab: InProcessLab, desired: Path
) -> None:
    """With --parallelism 1, a trust upload elsewhere runs while a service restart waits."""
    run, drivers = await plan(lab, desired)
    lab.nodes["cucm-pub"].state.restart_seconds = 0.3  # a restart that takes a while
    new_ca = cert_pem(load_or_create_pki(lab.lab.paths.ca).chain_for("new")[0])
    ca = CertCache().parse(new_ca.encode())[0]
    restart = Action(id="cucm-pub/service.restart/trust", kind="service.restart",
                     node="cucm-pub", services=("Cisco CallManager",), reason="t")
    upload = Action(id="expc1/trust.add/x", kind="trust.add", node="expc1",
                    store="trusted-ca-list", certificate=ca.summary(), reason="t")
    the_plan = run.plan.model_copy(update={"actions": (restart, upload)})
    fleet = run.fleet
    fleet.ca_pool.setdefault(ca.sha256, ca)
    ctx = StepContext(plan=the_plan, fleet=fleet, drivers=drivers, desired_root=desired,
                      timing=FAST)
    result = await execute(the_plan, ctx, parallelism=1)
    assert result.ok, [r.detail for r in result.results]
    by_id = {r.id: r for r in result.results}
    r0, u0 = by_id[restart.id].started_at, by_id[upload.id].started_at
    assert r0 is not None and u0 is not None
    assert by_id[restart.id].seconds >= 0.3
    assert u0 - r0 < timedelta(seconds=0.15)  # it did not wait for the restart to end


async def test_keep_going_passes_a_manual_step_and_skips_what_waits_for_it(
    lab: InProcessLab, desired: Path
) -> None:
    """With --keep-going a manual step does not stop the independent actions; the one that
    waits for it is skipped, naming it. Without, apply stops at the manual step."""
    run, drivers = await plan(lab, desired)
    new_ca = cert_pem(load_or_create_pki(lab.lab.paths.ca).chain_for("new")[0])
    ca = CertCache().parse(new_ca.encode())[0]
    manual = Action(id="expe1/manual/x", kind="manual", node="expe1", manual="by hand",
                    reason="t")
    upload = Action(id="expc1/trust.add/x", kind="trust.add", node="expc1",
                    store="trusted-ca-list", certificate=ca.summary(), reason="t")
    waiting = Action(id="expe1/trust.add/x", kind="trust.add", node="expe1",
                     store="trusted-ca-list", certificate=ca.summary(), reason="t",
                     depends_on=(manual.id,))
    the_plan = run.plan.model_copy(update={"actions": (manual, upload, waiting)})
    run.fleet.ca_pool.setdefault(ca.sha256, ca)
    ctx = StepContext(plan=the_plan, fleet=run.fleet, drivers=drivers, desired_root=desired,
                      timing=FAST)
    stopped = await execute(the_plan, ctx)
    assert [r.outcome for r in stopped.results] == ["manual", "skipped", "skipped"]
    result = await execute(the_plan, ctx, keep_going=True)
    by_id = {r.id: r for r in result.results}
    assert by_id[manual.id].outcome == "manual" and by_id[upload.id].outcome == "done"
    assert by_id[waiting.id].outcome == "skipped"
    assert f"depends on {manual.id}, which is a manual step" in by_id[waiting.id].detail
    assert new_ca not in lab.nodes["expe1"].state.trusted_cas
