"""One emulated node at run time: its state, persistence, counters, faults and restarts.

The product apps (``expressway``, ``cucm``, ``soap``, ``ssh``) change a ``Node``; the
server gives it a ``Listener`` (its HTTPS socket). A restart stops the listener (closing
the listening socket, so clients get "connection refused"), waits ``restart_seconds``,
switches the served certificate to the installed one, clears the restart flags and
listens again on the same port. Restarts that take the port down (the node's, Cisco
Tomcat's) run one at a time: a second one asked for while the first runs waits for it,
as a real node takes one restart request after the other, so the node never ends up with
two listeners or on another port. With a ``restart_hang`` fault the node stays down until
the fault is cleared. A restart drops the calls on the node (``lab.calls``: an Expressway's
reboot, a Unified CM node's Cisco CallManager restart) and switches an Expressway's
maintenance mode off; a CA uploaded to a VOS store takes effect with the restart of the
service that reads the store (``pending_trust``), which the timeline's invariant uses.
Without a listener (in-process, ``httpx.ASGITransport``) the same steps run, minus the
socket.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Iterable
from typing import Any, Protocol

from cryptography import x509

from reconciler.lab.availability import PEER_STORES, Sample, Timeline
from reconciler.lab.ca import LabPki, cert_pem, load_certs, sha256_hex
from reconciler.lab.calls import CallBook
from reconciler.lab.eku import ekus, has_client_store
from reconciler.lab.faults import FaultHost
from reconciler.lab.files import LabPaths, atomic_write
from reconciler.lab.state import Identity, NodeState, TrustEntry, save_node

# CUCM services restarted through the SSH CLI only; the SOAP interface refuses them [C].
CLI_ONLY_SERVICES = ("Cisco Tomcat", "Cisco DB")
# Services whose restart takes the HTTPS port (8443) down.
WEB_SERVICES = ("Cisco Tomcat",)
# The Unified CM service the phones register to: its restart drops their calls [issue 21].
CALL_SERVICE = "Cisco CallManager"


class Listener(Protocol):
    """The node's network presence, provided by the server."""

    async def stop(self) -> None: ...

    async def start(self) -> None: ...


class Node:
    """A running emulated node (see the module docstring)."""

    def __init__(
        self, state: NodeState, paths: LabPaths, pki: LabPki, builtins: list[TrustEntry],
        *, password: str, username: str = "admin", persist: bool = True,
        app_username: str = "ccmadmin", app_password: str = "",
    ) -> None:
        self.state = state
        self.paths = paths
        self.pki = pki
        self.builtins = builtins
        self.username = username
        self.password = password
        # VOS: the application user, the only account SOAP service control takes [3P].
        self.app_username = app_username
        self.app_password = app_password
        self.persist = persist
        self.faults = FaultHost(state.faults, self.save)
        self.listener: Listener | None = None
        self.down = False
        self.service_status: dict[str, str] = {}
        self.ssh_commands: list[str] = []
        self.soap_status_times: list[float] = []  # for the SOAP rate limit
        self._tasks: set[asyncio.Task[None]] = set()
        self.restarting: set[str] = set()  # services restarting now
        # Clusters (set by the lab): the other members, and the publisher's name.
        self.cluster: list[Node] = []
        self.publisher: str | None = None
        self.replication_seconds = 0.0
        self.timeline: Timeline | None = None
        self.calls: CallBook | None = None  # the lab's calls (set by the lab)
        self._facts: tuple[str, tuple[str, str, str, frozenset[str]]] | None = None
        self._validity_of: dict[str, tuple[float, float]] = {}
        self._restarting: asyncio.Lock | None = None

    @property
    def name(self) -> str:
        return self.state.name

    def save(self) -> None:
        if self.persist:
            save_node(self.paths, self.state)
        self.observe()

    # ------------------------------------------------------------ availability

    @property
    def up(self) -> bool:
        """The HTTPS port answers and no service is restarting."""
        return not self.down and not self.restarting

    @property
    def takes_calls(self) -> bool:
        """New calls may land here: an Expressway up and not in maintenance mode; a VOS
        node whose Cisco CallManager is not restarting."""
        if self.state.is_vos:
            return CALL_SERVICE not in self.restarting
        return not self.down and not self.state.maintenance

    def _calls_to_now(self) -> None:
        """Route the calls that arrived up to now by the state before a change (lab.calls)."""
        if self.calls is not None:
            self.calls.advance()

    def drop_calls(self) -> int:
        """A restart ends every call on the node: how many were dropped."""
        return self.calls.drop(self.name) if self.calls is not None else 0

    def set_maintenance(self, on: bool) -> None:
        """Expressway maintenance mode: new calls go to the peers, calls on it run on."""
        self._calls_to_now()
        self.state.maintenance = on
        self.save()
        self.observe("maintenance mode " + ("on" if on else "off"))

    def observe(self, why: str = "", dropped: int = 0) -> None:
        """Record a sample of this node in the lab's timeline (see ``availability``)."""
        if self.timeline is None:
            return
        sha, subject, issuer, chain = self._served_facts(self.state.served.cert_pem)
        client = self._client_facts()
        not_before, not_after = self._validity(self.state.served.cert_pem)
        self.timeline.add(Sample(
            t=time.monotonic(), wall=time.time(), served_not_before=not_before,
            served_not_after=not_after, node=self.name, up=self.up, served_sha=sha,
            served_subject=subject, served_issuer=issuer, chain_shas=chain,
            trusted_shas=frozenset(self._peer_trust()), why=why,
            node_type=self.state.type, version=self.state.version,
            maintenance=self.state.maintenance, dropped=dropped, **client,
            phones_lost=self.state.phones_lost, **self._sip_facts()))

    def _sip_facts(self) -> dict[str, Any]:
        """The CallManager identity SIP TLS presents (Unified CM): its SHA-256 and what a
        peer must trust for it (its CAs; a self-signed one: itself)."""
        identity = self.state.sip_served
        if identity is None:
            return {}
        sha, subject, issuer, chain = self._leaf_facts(identity.cert_pem, identity.chain_pems)
        return {"sip_sha": sha, "sip_chain_shas": chain | ({sha} if subject == issuer else set()),
                "sip_not_after": self._validity(identity.cert_pem)[1]}

    def _validity(self, pem: str) -> tuple[float, float]:
        """notBefore and notAfter of a leaf, in epoch seconds (parsed once per PEM)."""
        if pem not in self._validity_of:
            if len(self._validity_of) > 8:  # the served, client and SIP leaves, and renewals
                self._validity_of.clear()
            leaf = x509.load_pem_x509_certificate(pem.encode())
            self._validity_of[pem] = (leaf.not_valid_before_utc.timestamp(),
                                      leaf.not_valid_after_utc.timestamp())
        return self._validity_of[pem]

    def _client_facts(self) -> dict[str, Any]:
        """What the node presents when it connects out (X15.5: its client certificate, else
        the served one; a VOS node its tomcat identity [U: the lab's simplification]), and
        the EKUs of it and of the served certificate."""
        client = self.state.client if has_client_store(self.state.version) else None
        identity = client or self.state.served
        pem = identity.cert_pem
        if identity is self.state.served:
            sha, _subject, _issuer, chain = self._served_facts(pem)
        else:
            sha, _subject, _issuer, chain = self._leaf_facts(pem, identity.chain_pems)
        return {
            "client_sha": sha, "client_chain_shas": chain,
            "client_not_after": self._validity(pem)[1],
            "client_eku": tuple(sorted(_ekus_of(pem))),
            "served_eku": tuple(sorted(_ekus_of(self.state.served.cert_pem))),
            "settings": tuple(sorted(self.state.settings.items())),
        }

    def _served_facts(self, pem: str) -> tuple[str, str, str, frozenset[str]]:
        """SHA-256, subject, issuer and CA chain of a served leaf (parsed once per PEM:
        every save samples the node)."""
        if self._facts is None or self._facts[0] != pem:
            self._facts = (pem, self._leaf_facts(pem, self.state.served.chain_pems))
        return self._facts[1]

    def _leaf_facts(self, pem: str, chain_pems: Iterable[str],
                    ) -> tuple[str, str, str, frozenset[str]]:
        """SHA-256, subject, issuer, and the CAs above the leaf: the lab's, and those the
        node sends after it (a CA outside the lab, such as a test issuer's)."""
        leaf = load_certs(pem)[0]
        above = {sha256_hex(c) for c in self._lab_chain(leaf)}
        above |= {sha for chain_pem in chain_pems for sha in _pem_shas(chain_pem)}
        return (sha256_hex(leaf), leaf.subject.rfc4514_string(), leaf.issuer.rfc4514_string(),
                frozenset(above))

    def _lab_chain(self, leaf: x509.Certificate) -> list[x509.Certificate]:
        """The lab CAs above ``leaf`` (what a peer may anchor on)."""
        pool = self.pki.all_cas()
        chain: list[x509.Certificate] = []
        current = leaf
        while (issuer := next((c for c in pool if c.subject == current.issuer
                               and c not in chain and _signed_by(current, c)), None)):
            chain.append(issuer)
            if issuer.subject == issuer.issuer:
                break
            current = issuer
        return chain

    def _peer_trust(self) -> list[str]:
        """The CAs that authenticate peers now: on VOS, a CA uploaded to a store counts only
        once the service that reads the store has restarted since (``pending_trust``)."""
        shas = [sha for pem in self.state.trusted_cas for sha in _pem_shas(pem)]
        pending = self.state.pending_trust
        for store in PEER_STORES:
            shas.extend(e.sha256 for e in self.state.trust.get(store, [])
                        if f"{store}:{e.sha256}" not in pending)
        return shas

    def trust_uploaded(self, store: str, sha256: str, readers: tuple[str, ...]) -> None:
        """A CA entered ``store``: not effective until the first of ``readers`` restarts."""
        if readers:
            self.state.pending_trust[f"{store}:{sha256}"] = readers[0]

    def _trust_effective(self, service: str) -> None:
        pending = self.state.pending_trust
        for key in [k for k, v in pending.items() if v == service]:
            del pending[key]

    # ------------------------------------------------------------ TLS material

    def tls_pem(self) -> str:
        """Key, leaf and chain that the HTTPS port presents (one file for SSLContext)."""
        s = self.state.served
        return s.key_pem + s.cert_pem + "".join(s.chain_pems)

    def write_tls(self) -> None:
        atomic_write(self.paths.tls_file(self.name), self.tls_pem(), private=True)

    def known_cas(self) -> list[x509.Certificate]:
        cas = list(self.pki.all_cas())
        for pem in self.state.trusted_cas:
            cas.extend(load_certs(pem))
        for entries in self.state.trust.values():
            cas.extend(load_certs(e.pem)[0] for e in entries)
        return cas

    def chain_for(
        self, leaf: x509.Certificate, extra: Iterable[x509.Certificate] = ()
    ) -> list[str]:
        """The issuers of ``leaf`` that the node knows (lab CAs, its trust), leaf excluded."""
        pool = [*extra, *self.known_cas()]
        chain: list[str] = []
        current = leaf
        for _ in range(5):
            if current.issuer == current.subject:
                break
            issuer = next((c for c in pool if c.subject == current.issuer
                           and _signed_by(current, c)), None)
            if issuer is None:
                break
            chain.append(cert_pem(issuer))
            current = issuer
        return chain

    # ------------------------------------------------------------ restarts

    def spawn(self, coro: object) -> asyncio.Task[None]:
        assert asyncio.iscoroutine(coro)
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def wait_idle(self) -> None:
        """Wait for running restarts (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _go_down(self) -> None:
        self._calls_to_now()
        self.down = True
        self.observe("restarting")
        if self.listener is not None:
            await self.listener.stop()

    async def _come_back(self) -> None:
        while self.faults.restart_hangs():  # "a restart that never comes back"
            await asyncio.sleep(0.1)
        if self.listener is not None:
            self.write_tls()
            await self.listener.start()
        self._calls_to_now()
        self.down = False
        self.observe("back")

    def restart_lock(self) -> asyncio.Lock:
        """Serialises the restarts that take the port down (made in the running loop)."""
        if self._restarting is None:
            self._restarting = asyncio.Lock()
        return self._restarting

    async def restart_node(self, delay: float = 0.05) -> None:
        """The Expressway restart: down for ``restart_seconds``, then serve the new cert;
        after any restart already running (see the module docstring)."""
        await asyncio.sleep(delay)  # let the 200 answer leave first
        async with self.restart_lock():
            await self._restart_node()

    async def _restart_node(self) -> None:
        dropped = self.drop_calls()  # the reboot ends every call on the node [C]
        self.state.maintenance = False  # maintenance mode does not survive a restart [C]
        if dropped:
            self.observe(f"restart dropped {dropped} call(s)", dropped=dropped)
        await self._go_down()
        await asyncio.sleep(self.state.restart_seconds)
        if self.state.server is not None:
            self.state.served = self.state.server.model_copy(deep=True)
        self.state.restart_required = False
        self.save()
        await self._come_back()

    async def restart_service(self, service: str, delay: float = 0.0) -> None:
        """Restart one CUCM service; Cisco Tomcat takes the HTTPS port down meanwhile (one
        such restart at a time)."""
        await asyncio.sleep(delay)
        if service not in WEB_SERVICES:
            await self._restart_service(service)
            return
        async with self.restart_lock():
            await self._restart_service(service)

    async def _restart_service(self, service: str) -> None:
        self.service_status[service] = "Stopping"
        self._calls_to_now()
        # A Cisco CallManager restart drops no active call: call preservation keeps the
        # media between the phones (no mid-call features) and a phone re-homes to the next
        # node of its CM group after the call [C: UCCE SRND 8.5; CallManager System Guide,
        # no failover during a call]. New calls go to that node meanwhile (takes_calls).
        self.restarting.add(service)
        self.observe(f"restarting {service}")
        web = service in WEB_SERVICES
        if web:
            await self._go_down()
        self.service_status[service] = "Starting"
        await asyncio.sleep(self.state.restart_seconds)
        while not web and self.faults.restart_hangs():  # a service that never starts
            await asyncio.sleep(0.05)
        if web and "tomcat" in self.state.identities:
            self.state.served = self.state.identities["tomcat"].model_copy(deep=True)
        from reconciler.lab.phones import after_restart  # phones builds on this module

        after_restart(self, service)
        if service in self.state.restart_pending:
            self.state.restart_pending.remove(service)
        self._trust_effective(service)
        self.save()
        if web:
            await self._come_back()
        self.service_status[service] = "Started"
        self._calls_to_now()
        self.restarting.discard(service)
        self.observe(f"{service} started")

    def mark_restart_pending(self, services: Iterable[str]) -> None:
        for service in services:
            if service not in self.state.restart_pending:
                self.state.restart_pending.append(service)

    def identity_with_chain(self, leaf: x509.Certificate, key_pem: str,
                            given: Iterable[x509.Certificate] = ()) -> Identity:
        return Identity(cert_pem=cert_pem(leaf), key_pem=key_pem,
                        chain_pems=self.chain_for(leaf, given))


@functools.lru_cache(maxsize=4096)
def _ekus_of(pem: str) -> frozenset[str]:
    return frozenset(ekus(load_certs(pem)[0]))


@functools.lru_cache(maxsize=4096)
def _pem_shas(pem: str) -> tuple[str, ...]:
    return tuple(sha256_hex(c) for c in load_certs(pem))


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except Exception:  # wrong key type, bad signature...: not this issuer
        return False
    return True
