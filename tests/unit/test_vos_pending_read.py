"""Issue 22, items 4 and 2: on release 14 (REST) a node whose platform CLI is declared
(``connection.ssh_port`` / ``ssh_host_key``) has its pending CSRs and its version read over
that CLI in one session, so a renewal needs no ``replace_pending_csr`` and the CallManager
identity restarts what its release needs; without the CLI the conservative behaviour stays
(``csr.pending_unknown``, the widest restart set with ``restart.version_unknown``)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from unitkit import apply, copy_desired, declare_cli, plan

from reconciler.drivers.errors import AuthError
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.topology import example_topology
from reconciler.model import Code

PUB = "cucm-pub"


def set_role(root: Path, text: str) -> None:
    """Replace cucm-pub's ``callmanager:`` line of ``certificates:``."""
    path = root / "nodes" / f"{PUB}.yaml"
    body = re.sub(r"  callmanager: \{.*\}\n", f"  callmanager: {text}\n", path.read_text())
    path.write_text(body)


def codes(run: Any, code: Code) -> list[str]:
    return [f.node or "" for f in run.plan.findings if f.code == code]


async def test_a_declared_cli_reads_the_pending_csr_and_version_on_14(
        lab: InProcessLab, tmp_path: Path) -> None:
    root = copy_desired(tmp_path, replace_pending_csr=False)
    declare_cli(lab, PUB)
    run, drivers = await plan(lab, root)
    assert not codes(run, Code.CSR_PENDING_UNKNOWN)
    assert f"{PUB}/csr.generate" in {a.id for a in run.plan.actions}
    live = await drivers[PUB].read()
    assert live.transport == "rest" and "csr.read" in live.capabilities
    assert live.version == lab.nodes[PUB].state.version


async def test_without_the_cli_the_hold_stays_and_says_how_to_lift_it(
        lab: InProcessLab, tmp_path: Path) -> None:
    root = copy_desired(tmp_path, replace_pending_csr=False)
    run, drivers = await plan(lab, root)
    [finding] = [f for f in run.plan.findings if f.code == Code.CSR_PENDING_UNKNOWN]
    assert "connection.ssh_port" in finding.message and "show csr list own" in finding.message
    live = await drivers[PUB].read()
    assert "csr.read" not in live.capabilities and live.version is None


async def test_a_failed_cli_login_keeps_the_conservative_hold(lab: InProcessLab,
                                                              tmp_path: Path) -> None:
    @asynccontextmanager
    async def refused() -> AsyncIterator[Any]:
        raise AuthError(PUB, "login refused", method="SSH", path="login")
        yield  # pragma: no cover

    root = copy_desired(tmp_path, replace_pending_csr=False)
    declare_cli(lab, PUB)
    lab.shells[PUB] = refused
    run, _ = await plan(lab, root)
    assert codes(run, Code.CSR_PENDING_UNKNOWN) == [PUB]
    assert f"{PUB}/csr.generate" not in {a.id for a in run.plan.actions}


async def test_a_pending_csr_is_read_and_kept_on_14(lab: InProcessLab, tmp_path: Path) -> None:
    """An earlier apply generated the CSR, its pull request is not merged: with the CLI
    declared the plan sees it and keeps it, and apply saves that very CSR."""
    root = copy_desired(tmp_path, replace_pending_csr=False)
    declare_cli(lab, PUB)
    drivers = (await plan(lab, root))[1]
    earlier = await drivers[PUB].csr_generate(["cucm-pub.nart.com", "cucm.nart.com"])
    run, _ = await plan(lab, root)
    assert not codes(run, Code.CSR_PENDING_UNKNOWN)
    [csr] = [a for a in run.plan.actions if a.id == f"{PUB}/csr.generate"]
    assert csr.reason.startswith("keep"), csr.reason
    _, result = await apply(lab, root)
    assert result is not None and result.ok, result
    assert lab.nodes[PUB].state.pending_csrs["tomcat"].csr_pem == earlier
    assert (root / "csrs" / f"{PUB}.csr.pem").read_text() == earlier


@pytest.mark.parametrize("cli", [True, False])
async def test_a_callmanager_csr_is_held_only_without_the_cli(
        lab: InProcessLab, tmp_path: Path, cli: bool) -> None:
    root = copy_desired(tmp_path)
    set_role(root, "{subject_alt_names: [cucm-pub.nart.com], renew_before: 30d}")
    if cli:
        declare_cli(lab, PUB)
    run, _ = await plan(lab, root)
    held = [f for f in run.plan.findings if f.code == Code.CSR_PENDING_UNKNOWN
            and "cucm-pub.callmanager.csr.pem" in f.message]
    planned = f"{PUB}/csr.generate/callmanager" in {a.id for a in run.plan.actions}
    assert (planned, bool(held)) == ((True, False) if cli else (False, True))


@pytest.fixture
async def sslab(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    """The example fleet with cucm-pub's CallManager identity self-signed."""
    topology = example_topology()
    for node in topology.nodes:
        if node.type == "cucm":
            node.self_signed = ["callmanager", "tvs", "itlrecovery", "capf"]
    async with InProcessLab.start(tmp_path / "lab", topology=topology) as running:
        yield running


WIDEST = ("Cisco CallManager", "Cisco CTIManager", "Cisco HAProxy",
          "Cisco Trust Verification Service", "Cisco TFTP")


@pytest.mark.parametrize(("version", "cli", "services"), [
    ("14.0.1.13900-155", True, ("Cisco HAProxy", "Cisco Trust Verification Service",
                                "Cisco TFTP")),
    ("14.0.1.10000-20", True, WIDEST),
    ("14.0.1.13900-155", False, WIDEST),
])
async def test_the_callmanager_restarts_are_the_versions(
        sslab: InProcessLab, tmp_path: Path, version: str, cli: bool,
        services: tuple[str, ...]) -> None:
    """14SU1+: HAProxy (and TVS, TFTP); 14.0: CallManager, CTIManager, HAProxy (and TVS,
    TFTP); an unknown version: the widest row, with the note that says how to narrow it."""
    sslab.nodes[PUB].state.version = version
    root = copy_desired(tmp_path)
    set_role(root, "{self_signed: true, renew_before: 30d}")
    if cli:
        declare_cli(sslab, PUB)
    run, _ = await plan(sslab, root)
    [restart] = [a for a in run.plan.actions if a.id == f"{PUB}/service.restart/callmanager"]
    assert set(restart.services) == set(services)
    assert codes(run, Code.RESTART_VERSION_UNKNOWN) == ([] if cli else [PUB])
