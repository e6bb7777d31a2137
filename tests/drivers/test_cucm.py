"""The CUCM driver against emulated CUCMs: REST reads, trust, identity install, SOAP, SSH CLI."""

from __future__ import annotations

import asyncssh
import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from drvhelpers import CM, MakeDriver, issuing_ca, sha256, sign

from reconciler.drivers import AuthError, BadResponse, PermanentError
from reconciler.kinds import kind_of
from reconciler.lab import Fault, LabThread

pytestmark = pytest.mark.lab

STORES = ["tomcat-trust", "callmanager-trust", "capf-trust", "ipsec-trust"]
MRA_RESTARTS = ("Cisco CallManager", "Cisco TFTP", "Cisco HAProxy")


@pytest.mark.parametrize(("name", "shape", "snapshot", "gets"), [
    ("cucm-pub", "wrapped", "full", 1),
    ("cucm-list", "list", "full", 1),
    ("cucm-pub", "wrapped", "identities", 5),
    ("cucm-list", "list", "identities", 5),
])
async def test_read_in_both_trust_list_shapes(lab: LabThread, driver: MakeDriver, name: str,
                                              shape: str, snapshot: str, gets: int) -> None:
    """Everything from the inventory in one request where it holds the stores (the evidenced
    ``trusts[].certificate_data[]``); one list request per store where it does not."""
    node = lab.node(name)
    assert node.state.trust_list_shape == shape
    node.state.snapshot_shape = snapshot  # type: ignore[assignment]
    lab.reset_counters()
    d = driver(name)
    live = await d.read()

    # No restart-pending list (no public source shows one); the version and the pending CSRs
    # come from the CLI that the lab's inventory declares (ssh), not from REST.
    assert live.error is None and live.type == "cucm" and live.version == node.state.version
    assert sha256(live.server_certificate) == sha256(node.state.identities["tomcat"].cert_pem)
    assert sha256(live.served_certificate) == sha256(node.state.served.cert_pem)
    assert list(live.stores) == STORES
    builtins = [sha256(e.pem) for e in node.builtins[: node.state.builtin_cas]]
    for store, service in zip(STORES, ["tomcat", "callmanager", "capf", "ipsec"], strict=True):
        own = [sha256(e.pem) for e in node.state.trust[service]]
        assert [sha256(p) for p in live.stores[store]] == builtins + own, store
    assert len(live.stores["tomcat-trust"]) == 3 + 2 and len(live.stores["capf-trust"]) == 3
    assert live.services_pending == ()
    assert {"trust.add", "service.restart", "csr.generate", "cert.install"} <= set(
        live.capabilities)
    # the other identities: CSR and install over REST, regeneration over the CLI (not
    # ITLRecovery's, which the CLI asks to confirm)
    assert set(live.capabilities) == set(d.capabilities) | {"csr.read"}
    assert {"cert.install:callmanager", "cert.regenerate:tvs"} <= set(live.capabilities)
    assert "cert.regenerate:itlrecovery" not in live.capabilities
    # One inventory read (and one read per trust store it lacks); nothing but GETs.
    counted = lab.counters(name)
    assert (counted["GET"], counted["non_get"], counted["writes"]) == (gets, 0, 0)
    assert node.ssh_commands[-2:] == ["show version active", "show csr list own"]


async def test_release_12_5_over_rest_only_reads_as_a_node_without_capabilities(
        lab: LabThread, driver: MakeDriver) -> None:
    """``connection: {transport: rest}`` on a node without the REST API: what TLS shows, no
    capabilities, every step manual (the CLI is not tried)."""
    lab.reset_counters()
    d = driver("cucm-old", transport="rest")
    live = await d.read()
    assert live.error is None
    assert live.capabilities == ()
    # The driver's capabilities are what its kind may offer (and its identities); this node
    # offers none.
    assert kind_of("cucm").capabilities <= d.capabilities
    assert live.stores == {} and live.server_certificate is None
    assert sha256(live.served_certificate) == sha256(lab.node("cucm-old").state.served.cert_pem)
    assert lab.counters("cucm-old") == {"GET": 1, "non_get": 0, "writes": 0,
                                        "total": 1, "SSH": 0}


async def test_release_12_5_reads_over_one_ssh_session(lab: LabThread,
                                                       driver: MakeDriver) -> None:
    """``auto`` (the default): the REST inventory answers 404, so everything is read over
    the platform CLI on the lab's real SSH server, in one session; the same state a REST
    read of the node shows (its stores, identity and served certificate)."""
    node = lab.node("cucm-old")
    lab.reset_counters()
    d = driver("cucm-old")
    live = await d.read()
    assert live.error is None and live.transport == "cli" and live.version == node.state.version
    assert sha256(live.server_certificate) == sha256(node.state.identities["tomcat"].cert_pem)
    assert sha256(live.served_certificate) == sha256(node.state.served.cert_pem)
    builtins = [sha256(e.pem) for e in node.builtins[: node.state.builtin_cas]]
    for store, service in zip(STORES, ["tomcat", "callmanager", "capf", "ipsec"], strict=True):
        own = [sha256(e.pem) for e in node.state.trust[service]]
        assert [sha256(p) for p in live.stores[store]] == builtins + own, store
    # the other identities too over the CLI (set csr gen / set cert import own / set cert
    # regen <unit>), as over REST
    assert {"trust.add", "service.restart", "csr.generate", "cert.install",
            "csr.read"} <= set(live.capabilities)
    assert set(live.capabilities) == set(d.capabilities) | {"csr.read"}
    counters = lab.counters("cucm-old")
    assert counters["GET"] == 1 and counters["writes"] == 0  # the 404, then SSH only
    assert node.ssh_commands[0] == "set cli pagination off"
    # One session: pagination, version, own list and file, trust list, a file each, CSRs;
    # and a file for each other identity of the kind (CallManager, CAPF, TVS, ITLRecovery)
    files = sum(len(pems) for pems in live.stores.values())
    assert set(live.role_certificates) == {"callmanager", "capf", "tvs", "itlrecovery"}
    assert counters["SSH"] == len(node.ssh_commands) == 6 + files + len(live.role_certificates)


async def test_release_12_5_wrong_ssh_password_is_an_auth_error(lab: LabThread,
                                                                driver: MakeDriver) -> None:
    with pytest.raises(AuthError, match="login was refused") as caught:
        await driver("cucm-old", password="not-the-password").read()
    assert "not-the-password" not in str(caught.value) and "password" in caught.value.hint


async def test_release_12_5_renews_over_real_ssh(lab: LabThread, driver: MakeDriver) -> None:
    """The write conversation over the lab's SSH server (a PTY, its echo, the paste read
    line by line): the CA imported into tomcat-trust, a CSR generated and read back, its
    certificate installed and served after the Tomcat restart."""
    node = lab.node("cucm-old")
    d = driver("cucm-old")
    await d.read()
    ca = issuing_ca(lab, "cucm-old")
    outcome = await d.trust_add("tomcat-trust", [ca])
    assert outcome == "added 'CN=certops Lab Issuing CA New' to tomcat-trust"
    csr = await d.csr_generate(["cucm-old.nart.com"])
    assert await d.csr_read() == csr
    leaf = sign(lab, "cucm-old", csr)
    await d.cert_install(leaf, [ca])
    assert sha256(node.state.identities["tomcat"].cert_pem) == sha256(leaf)
    await d.restart_services(("Cisco Tomcat",))
    assert sha256(await d.served_certificate()) == sha256(leaf)
    typed = node.ssh_commands
    assert "set cert import trust tomcat" in typed and "set cert import own tomcat" in typed


async def test_callmanager_trust_then_soap_and_ssh_restarts(lab: LabThread,
                                                            driver: MakeDriver) -> None:
    d = driver("cucm-list")
    new_ca = issuing_ca(lab, "cucm-list")
    await d.trust_add("callmanager-trust", [new_ca])
    live = await d.read()
    assert sha256(new_ca) in {sha256(p) for p in live.stores["callmanager-trust"]}
    assert sha256(new_ca) not in {sha256(p) for p in live.stores["tomcat-trust"]}
    assert live.services_pending == ()  # the node does not say; certops keeps its own record
    node = lab.node("cucm-list")
    assert set(node.state.restart_pending) == set(MRA_RESTARTS)

    lab.reset_counters()
    node.ssh_commands.clear()  # the read's CLI session (version, pending CSRs)
    await d.restart_services(MRA_RESTARTS)
    assert node.ssh_commands == ["utils service restart Cisco HAProxy"]  # SOAP cannot
    counts = lab.counters("cucm-list")
    assert counts["SSH"] == 1
    assert counts["POST"] >= 2  # one soapDoControlServices, then soapGetServiceStatus polls
    assert all(node.service_status.get(s) == "Started" for s in MRA_RESTARTS[:2])
    assert node.state.restart_pending == []


async def test_tomcat_restarts_over_ssh_with_the_inventory_host_key(lab: LabThread,
                                                                    driver: MakeDriver) -> None:
    d = driver("cucm-pub")
    assert d.endpoint.ssh_host_key.startswith("ecdsa-sha2-nistp256 ")
    await d.trust_add("tomcat-trust", [issuing_ca(lab, "cucm-pub")])
    assert lab.node("cucm-pub").state.restart_pending == ["Cisco Tomcat"]
    lab.reset_counters()
    await d.restart_services(("Cisco Tomcat",))
    assert lab.node("cucm-pub").ssh_commands == ["utils service restart Cisco Tomcat"]
    # One SOAP status request (is the name in the node's list?), then the CLI.
    assert lab.counters("cucm-pub") == {"GET": 0, "POST": 1, "non_get": 1, "writes": 0,
                                        "total": 1, "SSH": 1}  # the status query reads
    assert lab.node("cucm-pub").state.restart_pending == []


@pytest.mark.parametrize("key_type", ["ecdsa-sha2-nistp256", "ssh-ed25519"])
async def test_a_wrong_ssh_host_key_is_refused_before_login(lab: LabThread, driver: MakeDriver,
                                                            key_type: str) -> None:
    # Same type as the node's key (the key differs), or another type (no key to compare).
    other = asyncssh.generate_private_key(key_type).export_public_key("openssh")
    d = driver("cucm-pub", ssh_host_key=other.decode().strip())
    with pytest.raises(PermanentError) as err:
        await d.restart_services(("Cisco Tomcat",))
    text = str(err.value)
    assert text.startswith("cucm-pub: SSH utils service restart Cisco Tomcat: ")
    assert "host key" in text.lower() and "ssh_host_key" in text
    assert lab.node("cucm-pub").ssh_commands == []


async def test_a_wrong_ssh_password_is_an_auth_error(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("cucm-pub", password="not-the-password")
    with pytest.raises(AuthError) as err:
        await d.restart_services(("Cisco HAProxy",))
    assert "not-the-password" not in str(err.value) and "SSH" in str(err.value)
    assert lab.node("cucm-pub").ssh_commands == []


async def test_soap_takes_the_application_user(lab: LabThread, driver: MakeDriver) -> None:
    """SOAP service control goes as the application user, the REST API and the CLI as the
    OS administrator; without the application user no SOAP request is sent at all."""
    node = lab.node("cucm-pub")
    d = driver("cucm-pub")
    assert d.endpoint.app_username == node.app_username != node.username
    await d.restart_services(("Cisco TFTP",))
    assert node.service_status["Cisco TFTP"] == "Started"

    lab.reset_counters()
    with pytest.raises(AuthError, match="app_credentials") as err:
        await driver("cucm-pub", app_username=None, app_password=None).restart_services(
            ("Cisco TFTP",))
    assert "application user" in str(err.value)
    assert lab.counters("cucm-pub")["total"] == 0  # never the OS administrator's password
    with pytest.raises(AuthError, match="app_credentials") as err:
        await driver("cucm-pub", app_password=node.password).restart_services(("Cisco TFTP",))
    assert err.value.status == 401 and node.password not in str(err.value)


async def test_an_unknown_service_is_refused_before_any_restart(lab: LabThread,
                                                                driver: MakeDriver) -> None:
    """SOAP reports an unknown name as "Stopped", not as a fault [3P]: the driver checks
    the name against the node's list first, instead of waiting for a service that does not
    exist, and restarts nothing."""
    d = driver("cucm-pub")
    assert (await d.service_status(["Cisco Flux Capacitor"])) == {
        "Cisco Flux Capacitor": "Stopped"}  # the lab, as a real node: no fault
    lab.reset_counters()
    with pytest.raises(PermanentError) as err:
        await d.restart_services(("Cisco TFTP", "Cisco Flux Capacitor"))
    assert "not in the node's service list, nothing restarted: Cisco Flux Capacitor" in str(
        err.value)
    assert "Cisco TFTP" in str(err.value)  # what the node has
    assert lab.counters("cucm-pub")["POST"] == 1  # the list only; no soapDoControlServices
    assert lab.node("cucm-pub").service_status == {}


async def test_soap_fault_is_reported_with_its_text(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("cucm-pub")
    with pytest.raises(PermanentError) as err:
        await d._soap("soapDoControlServices", ["Cisco Tomcat"], control="Restart")
    assert "utils service restart Cisco Tomcat" in str(err.value)
    assert err.value.status == 500


async def test_identity_install_needs_its_ca_in_tomcat_trust(lab: LabThread,
                                                             driver: MakeDriver) -> None:
    d = driver("cucm-pub")
    before = await d.read()
    csr_pem = await d.csr_generate(["cucm-pub.nart.com", "cucm.nart.com"])
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    cn = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "cucm-pub.nart.com"  # the node's name, not the URL's 127.0.0.1
    leaf = sign(lab, "cucm-pub", csr_pem, "new")
    chain = [issuing_ca(lab, "cucm-pub", "new")]

    lab.reset_counters()
    with pytest.raises(PermanentError) as err:
        await d.cert_install(leaf, chain)
    assert err.value.status == 400 and err.value.method == "POST"
    assert err.value.path == f"{CM}/identity/certificates"
    assert "not in tomcat-trust" in str(err.value)
    assert lab.counters("cucm-pub")["POST"] == 1  # refused once, never retried

    await d.trust_add("tomcat-trust", chain)
    await d.cert_install(leaf, chain)
    live = await d.read()
    assert sha256(live.server_certificate) == sha256(leaf)
    assert sha256(live.served_certificate) == sha256(before.served_certificate)  # not yet
    assert live.services_pending == ()  # a pending restart shows as installed != served

    await d.restart_services(("Cisco Tomcat",))  # over SSH
    live = await d.read()
    assert sha256(live.served_certificate) == sha256(leaf)


async def test_malformed_inventory_is_a_bad_response(lab: LabThread, driver: MakeDriver) -> None:
    lab.set_fault("cucm-pub", Fault(match="snapshot", malformed_json=True))
    with pytest.raises(BadResponse) as err:
        await driver("cucm-pub").read()
    assert str(err.value).startswith(f"cucm-pub: GET {CM}/snapshot/server -> 200: ")
    assert "not JSON" in str(err.value)


async def test_a_trust_list_of_an_unknown_shape_is_a_bad_response(lab: LabThread,
                                                                  driver: MakeDriver) -> None:
    lab.node("cucm-list").state.snapshot_shape = "identities"  # the stores come one by one
    lab.set_fault("cucm-list", Fault(match="trust.list", malformed_json=True, count=1))
    with pytest.raises(BadResponse) as err:
        await driver("cucm-list").read()
    assert err.value.path == f"{CM}/trust/certificate"


def test_known_hosts_line_uses_openssh_port_syntax() -> None:
    from reconciler.drivers import Endpoint
    from reconciler.drivers.cucm_cli import known_hosts_line

    def ep(port: int | None) -> Endpoint:
        return Endpoint("n", "cucm", "https://cucm.example.com:8443", "u", "p",
                        ssh_port=port, ssh_host_key="ssh-ed25519 AAAA")

    assert known_hosts_line(ep(None)) == "cucm.example.com ssh-ed25519 AAAA\n"
    assert known_hosts_line(ep(22)) == "cucm.example.com ssh-ed25519 AAAA\n"
    assert known_hosts_line(ep(2222)) == "[cucm.example.com]:2222 ssh-ed25519 AAAA\n"


def test_trust_list_shapes() -> None:
    from reconciler.drivers.cucm import _entries

    item = {"certificate": "PEM"}
    assert _entries([item, "junk"]) == [item]
    assert _entries({"certificates": [item]}) == [item]
    assert _entries({"certificates": []}) == []
    assert _entries({"error": "no"}) is None
    assert _entries("a string") is None
