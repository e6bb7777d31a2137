"""Fidelity of the emulated CUCM: REST cert management, SOAP service control, SSH CLI."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import asyncssh
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.lab import LabThread
from reconciler.lab.ca import cert_pem, load_certs, new_key

pytestmark = pytest.mark.lab

B = "/platformcom/api/v1/certmgr/config"
SOAP = "/controlcenterservice2/services/ControlCenterServices"


def soap_control(service: str, kind: str = "Restart") -> str:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:soap="http://schemas.cisco.com/ast/soap"><soapenv:Header/><soapenv:Body>'
        "<soap:soapDoControlServices><soap:ControlServiceRequest><soap:NodeName/>"
        f"<soap:ControlType>{kind}</soap:ControlType><soap:ServiceList>"
        f"<soap:item>{service}</soap:item></soap:ServiceList></soap:ControlServiceRequest>"
        "</soap:soapDoControlServices></soapenv:Body></soapenv:Envelope>"
    )


def soap_status(service: str) -> str:
    return (
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:soap="http://schemas.cisco.com/ast/soap"><soapenv:Body><soap:soapGetServiceStatus>'
        f"<soap:ServiceStatus><soap:item>{service}</soap:item></soap:ServiceStatus>"
        "</soap:soapGetServiceStatus></soapenv:Body></soapenv:Envelope>"
    )


def pending(lab: LabThread, name: str) -> list[str]:
    """The lab's own restart-pending record (its control API shows it; the REST API not)."""
    return list(lab.node(name).state.restart_pending)


def trust_pems(c: Any, service: str) -> list[str]:
    data = c.get(f"{B}/trust/certificate", params={"service": service}).json()
    items = data["certificates"] if isinstance(data, dict) else data
    return [i["certificate"] for i in items]


def soap_client(lab: LabThread, client: Any, name: str) -> Any:
    """A client with the node's application user: the only account SOAP takes."""
    node = lab.node(name)
    return client(name, auth=(node.app_username, node.app_password))


def ssh_run(lab: LabThread, name: str, commands: list[str],
            account: tuple[str, str] | None = None) -> str:
    node = lab.node(name)
    username, password = account or (node.username, node.password)

    async def session() -> str:
        async with asyncssh.connect(
            "127.0.0.1", lab.lab.ssh_ports[name], username=username,
            password=password, known_hosts=None,
        ) as conn, conn.create_process() as proc:
            out = await proc.stdout.readuntil("Platform Command Line Interface")
            proc.stdin.write("\n")  # the prompt shows only after a newline
            out += await proc.stdout.readuntil("admin:")
            for cmd in commands:
                proc.stdin.write(cmd + "\n")
                out += await proc.stdout.readuntil("admin:")
            proc.stdin.write("exit\n")
            return str(out)

    result: str = asyncio.run(asyncio.wait_for(session(), 30))
    return result


def test_release_12_5_has_no_rest_api(lab: LabThread, client: Any) -> None:
    c = client("cucm-old")
    assert c.get(f"{B}/snapshot/server").status_code == 404
    assert c.get(f"{B}/trust/certificate", params={"service": "tomcat"}).status_code == 404
    r = soap_client(lab, client, "cucm-old").post(SOAP, content=soap_status("Cisco CallManager"))
    assert r.status_code == 200 and "Started" in r.text  # SOAP exists on 12.5


def test_each_api_takes_its_own_account(lab: LabThread, client: Any) -> None:
    """REST and the SSH CLI take the platform (OS) administrator, SOAP the application user;
    each refuses the other's account [3P: two accounts]."""
    node = lab.node("cucm-pub")
    os_admin, app_user = client("cucm-pub"), soap_client(lab, client, "cucm-pub")
    assert os_admin.get(f"{B}/snapshot/server").status_code == 200
    assert app_user.get(f"{B}/snapshot/server").status_code == 401
    assert app_user.post(SOAP, content=soap_status("Cisco TFTP")).status_code == 200
    assert os_admin.post(SOAP, content=soap_status("Cisco TFTP")).status_code == 401
    with pytest.raises(asyncssh.PermissionDenied):
        ssh_run(lab, "cucm-pub", ["show version active"],
                account=(node.app_username, node.app_password))
    assert "Active Master Version" in ssh_run(lab, "cucm-pub", ["show version active"])


def test_trust_list_shapes_and_builtins(lab: LabThread, client: Any) -> None:
    wrapped = client("cucm-pub").get(f"{B}/trust/certificate", params={"service": "tomcat"})
    bare = client("cucm-list").get(f"{B}/trust/certificate", params={"service": "tomcat"})
    assert isinstance(wrapped.json(), dict) and isinstance(wrapped.json()["certificates"], list)
    assert isinstance(bare.json(), list)
    assert len(bare.json()) == len(wrapped.json()["certificates"]) == 52  # 50 built-in + 2
    # the same built-in pool on every node
    assert trust_pems(client("cucm-pub"), "capf") == trust_pems(client("cucm-list"), "capf")
    assert client("cucm-pub").get(f"{B}/trust/certificate").status_code == 400
    assert client("cucm-pub", auth=("admin", "x")).get(f"{B}/snapshot/server").status_code == 401


def test_trust_add_flags_the_right_restarts(lab: LabThread, client: Any) -> None:
    c = client("cucm-pub")
    assert pending(lab, "cucm-pub") == []
    new_ca = cert_pem(lab.node("cucm-pub").pki.issuing["new"].cert)
    r = c.post(f"{B}/trust/certificates",
               json={"service": ["callmanager"], "certificates": [new_ca], "description": "x"})
    assert r.status_code == 201, r.text
    assert set(pending(lab, "cucm-pub")) == {"Cisco CallManager", "Cisco TFTP", "Cisco HAProxy"}
    assert new_ca in trust_pems(c, "callmanager")
    assert new_ca not in trust_pems(c, "tomcat")
    c.post(f"{B}/trust/certificates", json={"service": ["tomcat"], "certificates": [new_ca]})
    assert "Cisco Tomcat" in pending(lab, "cucm-pub")
    assert pending(lab, "cucm-list") == []
    # service must be a list
    bad = c.post(f"{B}/trust/certificates", json={"service": "tomcat", "certificates": [new_ca]})
    assert bad.status_code == 400


def test_soap_restart_callmanager_and_tomcat_fault(lab: LabThread, client: Any) -> None:
    c = client("cucm-pub")
    new_ca = cert_pem(lab.node("cucm-pub").pki.issuing["new"].cert)
    c.post(f"{B}/trust/certificates", json={"service": ["callmanager"], "certificates": [new_ca]})
    c = soap_client(lab, client, "cucm-pub")
    r = c.post(SOAP, content=soap_control("Cisco CallManager"),
               headers={"SOAPAction": "soapDoControlServices", "Content-Type": "text/xml"})
    assert r.status_code == 200, r.text
    assert "soapDoControlServicesResponse" in r.text
    assert "Starting" in c.post(SOAP, content=soap_status("Cisco CallManager")).text
    lab.wait_idle("cucm-pub")
    assert "Started" in c.post(SOAP, content=soap_status("Cisco CallManager")).text
    assert "Cisco CallManager" not in pending(lab, "cucm-pub")
    assert "Cisco TFTP" in pending(lab, "cucm-pub")
    fault = c.post(SOAP, content=soap_control("Cisco Tomcat"))
    assert fault.status_code == 500
    assert "<faultstring>" in fault.text and "utils service restart Cisco Tomcat" in fault.text


def test_identity_install_and_tomcat_restart_over_ssh(
    lab: LabThread, client: Any, served: Any, is_refused: Any
) -> None:
    c = client("cucm-pub")
    pki = lab.node("cucm-pub").pki
    old_served = served(lab, "cucm-pub")
    r = c.post(f"{B}/csr", json={"service": "tomcat", "distribution": "this-server",
                                 "commonName": "cucm-pub.nart.com", "keyType": "rsa",
                                 "keyLength": 2048, "hashAlgorithm": "sha256",
                                 "altNames": ["cucm.nart.com"]})
    assert r.status_code == 200
    csr = x509.load_pem_x509_csr(r.json()["csr"].encode())
    leaf = pki.sign_csr(csr, "new")
    chain = [cert_pem(leaf), *(cert_pem(x) for x in pki.chain_for("new"))]
    body = {"service": "tomcat", "certificates": chain}
    refused_install = c.post(f"{B}/identity/certificates", json=body)
    assert refused_install.status_code == 400  # the new CA is not in tomcat-trust yet
    c.post(f"{B}/trust/certificates",
           json={"service": ["tomcat"], "certificates": chain[1:]})
    ok = c.post(f"{B}/identity/certificates", json=body)
    assert ok.status_code in (200, 201), ok.text
    ident = c.get(f"{B}/identity/certificate", params={"service": "tomcat"}).json()
    assert load_certs(ident["certificate"])[0] == leaf
    assert served(lab, "cucm-pub") == old_served  # not served before Tomcat restarts
    assert "Cisco Tomcat" in pending(lab, "cucm-pub")

    out = ssh_run(lab, "cucm-pub", ["utils service restart Cisco Tomcat"])
    assert "Cisco Tomcat[STARTED]" in out and out.rstrip().endswith("admin:")
    assert "\x1b[" in out  # escape codes, as the real CLI sends
    assert served(lab, "cucm-pub") == hashlib.sha256(leaf.public_bytes(Encoding.DER)).hexdigest()
    assert "Cisco Tomcat" not in pending(lab, "cucm-pub")


def test_ssh_haproxy_restart_and_bad_command(lab: LabThread, client: Any) -> None:
    c = client("cucm-list")
    new_ca = cert_pem(lab.node("cucm-list").pki.issuing["new"].cert)
    c.post(f"{B}/trust/certificates", json={"service": ["callmanager"], "certificates": [new_ca]})
    out = ssh_run(lab, "cucm-list", ["utils service restart Cisco HAProxy", "frobnicate"])
    assert "Cisco HAProxy[STARTED]" in out
    assert "Executed command unsuccessfully" in out
    assert "Cisco HAProxy" not in pending(lab, "cucm-list")
    assert lab.counters("cucm-list")["SSH"] == 2


def test_stale_csr_gives_500(lab: LabThread, client: Any) -> None:
    c = client("cucm-pub")
    pki = lab.node("cucm-pub").pki
    first = c.post(f"{B}/csr", json={"service": "tomcat", "keyType": "ec", "keyLength": 256})
    c.post(f"{B}/csr", json={"service": "tomcat", "keyType": "ec", "keyLength": 256})
    stale = pki.sign_csr(x509.load_pem_x509_csr(first.json()["csr"].encode()), "old")
    r = c.post(f"{B}/identity/certificates",
               json={"service": "tomcat", "certificates": [cert_pem(stale)]})
    assert r.status_code == 500
    other = pki.issue("old", new_key().public_key(), "x", ["x"])
    assert c.post(f"{B}/identity/certificates",
                  json={"service": "tomcat", "certificates": [cert_pem(other)]}).status_code == 500


def test_snapshot_inventory(lab: LabThread, client: Any) -> None:
    """The evidenced shape: identities[].certificate and trusts[].certificate_data[]
    .certificate hold PEM; no version or restart-pending field nobody has seen."""
    snap = client("cucm-pub").get(f"{B}/snapshot/server").json()
    assert set(snap) == {"identities", "trusts"}
    assert {i["service"] for i in snap["identities"]} == {
        "tomcat", "callmanager", "capf", "ipsec", "tvs", "itlrecovery"}
    assert all(load_certs(i["certificate"]) for i in snap["identities"])
    assert {t["service"] for t in snap["trusts"]} == {
        "tomcat-trust", "callmanager-trust", "capf-trust", "ipsec-trust"}
    tomcat = next(t for t in snap["trusts"] if t["service"] == "tomcat-trust")
    assert [d["certificate"] for d in tomcat["certificate_data"]] == trust_pems(
        client("cucm-pub"), "tomcat")
