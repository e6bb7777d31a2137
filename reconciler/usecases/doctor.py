"""``certops doctor``: what a user runs first against real nodes. Read-only: GETs only.

Per node and account: can certops reach it, which certificate its API presents and whether
certops trusts it (else the CA to add or the pin to set), does the account authenticate,
the version, which evidenced read operations answer as documented, the SSH host key to pin
(VOS kinds), and a verdict per capability. Writes are never tried: a capability whose read
answered is "ready", not proven. ``record`` saves the exchanges, credentials removed
(``drivers.recording``), so that a user can share them and tests can replay them.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from reconciler.drivers import (
    AuthError,
    ConfigError,
    Driver,
    DriverError,
    Endpoint,
    NodeHttp,
    NotFound,
    PermanentError,
    Unreachable,
)
from reconciler.drivers.fleet import api_tls, endpoint_for, fleet_ca_pems, make_driver
from reconciler.drivers.recording import RecordingTransport
from reconciler.kinds import kind_of
from reconciler.model import Desired
from reconciler.model.doctor import Check, DoctorReport
from reconciler.usecases.loading import load_fleet
from reconciler.usecases.session import Session

# The evidenced read operations, per driver table name; (operation, query, documented
# non-2xx answers). Only GETs: doctor never writes.
READS: dict[str, tuple[tuple[str, dict[str, str], tuple[int, ...]], ...]] = {
    "expressway": (("sysinfo", {}, ()), ("cert.read", {}, ()), ("csr.read", {}, (404,)),
                   ("trust.read", {}, ())),
    "vos": (("snapshot", {}, ()), ("trust.list", {"service": "tomcat"}, ()),
            ("identity.read", {"service": "tomcat"}, ())),
}
OPTIONAL = ("csr.discard", "trust.remove")  # capabilities off until evidenced


@dataclass(frozen=True)
class DoctorRequest:
    nodes: tuple[str, ...] = ()
    record: Path | None = None


async def doctor(session: Session, request: DoctorRequest) -> DoctorReport:
    """Check every node (or ``request.nodes``) concurrently; never changes a node."""
    desired = load_fleet(session, session.now()).fleet.desired
    names = list(request.nodes) or sorted(n.name for n in desired.nodes)
    unknown = [n for n in names if desired.node(n) is None]
    if unknown:
        raise ValueError(f"--node {', '.join(unknown)}: no such node")
    done = await asyncio.gather(*(_node(session, desired, n, request.record) for n in names))
    return DoctorReport(tuple(c for checks, _ in done for c in checks),
                        writes=sum(w for _, w in done))


async def _node(session: Session, desired: Desired, name: str,
                record: Path | None) -> tuple[list[Check], int]:
    node = desired.node(name)
    assert node is not None
    try:
        ep = endpoint_for(node, session.the_inventory(), session.env, desired.files)
    except ConfigError as exc:
        return [Check(name, "credentials", "fail", str(exc), "set the variables the node "
                      "file's credentials name")], 0
    cas = fleet_ca_pems(desired, session.the_inventory())
    factory = session.the_factory()
    recorder = RecordingTransport(factory.transport_for(name)
                                  or httpx.AsyncHTTPTransport(verify=api_tls(ep, cas)))
    driver = make_driver(ep, cas, session.the_http(),
                         replace(factory, transport_for=lambda _: recorder))
    try:
        checks = await _checks(session, driver, ep)
    finally:
        await driver.aclose()
    if record is not None:
        _save(record, ep, recorder)
    counts = _http(driver).counts
    return checks, sum(n for m, n in counts.items() if m != "GET")


async def _checks(session: Session, driver: Driver, ep: Endpoint) -> list[Check]:
    out: list[Check] = []
    try:
        served = await driver.served_certificate()
    except Unreachable as exc:
        return [Check(ep.name, "reachable", "fail", str(exc),
                      f"check that {ep.api} is the node's API and reachable from here")]
    cert = session.cache.parse_text(served or "")[0] if served else None
    pin = f"sha256:{cert.sha256}" if cert else "?"
    shown = f"{cert.subject}, issuer {cert.issuer}, pin {pin}" if cert else "no certificate"
    out.append(Check(ep.name, "reachable", "ok", f"{ep.api} answers TLS; serves {shown}"))
    reads = await _reads(driver, ep, out, cert_issuer=cert.issuer if cert else "?", pin=pin)
    if reads:
        out.extend(await _version_and_capabilities(driver, ep))
    out.extend(await _ssh(session, ep))
    return out


async def _reads(driver: Driver, ep: Endpoint, out: list[Check], *, cert_issuer: str,
                 pin: str) -> bool:
    """TLS trust, authentication and each evidenced read; False when none could be made."""
    table = _table(driver)
    for i, (op, query, documented) in enumerate(READS[_family(ep)]):
        method, path = table[op]
        try:
            response = await _http(driver).request(method, path, params=query, retry=False)
            status = response.status_code
        except NotFound as exc:
            status = exc.status or 404
        except AuthError as exc:
            out.append(Check(ep.name, "authentication", "fail", str(exc), _auth_fix(ep)))
            return False
        except PermanentError as exc:
            if "TLS verification failed" in str(exc):
                out.append(Check(ep.name, "tls", "fail", f"certops does not trust the API "
                                 f"certificate ({exc})", _tls_fix(cert_issuer, pin)))
                return False
            out.append(Check(ep.name, f"read {op}", "fail", str(exc), _op_fix(op)))
            continue
        except DriverError as exc:
            out.append(Check(ep.name, f"read {op}", "fail", str(exc), _op_fix(op)))
            continue
        if i == 0:
            out.append(Check(ep.name, "tls", "ok", "the API certificate is trusted"))
            out.append(Check(ep.name, "authentication", "ok", f"{ep.username} is accepted"))
        good = status < 300 or status in documented
        out.append(Check(ep.name, f"read {op}", "ok" if good else "fail",
                         f"GET {path} answered {status}", "" if good else _op_fix(op)))
    return True


async def _version_and_capabilities(driver: Driver, ep: Endpoint) -> list[Check]:
    try:
        live = await driver.read()
    except DriverError as exc:
        return [Check(ep.name, "version", "fail", str(exc), "see the failed reads above")]
    out = [Check(ep.name, "version", "ok" if live.version else "info",
                 live.version or "not reported (the field names are [U])")]
    for cap in sorted(kind_of(ep.type).capabilities | set(OPTIONAL)):
        if cap in live.capabilities:
            out.append(Check(ep.name, f"capability {cap}", "ok",
                             "evidenced, and its reads answered (doctor never writes)"))
        else:
            out.append(Check(ep.name, f"capability {cap}", "info",
                             "off on this node (not evidenced, or no API): planned as a "
                             "manual step with the GUI path or CLI command"))
    return out


async def _ssh(session: Session, ep: Endpoint) -> list[Check]:
    """The CLI's host key, and whether the node file pins it (VOS kinds)."""
    if _family(ep) == "expressway":
        return []  # no CLI used on Expressway
    if session.the_factory().cli_for(ep.name) is not None:
        return [Check(ep.name, "ssh", "info", "the CLI is replaced in this run: not checked")]
    import asyncssh

    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(ep.host, ep.ssh_port or 22), 10)
    except (OSError, TimeoutError, asyncssh.Error) as exc:
        return [Check(ep.name, "ssh", "fail", f"SSH on port {ep.ssh_port or 22}: {exc}",
                      "set connection.ssh_port, or allow SSH from here")]
    if key is None:
        return [Check(ep.name, "ssh", "fail", "the SSH server showed no host key", "")]
    line = " ".join(key.export_public_key("openssh").decode().split()[:2])
    fingerprint = key.get_fingerprint("sha256")
    if ep.ssh_host_key and ep.ssh_host_key.split()[:2] == line.split():
        return [Check(ep.name, "ssh host key", "ok", f"pinned ({fingerprint})")]
    what = "does not match the pinned key" if ep.ssh_host_key else "is not pinned"
    return [Check(ep.name, "ssh host key", "fail", f"the host key {fingerprint} {what}",
                  f"check it on the console (show ssh host key), then set "
                  f"connection.ssh_host_key: '{line}'")]


def _http(driver: Driver) -> NodeHttp:
    """The driver's HTTP client (every driver of this package has one)."""
    http = getattr(driver, "http", None)
    assert isinstance(http, NodeHttp)
    return http


def _family(ep: Endpoint) -> str:
    return "expressway" if ep.type in ("expressway-c", "expressway-e", "vcs") else "vos"


def _table(driver: Driver) -> dict[str, tuple[str, str]]:
    import sys

    module = sys.modules[type(driver).__module__]
    table: dict[str, tuple[str, str]] = module.API
    return table


def _auth_fix(ep: Endpoint) -> str:
    return (f"check the password of {ep.username} (the variables the node file's credentials "
            "name) and that the account has API access")


def _tls_fix(issuer: str, pin: str) -> str:
    return (f"add the CA that issued it ({issuer}) as a file under cas/ (or the node's "
            f"connection.ca_file), or pin this certificate: connection.api_pins: ['{pin}']")


def _op_fix(op: str) -> str:
    return f"this read ({op}) does not answer as documented: record it (--record) and report it"


def _save(folder: Path, ep: Endpoint, recorder: RecordingTransport) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"node": ep.name, "type": ep.type,
                            "source": "certops doctor --record (credentials removed)",
                            "exchanges": recorder.exchanges}
    (folder / f"{ep.name}.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


