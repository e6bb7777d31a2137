"""Issue 23: the seed story and the cluster story with Unified CM at release 12.5 (no REST
API: every certificate read and change over the platform CLI) plan like release 14, apart
from the transport notes, and converge."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from unitkit import (
    NODES,
    REPO,
    allow_csr_replacement,
    apply,
    assert_invariant,
    copy_desired,
    declare_cli,
    plan,
    session_of,
    use_certificate,
)

from reconciler.apply.executor import StalePlan, check_fresh
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Code, Plan
from reconciler.usecases.drift import drift as drift_of
from reconciler.usecases.importing import import_fleet
from reconciler.usecases.plan import PlanRequest
from reconciler.usecases.plan import plan as plan_use_case

CLI_COMMANDS = ("set cert import", "set csr gen", "show csr list own")
CLUSTER = ("cucm-pub", "cucm-sub1", "cucm-sub2")


def without_transport(p: Plan) -> dict[str, Any]:
    """The plan as data, minus when it was made and the transport notes."""
    data = p.model_dump(mode="json", exclude={"created_at", "git_commit", "desired_root"})
    data["findings"] = [f for f in data["findings"] if f["code"] != Code.LIVE_TRANSPORT]
    return data


async def plan_at(lab: InProcessLab, desired: Path, version: str) -> Plan:
    for node in lab.nodes.values():
        if node.state.type == "cucm":
            node.state.version = version
    run, _ = await plan(lab, desired)
    return run.plan


async def test_the_125_plan_differs_from_the_14_one_only_in_transport_notes(
        lab: InProcessLab, desired: Path) -> None:
    """One lab, the same certificates: cucm-pub at 14 (REST) and at 12.5 (CLI). The plans
    hold the same actions, the same findings and the same fingerprints (the same live state
    read two ways); the 12.5 plan adds one ``live.transport`` note for cucm-pub."""
    rest = await plan_at(lab, desired, "14.0.1.13900-155")
    lab.nodes["cucm-pub"].ssh_commands.clear()
    cli = await plan_at(lab, desired, "12.5.1.16900-48")
    assert rest.actions and without_transport(cli) == without_transport(rest)
    notes = [f for f in cli.findings if f.code == Code.LIVE_TRANSPORT]
    assert [(f.node, f.severity.value) for f in notes] == [("cucm-pub", "info")]
    assert all(c in notes[0].message for c in CLI_COMMANDS)
    assert not [f for f in rest.findings if f.code == Code.LIVE_TRANSPORT]
    # The 12.5 read was the CLI's: pagination off first, then the certificate commands.
    typed = lab.nodes["cucm-pub"].ssh_commands
    assert typed[:3] == ["set cli pagination off", "show version active", "show cert list own"]


async def test_the_seed_story_converges_at_12_5(lab125: InProcessLab, desired: Path) -> None:
    """CSRs generated (cucm-pub's over the CLI), signed by the NEW CA, then trust, installs and
    restarts; the last plan is empty and every link holds."""
    lab = lab125
    _, result = await apply(lab, desired)
    assert result is not None and result.ok, result
    assert {r.kind for r in result.results} == {"csr.generate"}
    assert "set csr gen tomcat" in lab.nodes["cucm-pub"].ssh_commands
    for node in NODES:
        csr = (desired / "csrs" / f"{node}.csr.pem").read_text()
        use_certificate(desired, node, lab.sign(csr, "new"))
    _, result = await apply(lab, desired)
    assert result is not None and result.ok, result
    done = {(r.kind, r.node) for r in result.results}
    assert {("trust.add", "cucm-pub"), ("cert.install", "cucm-pub"),
            ("service.restart", "cucm-pub")} <= done, done
    typed = lab.nodes["cucm-pub"].ssh_commands
    assert "set cert import own tomcat" in typed
    assert any(c.startswith("set cert import trust ") for c in typed)
    run, _ = await plan(lab, desired)
    assert run.plan.actions == (), [a.id for a in run.plan.actions]
    assert_invariant(lab)
    assert (await drift_of(session_of(lab, desired))).in_sync
    state = lab.nodes["cucm-pub"].state
    assert state.served.cert_pem == state.identities["tomcat"].cert_pem
    assert state.served.cert_pem == (desired / "certs" / "cucm-pub.pem").read_text().split(
        "-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"


async def test_the_cluster_story_converges_at_12_5(clab125: InProcessLab, tmp_path: Path) -> None:
    """The cluster demo's fleet with the whole Unified CM cluster at 12.5: CSRs on every
    member, signed, then trust (callmanager-trust replicating from the publisher), installs
    and rolling restarts; the last plan is empty."""
    lab = clab125
    root = tmp_path / "desired-state-clusters"
    shutil.copytree(REPO / "desired-state-clusters", root)
    _, result = await apply(lab, root)
    assert result is not None and result.ok, result
    members = [n for n, node in lab.nodes.items() if node.state.type == "cucm"]
    for node in lab.nodes:
        csr = (root / "csrs" / f"{node}.csr.pem").read_text()
        use_certificate(root, node, lab.sign(csr, "new"))
    _, result = await apply(lab, root)
    assert result is not None and result.ok, result
    for name in members:
        state = lab.nodes[name].state
        assert state.served.cert_pem == state.identities["tomcat"].cert_pem
        assert "set cert import own tomcat" in lab.nodes[name].ssh_commands
    run, _ = await plan(lab, root)
    assert run.plan.actions == (), [a.id for a in run.plan.actions]


async def test_import_writes_the_same_files_from_12_5_as_from_14(lab: InProcessLab,
                                                                 tmp_path: Path) -> None:
    """``certops import`` of one lab with cucm-pub at 14 (REST) and at 12.5 (CLI): the same
    files, byte for byte (the CLI read is the same snapshot)."""
    written = {}
    for version in ("14.0.1.13900-155", "12.5.1.16900-48"):
        lab.nodes["cucm-pub"].state.version = version
        root = tmp_path / version
        await import_fleet(session_of(lab, root))
        written[version] = {str(f.relative_to(root)): f.read_bytes()
                            for f in sorted(root.rglob("*")) if f.is_file()}
    rest, cli = written.values()
    assert "nodes/cucm-pub.yaml" in cli and any(k.startswith("ca-sets/") for k in cli)
    assert cli == rest


async def test_a_stale_plan_is_refused_on_12_5(lab125: InProcessLab, desired: Path) -> None:
    """The stale-plan check reads the node again over the CLI and names what changed."""
    run, drivers = await plan(lab125, desired)
    trust = lab125.nodes["cucm-pub"].state.trust["callmanager"]
    trust.pop()  # a CA deleted by hand between plan and apply
    with pytest.raises(StalePlan) as caught:
        await check_fresh(run.plan, drivers, run.fleet.desired.digest, 4)
    assert "cucm-pub: callmanager-trust changed" in str(caught.value)


async def test_a_pull_request_cannot_switch_the_transport(lab: InProcessLab, desired: Path,
                                                           tmp_path: Path) -> None:
    """``connection.transport`` is a connection setting: with ``--connection-from`` a change
    to it is ``connection.changed`` and the node is not contacted (no SSH login either)."""
    base = tmp_path / "base"
    shutil.copytree(desired, base)
    node = desired / "nodes" / "cucm-pub.yaml"
    node.write_text(node.read_text() + "connection: {transport: cli}\n")
    lab.reset_counters()
    run = await plan_use_case(session_of(lab, desired), PlanRequest(connection_from=str(base)))
    changed = [f for f in run.plan.findings if f.code == Code.CONNECTION_CHANGED]
    assert [f.node for f in changed] == ["cucm-pub"] and "connection" in changed[0].message
    assert lab.counters("cucm-pub")["total"] == 0 and lab.counters("cucm-pub")["SSH"] == 0


async def test_the_cluster_plans_at_12_5_and_14_differ_only_in_transport_notes(
        clab: InProcessLab, tmp_path: Path) -> None:
    """The cluster demo's fleet: every Unified CM member at 14, then at 12.5 (a new CSR
    allowed on each, as the demo does: the lab's nodes have none pending). At 14 the CLI is
    declared, as the HTTPS lab's inventory does: the other identities' pending CSRs are read
    there too (without it, 14 holds their CSRs, ``csr.pending_unknown``)."""
    root = tmp_path / "desired-state-clusters"
    shutil.copytree(REPO / "desired-state-clusters", root)
    for member in CLUSTER:
        allow_csr_replacement(root, member)
    declare_cli(clab, *CLUSTER)
    rest = await plan_at(clab, root, "14.0.1.13900-155")
    cli = await plan_at(clab, root, "12.5.1.16900-48")
    assert rest.actions and without_transport(cli) == without_transport(rest)
    notes = sorted(f.node or "" for f in cli.findings if f.code == Code.LIVE_TRANSPORT)
    assert notes == ["cucm-pub", "cucm-sub1", "cucm-sub2"]


async def test_a_readable_pending_csr_lifts_the_pending_unknown_hold(lab: InProcessLab,
                                                                     tmp_path: Path) -> None:
    """The one intended difference beyond the note: without ``replace_pending_csr`` a 14 node
    holds its CSR (``csr.pending_unknown``: REST cannot show a pending one), while at 12.5
    the CLI shows that none is pending, so the CSR is planned."""
    desired = copy_desired(tmp_path, replace_pending_csr=False)
    rest = await plan_at(lab, desired, "14.0.1.13900-155")
    cli = await plan_at(lab, desired, "12.5.1.16900-48")
    held = [f.node for f in rest.findings if f.code == Code.CSR_PENDING_UNKNOWN]
    assert held == ["cucm-pub"] and "cucm-pub/csr.generate" not in {a.id for a in rest.actions}
    assert not [f for f in cli.findings if f.code == Code.CSR_PENDING_UNKNOWN]
    assert "cucm-pub/csr.generate" in {a.id for a in cli.actions}


async def test_a_pending_csr_is_read_and_kept_at_12_5(lab125: InProcessLab,
                                                       tmp_path: Path) -> None:
    """An earlier apply generated cucm-pub's CSR and its pull request is not merged: at 14
    that is ``csr.pending_unknown`` (tests/unit/test_cucm_pending_csr.py); at 12.5 the CLI
    shows the CSR, the plan keeps it, and apply saves that very CSR for the CA."""
    root = copy_desired(tmp_path, replace_pending_csr=False)
    node = lab125.nodes["cucm-pub"]
    drivers = (await plan(lab125, root))[1]
    earlier = await drivers["cucm-pub"].csr_generate(["cucm-pub.nart.com", "cucm.nart.com"])
    run, _ = await plan(lab125, root)
    assert not [f for f in run.plan.findings if f.code == Code.CSR_PENDING_UNKNOWN]
    [csr] = [a for a in run.plan.actions if a.id == "cucm-pub/csr.generate"]
    assert csr.reason.startswith("keep"), csr.reason
    _, result = await apply(lab125, root)
    assert result is not None and result.ok, result
    assert node.state.pending_csrs["tomcat"].csr_pem == earlier  # kept on the node
    assert (root / "csrs" / "cucm-pub.csr.pem").read_text() == earlier  # and saved
