"""http.py against the lab: retries and backoff, error mapping, timeouts, TLS verification."""

from __future__ import annotations

import socket
import time

import pytest
from drvhelpers import XP, MakeDriver, issuing_ca, sha256

from reconciler.drivers import (
    AuthError,
    BadResponse,
    Conflict,
    HttpSettings,
    NotFound,
    PermanentError,
    TemporaryError,
    Unreachable,
)
from reconciler.lab import Fault, LabThread

pytestmark = pytest.mark.lab

SYSINFO = f"{XP}/sysinfo"


async def test_503_is_retried_then_succeeds(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("expe1")
    lab.set_fault("expe1", Fault(match="sysinfo", status=503, count=2))
    t0 = time.monotonic()
    response = await d.http.request("GET", SYSINFO)
    assert response.status_code == 200 and response.json()["SystemName"] == "expe1"
    assert lab.counters("expe1")["GET"] == 3
    assert time.monotonic() - t0 < 1.0  # backoff 0.05 s, then 0.1 s


async def test_retry_after_is_honoured(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("expe1")
    lab.set_fault("expe1", Fault(match="sysinfo", status=503, count=1, retry_after=1))
    t0 = time.monotonic()
    await d.http.request("GET", SYSINFO)
    assert time.monotonic() - t0 >= 1.0  # not 0.05 s with jitter: the node said 1 s
    assert lab.counters("expe1")["GET"] == 2


async def test_gives_up_after_the_retries(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("expe1")
    lab.set_fault("expe1", Fault(match="sysinfo", status=503))
    with pytest.raises(TemporaryError) as err:
        await d.http.request("GET", SYSINFO)
    assert type(err.value) is TemporaryError and err.value.status == 503
    assert str(err.value) == f"expe1: GET {SYSINFO} -> 503: Service Unavailable"
    assert lab.counters("expe1")["GET"] == 3  # 1 + retries=2


async def test_a_post_is_retried_after_503_and_applied_once(lab: LabThread,
                                                            driver: MakeDriver) -> None:
    d = driver("expe1")
    lab.set_fault("expe1", Fault(match="trust.add", status=503, count=1))
    ca = issuing_ca(lab, "expe1", "new")
    await d.trust_add("trusted-ca-list", [ca])
    assert lab.counters("expe1")["POST"] == 2
    store = (await d.read()).stores["trusted-ca-list"]
    assert [sha256(p) for p in store].count(sha256(ca)) == 1


@pytest.mark.parametrize(("status", "error"), [
    (400, PermanentError), (401, AuthError), (403, AuthError), (404, NotFound),
    (409, Conflict), (500, PermanentError),
])
async def test_no_retry_on_permanent_statuses(lab: LabThread, driver: MakeDriver, status: int,
                                              error: type[Exception]) -> None:
    d = driver("expe1")
    lab.set_fault("expe1", Fault(match="sysinfo", status=status))
    with pytest.raises(error) as err:
        await d.http.request("GET", SYSINFO)
    assert isinstance(err.value, PermanentError) and err.value.status == status
    assert lab.counters("expe1")["GET"] == 1


async def test_restart_without_the_csrf_header_is_forbidden(lab: LabThread,
                                                            driver: MakeDriver) -> None:
    d = driver("expe1")  # X15.0: the header is required on restart (the driver always sends it)
    with pytest.raises(AuthError) as err:
        await d.http.request("POST", f"{XP}/restart", retry=False)
    assert err.value.status == 403 and "Missing or invalid CSRF header" in str(err.value)
    assert "lacks API access" in str(err.value) and "refused a header" in str(err.value)
    assert lab.counters("expe1")["POST"] == 1
    assert lab.node("expe1").down is False and not lab.node("expe1")._tasks  # no restart


async def test_wrong_password_is_an_auth_error_with_a_hint(lab: LabThread,
                                                           driver: MakeDriver) -> None:
    d = driver("expe1", password="WrongPassw0rd!")
    with pytest.raises(AuthError) as err:
        await d.read()
    text = str(err.value)
    assert err.value.status == 401 and " -> 401: " in text
    assert "check the credentials" in text
    assert "WrongPassw0rd!" not in text and "WrongPassw0rd!" not in repr(err.value)
    assert lab.counters("expe1")["non_get"] == 0


async def test_dropped_connections(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("expe1")
    lab.set_fault("expe1", Fault(match="sysinfo", drop=True, count=1))
    assert (await d.http.request("GET", SYSINFO)).status_code == 200
    assert lab.counters("expe1")["GET"] == 2

    lab.reset_counters()
    lab.set_fault("expe1", Fault(match="sysinfo", drop=True))
    with pytest.raises(Unreachable) as err:
        await d.http.request("GET", SYSINFO)
    assert "connection failed" in str(err.value) and err.value.sent is True
    assert lab.counters("expe1")["GET"] == 3


async def test_slow_answer_times_out(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("expe1", settings=HttpSettings(retries=1, backoff=0.05, read_timeout=0.3,
                                              connect_timeout=2))
    lab.set_fault("expe1", Fault(match="sysinfo", slow_seconds=1.5))
    t0 = time.monotonic()
    with pytest.raises(Unreachable) as err:
        await d.http.request("GET", SYSINFO)
    assert time.monotonic() - t0 < 1.2
    assert "timed out (ReadTimeout)" in str(err.value)
    assert lab.counters("expe1")["GET"] == 2


async def test_malformed_sysinfo_is_a_bad_response(lab: LabThread, driver: MakeDriver) -> None:
    lab.set_fault("expe1", Fault(match="sysinfo", malformed_json=True))
    with pytest.raises(BadResponse) as err:
        await driver("expe1").read()
    assert str(err.value).startswith(f"expe1: GET {SYSINFO} -> 200: the answer is not JSON: ")
    assert lab.counters("expe1")["GET"] <= 5  # never retried (five reads, RAML included)


async def test_tls_verification_failure_is_permanent(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("expe1", cas=False)  # the system store only: the lab CA is unknown
    with pytest.raises(PermanentError) as err:
        await d.http.request("GET", SYSINFO)
    assert not isinstance(err.value, TemporaryError)
    assert "TLS verification failed" in str(err.value) and "cas/" in str(err.value)
    assert d.http.counts["GET"] == 1  # not retried
    assert lab.counters("expe1")["total"] == 0  # no request got through


async def test_tls_name_mismatch_is_a_verification_failure(lab: LabThread,
                                                           driver: MakeDriver) -> None:
    d = driver("expe1", tls_server_name="expc1.nart.com")
    with pytest.raises(PermanentError) as err:
        await d.http.request("GET", SYSINFO)
    assert "TLS verification failed" in str(err.value)
    # The CA is trusted: the fix is the name, not another CA.
    assert "does not name the address" in str(err.value) and "cas/" not in str(err.value)
    assert d.http.counts["GET"] == 1


async def test_tls_verify_false_reads_without_the_ca(lab: LabThread, driver: MakeDriver) -> None:
    live = await driver("expe1", cas=False, tls_verify=False).read()
    assert live.error is None and live.version == "X15.0.2"


async def test_closed_port_is_unreachable(driver: MakeDriver) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free again once closed: nobody listens
    d = driver("expe1", api=f"https://127.0.0.1:{port}")
    with pytest.raises(Unreachable) as err:
        await d.http.request("GET", SYSINFO)
    assert err.value.sent is False and "connection failed" in str(err.value)
    assert d.http.counts["GET"] == 3
    with pytest.raises(Unreachable):
        await d.read()
    with pytest.raises(Unreachable):
        await d.restart()  # never reached a node: not a restart under way


async def test_a_node_that_accepts_but_never_answers_the_handshake_times_out(
        driver: MakeDriver) -> None:
    """The TLS handshake is bounded by the connect timeout (asyncio streams, netstream)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        d = driver("expe1", api=f"https://127.0.0.1:{port}",
                   settings=HttpSettings(retries=0, connect_timeout=0.3, read_timeout=5))
        t0 = time.monotonic()
        with pytest.raises(Unreachable) as err:
            await d.http.request("GET", SYSINFO)
    assert time.monotonic() - t0 < 2
    assert "timed out (ConnectTimeout)" in str(err.value) and err.value.sent is False


async def test_the_keep_alive_connection_serves_every_request(lab: LabThread,
                                                              driver: MakeDriver) -> None:
    d = driver("expe1")
    for _ in range(3):
        assert (await d.http.request("GET", SYSINFO)).status_code == 200
    assert d.http.peer_certificate is not None  # seen on the connection's TLS session
    assert d.http.client.transport.connected  # type: ignore[attr-defined]
