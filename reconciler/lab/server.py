"""The running lab: every emulated node on its own loopback HTTPS port, in one asyncio loop.

Each node gets a ``uvicorn.Server`` bound to its own socket (127.0.0.1, a free port, TLS
with the node's *served* key and chain). Only ``Server.startup`` is used, never its
``main_loop``: 500 idle servers then cost nothing. A restart closes the listening socket
(clients get "connection refused") and opens a new one on the same port.

``Lab`` is the async API; ``LabThread`` runs a ``Lab`` in a background thread for tests
and offers synchronous helpers (faults, counters). The control endpoint (``control``)
lets other processes set faults, read counters and stop the lab.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from starlette.types import ASGIApp

from reconciler.lab.availability import ClusterRule, Timeline
from reconciler.lab.ca import (
    load_certs,
    load_or_create_builtins,
    load_or_create_pki,
    sha256_hex,
)
from reconciler.lab.calls import CallBook
from reconciler.lab.cucm import vos_app
from reconciler.lab.expressway import expressway_app
from reconciler.lab.faults import Fault
from reconciler.lab.files import LabPaths
from reconciler.lab.node import CALL_SERVICE, Node
from reconciler.lab.sip import SipTls
from reconciler.lab.state import TrustEntry, load_node, load_settings
from reconciler.lab.topology import (
    Topology,
    example_topology,
    seed_node,
    synthetic_topology,
    with_cucm_version,
)
from reconciler.lab.vos_products import VOS_PRODUCTS

T = TypeVar("T")
HOST = "127.0.0.1"


def bind(port: int, *, same_port: bool = False) -> socket.socket:
    """A listening-ready socket on loopback: ``port`` when free, else any free port (with
    ``same_port``, ``port`` or an OSError: a restarted node never moves)."""
    for candidate in ([port] if same_port else [port, 0] if port else [0]):
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when
        # the listening socket says TCP. Without it Nagle holds each response body until the
        # client's delayed ACK, about 40 ms a request, and the lab, not certops, sets the pace.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)

        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, candidate))
        except OSError:
            sock.close()
            continue
        sock.setblocking(False)
        return sock
    raise OSError(f"cannot bind {HOST}:{port}")


def server_for(app: ASGIApp, ssl_context: ssl.SSLContext | None) -> uvicorn.Server:
    config = uvicorn.Config(app, host=HOST, port=0, lifespan="off", log_config=None,
                            access_log=False, proxy_headers=False, server_header=False,
                            log_level="critical", timeout_keep_alive=5)
    config.load()
    config.ssl = ssl_context
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    return server


class HttpsListener:
    """A node's HTTPS port: started, stopped (connection refused) and restarted in place."""

    def __init__(self, node: Node, app: ASGIApp, port: int = 0) -> None:
        self.node = node
        self.app = app
        self.port = port
        self.server: uvicorn.Server | None = None
        self.started = False  # it had a port: a restart keeps it

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.node.paths.tls_file(self.node.name))
        return ctx

    async def start(self) -> None:
        """Listen (again): on the port it had, once it has one; never a second listener."""
        if self.server is not None:
            return
        sock = await self._bind()
        self.started = True
        self.port = sock.getsockname()[1]
        self.server = server_for(self.app, self._context())
        await self.server.startup(sockets=[sock])

    async def _bind(self) -> socket.socket:
        """The node's port; after a restart, the same one, once the old socket is closed."""
        for _ in range(100):
            try:
                return bind(self.port, same_port=self.started)
            except OSError:
                await asyncio.sleep(0.02)
        return bind(self.port, same_port=self.started)

    async def stop(self) -> None:
        server, self.server = self.server, None
        if server is None:
            return
        for srv in server.servers:
            srv.close()  # closes the listening socket: new connections are refused
        for conn in list(server.server_state.connections):
            transport = getattr(conn, "transport", None)
            if transport is not None:
                transport.abort()  # a rebooting box drops its connections too
        await asyncio.sleep(0)
        await _cancel(list(server.server_state.tasks))  # requests still in the app


async def _cancel(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until they are done, so that none is left pending when the
    loop closes ("Task was destroyed but it is pending!")."""
    tasks = [t for t in tasks if not t.done() and t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=5)


@dataclass
class LabOptions:
    """How to build the lab: a topology or a synthetic fleet, and overrides."""

    topology: Topology | None = None
    nodes: int | None = None
    restart_seconds: float | None = None
    latency_ms: int | None = None
    builtin_cas: int | None = None
    ssh: bool = True
    cucm_version: str | None = None  # every Unified CM node at this release (12.5: CLI only)


class Lab:
    """A lab directory's nodes, served on loopback (see the module docstring)."""

    def __init__(self, directory: Path | str, options: LabOptions | None = None) -> None:
        self.paths = LabPaths(Path(directory))
        self.options = options or LabOptions()
        self.nodes: dict[str, Node] = {}
        self.listeners: dict[str, HttpsListener] = {}
        self.ssh_ports: dict[str, int] = {}
        self._ssh: list[Any] = []
        self._sip: list[SipTls] = []
        self.control_url = ""
        self.control_server: uvicorn.Server | None = None
        self.stopped = asyncio.Event()
        self.timeline = Timeline()
        self.clusters: list[ClusterRule] = []
        self.links: dict[str, set[str]] = {}
        self.calls: CallBook | None = None

    def topology(self) -> Topology:
        o = self.options
        topo = o.topology or (synthetic_topology(o.nodes) if o.nodes else example_topology())
        updates: dict[str, Any] = {}
        if o.restart_seconds is not None:
            updates["restart_seconds"] = o.restart_seconds
        if o.builtin_cas is not None:
            updates["builtin_cas"] = o.builtin_cas
        if o.latency_ms is not None:
            updates["latency_ms"] = o.latency_ms
        if updates:
            topo = topo.model_copy(update={"defaults": topo.defaults.model_copy(update=updates)})
        if o.cucm_version:
            topo = with_cucm_version(topo, o.cucm_version)
        return topo

    def build(self) -> None:
        """Load or seed every node (no networking): state survives lab restarts."""
        topo = self.topology()
        settings = load_settings(self.paths)
        pki = load_or_create_pki(self.paths.ca)
        pool_size = max([topo.defaults.builtin_cas,
                         *(n.builtin_cas or 0 for n in topo.nodes)])
        builtins = [TrustEntry.of(p, "Cisco built-in (lab)")
                    for p in load_or_create_builtins(self.paths.ca, pool_size)]
        for spec in topo.nodes:
            state = load_node(self.paths, spec.name)
            if state is None:
                state = seed_node(spec, topo.defaults, pki)
            if self.options.restart_seconds is not None:
                state.restart_seconds = self.options.restart_seconds
            if topo.defaults.latency_ms and not any(
                f.match == "*" and f.latency_ms == topo.defaults.latency_ms for f in state.faults
            ):
                state.faults.append(Fault(match="*", latency_ms=topo.defaults.latency_ms))
            node = Node(state, self.paths, pki, builtins,
                        username=settings.username, password=settings.password,
                        app_username=settings.app_username,
                        app_password=settings.app_password)
            node.timeline = self.timeline
            node.save()
            node.write_tls()
            self.nodes[spec.name] = node
        self._wire_clusters(topo)
        self._wire_calls(topo)

    def _wire_clusters(self, topo: Topology) -> None:
        """Each member knows the others (replication) and the publisher; the invariant's
        rules and links come from the topology."""
        self.links = topo.linked()
        for name, cluster in topo.clusters.items():
            self.clusters.append(ClusterRule(name, tuple(cluster.members),
                                             cluster.max_unavailable))
            members = [self.nodes[m] for m in cluster.members if m in self.nodes]
            for node in members:
                node.cluster = [m for m in members if m is not node]
                node.publisher = cluster.publisher
                node.replication_seconds = cluster.replication_seconds
                node.state.security_mode = cluster.security_mode

    def _wire_calls(self, topo: Topology) -> None:
        """One book of calls for the whole lab (``lab.calls``): a node's calls may go to the
        other members of its cluster."""
        peers = {m: [o for o in c.members if o != m]
                 for c in topo.clusters.values() for m in c.members}
        nodes = self.nodes
        self.calls = CallBook(topo.call_profiles(), peers,
                              lambda n: n in nodes and nodes[n].takes_calls, seed=topo.seed)
        for node in nodes.values():
            node.calls = self.calls

    def maintenance(self, name: str, on: bool) -> str:
        """A person at an Expressway's GUI: Maintenance > Maintenance mode: On (or Off) >
        Save, whether or not the node's API lists the resource (``apply --drained``)."""
        node = self.nodes[name]
        if node.state.is_vos:
            raise ValueError(f"{name} is a Unified CM node: it has no maintenance mode")
        node.set_maintenance(on)
        return f"{name}: maintenance mode {'on' if on else 'off'}"

    def restart(self, name: str, service: str | None = None) -> str:
        """An unplanned restart, without warning: an Expressway reboots (its calls drop);
        on a VOS node ``service`` (default Cisco CallManager) restarts. What restarts."""
        node = self.nodes[name]
        if not node.state.is_vos:
            node.spawn(node.restart_node(delay=0))
            return f"{name} restarting"
        chosen = service or CALL_SERVICE
        node.spawn(node.restart_service(chosen))
        return f"{chosen} on {name} restarting"

    async def start(self) -> None:
        """Build the nodes and open every port."""
        from reconciler.lab import control, inventory, ssh

        self.build()
        host_key = None
        if self.options.ssh:
            host_key = ssh.load_or_create_host_key(self.paths.ssh_host_key)
        for name, node in self.nodes.items():
            product = VOS_PRODUCTS.get(node.state.type)
            app = vos_app(node, product) if product else expressway_app(node)
            listener = HttpsListener(node, app, node.state.api_port)
            await listener.start()
            node.listener = listener
            self.listeners[name] = listener
            node.state.api_port = listener.port
            if node.state.sip_served is not None:  # Unified CM: SIP TLS (lab.sip)
                sip = SipTls(node)
                node.state.sip_port = await sip.start(node.state.sip_port)
                self._sip.append(sip)
            if product is not None and host_key is not None:
                acceptor, port = await ssh.start_ssh(node, host_key, node.state.ssh_port,
                                                     product.cli_services)
                self._ssh.append(acceptor)
                self.ssh_ports[name] = node.state.ssh_port = port
            node.save()
        self.control_url = await control.start_control(self)
        inventory.write_inventory(self)

    async def stop(self) -> None:
        from reconciler.lab import control

        for node in self.nodes.values():
            for task in list(node._tasks):
                task.cancel()
        for listener in self.listeners.values():
            await listener.stop()
        for acceptor in self._ssh:
            acceptor.close()
        for sip in self._sip:
            await sip.stop()
        await control.stop_control(self)
        self.stopped.set()

    def url(self, name: str) -> str:
        return f"https://{HOST}:{self.listeners[name].port}"

    # ------------------------------------------------------------ faults and counters

    def set_fault(self, name: str, fault: Fault) -> None:
        node = self.nodes[name]
        node.state.faults.append(fault)
        node.save()

    def clear_faults(self, name: str) -> None:
        node = self.nodes[name]
        node.state.faults.clear()
        node.save()

    # ------------------------------------------------------------ a person's hand

    def remove_ca_by_hand(self, name: str, sha256: str) -> int:
        """What an administrator deleting a trusted CA in the GUI does (the soak's fault):
        every entry of ``sha256`` leaves the node's trust stores; returns how many left."""
        node = self.nodes[name]
        state = node.state
        before = len(state.trusted_cas) + sum(len(v) for v in state.trust.values())
        state.trusted_cas = [p for p in state.trusted_cas
                             if sha256_hex(load_certs(p)[0]) != sha256]
        state.trust = {store: [e for e in entries if e.sha256 != sha256]
                       for store, entries in state.trust.items()}
        removed = before - len(state.trusted_cas) - sum(len(v) for v in state.trust.values())
        node.save()
        return removed

    def counters(self, name: str) -> dict[str, int]:
        """Requests by method (``GET``, ``POST``...), ``non_get``, ``writes`` (non-GETs but
        the read-only SOAP status queries), ``total`` and ``SSH``."""
        return {"GET": 0, "non_get": 0, "writes": 0, "total": 0, "SSH": 0,
                **self.nodes[name].faults.counters}

    def reset_counters(self) -> None:
        for node in self.nodes.values():
            node.faults.counters.clear()


async def _cancel_all() -> None:
    """Every other task of the running loop (a node's restart, an SSH session...)."""
    await _cancel(list(asyncio.all_tasks()))


class LabThread:
    """A ``Lab`` running in a background thread's event loop; a context manager."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="certops-lab")

    def __enter__(self) -> LabThread:
        self._thread.start()
        try:
            self.run(self.lab.start())
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(Exception):
                self.run(self.lab.stop(), timeout=10)
            with contextlib.suppress(Exception):  # the loop is the lab's: nothing left pending
                self.run(_cancel_all(), timeout=10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=10)
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 120) -> T:
        """Run a coroutine in the lab's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Any, *args: Any) -> Any:
        async def call() -> Any:
            return fn(*args)

        return self.run(call())

    # Synchronous helpers for tests.
    def url(self, name: str) -> str:
        return self.lab.url(name)

    def node(self, name: str) -> Node:
        return self.lab.nodes[name]

    def set_fault(self, name: str, fault: Fault) -> None:
        self.call(self.lab.set_fault, name, fault)

    def clear_faults(self, name: str) -> None:
        self.call(self.lab.clear_faults, name)

    def counters(self, name: str) -> dict[str, int]:
        result: dict[str, int] = self.call(self.lab.counters, name)
        return result

    def reset_counters(self) -> None:
        self.call(self.lab.reset_counters)

    def restart(self, name: str, service: str | None = None) -> str:
        result: str = self.call(self.lab.restart, name, service)
        return result

    def maintenance(self, name: str, on: bool) -> str:
        result: str = self.call(self.lab.maintenance, name, on)
        return result

    def wait_idle(self, name: str, timeout: float = 30) -> None:
        """Wait until the node's restarts are over."""
        self.run(self.lab.nodes[name].wait_idle(), timeout)


def start_lab(directory: Path | str, **options: Any) -> LabThread:
    """``with start_lab(tmp_path, restart_seconds=0.2) as lab: ...`` — the lab in a thread."""
    return LabThread(Lab(directory, LabOptions(**options)))
