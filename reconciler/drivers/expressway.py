"""Expressway / VCS driver over the provisioning REST API (device-apis.md, Expressway table).

Every path, field and status of the product is in ``API`` below, so that a correction after
meeting a real node is a one-line change. Deleting one trusted CA has no REST call as far as
is known, nor is discarding a pending CSR ([U]): both capabilities are missing and the
planner shows them as manual steps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx

from reconciler.drivers.base import (
    Endpoint,
    handshake_certificate,
    session_certificate,
)
from reconciler.drivers.errors import (
    AuthError,
    BadResponse,
    Conflict,
    NotFound,
    Unparseable,
    Unreachable,
)
from reconciler.drivers.expressway_roles import RoleStores
from reconciler.drivers.expressway_status import ShapeError, active_calls, registrations
from reconciler.drivers.http import NodeHttp
from reconciler.drivers.pemtext import CSR_BLOCK, split_pems
from reconciler.drivers.raml import Raml, RamlError, parse_raml
from reconciler.drivers.seams import Probe
from reconciler.kinds import kind_of
from reconciler.kinds.expressway import STORE as EXPRESSWAY_STORE
from reconciler.kinds.roles import parse_version
from reconciler.model import CsrSubjectSpec, LiveNode

API: dict[str, tuple[str, str]] = {
    "cert.read": ("GET", "/api/provisioning/certs/server"),  # [3P] PEM text
    "cert.upload": ("POST", "/api/provisioning/certs/server"),  # [3P] multipart 'file'
    "csr.read": ("GET", "/api/provisioning/certs/generate_csr"),  # [3P] PEM; 404 none
    "csr.generate": ("POST", "/api/provisioning/certs/generate_csr"),  # [3P] JSON; see CONFLICT
    # "csr.discard" (DELETE on generate_csr) is [U]: not used. The discard is a manual step
    # (kinds/expressway.py GUI) until a source shows the call; then add the row, a
    # ``csr_discard`` method and the ``csr.discard`` capability together.
    "trust.read": ("GET", "/api/provisioning/certs/root"),  # [3P] concatenated PEM
    "trust.add": ("POST", "/api/provisioning/certs/root"),  # [3P] multipart 'file', appended
    "restart": ("POST", "/api/provisioning/restart"),  # [C] needs the CSRF header from X14.2
    "sysinfo": ("GET", "/api/provisioning/sysinfo"),  # [C] JSON
    "raml": ("GET", "/api/raml"),  # [C] exists: the node's own API description (RAML)
    # Drain progress, HTTP Basic [3P]: centreon-plugins (calls), py-expressway (status.xml).
    "calls": ("GET", "/getxml?location=/Status/ResourceUsage/Calls"),
    "status": ("GET", "/status.xml"),
}
# What ``certops doctor`` reads (GETs only): (operation, query, documented non-2xx answers).
DOCTOR_READS: tuple[tuple[str, dict[str, str], tuple[int, ...]], ...] = (
    ("sysinfo", {}, ()), ("cert.read", {}, ()), ("csr.read", {}, (404,)), ("trust.read", {}, ()),
)
# Maintenance mode has no documented API [C: GUI only]. Where the node's RAML lists a
# resource whose last segment matches this, its path is used: GET reads it, PUT (or POST)
# sets it. The body, {"MaintenanceMode": "On"|"Off"}, is [U] (the lab's assumption); every
# change is read back, so a wrong guess fails the drain before anything restarts.
MAINTENANCE_SEGMENT = re.compile(r"maintenance[-_]?mode", re.IGNORECASE)
MAINTENANCE_FIELD = "MaintenanceMode"  # [U]
API_ROOT = "/api"  # [U] a RAML resource path without it is taken as relative to /api
CSRF = {"X-CSRF-Header": "certops"}  # [C] required on restart from X14.2, harmless elsewhere
SYSINFO_VERSION = ("Version", "SoftwareVersion", "version")  # [U] field names
# No restart-required field is read: none is evidenced ([U]). A pending restart shows as the
# installed certificate differing from the served one (planning/live.py).
CSR_DEFAULTS: dict[str, Any] = {"KeyLength": 2048, "DigestAlgorithm": "sha256"}
# The subject fields the one public client always sends [3P] (CSR body name -> spec field).
CSR_SUBJECT = {
    "Country": "country",
    "Province": "province",
    "Locality": "locality",
    "Organization": "organization",
    "OrganizationalUnit": "organizational_unit",
    "Email": "email",
}
# A pending CSR: the evidence shows this body, not its status [3P]; 409 is recognised too.
CONFLICT = "Conflict"


def csr_body(sans: Sequence[str], subject: CsrSubjectSpec | None) -> dict[str, Any]:
    """The generate_csr JSON: key settings, the SANs, and every subject field that is set."""
    body: dict[str, Any] = {**CSR_DEFAULTS, "Additional_FQDNS": list(sans)}
    if subject is not None:
        for wire, attr in CSR_SUBJECT.items():
            value = getattr(subject, attr)
            if value:
                body[wire] = value
    return body


def is_conflict_body(response: httpx.Response) -> bool:
    """``{"Message": "Conflict"}`` whatever the status (the evidenced pending-CSR answer)."""
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and str(data.get("Message", "")).strip() == CONFLICT


class ExpresswayDriver:
    """One Expressway-C, Expressway-E or VCS."""

    def __init__(self, endpoint: Endpoint, http: NodeHttp, *, probe: Probe | None = None) -> None:
        self.endpoint = endpoint
        self.http = http
        self.capabilities = kind_of(endpoint.type).capabilities
        self.probe: Probe = probe or self._handshake
        # The node's RAML, read once per driver for both its users (None: none or not yet).
        self._description: Raml | None = None
        self._described = False
        # The maintenance-mode resource found in it: (path, the method that sets it).
        self._maintenance: tuple[str, str] | None = None
        table = kind_of(endpoint.type).role_table
        self.roles = RoleStores(endpoint.name, http,
                                {r: p.api_resource for r, p in table.roles.items()},
                                describe=self.api_description)

    async def _call(self, op: str, **kwargs: Any) -> Any:
        method, path = API[op]
        return await self.http.request(method, path, **kwargs)

    async def read(self) -> LiveNode:
        """Server certificate, pending CSR, trusted CA list, version, served certificate."""
        self.http.peer_certificate = None
        # One after the other on the node's one keep-alive connection: as tasks they would
        # only queue for it, and starting and queueing four tasks costs CPU (~5-10 % of a read).
        sysinfo = await self._call("sysinfo")
        server = await self._call("cert.read")
        csr = await self.csr_read()
        trust = await self._call("trust.read")
        await self._discover_maintenance()
        # What the node serves: seen in this session's TLS handshake, no extra connection.
        served = session_certificate(self.http) or await self.served_certificate()

        info = self.http.json(sysinfo, *API["sysinfo"])
        if not isinstance(info, dict):
            raise BadResponse(
                self.endpoint.name,
                "sysinfo is not a JSON object",
                method="GET",
                path=API["sysinfo"][1],
            )
        server_pems = split_pems(server.text)
        if not server_pems:
            raise BadResponse(
                self.endpoint.name,
                "the server certificate is not PEM",
                method="GET",
                path=API["cert.read"][1],
            )
        version = next((str(info[k]) for k in SYSINFO_VERSION if k in info), None)
        live = LiveNode(
            name=self.endpoint.name,
            type=self.endpoint.type,
            version=version,
            server_certificate=server_pems[0],
            served_certificate=served,
            pending_csr=csr,
            stores={EXPRESSWAY_STORE: split_pems(trust.text)},
            capabilities=tuple(sorted(self.capabilities)),
        )
        return await self._read_roles(live)

    async def _read_roles(self, live: LiveNode) -> LiveNode:
        """The roles the node has at its version beyond the server one (X15.5: client),
        through the resources its own RAML lists; the ones it does not list: unreadable."""
        table = kind_of(self.endpoint.type).role_table
        version = parse_version(live.version)
        roles = [r for r in table.roles if r != table.primary and table.has_role(r, version)]
        await self.roles.discover(roles)
        if not roles:
            return live
        certs: dict[str, str] = {}
        pending: dict[str, str] = {}
        caps = set(live.capabilities)
        unreadable: list[str] = []
        for role in roles:
            cert = await self.roles.certificate(role)
            if cert is None:
                unreadable.append(role)
                continue
            certs[role] = cert
            csr = await self.roles.csr_read(role)
            if csr is not None:
                pending[role] = csr
            caps |= {f"{cap}:{role}" for cap in self.roles.store(role).capabilities}
        return live.model_copy(update={
            "role_certificates": certs, "role_pending_csrs": pending,
            "roles_unreadable": tuple(unreadable), "capabilities": tuple(sorted(caps))})

    async def api_description(self) -> Raml | None:
        """The node's own API description (``GET /api/raml``), read once per driver. None
        when there is none (404) or none for this account (401/403): what it would list is
        then not used (manual steps); an answer that is not RAML is ``Unparseable``, naming
        the node and the path."""
        if self._described:
            return self._description
        method, path = API["raml"]
        try:
            response = await self._call("raml")
        except (NotFound, AuthError):
            self._described = True
            return None
        try:
            self._description = parse_raml(response.content)
        except RamlError as exc:
            raise Unparseable(self.endpoint.name, f"the node's API description: {exc}",
                              method=method, path=path, status=response.status_code) from None
        self._described = True
        return self._description

    async def _discover_maintenance(self) -> None:
        """Offer ``node.drain`` where the node's RAML lists a maintenance-mode resource that
        can be read (GET) and set (PUT or POST); else the plan makes the drain manual."""
        raml = await self.api_description()
        found = [(p, m) for p, m in (raml.find(MAINTENANCE_SEGMENT) if raml else [])
                 if "get" in m and m & {"put", "post"}]
        if not found:
            return
        resource, methods = found[0]
        if not resource.startswith(API_ROOT + "/"):
            resource = API_ROOT + resource
        self._maintenance = (resource, "PUT" if "put" in methods else "POST")
        self.capabilities = self.capabilities | {"node.drain"}

    async def drain_capable(self) -> bool:
        """Whether maintenance mode can be read and set (looked up in the RAML once)."""
        await self._discover_maintenance()
        return self._maintenance is not None

    def _maintenance_resource(self) -> tuple[str, str]:
        if self._maintenance is None:
            raise NotFound(self.endpoint.name, "the node's API description (GET /api/raml) "
                           "lists no maintenance-mode resource", method="GET", path="/api/raml",
                           hint="drain it by hand: Maintenance > Maintenance mode")
        return self._maintenance

    async def maintenance_mode(self) -> bool:
        """Whether the node is in maintenance mode (the discovered resource; body [U])."""
        path, _ = self._maintenance_resource()
        response = await self.http.request("GET", path)
        data = self.http.json(response, "GET", path)
        value = data.get(MAINTENANCE_FIELD) if isinstance(data, dict) else None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("on", "off"):
            return value.strip().lower() == "on"
        seen = sorted(data)[:8] if isinstance(data, dict) else [type(data).__name__]
        raise Unparseable(self.endpoint.name, f"maintenance mode is not in the shape certops "
                          f"knows ({MAINTENANCE_FIELD}: On|Off); fields seen: {', '.join(seen)}",
                          method="GET", path=path, status=response.status_code)

    async def set_maintenance_mode(self, on: bool) -> None:
        """Switch maintenance mode on or off (the caller reads it back)."""
        path, method = self._maintenance_resource()
        body = {MAINTENANCE_FIELD: "On" if on else "Off"}
        await self.http.request(method, path, json=body, headers=CSRF)

    async def active_calls(self) -> int:
        """Current calls of every type on this node (status XML [3P])."""
        return await self._status_count("calls", active_calls)

    async def registrations(self) -> int:
        """Current registrations on this node (status.xml [3P])."""
        return await self._status_count("status", registrations)

    async def _status_count(self, op: str, parse: Any) -> int:
        method, path = API[op]
        response = await self._call(op)
        try:
            return int(parse(response.content))
        except ShapeError as exc:
            raise Unparseable(self.endpoint.name, f"the status XML is not in the documented "
                              f"shape: {exc}", method=method, path=path,
                              status=response.status_code) from None

    async def role_certificate(self, role: str) -> str | None:
        return await self.roles.certificate(role)

    async def role_csr_read(self, role: str) -> str | None:
        return await self.roles.csr_read(role)

    async def role_csr_generate(
        self, role: str, sans: Sequence[str], subject: CsrSubjectSpec | None = None
    ) -> str:
        return await self.roles.csr_generate(role, csr_body(sans, subject))

    async def role_install(self, role: str, leaf_pem: str, chain_pems: Sequence[str]) -> None:
        """Upload the role's leaf alone, as PEM (as the server store takes it)."""
        await self.roles.install(role, leaf_pem)

    async def read_store(self, store: str) -> tuple[str, ...]:
        """The trusted CA list, one PEM per certificate (to check an upload took effect)."""
        if store != EXPRESSWAY_STORE:
            raise ValueError(f"an Expressway has one trust store, {EXPRESSWAY_STORE!r}")
        return split_pems((await self._call("trust.read")).text)

    async def installed_certificate(self) -> str | None:
        """The installed server certificate (PEM): served only after a restart."""
        pems = split_pems((await self._call("cert.read")).text)
        return pems[0] if pems else None

    async def csr_read(self) -> str | None:
        """The pending CSR (PEM), or None when none is pending (404, or an empty answer)."""
        try:
            response = await self._call("csr.read")
        except NotFound:
            return None
        if not response.text.strip():
            return None
        match = CSR_BLOCK.search(response.text)
        if match is None:  # an answer that is neither "none" nor a CSR: never guess
            raise BadResponse(
                self.endpoint.name,
                "the pending CSR is not PEM: " + " ".join(response.text.split())[:120],
                method="GET",
                path=API["csr.read"][1],
                status=response.status_code,
            )
        return match.group(0) + "\n"

    async def trust_add(self, store: str, pems: Sequence[str]) -> None:
        if store != EXPRESSWAY_STORE:
            raise ValueError(
                f"an Expressway has one trust store, {EXPRESSWAY_STORE!r}, not {store!r}"
            )
        bundle = "".join(p if p.endswith("\n") else p + "\n" for p in pems)
        await self._call(
            "trust.add",
            headers=CSRF,
            files={"file": ("ca.pem", bundle.encode(), "application/x-pem-file")},
        )

    async def csr_generate(
        self, sans: Sequence[str], subject: CsrSubjectSpec | None = None
    ) -> str:
        """Generate a CSR with these SANs and subject fields (the box adds its CN).
        Refuses if one is pending: 409, or the body ``{"Message": "Conflict"}``."""
        method, path = API["csr.generate"]
        body = csr_body(sans, subject)
        try:
            response = await self._call("csr.generate", json=body, headers=CSRF, retry=False)
            status = response.status_code
        except Conflict as exc:
            status = exc.status or 409
        else:
            if not is_conflict_body(response):
                status = 0
        if status:
            raise Conflict(
                self.endpoint.name, "a CSR is already pending on the node",
                method=method, path=path, status=status,
                hint="discard it on the node (Maintenance > Security > Server certificate > "
                "Discard CSR) or have it signed; certops never discards one on its own",
            )
        pem = await self.csr_read()
        if pem is None:
            raise BadResponse(
                self.endpoint.name,
                "the node generated no readable CSR",
                method="GET",
                path=API["csr.read"][1],
            )
        return pem

    async def cert_install(self, leaf_pem: str, chain_pems: Sequence[str]) -> None:
        """Upload the leaf alone, as PEM (Cisco's step E); the chain is for trust, not here.

        Whether ``GET certs/server`` then shows the uploaded or the still active certificate
        is not documented ([U]): the install step accepts either, and the restart's TLS
        handshake is the proof."""
        leaf = ("server.pem", leaf_pem.encode(), "application/x-pem-file")
        await self._call("cert.upload", headers=CSRF, retry=False, files={"file": leaf})

    async def restart(self) -> None:
        """Ask for a restart; returns at once (the caller waits for the new certificate)."""
        try:
            await self._call("restart", headers=CSRF, retry=False)
        except Unreachable as exc:
            # The node may drop the connection as it goes down: that is the restart working.
            # A request that never reached it (refused, connect timeout) is no restart.
            if not exc.sent:
                raise

    async def served_certificate(self) -> str | None:
        """What the node serves now, through the probe (by default a TLS handshake)."""
        return await self.probe()

    async def _handshake(self) -> str | None:
        """The default probe: a TLS handshake on the API port."""
        return await handshake_certificate(self.endpoint, self.http.settings.connect_timeout)

    async def aclose(self) -> None:
        await self.http.aclose()
