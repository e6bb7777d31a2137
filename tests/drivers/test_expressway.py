"""The Expressway driver against emulated Expressways: read, CSR, install, restart."""

from __future__ import annotations

import asyncio

import pytest
from cryptography import x509
from drvhelpers import XP, MakeDriver, issuing_ca, sha256, sign, stranger_cert

from reconciler.drivers import BadResponse, Conflict, PermanentError, Unreachable
from reconciler.lab import Fault, LabThread

pytestmark = pytest.mark.lab


async def test_read_reports_the_node(lab: LabThread, driver: MakeDriver) -> None:
    node = lab.node("expe1").state
    lab.reset_counters()
    live = await driver("expe1").read()

    assert live.error is None and live.name == "expe1" and live.type == "expressway-e"
    assert live.version == "X15.0.2"
    assert sha256(live.server_certificate) == sha256(node.server.cert_pem)  # type: ignore[union-attr]
    assert sha256(live.served_certificate) == sha256(node.served.cert_pem)
    assert live.pending_csr is None
    assert live.restart_required is False
    assert list(live.stores) == ["trusted-ca-list"]
    assert [sha256(p) for p in live.stores["trusted-ca-list"]] == [
        sha256(p) for p in node.trusted_cas]
    assert len(live.stores["trusted-ca-list"]) == 2  # lab root + the old issuing CA
    assert "trust.remove" not in live.capabilities  # no REST call: a manual step
    # node.drain: the lab's RAML lists a maintenance-mode resource (its assumption [U]).
    assert set(live.capabilities) == {"trust.add", "csr.generate", "cert.install",
                                      "node.restart", "node.drain"}
    # read() only looks: GETs only, one per documented read (sysinfo, cert, CSR, trust)
    # and the API description (RAML), once per driver.
    assert lab.counters("expe1") == {"GET": 5, "non_get": 0, "writes": 0, "total": 5,
                                     "SSH": 0}


async def test_read_shows_a_pending_csr_and_older_versions(lab: LabThread,
                                                           driver: MakeDriver) -> None:
    d = driver("expc1")
    csr = await d.csr_generate(["expc.nart.com", "cluster.nart.com"])
    live = await d.read()
    assert live.version == "X14.0.3"
    assert live.pending_csr == csr
    assert live.pending_csr == lab.node("expc1").state.pending_csr.csr_pem  # type: ignore[union-attr]


async def test_trust_add_appends_and_is_idempotent(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("expe1")
    before = (await d.read()).stores["trusted-ca-list"]
    new_ca = issuing_ca(lab, "expe1", "new")
    await d.trust_add("trusted-ca-list", [new_ca])
    after = (await d.read()).stores["trusted-ca-list"]
    assert [sha256(p) for p in after] == [*(sha256(p) for p in before), sha256(new_ca)]

    await d.trust_add("trusted-ca-list", [new_ca])  # already there: nothing changes
    assert (await d.read()).stores["trusted-ca-list"] == after
    with pytest.raises(ValueError, match="one trust store"):
        await d.trust_add("tomcat-trust", [new_ca])


async def test_csr_generate_then_conflict_without_retry(lab: LabThread,
                                                        driver: MakeDriver) -> None:
    d = driver("expe1")
    csr_pem = await d.csr_generate(["expe.nart.com", "join.nart.com", "meet.nart.com"])
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) >= {
        "expe1.nart.com", "expe.nart.com", "join.nart.com", "meet.nart.com"}
    assert await d.csr_read() == csr_pem

    lab.reset_counters()
    with pytest.raises(Conflict) as err:
        await d.csr_generate(["other.nart.com"])
    # The lab answers the evidenced body {"Message": "Conflict"} with 200 (status [U]).
    assert err.value.status == 200 and "already pending" in str(err.value)
    assert lab.counters("expe1")["POST"] == 1  # a conflict is never retried
    assert lab.node("expe1").state.pending_csr.csr_pem == csr_pem  # type: ignore[union-attr]


async def test_install_restart_and_serve_the_new_certificate(lab: LabThread,
                                                             driver: MakeDriver) -> None:
    d = driver("expe1")
    old = await d.read()
    leaf = sign(lab, "expe1", await d.csr_generate(["expe.nart.com", "join.nart.com"]))

    await d.cert_install(leaf, [issuing_ca(lab, "expe1")])
    installed = await d.read()
    assert sha256(installed.server_certificate) == sha256(leaf)
    assert sha256(installed.served_certificate) == sha256(old.served_certificate)  # not yet
    assert installed.restart_required is False  # no sysinfo flag is read ([U])
    assert installed.pending_csr is None  # the CSR was consumed by its certificate

    await d.restart()
    await asyncio.to_thread(lab.wait_idle, "expe1")
    assert sha256(await d.served_certificate()) == sha256(leaf)
    after = await d.read()  # the pooled connection died with the node: a fresh one is used
    assert after.restart_required is False
    assert sha256(after.served_certificate) == sha256(leaf)


async def test_install_of_a_mismatching_certificate_is_refused_once(
        lab: LabThread, driver: MakeDriver) -> None:
    d = driver("expe1")
    await d.csr_generate(["expe.nart.com"])
    lab.reset_counters()
    with pytest.raises(PermanentError) as err:
        await d.cert_install(stranger_cert(lab, "expe1"), [])
    exc = err.value
    assert (exc.node, exc.method, exc.path, exc.status) == (
        "expe1", "POST", f"{XP}/certs/server", 400)
    text = str(exc)
    assert text.startswith(f"expe1: POST {XP}/certs/server -> 400: ")
    assert "does not match the private key" in text
    assert lab.counters("expe1") == {"GET": 0, "POST": 1, "non_get": 1, "writes": 1,
                                     "total": 1, "SSH": 0}
    assert lab.node("expe1").state.pending_csr is not None  # the refusal kept the CSR


async def test_restart_needs_no_retry_and_sends_the_csrf_header(lab: LabThread,
                                                                driver: MakeDriver) -> None:
    d = driver("expc1")  # X14.0: would refuse without the header from X14.2 on
    lab.node("expc1").state.version = "X15.0.2"
    lab.reset_counters()
    await d.restart()
    assert lab.counters("expc1")["POST"] == 1
    await asyncio.to_thread(lab.wait_idle, "expc1")
    assert (await d.read()).error is None


async def test_restart_of_a_node_that_is_down_fails(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("expe1")
    lab.set_fault("expe1", Fault(match="*", restart_hang=True))
    await d.restart()
    await asyncio.to_thread(lambda: _wait_down(lab, "expe1"))
    with pytest.raises(Unreachable) as err:
        await d.restart()  # never reached the node: it must not count as a restart
    assert "connection failed" in str(err.value)
    with pytest.raises(Unreachable):
        await d.read()
    with pytest.raises(Unreachable):
        await d.served_certificate()
    lab.clear_faults("expe1")
    await asyncio.to_thread(lab.wait_idle, "expe1")
    assert (await d.read()).error is None


async def test_garbage_instead_of_a_csr_is_a_bad_response(lab: LabThread,
                                                          driver: MakeDriver) -> None:
    lab.set_fault("expe1", Fault(match="csr.read", malformed_json=True))
    with pytest.raises(BadResponse) as err:
        await driver("expe1").read()
    assert err.value.path == f"{XP}/certs/generate_csr"


async def test_failed_read_leaves_no_request_running(lab: LabThread, driver: MakeDriver) -> None:
    """When one read fails, read() cancels its sibling requests before raising."""
    lab.set_fault("expe1", Fault(match="sysinfo", status=400))
    lab.set_fault("expe1", Fault(match="trust.read", slow_seconds=1.5))
    with pytest.raises(PermanentError):
        await driver("expe1").read()
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []


def _wait_down(lab: LabThread, name: str) -> None:
    from drvhelpers import wait_for

    wait_for(lambda: lab.node(name).down)
