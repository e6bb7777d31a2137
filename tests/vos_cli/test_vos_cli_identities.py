"""Issue 22, item 5: Unified CM's other identities changed over the 12.5 platform CLI
(``connection.transport: cli``): ``set csr gen <unit>``, ``set cert import own <unit>`` and
``set cert regen <unit>`` through ``COMMANDS``, against the lab's CLI; and a CallManager
regeneration applied end to end at 12.5 (publisher, SIP TLS, phones, the Expressway-C's
trust)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from test_vos_cli_conversation import typed, vos_driver
from unitkit import apply, copy_desired, plan

from reconciler.lab.ca import load_certs, reuse_rsa_keys, sha256_hex
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.phones import sha_of
from reconciler.lab.topology import example_topology, with_cucm_version
from reconciler.model import Code

OLD = "12.5.1.16900-48"
PUB = "cucm-pub"


def set_callmanager(root: Path, text: str) -> None:
    path = root / "nodes" / f"{PUB}.yaml"
    path.write_text(re.sub(r"  callmanager: \{.*\}\n", f"  callmanager: {text}\n",
                           path.read_text()))


async def test_a_callmanager_csr_then_install_over_the_cli(lab125: InProcessLab,
                                                           desired: Path) -> None:
    """``set csr gen CallManager``, the CSR read back, signed; its CA into CallManager-trust,
    then ``set cert import own CallManager`` with the leaf pasted, read back."""
    driver = vos_driver(lab125, desired)
    node = lab125.nodes[PUB]
    csr = await driver.role_csr_generate("callmanager", ["cucm-pub.nart.com"])
    assert "set csr gen CallManager" in typed(lab125)
    assert await driver.role_csr_read("callmanager") == csr
    leaf, issuing, root = load_certs(lab125.sign(csr))
    pems = [x.public_bytes(Encoding.PEM).decode() for x in (leaf, issuing, root)]
    await driver.trust_add("callmanager-trust", pems[1:])
    await driver.role_install("callmanager", pems[0], pems[1:])
    assert "set cert import own CallManager" in typed(lab125)
    assert sha_of(node.state.identities["callmanager"]) == sha256_hex(leaf)
    assert await driver.role_certificate("callmanager") == pems[0]
    live = await driver.read()
    assert live.transport == "cli"
    assert {"csr.generate:callmanager", "cert.install:callmanager",
            "cert.regenerate:callmanager", "csr.read"} <= set(live.capabilities)


async def test_a_pending_callmanager_csr_is_read_at_12_5(lab125: InProcessLab,
                                                         tmp_path: Path) -> None:
    """A CallManager CSR generated earlier shows in the 12.5 read: no csr.pending_unknown,
    the plan keeps it."""
    root = copy_desired(tmp_path)
    set_callmanager(root, "{subject_alt_names: [cucm-pub.nart.com], renew_before: 30d}")
    drivers = (await plan(lab125, root))[1]
    earlier = await drivers[PUB].role_csr_generate("callmanager", ["cucm-pub.nart.com"])
    run, _ = await plan(lab125, root)
    assert not [f for f in run.plan.findings if f.code == Code.CSR_PENDING_UNKNOWN]
    [csr] = [a for a in run.plan.actions if a.id == f"{PUB}/csr.generate/callmanager"]
    assert csr.kind == "csr.generate" and csr.reason.startswith("keep"), csr.reason
    live = await drivers[PUB].read()
    assert live.role_pending_csrs == {"callmanager": earlier}


@pytest.fixture
async def sslab125(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    """The example fleet at 12.5 with cucm-pub's CallManager identity self-signed."""
    reuse_rsa_keys()
    topology = with_cucm_version(example_topology(), OLD)
    for spec in topology.nodes:
        if spec.type == "cucm":
            spec.self_signed = ["callmanager", "tvs", "itlrecovery", "capf"]
    async with InProcessLab.start(tmp_path / "lab", topology=topology) as running:
        yield running


async def test_a_12_5_callmanager_regenerates_end_to_end(sslab125: InProcessLab,
                                                         tmp_path: Path) -> None:
    """``self_signed: true`` and due at 12.5: ``set cert regen CallManager`` over the CLI,
    the Expressway-C trusts the new certificate before Cisco CallManager restarts (12.5:
    CallManager, CTIManager, HAProxy [the widest row], TFTP), SIP TLS presents it, no
    phone lost; a second apply has nothing to do."""
    root = copy_desired(tmp_path)
    set_callmanager(root, "{self_signed: true, renew_before: 30d}")
    node = sslab125.nodes[PUB]
    old = sha_of(node.state.identities["callmanager"])
    run, result = await apply(sslab125, root)
    assert result is not None and result.ok, result
    ids = [a.id for a in run.plan.actions]
    assert f"{PUB}/cert.regenerate/callmanager" in ids
    [restart] = [a for a in run.plan.actions if a.id == f"{PUB}/service.restart/callmanager"]
    assert "Cisco CallManager" in restart.services and "Cisco TFTP" in restart.services
    new = node.state.identities["callmanager"]
    assert sha_of(new) != old and "set cert regen CallManager" in node.ssh_commands
    cert = x509.load_pem_x509_certificate(new.cert_pem.encode())
    assert cert.issuer == cert.subject
    assert node.state.sip_served == new and node.state.phones_lost == 0
    trusted = {sha256_hex(c) for pem in sslab125.nodes["expc1"].state.trusted_cas
               for c in load_certs(pem)}
    assert sha256_hex(load_certs(new.cert_pem)[0]) in trusted
    _again, nothing = await apply(sslab125, root)
    assert nothing is None

