"""Unified CM identities on the in-process lab (issue 22): the phones' trust as the lab emulates
it (lab/phones.py), broken on purpose and kept by the rules, and one apply that regenerates
self-signed CallManager identities across a cluster, publisher first."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from unitkit import REPO, apply

from reconciler.lab.ca import load_certs, sha256_hex
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.node import Node
from reconciler.lab.phones import TFTP, rebuild_itl, sha_of
from reconciler.lab.platform_cli import run_command
from reconciler.lab.topology import clustered_topology

PHONES = 10


async def cli(node: Node, command: str) -> str:
    """One CLI command; a confirmation (ITLRecovery's) is answered yes."""
    out: list[str] = []

    async def yes() -> str:
        return "yes\n"

    rc = await run_command(node, command, out.append, read_line=yes)
    assert rc == 0, "".join(out)
    return "".join(out)


def pub(lab: InProcessLab) -> Node:
    return lab.nodes["cucm-pub"]


async def test_callmanager_then_tvs_keeps_every_phone(lab: InProcessLab) -> None:
    """The rules' order: CallManager, TFTP rebuilds the ITL; then TVS, TFTP again."""
    node = pub(lab)
    assert node.state.phones == PHONES
    await cli(node, "set cert regen CallManager")
    await node.restart_service(TFTP)
    await cli(node, "set cert regen TVS")
    await node.restart_service(TFTP)
    assert node.state.phones_lost == 0
    assert sha_of(node.state.identities["tvs"]) in node.state.phone_itl


async def test_callmanager_and_tvs_together_lose_the_phones(lab: InProcessLab) -> None:
    """Broken on purpose: both changed before TFTP rebuilds the ITL, every phone of the node
    refuses its configuration (and keeps its old ITL)."""
    node = pub(lab)
    old_itl = list(node.state.phone_itl)
    await cli(node, "set cert regen CallManager")
    await cli(node, "set cert regen TVS")
    await node.restart_service(TFTP)
    assert node.state.phones_lost == PHONES
    assert node.state.phone_itl == old_itl


async def test_itlrecovery_with_tvs_loses_the_phones(lab: InProcessLab) -> None:
    node = pub(lab)
    await cli(node, "set cert regen ITLRecovery")
    await cli(node, "set cert regen TVS")
    rebuild_itl(node)
    assert node.state.phones_lost == PHONES


async def test_itlrecovery_alone_keeps_the_phones(lab: InProcessLab) -> None:
    node = pub(lab)
    before = sha_of(node.state.identities["itlrecovery"])
    await cli(node, "set cert regen ITLRecovery")
    assert sha_of(node.state.identities["itlrecovery"]) != before
    rebuild_itl(node)
    assert node.state.phones_lost == 0


async def test_mixed_mode_needs_the_ctl_update(lab: InProcessLab) -> None:
    node = pub(lab)
    node.state.security_mode = "mixed"
    await cli(node, "set cert regen CallManager")
    await node.restart_service(TFTP)
    assert node.state.phones_lost == PHONES  # the CTL still lists the old CallManager
    node.state.phones_lost = 0
    await cli(node, "set cert regen CallManager")
    await cli(node, "utils ctl update CTLFile")
    await node.restart_service(TFTP)
    assert node.state.phones_lost == 0


async def test_sip_tls_switches_on_the_restart_the_version_names(lab: InProcessLab) -> None:
    """14SU1+: Cisco HAProxy presents the new CallManager identity; before: CallManager."""
    node = pub(lab)
    before = node.state.sip_served
    await cli(node, "set cert regen CallManager")
    await node.restart_service("Cisco CallManager")
    assert node.state.sip_served == before
    await node.restart_service("Cisco HAProxy")
    assert node.state.sip_served == node.state.identities["callmanager"]
    node.state.version = "14.0.1.10000-20"
    await cli(node, "set cert regen CallManager")
    await node.restart_service("Cisco CallManager")
    assert node.state.sip_served == node.state.identities["callmanager"]


@pytest.fixture
async def sslab(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    """The clustered lab with self-signed CallManager identities (20 days from expiry)."""
    topology = clustered_topology(replication_seconds=0.02)
    for node in topology.nodes:
        if node.type == "cucm":
            node.self_signed = ["callmanager", "tvs", "itlrecovery", "capf"]
    async with InProcessLab.start(tmp_path / "lab", topology=topology) as running:
        yield running


def cluster_desired(tmp_path: Path) -> Path:
    """desired-state-clusters with every Unified CM's CallManager self-signed and due, the
    other identities declared 10 days before expiry (not due)."""
    root = tmp_path / "desired-state-clusters"
    shutil.copytree(REPO / "desired-state-clusters", root)
    for name in ("cucm-pub", "cucm-sub1", "cucm-sub2"):
        path = root / "nodes" / f"{name}.yaml"
        text = path.read_text()
        start = text.index("certificates:") if "certificates:" in text else text.index("trust:")
        end = text.index("trust:")
        # ITLRecovery and CAPF are the publisher's (role.publisher_only)
        own = ("  itlrecovery: {self_signed: true, renew_before: 10d}\n"
               "  capf: {self_signed: true, renew_before: 10d}\n") if name == "cucm-pub" else ""
        path.write_text(text[:start] + "certificates:\n  callmanager: {self_signed: true}\n"
                        "  tvs: {self_signed: true, renew_before: 10d}\n" + own + text[end:])
    return root


async def test_apply_regenerates_callmanager_publisher_first(sslab: InProcessLab,
                                                            tmp_path: Path) -> None:
    root = cluster_desired(tmp_path)
    olds = {n: sha_of(sslab.nodes[n].state.identities["callmanager"])
            for n in ("cucm-pub", "cucm-sub1", "cucm-sub2")}
    run, result = await apply(sslab, root)
    assert result is not None and result.ok, result
    ids = [a.id for a in run.plan.actions]
    regens = [i for i in ids if "/cert.regenerate/callmanager" in i]
    assert regens == ["cucm-pub/cert.regenerate/callmanager",
                      "cucm-sub1/cert.regenerate/callmanager",
                      "cucm-sub2/cert.regenerate/callmanager"]
    for name, old in olds.items():
        node = sslab.nodes[name]
        new = node.state.identities["callmanager"]
        assert sha_of(new) != old
        assert node.state.sip_served == new  # HAProxy restarted: SIP TLS presents it
        assert node.state.phones_lost == 0
        sha = sha256_hex(load_certs(new.cert_pem)[0])
        for expc in ("expc1", "expc2"):
            trusted = {sha256_hex(c) for pem in sslab.nodes[expc].state.trusted_cas
                       for c in load_certs(pem)}
            assert sha in trusted, (expc, name)
    _again, nothing = await apply(sslab, root)
    assert nothing is None


async def test_a_tvs_change_restarts_tvs_and_tftp_on_every_member(sslab: InProcessLab,
                                                                  tmp_path: Path) -> None:
    """The publisher's TVS alone is due: regenerated, its own TVS and TFTP restart, then every
    other member restarts TVS and TFTP (each ITL lists the cluster's TVS certificates),
    publisher first, one member after the other; no phone lost."""
    root = cluster_desired(tmp_path)
    for name in ("cucm-pub", "cucm-sub1", "cucm-sub2"):
        path = root / "nodes" / f"{name}.yaml"
        text = path.read_text().replace("callmanager: {self_signed: true}",
                                        "callmanager: {self_signed: true, renew_before: 10d}")
        if name == "cucm-pub":
            text = text.replace("tvs: {self_signed: true, renew_before: 10d}",
                                "tvs: {self_signed: true, renew_before: 30d}")
        path.write_text(text)
    old = sha_of(pub(sslab).state.identities["tvs"])
    run, result = await apply(sslab, root)
    assert result is not None and result.ok, result
    by_id = {a.id: a for a in run.plan.actions}
    assert [i for i in by_id if "/cert.regenerate/" in i] == ["cucm-pub/cert.regenerate/tvs"]
    first, second = by_id["cucm-sub1/service.restart/itl"], by_id["cucm-sub2/service.restart/itl"]
    assert first.services == second.services == ("Cisco Trust Verification Service", TFTP)
    assert "cucm-pub/service.restart/tvs" in first.depends_on
    assert first.id in second.depends_on
    assert sha_of(pub(sslab).state.identities["tvs"]) != old
    assert all(sslab.nodes[n].state.phones_lost == 0
               for n in ("cucm-pub", "cucm-sub1", "cucm-sub2"))
