"""Fidelity of the emulated Expressway over real HTTPS (device-apis.md, Expressway table)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from labhelpers import NodeClient, small_topology

from reconciler.lab import LabThread, start_lab
from reconciler.lab.ca import cert_pem, new_key

pytestmark = pytest.mark.lab

P = "/api/provisioning"
CSRF = {"X-CSRF-Header": "certops"}


def sha(pem: str) -> str:
    return hashlib.sha256(x509.load_pem_x509_certificate(pem.encode()).public_bytes(
        Encoding.DER)).hexdigest()


def upload(c: Any, pem: str | bytes, path: str = f"{P}/certs/server") -> httpx.Response:
    data = pem.encode() if isinstance(pem, str) else pem
    r: httpx.Response = c.post(path, files={"file": ("server.pem", data, "application/x-pem")})
    return r


def wait_up(lab: LabThread, name: str) -> None:
    lab.wait_idle(name)


def test_tls_serves_current_cert_with_chain(lab: LabThread, client: Any, served: Any) -> None:
    c = client("expe1")
    current = c.get(f"{P}/certs/server")
    assert current.status_code == 200
    assert current.text.startswith("-----BEGIN CERTIFICATE-----")
    # Verified against the root alone: the node must send its issuing CA in the chain.
    root_only = lab.lab.paths.ca / "root.pem"
    assert served(lab, "expe1", root_only) == sha(current.text)
    leaf = x509.load_pem_x509_certificate(current.content)
    days = (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days
    assert days >= 300  # a realistic lifetime, expiring inside the renewal window
    assert "Old" in leaf.issuer.rfc4514_string()


def test_basic_auth_required(lab: LabThread, client: Any) -> None:
    assert client("expe1", auth=("admin", "wrong")).get(f"{P}/sysinfo").status_code == 401
    anon = httpx.get(lab.url("expe1") + f"{P}/sysinfo", verify=False)
    assert anon.status_code == 401
    assert anon.headers["www-authenticate"].startswith("Basic")
    info = client("expe1").get(f"{P}/sysinfo").json()
    assert info["Version"] == "X15.0.2"
    assert info["Role"] == "Expressway-E"


def test_renewal_flow_served_only_after_restart(
    lab: LabThread, client: Any, served: Any, is_refused: Any
) -> None:
    c = client("expe1")
    old_served = served(lab, "expe1")
    assert c.get(f"{P}/certs/generate_csr").status_code == 404
    body = {"Additional_FQDNS": ["expe.nart.com", "join.nart.com"], "KeyLength": 2048,
            "DigestAlgorithm": "sha256", "Organization": "NART"}
    assert c.post(f"{P}/certs/generate_csr", json=body, headers=CSRF).status_code == 200
    conflict = c.post(f"{P}/certs/generate_csr", json=body, headers=CSRF)
    assert conflict.status_code == 200  # [U]: the evidence shows only the body
    assert conflict.json() == {"Message": "Conflict"}
    csr = x509.load_pem_x509_csr(c.get(f"{P}/certs/generate_csr").content)
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "expe1.nart.com"
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {
        "expe1.nart.com", "expe.nart.com", "join.nart.com"}
    eku = csr.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert served(lab, "expe1") == old_served  # a CSR does not touch the active cert

    new = lab.node("expe1").pki.sign_csr(csr, "new")
    r = upload(c, cert_pem(new))
    assert r.status_code == 200, r.text
    assert r.json() == {"Message": "OK"}
    assert "RestartRequired" not in c.get(f"{P}/sysinfo").json()  # no evidence of the field
    assert sha(c.get(f"{P}/certs/server").text) == sha(cert_pem(new))
    assert served(lab, "expe1") == old_served  # not served before the restart
    assert c.get(f"{P}/certs/generate_csr").status_code == 404  # consumed

    assert c.post(f"{P}/restart").status_code == 403  # X15: CSRF header required
    assert c.post(f"{P}/restart", headers=CSRF).status_code == 200
    deadline = time.monotonic() + 2
    while not is_refused(lab, "expe1") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert is_refused(lab, "expe1")  # down during the restart
    wait_up(lab, "expe1")
    assert not is_refused(lab, "expe1")
    assert served(lab, "expe1") == sha(cert_pem(new))


def test_discarded_csr_makes_install_fail(lab: LabThread, client: Any) -> None:
    c = client("expc1")
    assert c.post(f"{P}/certs/generate_csr", json={}, headers=CSRF).status_code == 200
    csr = x509.load_pem_x509_csr(c.get(f"{P}/certs/generate_csr").content)
    # No evidenced DELETE: the lab has none (405); the CSR is discarded "in the GUI".
    assert c.delete(f"{P}/certs/generate_csr").status_code == 405
    lab.node("expc1").state.pending_csr = None
    assert c.get(f"{P}/certs/generate_csr").status_code == 404
    cert = lab.node("expc1").pki.sign_csr(csr, "new")
    r = upload(c, cert_pem(cert))
    assert r.status_code == 400
    assert "private key" in r.json()["Message"]


def test_mismatching_install_refused_and_current_key_accepted(
    lab: LabThread, client: Any
) -> None:
    c = client("expe1")
    pki = lab.node("expe1").pki
    stranger = pki.issue("new", new_key().public_key(), "expe1.nart.com", ["expe1.nart.com"])
    assert upload(c, cert_pem(stranger)).status_code == 400
    current = x509.load_pem_x509_certificate(c.get(f"{P}/certs/server").content)
    same_key = pki.issue("new", current.public_key(), "expe1.nart.com", ["expe1.nart.com"])
    r = upload(c, cert_pem(same_key))
    assert r.status_code == 200, r.text


def test_bad_uploads_refused(lab: LabThread, client: Any) -> None:
    c = client("expe1")
    pki = lab.node("expe1").pki
    current = c.get(f"{P}/certs/server").text
    chain = current + cert_pem(pki.issuing["old"].cert)
    cases = {
        "chain": chain,
        "ca": cert_pem(pki.issuing["new"].cert),
        "der": x509.load_pem_x509_certificate(current.encode()).public_bytes(Encoding.DER),
        "text": b"hello, not a certificate",
    }
    for label, data in cases.items():
        r = upload(c, data)
        assert r.status_code == 400, label
        assert "Message" in r.json(), label
    no_field = c.post(f"{P}/certs/server", files={"other": ("x.pem", current.encode())})
    assert no_field.status_code == 400
    assert sha(c.get(f"{P}/certs/server").text) == sha(current)  # nothing was installed


def test_trust_list_append_only(lab: LabThread, client: Any) -> None:
    c = client("expc1")
    before = x509.load_pem_x509_certificates(c.get(f"{P}/certs/root").content)
    assert len(before) == 2
    new_ca = cert_pem(lab.node("expc1").pki.issuing["new"].cert)
    r = upload(c, new_ca + cert_pem(before[0]), path=f"{P}/certs/root")
    assert r.json() == {"Message": "Root Certificate updated."}
    after = x509.load_pem_x509_certificates(c.get(f"{P}/certs/root").content)
    assert len(after) == 3  # appended, duplicates ignored
    assert c.delete(f"{P}/certs/root").status_code == 405  # no single-CA delete over REST
    assert upload(c, b"junk", path=f"{P}/certs/root").status_code == 400


def test_old_version_restart_needs_no_csrf(lab: LabThread, client: Any) -> None:
    c = client("vcs1")
    assert c.get(f"{P}/sysinfo").json()["ProductType"] == "VCS"
    assert "version: X12.7" in c.get("/api/raml").text
    assert c.post(f"{P}/restart").status_code == 200
    lab.wait_idle("vcs1")


def test_state_survives_lab_restart(tmp_path: Any, served: Any) -> None:
    directory = tmp_path / "lab"
    with start_lab(directory, topology=small_topology()) as lab:
        c = NodeClient(lab, "expe1")
        assert c.post(f"{P}/certs/generate_csr", json={}, headers=CSRF).status_code == 200
        csr_pem = c.get(f"{P}/certs/generate_csr").text
        first = served(lab, "expe1")
        port = lab.lab.listeners["expe1"].port
    with start_lab(directory, topology=small_topology()) as lab:
        c = NodeClient(lab, "expe1")
        assert c.get(f"{P}/certs/generate_csr").text == csr_pem
        assert served(lab, "expe1") == first
        assert lab.lab.listeners["expe1"].port == port  # same port when still free


def test_overlapping_restarts_keep_the_port_and_serve_the_new_cert(
    lab: LabThread, client: Any, served: Any
) -> None:
    """Issue 16 item 14: two restarts posted back to back (the second before the first went
    down) once left the old listener serving the old certificate and opened a new port.
    Restarts of one node serialise: one port, one listener, the installed certificate."""
    c = client("expe1")
    port = lab.lab.listeners["expe1"].port
    body = {"Additional_FQDNS": ["expe.nart.com", "join.nart.com"]}
    assert c.post(f"{P}/certs/generate_csr", json=body, headers=CSRF).status_code == 200
    csr = x509.load_pem_x509_csr(c.get(f"{P}/certs/generate_csr").content)
    new = lab.node("expe1").pki.sign_csr(csr, "new")
    assert upload(c, cert_pem(new)).status_code == 200
    assert c.post(f"{P}/restart", headers=CSRF).status_code == 200
    assert c.post(f"{P}/restart", headers=CSRF).status_code == 200  # inside the first's 50 ms
    wait_up(lab, "expe1")
    assert lab.lab.listeners["expe1"].port == port
    assert served(lab, "expe1") == sha(cert_pem(new))
    c2 = client("expe1")
    assert c2.get(f"{P}/sysinfo").status_code == 200  # the one port answers


def test_maintenance_mode_and_calls_as_the_driver_reads_them(lab: LabThread,
                                                             client: Any) -> None:
    """The lab's RAML lists its maintenance-mode resource (its assumption [U]); the status
    XML parses with the driver's own reader (the public shapes [3P]); a restart switches
    maintenance mode off [C]."""
    from reconciler.drivers.expressway import MAINTENANCE_SEGMENT
    from reconciler.drivers.expressway_status import active_calls, registrations
    from reconciler.drivers.raml import parse_raml

    c = client("expe1")
    raml = parse_raml(c.get("/api/raml").content)
    assert raml.find(MAINTENANCE_SEGMENT) == [
        (f"{P}/common/maintenancemode", frozenset({"get", "put"}))]
    path = f"{P}/common/maintenancemode"
    assert c.get(path).json() == {"MaintenanceMode": "Off"}
    assert c.put(path, json={"MaintenanceMode": "maybe"}, headers=CSRF).status_code == 400
    assert c.put(path, json={"MaintenanceMode": "On"}, headers=CSRF).status_code == 200
    assert c.get(path).json() == {"MaintenanceMode": "On"} and lab.node("expe1").state.maintenance
    calls = c.get("/getxml", params={"location": "/Status/ResourceUsage/Calls"})
    assert calls.headers["content-type"].startswith("text/xml")
    assert active_calls(calls.content) == 0  # this topology offers no calls
    assert registrations(c.get("/status.xml").content) == 0
    other = c.get("/getxml", params={"location": "/Status/Nothing"})
    assert b"<XPathError>" in other.content
    assert c.post(f"{P}/restart", headers=CSRF).status_code == 200
    lab.wait_idle("expe1")
    assert c.get(path).json() == {"MaintenanceMode": "Off"}


def test_no_maintenance_api_when_the_topology_says_so(tmp_path: Any) -> None:
    from reconciler.drivers.expressway import MAINTENANCE_SEGMENT
    from reconciler.drivers.raml import parse_raml

    topology = small_topology()
    topology.nodes[0].maintenance_api = False
    with start_lab(tmp_path / "lab", topology=topology) as running:
        c = NodeClient(running, "expe1")
        assert parse_raml(c.get("/api/raml").content).find(MAINTENANCE_SEGMENT) == []
        assert c.get(f"{P}/common/maintenancemode").status_code == 404
