"""``certops doctor``: what a user runs first against real nodes. It writes nothing.

Per node and account: can certops reach it, which certificate its API presents and whether
certops trusts it (else the CA to add or the pin to set), does each account authenticate on
each API (VOS: the OS administrator on REST and SSH, the application user on SOAP,
``doctor_vos``), the version, which evidenced read operations answer as documented, the SSH
host key to pin, and a verdict per capability from the checks it depends on. Requests are
GETs, plus SOAP ``soapGetServiceStatus`` (a POST that only reads) and ``show version
active`` over SSH; ``DoctorReport.writes`` counts anything else (always 0). A capability
whose checks passed is "ready", not proven. ``record`` saves the HTTP exchanges, credentials
removed (``drivers.recording``), so that a user can share them and tests can replay them.
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
from reconciler.drivers.cucm import READ_ONLY_SOAP, CucmDriver
from reconciler.drivers.fleet import api_tls, endpoint_for, fleet_ca_pems, make_driver
from reconciler.drivers.recording import RecordingTransport
from reconciler.kinds import kind_of
from reconciler.model import Desired, LiveNode
from reconciler.model.doctor import Check, DoctorReport
from reconciler.usecases.doctor_vos import (
    Facts,
    os_account,
    soap_checks,
    ssh_checks,
    transport_check,
    verdict,
)
from reconciler.usecases.loading import load_fleet
from reconciler.usecases.session import Session

OPTIONAL = ("csr.discard", "trust.remove")  # capabilities off until evidenced
DOCTOR_WAIT = 60.0  # seconds at most for one SSH command or a rate-limited SOAP status


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
    if isinstance(driver, CucmDriver):  # doctor waits a minute at most, never a restart's 15
        driver.restart_timeout = min(driver.restart_timeout, DOCTOR_WAIT)
    try:
        checks = await _checks(session, driver, ep)
    finally:
        await driver.aclose()
    if record is not None:
        _save(record, ep, recorder)
    return checks, sum(m != "GET" and action not in READ_ONLY_SOAP
                       for m, action in recorder.sent)


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
    facts: Facts = {}
    if ep.transport == "cli":
        facts["transport.cli"] = "connection.transport: cli"
    trusted = await _reads(driver, ep, out, facts, cert_issuer=cert.issuer if cert else "?",
                           pin=pin)
    if isinstance(driver, CucmDriver):
        out.append(transport_check(ep, facts))
        out.extend(await ssh_checks(session, driver, ep, facts))
        out.extend(await soap_checks(driver, ep, facts, trusted=trusted))
    out.extend(await _version_and_capabilities(driver, ep, facts))
    return out


async def _reads(driver: Driver, ep: Endpoint, out: list[Check], facts: Facts, *,
                 cert_issuer: str, pin: str) -> bool:
    """TLS trust, the REST account's authentication and each evidenced read (GETs); False
    when certops does not trust the API certificate (nothing else can be asked then)."""
    table, reads, account = _table(driver), _doctor_reads(driver), os_account(ep)
    reads_ok = True
    for op, query, documented in reads:
        method, path = table[op]
        try:
            status = await _status(driver, method, path, query)
            if (status == 404 and op == reads[0][0] and isinstance(driver, CucmDriver)
                    and ep.transport != "rest"):
                # No REST API (12.5): the 404 came over a trusted TLS session; the
                # certificates go over the platform CLI (checked with the SSH login).
                facts.setdefault("transport.cli", f"GET {path} answered 404")
                out.append(Check(ep.name, "tls", "ok", "the API certificate is trusted"))
                return True
        except AuthError as exc:
            if "rest.auth" not in facts:  # a 401 came over a trusted TLS session
                out.append(Check(ep.name, "tls", "ok", "the API certificate is trusted"))
            out.append(Check(ep.name, "authentication (REST)", "fail", str(exc), _auth_fix(ep),
                             account))
            return True
        except DriverError as exc:
            if isinstance(exc, PermanentError) and "TLS verification failed" in str(exc):
                out.append(Check(ep.name, "tls", "fail", f"certops does not trust the API "
                                 f"certificate ({exc})", _tls_fix(cert_issuer, pin)))
                return False
            out.append(Check(ep.name, f"read {op}", "fail", str(exc), _op_fix(op), account))
            reads_ok = False
            continue
        if "rest.auth" not in facts:
            facts["rest.auth"] = ep.username or ""
            out.append(Check(ep.name, "tls", "ok", "the API certificate is trusted"))
            out.append(Check(ep.name, "authentication (REST)", "ok",
                             f"{ep.username} is accepted", account=account))
        good = status < 300 or status in documented
        reads_ok = reads_ok and good
        out.append(Check(ep.name, f"read {op}", "ok" if good else "fail",
                         f"GET {path} answered {status}", "" if good else _op_fix(op), account))
    if reads_ok and "rest.auth" in facts:
        facts["rest.reads"] = ""
    return True


async def _status(driver: Driver, method: str, path: str, query: dict[str, str]) -> int:
    """The status of one read; a 404 is an answer here (some reads document it)."""
    try:
        response = await _http(driver).request(method, path, params=query, retry=False)
    except NotFound as exc:
        return exc.status or 404
    return response.status_code


async def _version_and_capabilities(driver: Driver, ep: Endpoint, facts: Facts,
                                    ) -> list[Check]:
    """The version, and a verdict per capability; the node is read only where REST
    authenticated (else the kind's capabilities, each not ready)."""
    caps: frozenset[str] | tuple[str, ...] = kind_of(ep.type).capabilities
    version = facts.get("ssh.login")
    live: LiveNode | None = None
    if "rest.auth" in facts or "cli.commands" in facts:
        try:
            live = await driver.read()
        except DriverError as exc:
            return [Check(ep.name, "version", "fail", str(exc), "see the failed reads above")]
        version, caps = live.version or version, live.capabilities
    out = [Check(ep.name, "version", "ok" if version else "info",
                 version or ("not reported (the field names are [U])" if "rest.auth" in facts
                             else "not read (see the problems above)"))]
    # The kind's capabilities, the optional ones, and what this node adds (csr.read over the
    # platform CLI); a role's capabilities ("csr.generate:client") are the role checks'. A
    # kind that drains before a restart: whether the node's RAML lists maintenance mode.
    kind = kind_of(ep.type)
    drains = {"node.drain"} if kind.drain is not None else set()
    every = sorted(kind.capabilities | set(OPTIONAL) | drains
                   | {c for c in caps if ":" not in c})
    out += [verdict(ep, cap, cap in caps, facts, _route(driver)) for cap in every]
    return out + (_role_checks(ep, live) if live is not None else [])


def _role_checks(ep: Endpoint, live: LiveNode) -> list[Check]:
    """Per certificate role beyond the primary one (X15.5's client store): automated where
    the node's own RAML lists its resources, else manual steps with the GUI path."""
    out: list[Check] = []
    table = kind_of(ep.type).role_table
    for role in live.roles_unreadable:
        gui = table.roles[role].manual_install.split(" > Upload")[0]
        out.append(Check(ep.name, f"role {role}", "info",
                         f"the node's API description (GET /api/raml) lists no {role} "
                         f"certificate store: certops cannot read it, and its CSR and install "
                         f"are manual steps ({gui})",
                         "check the certificate by hand; tell the certops maintainers what "
                         "the node's RAML lists"))
    for role in sorted(live.role_certificates):
        auto = [c for c in ("csr.generate", "cert.install") if f"{c}:{role}" in live.capabilities]
        manual = [c for c in ("csr.generate", "cert.install") if c not in auto]
        detail = (f"read through the resources the node's RAML lists; automated: "
                  f"{', '.join(auto) or 'none'}; manual: {', '.join(manual) or 'none'}")
        out.append(Check(ep.name, f"role {role}", "ok" if not manual else "info", detail))
    return out


def _route(driver: Driver) -> str:
    """How the node's services restart: "rest" (Expressway), "soap" or "ssh" (VOS)."""
    if isinstance(driver, CucmDriver):
        return "soap" if driver.SERVICE_LIST[0] == "SOAP" else "ssh"
    return "rest"


def _http(driver: Driver) -> NodeHttp:
    """The driver's HTTP client (every driver of this package has one)."""
    http = getattr(driver, "http", None)
    assert isinstance(http, NodeHttp)
    return http


def _table(driver: Driver) -> dict[str, tuple[str, str]]:
    """The driver's table of operations (``API`` in its module)."""
    table: dict[str, tuple[str, str]] = _driver_module(driver).API
    return table


def _doctor_reads(driver: Driver) -> tuple[tuple[str, dict[str, str], tuple[int, ...]], ...]:
    """The reads the driver's module lists for doctor (``DOCTOR_READS``): GETs only."""
    reads: tuple[tuple[str, dict[str, str], tuple[int, ...]], ...] = (
        _driver_module(driver).DOCTOR_READS)
    return reads


def _driver_module(driver: Driver) -> Any:
    import sys

    return sys.modules[type(driver).__module__]


def _auth_fix(ep: Endpoint) -> str:
    kind = kind_of(ep.type)
    other = ", not the application user" if kind.admin_role != "administrator" else ""
    return (f"check the password of {ep.username} (the variables the node file's credentials "
            f"name) and that the account has API access (the REST API takes the "
            f"{kind.admin_role}{other})")


def _tls_fix(issuer: str, pin: str) -> str:
    return (f"add the CA that issued it ({issuer}) as a file under cas/ (or the node's "
            f"connection.ca_file), or pin this certificate: connection.api_pins: ['{pin}']")


def _op_fix(op: str) -> str:
    return (f"this read ({op}) does not answer as documented: record it (--record) and report "
            "it; a VOS node without the REST API (12.5) needs connection.transport auto or cli")


def _save(folder: Path, ep: Endpoint, recorder: RecordingTransport) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"node": ep.name, "type": ep.type,
                            "source": "certops doctor --record (credentials removed)",
                            "exchanges": recorder.exchanges}
    (folder / f"{ep.name}.json").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


