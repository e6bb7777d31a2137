"""VOS driver: Certificate Management REST API (14+), SOAP service control, SSH CLI.

Paths and fields follow device-apis.md's CUCM table and live in ``API``; which service
restarts after which change is the kind's (``reconciler.kinds.cucm``, ``.imp``, ``.cuc``);
which of them only the SSH CLI can restart is ``CLI_ONLY``. A node without the REST API
(12.5: 404 on ``/platformcom``) is read and changed over the platform CLI instead
(``vos_cli_certs``, one SSH session per read), with the same methods and capabilities, plus
a readable pending CSR; ``connection.transport`` can fix either transport. A REST node whose
platform CLI is declared (``connection.ssh_port`` or ``ssh_host_key``) has its version and
pending CSRs read over that CLI as well (``_cli_pending``: one session, those commands only),
since the REST API shows neither.

``CucmDriver`` serves Unified CM; ``VosCliDriver`` the VOS products where SOAP service
control is not evidenced (IM and Presence, Unity Connection [U]): it restarts every service
over the SSH CLI. Both read the trust stores of the endpoint's kind.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any
from xml.sax.saxutils import escape

import httpx

from reconciler.drivers import vos_cli_certs as cli_certs
from reconciler.drivers.base import (
    Endpoint,
    gather_or_cancel,
    handshake_certificate,
    session_certificate,
)
from reconciler.drivers.cucm_snapshot import ShapeError, Snapshot, parse_snapshot, upload_outcome
from reconciler.drivers.errors import (
    AuthError,
    BadResponse,
    DriverError,
    NotFound,
    PermanentError,
    TemporaryError,
    Unparseable,
)
from reconciler.drivers.http import NodeHttp
from reconciler.drivers.pemtext import split_pems
from reconciler.drivers.seams import CliRunner, Probe, ShellOpener
from reconciler.kinds import kind_of
from reconciler.model import CsrSubjectSpec, LiveNode
from reconciler.pki import ip_of, parse_csr

BASE = "/platformcom/api/v1/certmgr/config"
API: dict[str, tuple[str, str]] = {
    # [3P, validated live]: identities[].certificate, trusts[].certificate_data[].certificate
    "snapshot": ("GET", BASE + "/snapshot/server"),
    "trust.list": ("GET", BASE + "/trust/certificate"),  # [3P] ?service=tomcat; fallback only
    "trust.add": ("POST", BASE + "/trust/certificates"),  # [3P] service is a list
    "identity.read": ("GET", BASE + "/identity/certificate"),  # [3P, weak]; fallback only
    "csr.generate": ("POST", BASE + "/csr"),  # [3P]
    "identity.install": ("POST", BASE + "/identity/certificates"),  # [3P] leaf+chain
    "soap": ("POST", "/controlcenterservice2/services/ControlCenterServices"),  # [3P]
}
# What ``certops doctor`` reads (GETs only): (operation, query, documented non-2xx answers).
# A 404 on the first (the inventory) means no REST API (12.5): the platform CLI instead.
DOCTOR_READS: tuple[tuple[str, dict[str, str], tuple[int, ...]], ...] = (
    ("snapshot", {}, ()), ("trust.list", {"service": "tomcat"}, ()),
    ("identity.read", {"service": "tomcat"}, ()),
)
# certops store name -> the REST "service" parameter (device-apis.md: only tomcat is
# evidenced [3P], the rest is [U]). The IM&P and Unity Connection kinds change only
# tomcat-trust over the API (``store_capable``); a wrong guess below shows as a read error
# that names the store, never as an empty store.
STORE_SERVICE = {
    "tomcat-trust": "tomcat",  # [3P], the one value public clients use
    "callmanager-trust": "callmanager",  # [U] (CUCM, Unity Connection)
    "capf-trust": "capf",  # [U] (CUCM)
    "ipsec-trust": "ipsec",  # [U] (every VOS product)
    "cup-trust": "cup",  # [U] (IM&P)
    "cup-xmpp-trust": "cup-xmpp",  # [U] (IM&P)
}
# certops role -> (the REST "service" value of its identity, the CLI unit). The CLI units are
# Cisco's [C] (CLI reference 12.5: set cert regen / set csr gen / set cert import own <unit>;
# TAC 214231: CallManager, TVS, CAPF, ITLRecovery); the REST values beside "tomcat" are [U]:
# no public client uses them. A wrong guess shows as the node's 400 on the CSR or the
# install (nothing changed) or as an identity the inventory does not list (role.undeclared
# stays silent), never as a wrong certificate.
ROLE_UNIT: dict[str, tuple[str, str]] = {
    "tomcat": ("tomcat", "tomcat"),  # [3P] REST, [C] CLI
    "tomcat-ecdsa": ("tomcat-ecdsa", "tomcat-ECDSA"),  # [U] REST
    "callmanager": ("callmanager", "CallManager"),  # [U] REST
    "callmanager-ecdsa": ("callmanager-ecdsa", "CallManager-ECDSA"),  # [U] REST
    "capf": ("capf", "CAPF"),  # [U] REST
    "tvs": ("tvs", "TVS"),  # [U] REST
    "itlrecovery": ("itlrecovery", "ITLRecovery"),  # [U] REST
    "cup": ("cup", "cup"),  # [U] REST (IM&P)
    "cup-xmpp": ("cup-xmpp", "cup-xmpp"),  # [U] REST (IM&P)
    "cup-xmpp-s2s": ("cup-xmpp-s2s", "cup-xmpp-s2s"),  # [U] REST (IM&P)
    "cup-ecdsa": ("cup-ecdsa", "cup-ECDSA"),  # [U] REST (IM&P); the CLI unit as the GUI's [C]
    "cup-xmpp-ecdsa": ("cup-xmpp-ecdsa", "cup-xmpp-ECDSA"),  # [U] REST (IM&P)
    "cup-xmpp-s2s-ecdsa": ("cup-xmpp-s2s-ecdsa", "cup-xmpp-s2s-ECDSA"),  # [U] REST (IM&P)
}
# `set cert regen ITLRecovery` asks "Proceed with regeneration (yes|no)?" and warns about
# tokenless CTLs [C]: the CLI session could answer it (COMMANDS does for cert_regenerate), but
# certops leaves that confirmation to a person (the phones need the old ITLRecovery to accept
# the new one: planning.phones), so this regeneration stays a manual step.
REGEN_CONFIRMS = frozenset({"itlrecovery"})
# The CSR body's "distribution" by the cluster's tomcat_identity. "this-server" [3P] (netSSL's
# renewal path, device-apis.md). "multi-server" [U]: the GUI offers "Multi-server (SAN)" [C]
# (device-evidence-vos.md), but no source shows the REST value; this is certops' guess, and a
# wrong one shows as the node's 400 on the publisher's csr.generate, before anything changes.
DISTRIBUTION = {"per-node": "this-server", "multi-server": "multi-server"}
# What the CLI transport offers beyond the REST one: the pending CSR can be read.
CLI_EXTRA = frozenset({"csr.read"})
CLI_ONLY = frozenset({"Cisco Tomcat", "Cisco DB", "Cisco HAProxy"})  # SOAP refuses Tomcat, DB [C]
# ControlCenterServices operations that change nothing (``certops doctor`` sends only these).
READ_ONLY_SOAP = frozenset({"soapGetServiceStatus"})
RATE_FAULT = "exceeded allowed rate"  # soapGetServiceStatus asks to slow down [3P]
MAX_RATE_BACKOFF = 30.0  # seconds between status requests at most, after rate faults
SOAP_NS = "http://schemas.cisco.com/ast/soap"
SOAP_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    f'xmlns:soap="{SOAP_NS}"><soapenv:Header/><soapenv:Body>{{body}}</soapenv:Body>'
    "</soapenv:Envelope>"
)


class RateLimited(TemporaryError):
    """SOAP "Exceeded allowed rate": back off and ask again later [3P]."""


class UnknownServices(PermanentError):
    """The node's service list does not name a service certops would restart."""


def _entries(data: Any) -> list[dict[str, Any]] | None:
    """A trust list in either documented shape: a bare list, or {"certificates": [...]}.
    None when it is neither (never read an unknown shape as an empty store)."""
    if isinstance(data, dict):
        data = data.get("certificates", data.get("certificate"))
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else None


def _fault_text(root: ET.Element) -> str | None:
    """The ``faultstring`` of a SOAP fault, if the envelope holds one."""
    for elem in root.iter():
        if elem.tag.rsplit("}", 1)[-1] == "Fault":
            for child in elem.iter():
                if child.tag.rsplit("}", 1)[-1] == "faultstring":
                    return " ".join((child.text or "").split()) or "SOAP fault"
            return "SOAP fault"
    return None


class CucmDriver:
    """One node of a VOS product (Unified CM; the kinds that share its APIs)."""

    SERVICE_LIST = ("SOAP", "soapGetServiceStatus")  # where the service list comes from

    def __init__(
        self,
        endpoint: Endpoint,
        http: NodeHttp,
        *,
        poll_seconds: float = 1.0,
        restart_timeout: float = 900.0,
        probe: Probe | None = None,
        cli: CliRunner | None = None,
        shell: ShellOpener | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.http = http
        kind = kind_of(endpoint.type)
        self.stores = kind.stores
        self.roles = tuple(r for r in kind.role_table.roles
                           if r != kind.role_table.primary and r in ROLE_UNIT)
        # the other identities' capabilities: CSR, install, regenerate (REST or CLI)
        self.role_capabilities = frozenset(
            f"{verb}:{role}" for role in self.roles for verb in self._role_verbs(role))
        self.capabilities = kind.capabilities | self.role_capabilities
        self.poll_seconds = poll_seconds
        self.restart_timeout = restart_timeout
        self.probe: Probe = probe or self._handshake
        self.cli: CliRunner = cli or self._ssh_session
        self.shell: ShellOpener = shell or self._ssh_shell
        # Which transport reads and changes certificates: None until the first read decides
        # ("auto": REST, the CLI where /platformcom answers 404); set by ``connection:``.
        self.over_cli: bool | None = (None if endpoint.transport == "auto"
                                      else endpoint.transport == "cli")

    def _role_verbs(self, role: str) -> tuple[str, ...]:
        """What the driver does for ``role``: CSR and install (over REST a [U] service value;
        over the CLI ``set csr gen`` / ``set cert import own <unit>`` [C]), regeneration over
        the CLI ([C]) unless the CLI asks to confirm."""
        regen = () if role in REGEN_CONFIRMS else ("cert.regenerate",)
        return ("csr.generate", "cert.install", *regen)

    async def _call(self, op: str, **kwargs: Any) -> Any:
        method, path = API[op]
        return await self.http.request(method, path, **kwargs)

    async def read(self) -> LiveNode:
        """The node's identity, served certificate and trust stores: the inventory first,
        the per-store list only for a store the inventory does not name; over the platform
        CLI (one SSH session) where the node has no REST API.

        No version and no "restart pending" come from the REST API (no public source shows
        either field): a restart is pending when the installed identity is not the served
        one, which the planner sees from the TLS handshake; trust uploads still waiting for
        a restart are certops' own record, not the node's.
        """
        self.http.peer_certificate = None
        if self.over_cli:
            return await self._read_cli()
        try:
            snap = await self._snapshot()
        except NotFound:
            if self.over_cli is None:  # release 12.5: no REST API, the CLI has the commands
                self.over_cli = True
                return await self._read_cli()
            # transport: rest on a node without the REST API: read what TLS shows; every
            # change is manual.
            return LiveNode(
                name=self.endpoint.name,
                type=self.endpoint.type,
                capabilities=(),
                version="<14 (no REST API)",
                served_certificate=await self.served_certificate(),
            )
        self.over_cli = False
        if snap.identity is not None and all(s in snap.stores for s in self.stores):
            # Everything came with the inventory (the usual case): no request, no tasks.
            identity, stores = snap.identity, [snap.stores[s] for s in self.stores]
        else:
            identity, *stores = await gather_or_cancel(
                self._identity(snap), *(self._store(s, snap) for s in self.stores)
            )
        served = session_certificate(self.http) or await self.served_certificate()
        extra = await self._cli_pending()
        return LiveNode(
            name=self.endpoint.name,
            type=self.endpoint.type,
            version=extra.version if extra else None,
            server_certificate=identity,
            served_certificate=served,
            pending_csr=extra.pending_csr if extra else None,
            stores=dict(zip(self.stores, stores, strict=True)),
            capabilities=tuple(sorted(self.capabilities | (CLI_EXTRA if extra else set()))),
            # separate client certificates the release lists (15SU5), reported, not managed;
            # the kind's other identities (callmanager, tvs, ...) where the inventory has them
            role_certificates={**snap.clients, **snap.roles},
            role_pending_csrs=extra.role_csrs if extra else {},
            transport="rest",
        )

    def cli_declared(self) -> bool:
        """Whether the node file (or inventory) declares the platform CLI: ``ssh_port`` or
        ``ssh_host_key``. Then a REST node's pending CSRs and version are read over it."""
        return self.endpoint.ssh_port is not None or self.endpoint.ssh_host_key is not None

    def _role_units(self) -> dict[str, str]:
        """CLI unit (lower case) -> role, for the kind's other identities."""
        return {ROLE_UNIT[r][1].lower(): r for r in self.roles}

    async def _cli_pending(self) -> cli_certs.CliPending | None:
        """On a REST node with a declared CLI: ``show version active`` and the pending CSRs
        (``show csr list own``, ``show csr own``), in one SSH session. None without a
        declared CLI, or when the session fails: then nothing says whether a CSR is pending
        (no ``csr.read``), and the planner keeps its conservative hold."""
        if not self.cli_declared():
            return None
        try:
            async with self._cli_session() as shell:
                return await cli_certs.read_pending(shell, self._role_units())
        except DriverError:
            return None

    async def _read_cli(self) -> LiveNode:
        """Everything over the platform CLI in one SSH session (``vos_cli_certs``): the
        version, the tomcat identity, every trust store and the pending CSR, which the CLI
        can show (``csr.read``)."""
        async with self._cli_session() as shell:
            got = await cli_certs.read_all(shell, self.stores, self._role_units())
        return LiveNode(
            name=self.endpoint.name,
            type=self.endpoint.type,
            version=got.version,
            server_certificate=got.identity,
            served_certificate=await self.served_certificate(),
            pending_csr=got.pending_csr,
            stores=got.stores,
            role_certificates=got.roles,
            role_pending_csrs=got.role_csrs,
            capabilities=tuple(sorted(self.capabilities | CLI_EXTRA)),
            transport="cli",
        )

    def _cli_session(self) -> AbstractAsyncContextManager[cli_certs.CliShell]:
        return cli_certs.session(self.endpoint.name, self.shell,
                                 max_seconds=self.restart_timeout,
                                 read_seconds=self.endpoint.read_timeout)

    async def cli_commands(self) -> list[str]:
        """``certops doctor``: the read-only certificate commands certops needs, in one
        session; one line per command saying what it showed."""
        async with self._cli_session() as shell:
            return await cli_certs.probe(shell)

    async def uses_cli(self) -> bool:
        """Whether this node's certificates go over the platform CLI (see ``_uses_cli``)."""
        return await self._uses_cli()

    async def _uses_cli(self) -> bool:
        """Whether certificates go over the CLI: decided by the first read (or
        ``connection.transport``); a change before any read asks the REST API once."""
        if self.over_cli is None:
            try:
                await self._snapshot()
            except NotFound:
                self.over_cli = True
            else:
                self.over_cli = False
        return self.over_cli

    async def _snapshot(self) -> Snapshot:
        """The inventory, parsed; ``Unparseable`` naming the fields seen when its shape is
        not the evidenced one."""
        method, path = API["snapshot"]
        data = self.http.json(await self.http.request(method, path), method, path)
        try:
            return parse_snapshot(data, {s: STORE_SERVICE[s] for s in self.stores},
                                  {r: ROLE_UNIT[r][0] for r in self.roles})
        except ShapeError as exc:
            raise Unparseable(self.endpoint.name, str(exc), method=method, path=path,
                              status=200) from None

    async def _identity(self, snap: Snapshot) -> str | None:
        """The tomcat identity certificate: from the inventory, else its own request."""
        if snap.identity is not None:
            return snap.identity
        method, path = API["identity.read"]
        try:
            response = await self.http.request(method, path, params={"service": "tomcat"})
        except NotFound:  # the snapshot answered, so the API exists: no tomcat identity
            return None
        data = self.http.json(response, method, path)
        pems = split_pems(str(data.get("certificate", "")) if isinstance(data, dict) else "")
        return pems[0] if pems else None

    async def read_store(self, store: str) -> tuple[str, ...]:
        """One trust store, one PEM per certificate (to check an upload took effect)."""
        if store not in self.stores:
            raise ValueError(f"unknown {self.endpoint.type} trust store {store!r}")
        if await self._uses_cli():
            async with self._cli_session() as shell:
                return (await cli_certs.read_trust(shell, [store]))[store]
        return await self._store(store, await self._snapshot())

    async def installed_certificate(self) -> str | None:
        """The installed tomcat identity certificate (PEM)."""
        if await self._uses_cli():
            async with self._cli_session() as shell:
                return await cli_certs.read_identity(shell)
        return await self._identity(await self._snapshot())

    async def _store(self, store: str, snap: Snapshot) -> tuple[str, ...]:
        """A trust store: from the inventory when it names the store, else its own list."""
        if store in snap.stores:
            return snap.stores[store]
        method, path = API["trust.list"]
        response = await self.http.request(method, path, params={"service": STORE_SERVICE[store]})
        entries = _entries(self.http.json(response, method, path))
        if entries is None:
            raise BadResponse(
                self.endpoint.name,
                f'the {store} list is neither a list nor {{"certificates": [...]}}',
                method=method,
                path=path,
                status=response.status_code,
            )
        return tuple(p for e in entries for p in split_pems(str(e.get("certificate", ""))))

    async def trust_add(self, store: str, pems: Sequence[str]) -> str:
        """Upload CA certificates, then read the store back and say what the node did: a CA
        named like one already trusted **replaces** it when newer and is **skipped**
        otherwise (CUCM 15 Security Guide [3P]), so "200 OK" does not mean "added"."""
        if store not in self.stores:
            raise ValueError(
                f"unknown {self.endpoint.type} trust store {store!r}: one of "
                f"{', '.join(self.stores)}"
            )
        if await self._uses_cli():
            async with self._cli_session() as shell:
                before = (await cli_certs.read_trust(shell, [store]))[store]
                await cli_certs.import_trust(shell, store, pems)
                after = (await cli_certs.read_trust(shell, [store]))[store]
            return upload_outcome(store, before, after, pems)
        before = await self.read_store(store)
        await self._call(
            "trust.add",
            json={
                "service": [STORE_SERVICE[store]],
                "certificates": list(pems),
                "description": "added by certops",
            },
        )
        return upload_outcome(store, before, await self.read_store(store), pems)

    async def csr_generate(
        self, sans: Sequence[str], subject: CsrSubjectSpec | None = None,
        *, distribution: str = "per-node", service: str = "tomcat",
    ) -> str:
        """Generate a tomcat CSR. ``subject`` is not sent: the certmgr CSR body has no
        evidenced subject fields besides ``commonName`` ([U], device-apis.md).
        ``distribution``: a key of ``DISTRIBUTION`` (the cluster's tomcat_identity).
        Over the CLI: ``set csr gen tomcat``, which takes no names (``_csr_over_cli``)."""
        if await self._uses_cli():
            return await self._csr_over_cli(sans, distribution)
        method, path = API["csr.generate"]
        body: dict[str, Any] = {
            "service": service,
            "distribution": DISTRIBUTION[distribution],
            "keyType": "rsa",
            "keyLength": 2048,
            "hashAlgorithm": "sha256",
            "altNames": list(sans),
        }
        if common_name := self._common_name(sans):
            body["commonName"] = common_name
        response = await self.http.request(method, path, retry=False, json=body)
        data = self.http.json(response, method, path)
        csr = data.get("csr") if isinstance(data, dict) else None
        if not isinstance(csr, str) or "CERTIFICATE REQUEST" not in csr:
            raise BadResponse(self.endpoint.name, "no CSR in the answer", method=method, path=path)
        return csr if csr.endswith("\n") else csr + "\n"

    async def _csr_over_cli(self, sans: Sequence[str], distribution: str,
                            unit: str = cli_certs.IDENTITY_UNIT) -> str:
        """``set csr gen tomcat`` and the CSR read back. The CLI takes no SAN list and no
        distribution [C: its syntax is the unit alone]: which names the node puts in is [U],
        so a CSR that lacks a wanted name is refused here, with the GUI step to do instead
        (the node's new CSR replaced its pending one, nothing else changed)."""
        typed = cli_certs.command("csr.gen", unit=unit)
        kind = kind_of(self.endpoint.type)
        role = self._role_units().get(unit.lower())
        profile = kind.role_table.roles.get(role or "")
        gui = (profile.manual_csr.format(sans=", ".join(sans)) if role and profile
               else kind.manual("csr.generate", sans=", ".join(sans)))
        if distribution != "per-node":
            raise PermanentError(self.endpoint.name, "the platform CLI has no multi-server "
                                 "(SAN) CSR", method="SSH", path=typed,
                                 hint=f"generate it in the GUI (Distribution: Multi-server "
                                 f"(SAN)): {gui}")
        async with self._cli_session() as shell:
            csr = await cli_certs.generate_csr(shell, unit)
        names = parse_csr(csr.encode()).san_set()
        if missing := sorted({s.lower() for s in sans} - names):
            raise PermanentError(self.endpoint.name, f"the CSR that '{typed}' made "
                                 f"lacks {', '.join(missing)} (the CLI takes no SAN list)",
                                 method="SSH", path=typed,
                                 hint=f"generate the CSR in the GUI instead: {gui}")
        return csr

    async def csr_read(self) -> str | None:
        """The pending tomcat CSR: readable over the CLI (``show csr own``), on a REST node
        too where its CLI is declared; otherwise None (the committed CSR stands for it)."""
        return await self._csr_over_cli_read(cli_certs.IDENTITY_UNIT)

    async def _csr_over_cli_read(self, unit: str) -> str | None:
        if not (self.cli_declared() or await self._uses_cli()):
            return None
        async with self._cli_session() as shell:
            return await cli_certs.read_csr(shell, unit)

    async def trust_remove(self, store: str, sha256: str) -> None:
        """``set cert delete`` of the file holding ``sha256`` (cluster-wide from 11.0 [C]);
        refused where the store has a CA of the same name. Not a capability until the
        command's argument is evidenced ([U]): the planner keeps ``trust.remove`` manual."""
        if not await self._uses_cli():
            raise PermanentError(self.endpoint.name, "no REST call deletes a trust "
                                 "certificate", hint="delete it with the CLI (see the plan)")
        async with self._cli_session() as shell:
            await cli_certs.delete_trust(shell, store, sha256)

    async def cert_regenerate(self, unit: str = "tomcat") -> None:
        """``set cert regen <unit>``: a new self-signed identity (CLI only)."""
        if not await self._uses_cli():
            raise PermanentError(self.endpoint.name, "regenerate is a CLI command here",
                                 hint=f"set cert regen {unit} at the admin: prompt")
        async with self._cli_session() as shell:
            await cli_certs.regenerate(shell, unit)

    async def csr_generate_multi_server(
        self, sans: Sequence[str], subject: CsrSubjectSpec | None = None
    ) -> str:
        """Generate the cluster's multi-server (SAN) tomcat CSR on the publisher."""
        return await self.csr_generate(sans, subject, distribution="multi-server")

    def _common_name(self, sans: Sequence[str]) -> str | None:
        """The node's FQDN: the name its certificate is verified against, else the URL's host
        (unless an IP address), else the first SAN; None lets the node choose."""
        ep = self.endpoint
        if ep.tls_server_name:
            return ep.tls_server_name
        if ep.host and ip_of(ep.host) is None:
            return ep.host
        return sans[0] if sans else None

    async def cert_install(self, leaf_pem: str, chain_pems: Sequence[str]) -> None:
        """CUCM takes the leaf with its chain; 400 while the issuing CA is not in tomcat-trust.
        Over the CLI the leaf alone is pasted (its CA is already in tomcat-trust)."""
        if await self._uses_cli():
            async with self._cli_session() as shell:
                await cli_certs.import_own(shell, leaf_pem)
            return
        await self._call(
            "identity.install",
            retry=False,
            json={"service": "tomcat", "certificates": [leaf_pem, *chain_pems]},
        )

    # --- other identities (drivers.RoleCertificates) ----------------------------------

    async def role_certificate(self, role: str) -> str | None:
        """The installed identity of ``role`` as the inventory lists it (over the CLI:
        ``show cert list own``, then ``show cert own`` of its file)."""
        if await self._uses_cli():
            async with self._cli_session() as shell:
                got = await cli_certs.read_identities(shell, {ROLE_UNIT[role][1].lower(): role})
            return got.get(role)
        return (await self._snapshot()).roles.get(role)

    async def role_csr_read(self, role: str) -> str | None:
        """``role``'s pending CSR over the CLI (``show csr own``) where the node's CLI is
        declared or is its transport; over REST alone there is no documented read: None
        (the planner holds a new CSR where one may be pending, ``csr.pending_unknown``)."""
        return await self._csr_over_cli_read(ROLE_UNIT[role][1])

    async def role_csr_generate(self, role: str, sans: Sequence[str],
                                subject: CsrSubjectSpec | None = None) -> str:
        """A CSR for ``role``: REST ``service`` value [U] (``ROLE_UNIT``); over the CLI
        ``set csr gen <unit>`` [C], which takes no names (checked as tomcat's is)."""
        if await self._uses_cli():
            return await self._csr_over_cli(sans, "per-node", ROLE_UNIT[role][1])
        return await self.csr_generate(sans, subject, service=ROLE_UNIT[role][0])

    async def role_install(self, role: str, leaf_pem: str, chain_pems: Sequence[str]) -> None:
        """Install ``role``'s identity with its chain (REST ``service`` value [U]); over the
        CLI ``set cert import own <unit>`` with the leaf pasted [C] (its CA is already in the
        role's trust store: the planner puts it there first)."""
        if await self._uses_cli():
            async with self._cli_session() as shell:
                await cli_certs.import_own(shell, leaf_pem, ROLE_UNIT[role][1])
            return
        await self._call("identity.install", retry=False,
                         json={"service": ROLE_UNIT[role][0],
                               "certificates": [leaf_pem, *chain_pems]})

    async def role_regenerate(self, role: str) -> None:
        """Regenerate ``role``'s self-signed identity: ``set cert regen <unit>`` in a CLI
        session through ``COMMANDS`` ("cert.regen") [C], on every release, judged by
        "Successfully regenerated certificate for <unit>" [C]; a refusal quotes the node."""
        async with self._cli_session() as shell:
            await cli_certs.regenerate(shell, ROLE_UNIT[role][1])

    def _over_soap(self, service: str) -> bool:
        """Whether ``service`` restarts through SOAP (else through the SSH CLI)."""
        return service not in CLI_ONLY

    async def restart_services(self, services: Sequence[str]) -> None:
        """Restart ``services``: SOAP for what SOAP restarts (then poll its status until
        Started), the SSH CLI for Tomcat and HAProxy (``[STARTED]``). Every name is checked
        against the node's own service list first: SOAP reports an unknown name as
        "Stopped", not as a fault [3P], so a typo would otherwise look like a dead service."""
        await self.check_known(services)
        soap = [s for s in services if self._over_soap(s)]
        if soap:
            await self._soap("soapDoControlServices", soap, control="Restart")
        for service in services:
            if not self._over_soap(service):
                await self._ssh(f"utils service restart {service}")
        if soap:
            await self._wait_started(soap)

    async def service_list(self) -> dict[str, str]:
        """Every service of the node and its status: ``soapGetServiceStatus`` with no names
        (the documented "all services" form [3P]); the CLI's list where SOAP is not used."""
        loop = asyncio.get_running_loop()
        return await self._status_with_backoff((), loop.time() + self.restart_timeout)

    async def check_known(self, services: Sequence[str]) -> dict[str, str]:
        """The node's service list (name -> status); ``PermanentError`` naming every one of
        ``services`` it does not list. Reads only (``certops doctor`` uses it too)."""
        known = await self.service_list()
        unknown = [s for s in services if s not in known]
        if unknown:
            method, path = self.SERVICE_LIST
            raise UnknownServices(
                self.endpoint.name,
                f"not in the node's service list, nothing restarted: {', '.join(unknown)} "
                f"(it has {', '.join(sorted(known)) or 'none'})",
                method=method, path=path,
                hint="check the service names in the kind's restart table",
            )
        return known

    async def _soap(
        self, op: str, services: Sequence[str], control: str | None = None
    ) -> ET.Element:
        """One ControlCenterServices call. No ``NodeName``: public clients found it
        unreliable [3P], and without it the node acts on itself."""
        items = "".join(f"<soap:item>{escape(s)}</soap:item>" for s in services)
        if control:
            body = (
                f"<soap:{op}><soap:ControlServiceRequest><soap:ControlType>{control}"
                f"</soap:ControlType><soap:ServiceList>{items}</soap:ServiceList>"
                f"</soap:ControlServiceRequest></soap:{op}>"
            )
        else:
            body = f"<soap:{op}><soap:ServiceStatus>{items}</soap:ServiceStatus></soap:{op}>"
        method, path = API["soap"]
        account = self._app_account(op)
        try:
            # A SOAP fault comes with status 500: read it to say what the node refused.
            response = await self.http.request(
                method,
                path,
                retry=control is None,
                expect=(200, 500),
                auth=account,
                content=SOAP_ENVELOPE.format(body=body).encode(),
                headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": op},
            )
        except AuthError as exc:
            raise AuthError(
                self.endpoint.name, f"SOAP {op} refused: {exc.detail}", method=method,
                path=path, status=exc.status,
                hint="check the application user named in app_credentials (SOAP service "
                "control does not take the OS administrator)",
            ) from None
        except PermanentError as exc:
            raise PermanentError(
                self.endpoint.name,
                f"SOAP {op} refused: {exc.detail}",
                method=method,
                path=path,
                status=exc.status,
            ) from None
        return self._soap_root(op, response)

    def _soap_root(self, op: str, response: httpx.Response) -> ET.Element:
        """The answer's XML; a fault is an error (``RateLimited`` for the rate fault)."""
        method, path = API["soap"]
        where: dict[str, Any] = {"method": method, "path": path, "status": response.status_code}
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError:
            raise BadResponse(self.endpoint.name, f"SOAP {op} answered no XML", **where) from None
        if (fault := _fault_text(root)) is not None:
            if RATE_FAULT in fault.lower():
                raise RateLimited(self.endpoint.name, f"SOAP {op}: {fault}", **where)
            raise PermanentError(self.endpoint.name, f"SOAP {op} refused: {fault}", **where)
        if response.status_code != 200:
            raise BadResponse(self.endpoint.name, f"SOAP {op} failed without a SOAP fault", **where)
        return root

    def _app_account(self, op: str) -> tuple[str, str]:
        """The application user, which ControlCenterServices takes (the REST API and the SSH
        CLI take the OS administrator) [3P]; never the OS administrator's password."""
        ep = self.endpoint
        if not ep.app_username or not ep.app_password:
            method, path = API["soap"]
            raise AuthError(
                ep.name, f"SOAP {op} needs the application user, not the OS administrator",
                method=method, path=path,
                hint="set the environment variables that app_credentials names in the node "
                "file (or pass an --inventory with app_username and app_password)",
            )
        return ep.app_username, ep.app_password

    async def service_status(self, services: Sequence[str]) -> dict[str, str]:
        """Service name -> status (``Started``, ``Stopped``...); no names: every service."""
        root = await self._soap("soapGetServiceStatus", services)
        out: dict[str, str] = {}
        for item in root.iter():
            if item.tag.rsplit("}", 1)[-1] != "item":
                continue
            name = status = None
            for child in item:
                tag = child.tag.rsplit("}", 1)[-1]
                if tag == "ServiceName":
                    name = (child.text or "").strip()
                elif tag == "ServiceStatus":
                    status = (child.text or "").strip()
            if name and status:
                out[name] = status
        return out

    async def _status_with_backoff(self, services: Sequence[str],
                                   deadline: float) -> dict[str, str]:
        """``service_status``, waiting out "Exceeded allowed rate" faults (doubling the wait
        up to ``MAX_RATE_BACKOFF``) until ``deadline``: the node asks to slow down [3P]."""
        loop = asyncio.get_running_loop()
        wait = max(self.poll_seconds, 0.01)
        while True:
            try:
                return await self.service_status(services)
            except RateLimited:
                if loop.time() + wait > deadline:
                    raise
            await asyncio.sleep(wait)
            wait = min(wait * 2, MAX_RATE_BACKOFF)

    async def _wait_started(self, services: Sequence[str]) -> None:
        """Poll until every service is Started; past ``restart_timeout`` a clear error."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.restart_timeout
        status: dict[str, str] = {}
        while True:
            try:
                status = await self._status_with_backoff(services, deadline)
            except TemporaryError:
                # The SOAP service lives in Tomcat: while it restarts, the node does not answer.
                status = {}
            if all(status.get(s) == "Started" for s in services):
                return
            if loop.time() > deadline:
                late = ", ".join(f"{s} ({status.get(s, 'no answer')})" for s in services
                                 if status.get(s) != "Started")
                raise TemporaryError(
                    self.endpoint.name,
                    f"services not Started {self.restart_timeout:.0f}s after the restart: "
                    f"{late}",
                )
            await asyncio.sleep(self.poll_seconds)

    async def _ssh(self, command: str) -> str:
        """Run a platform CLI command through the CLI runner and judge its output."""
        from reconciler.drivers.cucm_cli import cli_result, command_timeout

        timeout = min(command_timeout(command), self.restart_timeout)
        return cli_result(self.endpoint, command, await self.cli(command, timeout))

    async def _ssh_session(self, command: str, timeout: float) -> str:
        """The default CLI runner: an SSH session to the node (``cucm_cli``)."""
        from reconciler.drivers.cucm_cli import cli_output

        return await cli_output(
            self.endpoint,
            command,
            timeout=timeout,
            connect_timeout=self.http.settings.connect_timeout,
        )

    def _ssh_shell(self) -> AbstractAsyncContextManager[Any]:
        """The default shell opener: an interactive SSH session (``cucm_cli.ssh_shell``)."""
        from reconciler.drivers.cucm_cli import ssh_shell

        return ssh_shell(self.endpoint, self.http.settings.connect_timeout)

    async def cli_version(self) -> str:
        """``show version active`` over the SSH CLI as the OS administrator (reads only):
        the active version, or the output's first line when the version line is not there."""
        from reconciler.drivers.cucm_cli import active_version

        return active_version(await self._ssh("show version active"))

    async def served_certificate(self) -> str | None:
        """What the node serves now, through the probe (by default a TLS handshake)."""
        return await self.probe()

    async def _handshake(self) -> str | None:
        """The default probe: a TLS handshake on the API port."""
        return await handshake_certificate(self.endpoint, self.http.settings.connect_timeout)

    async def aclose(self) -> None:
        await self.http.aclose()


class VosCliDriver(CucmDriver):
    """A VOS product without evidenced SOAP service control (IM and Presence, Unity
    Connection: ControlCenterServices there is [U]): every restart goes over the SSH CLI,
    ``utils service restart <name>``, which returns once the service has started."""

    SERVICE_LIST = ("SSH", "utils service list")

    def _over_soap(self, service: str) -> bool:
        return False

    async def service_list(self) -> dict[str, str]:
        """Every service of the node and its status, from ``utils service list``."""
        from reconciler.drivers.cucm_cli import parse_service_list

        return parse_service_list(await self._ssh("utils service list"))
