"""The clientAuth sunset on the in-process lab (issue 27): an X15.5 pair with Unified CM.

The server certificates come from a serverAuth-only CA declared ``public: true`` (as public
CAs issue from 2027), the client certificates from a private CA with both EKUs (TAC 225693's
working set-up). The plan puts the private CA into every peer's trust first, then the client
certificates, then the server certificates; apply converges; the lab's mutual-TLS link check
refuses no handshake. Breaking the rule on purpose (a serverAuth-only client certificate on
the C) makes it refuse; a node whose RAML lists no client store gets manual steps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from unitkit import apply as unitkit_apply
from unitkit import plan, session_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuers"))
from openssl_ca import OpensslCa, have_openssl, make_openssl_ca

from reconciler.lab.availability import report
from reconciler.lab.ca import load_certs
from reconciler.lab.eku import ekus
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.state import Identity
from reconciler.lab.topology import Topology, example_topology
from reconciler.model import Code
from reconciler.usecases.doctor import DoctorRequest, doctor
from reconciler.usecases.importing import ImportRequest, import_fleet

pytestmark = pytest.mark.skipif(not have_openssl(), reason="openssl is not installed")
PAIR = ("expe1", "expc1")


def x155(raml_client: bool = True) -> Topology:
    topo = example_topology()
    nodes = [n.model_copy(update={"version": "X15.5.1", "raml_client": raml_client})
             if n.name in PAIR else n for n in topo.nodes]
    return topo.model_copy(update={"nodes": nodes})


@pytest.fixture
async def lab155(tmp_path: Path) -> object:
    async with InProcessLab.start(tmp_path / "lab", topology=x155()) as running:
        yield running


def declare(root: Path, public: OpensslCa, private: OpensslCa) -> None:
    """Server certificates from ``public``, client certificates from ``private``; the
    fleet's required_eku left to the per-role defaults."""
    (root / "cas" / "public-root.pem").write_bytes(public.root_pem.read_bytes())
    (root / "cas" / "private-root.pem").write_bytes(private.root_pem.read_bytes())
    fleet = root / "certops.yaml"
    text = fleet.read_text().replace(
        "  required_eku: [serverAuth, clientAuth]   # Cisco's step C: both TLS Web Server "
        "and Client\n", "")
    fleet.write_text(text + (
        "issuers:\n"
        f"  public-ca:\n    type: command\n    run: [{public.sign}]\n"
        "    ca_files: [cas/public-root.pem]\n    eku: [serverAuth]\n    public: true\n"
        f"  private-ca:\n    type: command\n    run: [{private.sign}]\n"
        "    ca_files: [cas/private-root.pem]\n    eku: [serverAuth, clientAuth]\n"))
    for node in PAIR:
        path = root / "nodes" / f"{node}.yaml"
        text = path.read_text().replace("server_certificate:",
                                        "server_certificate:\n  issuer: public-ca", 1)
        path.write_text(text + "certificates:\n  client:\n    issuer: private-ca\n"
                        f"    subject_alt_names: [{node}.nart.com]\n")


def public_ca(tmp_path: Path) -> OpensslCa:
    """Issues serverAuth only, as a public CA does from 2027."""
    return make_openssl_ca(tmp_path / "pub", client_auth=False, name="Example Public Root")


def private_ca(tmp_path: Path) -> OpensslCa:
    return make_openssl_ca(tmp_path / "priv", name="NART Private CA")


def refused(lab: InProcessLab) -> list[str]:
    data = report(lab.lab.timeline, lab.lab.clusters, lab.lab.links)
    return list(data["refused"])


async def test_x15_5_migration_plans_in_order_converges_and_refuses_nothing(
    lab155: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    declare(desired, public_ca(tmp_path),
            private_ca(tmp_path))
    run, result = await unitkit_apply(lab155, desired)
    assert not run.plan.blocked, [f.message for f in run.plan.findings]
    order = [a.id for a in run.plan.actions]
    private_trust = [i for i, a in enumerate(run.plan.actions) if a.kind == "trust.add"]
    client = order.index("expc1/cert.install/client/issued")
    assert max(private_trust) < client < order.index("expc1/cert.install/issued")
    assert "cucm-pub/service.restart/trust" in order[:client]
    assert result is not None and result.ok, [(r.id, r.detail) for r in result.results
                                               if r.outcome != "done"]
    for node in PAIR:
        state = lab155.nodes[node].state
        assert state.client is not None
        assert ekus(load_certs(state.client.cert_pem)[0]) == {"serverAuth", "clientAuth"}
        assert ekus(load_certs(state.served.cert_pem)[0]) == {"serverAuth"}
        assert (desired / "certs" / f"{node}.client.pem").is_file()
        assert (desired / "csrs" / f"{node}.client.csr.pem").is_file()
    assert refused(lab155) == [], "\n".join(refused(lab155))
    again, _ = await plan(lab155, desired)
    assert again.plan.actions == ()


async def test_a_server_auth_only_client_certificate_on_the_c_is_refused(
    lab155: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """The rule broken on purpose: the C's client store holds its serverAuth-only server
    certificate (as the GUI's copy would put it there)."""
    declare(desired, public_ca(tmp_path),
            private_ca(tmp_path))
    _, result = await unitkit_apply(lab155, desired)
    assert result is not None and result.ok and refused(lab155) == []
    node = lab155.nodes["expc1"]
    node.state.client = Identity(**node.state.served.model_dump())
    node.save()
    found = refused(lab155)
    assert any(r.startswith("expc1 -> expe1 (UC traversal zone") and "no clientAuth" in r
               for r in found), found
    assert any(r.startswith("expc1 -> cucm-pub") and "no clientAuth" in r for r in found)


async def test_the_client_store_refuses_a_certificate_without_client_auth(
    lab155: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """A private CA that drops clientAuth despite its declaration: caught before the
    upload by the role's EKU check, and the node refuses it anyway."""
    private = make_openssl_ca(tmp_path / "priv", client_auth=False, name="NART Private CA")
    declare(desired, public_ca(tmp_path), private)
    text = (desired / "certops.yaml").read_text().replace(
        "eku: [serverAuth, clientAuth]", "eku: [serverAuth, clientAuth]  # wrong")
    (desired / "certops.yaml").write_text(text)
    _, result = await unitkit_apply(lab155, desired)
    assert result is not None and not result.ok
    detail = {r.id: r.detail for r in result.results}["expc1/cert.issue/client"]
    assert "not installed" in detail and "clientAuth" in detail


async def test_without_the_client_store_in_the_raml_the_steps_are_manual(
    tmp_path: Path, desired: Path
) -> None:
    async with InProcessLab.start(tmp_path / "lab", topology=x155(False)) as lab:
        declare(desired, public_ca(tmp_path),
                private_ca(tmp_path))
        run, _ = await plan(lab, desired)
    codes = {(f.code, f.node) for f in run.plan.findings}
    assert (Code.ROLE_UNREADABLE, "expc1") not in codes  # declared: planned, not reported
    manual = [a for a in run.plan.actions if a.kind == "manual" and a.role == "client"]
    assert {a.node for a in manual} == set(PAIR)
    assert all("Maintenance > Security > Client certificate" in (a.manual or "")
               for a in manual)


async def test_import_declares_the_client_role_of_an_x15_5_node(
    lab155: InProcessLab, tmp_path: Path
) -> None:
    root = tmp_path / "imported"
    await import_fleet(session_of(lab155, root), ImportRequest())
    text = (root / "nodes" / "expc1.yaml").read_text()
    assert "certificates:\n  client:\n    subject_alt_names:\n" in text
    assert "certificates:" not in (root / "nodes" / "cucm-pub.yaml").read_text()


@pytest.mark.parametrize("listed", [True, False])
async def test_doctor_says_whether_the_client_store_is_automated(
    tmp_path: Path, desired: Path, listed: bool
) -> None:
    async with InProcessLab.start(tmp_path / "lab", topology=x155(listed)) as lab:
        report = await doctor(session_of(lab, desired), DoctorRequest(nodes=("expc1",)))
    (check,) = [c for c in report.checks if c.check == "role client"]
    if listed:
        assert check.status == "ok" and "automated: csr.generate, cert.install" in check.detail
    else:
        assert "Maintenance > Security > Client certificate" in check.detail
