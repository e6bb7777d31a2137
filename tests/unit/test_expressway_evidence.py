"""Issue 11 (a) and (b): what the Expressway evidence says, and what certops does without it.

(a) CSR subject fields are sent; a pending CSR is recognised by its body as well as by 409;
discarding a pending CSR is a manual step (no evidenced DELETE). (b) ``GET certs/server``
may show the uploaded or the active certificate before the restart; no sysinfo
restart-required field is read.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from unitkit import apply, generate_csrs, plan, ready_to_install, served

from reconciler.drivers import Conflict, Endpoint, HttpSettings, NodeHttp, Unparseable
from reconciler.drivers.expressway import ExpresswayDriver, csr_body
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import CsrSubjectSpec

FQDN = "expe1.nart.com"


def mock_driver(handler: httpx.MockTransport, served_pem: str | None = None) -> ExpresswayDriver:
    """An Expressway driver whose HTTP answers come from ``handler``."""
    endpoint = Endpoint("expe1", "expressway-e", f"https://{FQDN}", "admin", "pw")
    http = NodeHttp(node="expe1", base_url=endpoint.api, auth=("admin", "pw"),
                    settings=HttpSettings(retries=0), transport=handler)

    async def probe() -> str | None:
        return served_pem

    return ExpresswayDriver(endpoint, http, probe=probe)


def write_csr_defaults(root: Path) -> None:
    """certops.yaml gets a fleet CSR subject; expe1 overrides one field."""
    fleet = root / "certops.yaml"
    fleet.write_text(fleet.read_text().replace(
        "  derive_trust: true\n",
        "  derive_trust: true\n  csr:\n    country: NL\n    organization: Nart\n"
        "    organizational_unit: Collaboration\n    email: pki@nart.com\n"))
    node = root / "nodes" / "expe1.yaml"
    node.write_text(node.read_text() + "csr: {organizational_unit: Edge, locality: Utrecht}\n")


async def test_csr_subject_from_defaults_and_node_reaches_the_node(
    lab: InProcessLab, desired: Path
) -> None:
    write_csr_defaults(desired)
    await generate_csrs(lab, desired)
    csr = x509.load_pem_x509_csr(lab.nodes["expe1"].state.pending_csr.csr_pem.encode())  # type: ignore[union-attr]
    subject = {a.oid: a.value for a in csr.subject}
    assert subject[NameOID.COUNTRY_NAME] == "NL"
    assert subject[NameOID.ORGANIZATION_NAME] == "Nart"
    assert subject[NameOID.ORGANIZATIONAL_UNIT_NAME] == "Edge"  # the node's override
    assert subject[NameOID.LOCALITY_NAME] == "Utrecht"
    assert subject[NameOID.COMMON_NAME] == FQDN  # the box sets the CN


def test_csr_body_sends_only_the_fields_set() -> None:
    body = csr_body(["a.example.com"], CsrSubjectSpec(country="NL", email="x@example.com"))
    assert body["Country"] == "NL" and body["Email"] == "x@example.com"
    assert "Province" not in body and body["Additional_FQDNS"] == ["a.example.com"]


@pytest.mark.parametrize("status", [200, 409])
async def test_pending_csr_conflict_by_body_or_status(status: int) -> None:
    posts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        posts.append(request.method)
        return httpx.Response(status, json={"Message": "Conflict"})

    with pytest.raises(Conflict) as err:
        await mock_driver(httpx.MockTransport(answer)).csr_generate(["a.nart.com"])
    assert "already pending" in str(err.value) and "Discard CSR" in (err.value.hint or "")
    assert posts == ["POST"]  # never retried, and no CSR read after a conflict


async def test_discard_is_a_manual_step_and_apply_sends_no_delete(
    lab: InProcessLab, desired: Path
) -> None:
    await generate_csrs(lab, desired)  # expe1 has a pending CSR...
    node = desired / "nodes" / "expe1.yaml"  # ...that now lacks a wanted name
    text = node.read_text().replace("    - nart.com\n", "    - nart.com\n    - new.nart.com\n")
    node.write_text(text)
    run, _ = await plan(lab, desired)
    ids = [a.id for a in run.plan.actions if a.node == "expe1"]
    discard = next(a for a in run.plan.actions if a.id == "expe1/csr.discard")
    assert discard.kind == "manual" and "Discard CSR" in (discard.manual or "")
    assert "expe1/csr.discard" in next(
        a for a in run.plan.actions if a.id == "expe1/csr.generate").depends_on
    assert ids.index("expe1/csr.discard") < ids.index("expe1/csr.generate")
    lab.reset_counters()
    _, result = await apply(lab, desired)
    assert result is not None and not result.ok  # stops before the manual step
    assert lab.counters("expe1").get("DELETE", 0) == 0
    assert lab.nodes["expe1"].state.pending_csr is not None  # nothing guessed


async def test_install_accepts_the_active_certificate_before_the_restart(
    lab: InProcessLab, desired: Path
) -> None:
    for node in lab.nodes.values():
        node.state.cert_read = "active"  # GET certs/server shows the served one [U]
    await ready_to_install(lab, desired)
    _, result = await apply(lab, desired)
    assert result is not None and result.ok, [(r.id, r.detail) for r in result.results]
    wanted = x509.load_pem_x509_certificates((desired / "certs" / "expe1.pem").read_bytes())[0]
    assert served(lab, "expe1") == wanted  # the TLS handshake is the proof


async def test_sysinfo_restart_flag_is_not_relied_on(lab: InProcessLab) -> None:
    leaf = lab.nodes["expe1"].state.served.cert_pem

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("sysinfo"):
            return httpx.Response(200, json={"Version": "X15.0.2", "RestartRequired": True})
        if path.endswith("generate_csr") or path.endswith("raml"):
            return httpx.Response(404, json={"Message": "No CSR"})
        return httpx.Response(200, text=leaf)

    live = await mock_driver(httpx.MockTransport(answer), served_pem=leaf).read()
    assert live.restart_required is False  # [U] field: installed == served decides


@pytest.mark.parametrize(("status", "body", "capable", "error"), [
    (200, "#%RAML 1.0\n/common:\n  /maintenancemode:\n    get:\n    put:\n", True, None),
    (200, "#%RAML 1.0\n/provisioning:\n  /sysinfo:\n    get:\n", False, None),
    (404, "", False, None),
    (403, "", False, None),
    (200, "<html>login</html>", False, "GET /api/raml -> 200: the node's API description"),
])
async def test_the_drain_capability_comes_from_the_node_s_raml(
    status: int, body: str, capable: bool, error: str | None
) -> None:
    """Only a RAML that lists a maintenance-mode resource (readable and settable) offers
    node.drain; none, or none for this account: a manual drain; garbage: an error that names
    the node and the path (the node is then not planned: live.unparseable)."""
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, text=body)

    driver = mock_driver(httpx.MockTransport(answer))
    if error is not None:
        with pytest.raises(Unparseable, match=f"expe1: {re.escape(error)}"):
            await driver.drain_capable()
        return
    assert await driver.drain_capable() is capable
    assert ("node.drain" in driver.capabilities) is capable
