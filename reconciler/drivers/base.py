"""The driver protocol: what certops needs from any node, and the settings to reach one."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.drivers.errors import Unreachable
from reconciler.drivers.http import NodeHttp, tls_context
from reconciler.model import CsrSubjectSpec, LiveNode


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to reach one node (from the node file, the inventory, the environment)."""

    name: str
    type: str
    api: str
    username: str | None
    password: str | None
    tls_verify: bool = True
    ssh_port: int | None = None
    ssh_host_key: str | None = None  # OpenSSH public key line; None: ~/.ssh/known_hosts
    tls_server_name: str | None = None  # name the API certificate must match, when not the URL's
    # From the node file's ``connection:`` block (all optional, additive):
    api_ca_pems: tuple[bytes, ...] = ()  # only these CAs authenticate the API (else cas/ + system)
    api_pins: tuple[str, ...] = ()  # "sha256:<hex>" of the API certificate: pins instead of CAs
    # (pin, the committed record it comes from): an expired API certificate certops may use
    # (drivers/tlsrecovery.py): the node's certificate file, certs/<node>.pem, recovery_pins.
    recovery_pins: tuple[tuple[str, str], ...] = ()
    proxy: str | None = field(default=None, repr=False)  # proxy URL (may hold credentials)
    connect_timeout: float | None = None
    read_timeout: float | None = None
    # VOS: the application user for SOAP service control (``username`` is the OS admin).
    app_username: str | None = None
    app_password: str | None = None
    # VOS: "auto" (REST, the CLI where REST answers 404), "rest" or "cli" (``connection:``).
    transport: str = "auto"

    @property
    def host(self) -> str:
        return urlsplit(self.api).hostname or ""

    @property
    def port(self) -> int:
        parts = urlsplit(self.api)
        return parts.port or (443 if parts.scheme == "https" else 80)

    def __repr__(self) -> str:  # never show the password, even in a traceback
        return f"Endpoint({self.name!r}, {self.type!r}, {self.api!r}, user={self.username!r})"


class Driver(Protocol):
    """What every driver does: read a node, add trust, generate a CSR, install a certificate.

    What only some products can do is a separate small protocol below (a driver offers it
    by having the method); the steps check for it and say what is missing otherwise.
    """

    endpoint: Endpoint
    capabilities: frozenset[str]

    async def read(self) -> LiveNode: ...
    async def read_store(self, store: str) -> tuple[str, ...]: ...
    # Returns what the node did, when the driver reads it back (e.g. CUCM: replaced/skipped).
    async def trust_add(self, store: str, pems: Sequence[str]) -> str | None: ...
    async def csr_generate(
        self, sans: Sequence[str], subject: CsrSubjectSpec | None = None
    ) -> str: ...
    async def installed_certificate(self) -> str | None: ...
    async def cert_install(self, leaf_pem: str, chain_pems: Sequence[str]) -> None: ...
    async def served_certificate(self) -> str | None: ...
    async def aclose(self) -> None: ...


@runtime_checkable
class PendingCsrReader(Protocol):
    """The node's pending CSR can be read (Expressway; a VOS node over the platform CLI,
    which then lists ``csr.read`` in its snapshot's capabilities; over REST it answers None)."""

    async def csr_read(self) -> str | None: ...


@runtime_checkable
class PendingCsrDiscarder(Protocol):
    """The node's pending CSR can be discarded over the API.

    Off until evidenced: no public source shows the Expressway DELETE working ([U] in
    device-apis.md), so no driver offers it today and the planner makes the discard a
    manual step (the GUI path). A driver that offers it lists ``csr.discard`` in its
    ``capabilities`` too; the step checks both.
    """

    async def csr_discard(self) -> None: ...


@runtime_checkable
class MultiServerCsrGenerator(Protocol):
    """A VOS publisher generates a cluster's multi-server (SAN) tomcat CSR (Unified CM)."""

    async def csr_generate_multi_server(
        self, sans: Sequence[str], subject: CsrSubjectSpec | None = None
    ) -> str: ...


@runtime_checkable
class RoleCertificates(Protocol):
    """Certificates of roles other than the kind's primary one (Expressway X15.5's client
    store): read, CSR, install. Which roles a node offers is in its ``LiveNode``
    (``capabilities`` ``cert.install:<role>``, ``csr.generate:<role>``)."""

    async def role_certificate(self, role: str) -> str | None: ...
    async def role_csr_read(self, role: str) -> str | None: ...
    async def role_csr_generate(
        self, role: str, sans: Sequence[str], subject: CsrSubjectSpec | None = None
    ) -> str: ...
    async def role_install(self, role: str, leaf_pem: str, chain_pems: Sequence[str]) -> None: ...


@runtime_checkable
class RoleRegenerator(Protocol):
    """A self-signed identity is regenerated on the node (VOS: ``set cert regen <unit>``)."""

    async def role_regenerate(self, role: str) -> None: ...


@runtime_checkable
class NodeRestarter(Protocol):
    """The whole node restarts to serve a new certificate (Expressway)."""

    async def restart(self) -> None: ...


@runtime_checkable
class CallCounter(Protocol):
    """The node's active calls and registrations can be read (Expressway: the status XML
    [3P]). Apart from ``NodeDrainer`` because it needs no maintenance-mode resource: a node
    drained by hand (``apply --drained``) still has its calls waited for."""

    async def active_calls(self) -> int: ...
    async def registrations(self) -> int: ...


@runtime_checkable
class NodeDrainer(CallCounter, Protocol):
    """The node can be drained before a restart (Expressway: maintenance mode, where the
    node's own API description lists it, and its active calls). A driver that can switch
    maintenance mode lists ``node.drain`` in its ``capabilities`` once it has read the node;
    ``drain_capable`` finds out if it has not yet."""

    async def drain_capable(self) -> bool: ...

    async def maintenance_mode(self) -> bool: ...
    async def set_maintenance_mode(self, on: bool) -> None: ...


@runtime_checkable
class ServiceRestarter(Protocol):
    """Named services restart (VOS: SOAP, or the SSH CLI for Cisco Tomcat)."""

    async def restart_services(self, services: Sequence[str]) -> None: ...


@runtime_checkable
class TrustRemover(Protocol):
    """One trusted CA, named by its certificate's SHA-256, can be removed from a store.

    No driver offers the capability yet (Expressway has no API to delete one CA;
    docs/architecture.md): the planner makes ``trust.remove`` a manual step on nodes without
    it. The VOS driver has the method over the platform CLI (``set cert delete``, refusing
    same-name files) but does not list the capability while the command's argument is [U].
    """

    async def trust_remove(self, store: str, sha256: str) -> None: ...


async def gather_or_cancel(*aws: Awaitable[Any]) -> list[Any]:
    """Like ``asyncio.gather``, but the first failure cancels the others before it is raised.

    A read that has already failed must not leave requests running (and retrying) against
    the node, nor raise their errors later as "exception was never retrieved".
    """
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


async def handshake_certificate(endpoint: Endpoint, timeout: float = 10.0) -> str:
    """The certificate the node presents in a TLS handshake on its API port, as PEM.

    Verification is off for this one read: the point is to see what is served, whoever
    signed it. Requests that send credentials always verify (``http.NodeHttp``).
    """
    ctx = tls_context([], verify=False)
    server_name = endpoint.tls_server_name or endpoint.host or None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(
                endpoint.host, endpoint.port, ssl=ctx, server_hostname=server_name
            ),
            timeout,
        )
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        raise Unreachable(
            endpoint.name,
            f"TLS handshake on port {endpoint.port} failed: {exc or type(exc).__name__}",
        ) from None
    try:
        sslobj = writer.get_extra_info("ssl_object")
        der = sslobj.getpeercert(binary_form=True) if sslobj else None
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    del reader
    if not der:
        raise Unreachable(endpoint.name, "the TLS handshake showed no certificate")
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()


def session_certificate(http: NodeHttp) -> str | None:
    """The certificate the node presented on the API connection (PEM), if one was made."""
    der = http.peer_certificate
    if not der:
        return None
    return x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM).decode()
