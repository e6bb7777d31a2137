"""The lab without sockets: emulated nodes in this event loop, reached through a DriverFactory.

For fast tests of the drivers, the steps and the executor. ``InProcessLab.start`` builds the
lab's nodes from a topology (the example fleet: expe1, expc1, cucm-pub) in a directory, as
``certops lab up`` would, and opens no port. Per node it offers what the drivers' seams
take (``reconciler.drivers.seams``):

- an httpx transport over the node's starlette app that behaves like the node's socket:
  refused while the node is down (restarting), a dropped connection as a protocol error,
  the client's read timeout enforced;
- a TLS probe: the certificate the node serves now, or ``Unreachable`` while it is down;
- a CLI runner: the lab's platform CLI commands (``platform_cli.run_command``), as the
  SSH server runs them, and a CLI shell (``pipe_shell``): a whole interactive session.

Restarts behave as in the lab: the node is down for ``restart_seconds``, then serves the
installed certificate; a ``restart_hang`` fault keeps it down until cleared::

    async with InProcessLab.start(tmp_path / "lab") as lab:
        drivers = lab.drivers(desired, ["expe1", "expc1", "cucm-pub"])
        # or: make_drivers(desired, names, lab.inventory, {}, factory=lab.factory)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from starlette.types import ASGIApp

from reconciler.drivers import Driver, HttpSettings, TemporaryError, Unreachable
from reconciler.drivers.cucm import CucmDriver
from reconciler.drivers.fleet import Inventory, InventoryEntry, close_all, make_drivers
from reconciler.drivers.seams import CliRunner, DriverFactory, Probe
from reconciler.lab.ca import cert_pem, load_or_create_pki
from reconciler.lab.cucm import vos_app
from reconciler.lab.expressway import expressway_app
from reconciler.lab.faults import DroppedConnection, Fault
from reconciler.lab.node import Node
from reconciler.lab.pipe_shell import shell_opener
from reconciler.lab.platform_cli import run_command
from reconciler.lab.server import Lab, LabOptions
from reconciler.lab.topology import Topology
from reconciler.lab.vos_products import VOS_PRODUCTS
from reconciler.model import Desired

# Patient enough for a loaded test machine, quick to give up on an injected fault.
FAST_HTTP = HttpSettings(connect_timeout=2.0, read_timeout=5.0, retries=2, backoff=0.001,
                         max_backoff=0.005, max_retry_after=0.01)


class NodeTransport(httpx.AsyncBaseTransport):
    """One node's app as an httpx transport, with the failures a socket would show."""

    def __init__(self, node: Node, app: ASGIApp) -> None:
        self.node = node
        self.asgi = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Refused while down; the app's answer within the read timeout; drops as errors."""
        if self.node.down:
            raise httpx.ConnectError(
                f"[Errno 111] Connection refused ({self.node.name} is restarting)",
                request=request)
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            return await asyncio.wait_for(self.asgi.handle_async_request(request), timeout)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out (in-process lab)", request=request) from None
        except DroppedConnection:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request) from None


def tls_probe(node: Node) -> Probe:
    """The certificate ``node`` serves now (what a TLS handshake would show)."""

    async def probe() -> str | None:
        await asyncio.sleep(0)  # a handshake yields to the loop, so restarts make progress
        if node.down:
            raise Unreachable(node.name, "TLS handshake failed: connection refused "
                              "(the node is restarting)")
        return node.state.served.cert_pem

    return probe


def cli_runner(node: Node, services: Sequence[str]) -> CliRunner:
    """Platform CLI commands on ``node``, as its SSH server runs them; the raw output.

    The command runs as a task of the node, so that a client giving up (the timeout) ends
    the session but not a restart under way, as with a real SSH session.
    """

    async def run(command: str, timeout: float) -> str:
        out: list[str] = []

        async def command_task() -> None:
            await run_command(node, command, out.append, services)

        task = node.spawn(command_task())
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            raise TemporaryError(node.name, f"SSH CLI: no prompt after {timeout:.0f}s",
                                 method="SSH", path=command) from None
        return "".join(out)

    return run


def app_of(node: Node) -> ASGIApp:
    """The node's product API (a VOS product, or Expressway)."""
    product = VOS_PRODUCTS.get(node.state.type)
    return vos_app(node, product) if product else expressway_app(node)


class InProcessLab:
    """Emulated nodes in this event loop, with their transports, probes and CLI runners."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.nodes: dict[str, Node] = lab.nodes
        self.transports = {n: NodeTransport(node, app_of(node)) for n, node in self.nodes.items()}
        self.probes = {n: tls_probe(node) for n, node in self.nodes.items()}
        self.clis = {
            n: cli_runner(node, VOS_PRODUCTS[node.state.type].cli_services)
            for n, node in self.nodes.items()
            if node.state.is_vos
        }
        self.shells = {
            n: shell_opener(node, VOS_PRODUCTS[node.state.type].cli_services)
            for n, node in self.nodes.items()
            if node.state.is_vos
        }
        self.factory = DriverFactory(transport_for=self.transports.get,
                                     probe_for=self.probes.get, cli_for=self.clis.get,
                                     shell_for=self.shells.get)
        self.inventory = self._inventory()
        self._drivers: list[Driver] = []

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, directory: Path, *, topology: Topology | None = None,
                    restart_seconds: float = 0.05, builtin_cas: int = 3,
                    ) -> AsyncIterator[InProcessLab]:
        """Build the lab's nodes in ``directory`` (no sockets); stop their restarts at exit.

        ``restart_seconds`` is short but not zero: long enough for a poll to see the node
        down, as the steps expect of a restart.
        """
        lab = Lab(directory, LabOptions(topology=topology, restart_seconds=restart_seconds,
                                        builtin_cas=builtin_cas, ssh=False))
        lab.build()
        running = cls(lab)
        try:
            yield running
        finally:
            await running.stop()

    async def stop(self) -> None:
        """Close the drivers made here and end the nodes' pending restarts."""
        await close_all({str(i): d for i, d in enumerate(self._drivers)})
        for node in self.nodes.values():
            for task in list(node._tasks):
                task.cancel()
            await node.wait_idle()

    def _inventory(self) -> Inventory:
        """What ``make_drivers`` needs: each node's type, credentials and TLS name."""
        entries = {
            name: InventoryEntry(api=f"https://{node.state.fqdn}", type=node.state.type,
                                 username=node.username, password=node.password,
                                 tls_server_name=node.state.fqdn,
                                 links=tuple(node.state.links),
                                 app_username=node.app_username if node.state.is_vos else None,
                                 app_password=node.app_password if node.state.is_vos else None)
            for name, node in self.nodes.items()
        }
        return Inventory(nodes=entries, ca_pems=(self.lab.paths.ca_bundle.read_bytes(),))

    def drivers(self, desired: Desired, names: Sequence[str] | None = None, *,
                settings: HttpSettings = FAST_HTTP, poll: float = 0.01,
                restart_timeout: float = 0.5) -> dict[str, Driver]:
        """Drivers for ``names`` (default: every node of ``desired``) wired to this lab.

        CUCM drivers poll service status every ``poll`` seconds and give up on a restart
        after ``restart_timeout`` (real nodes: 1 s and 15 min). Closed when the lab stops.
        """
        chosen = list(names) if names is not None else sorted(n.name for n in desired.nodes)
        made = make_drivers(desired, chosen, self.inventory, {}, settings, self.factory)
        for driver in made.values():
            if isinstance(driver, CucmDriver):
                driver.poll_seconds = poll
                driver.restart_timeout = restart_timeout
        self._drivers.extend(made.values())
        return made

    # ------------------------------------------------------------ lab-side helpers

    def sign(self, csr_pem: str, ca: str = "new", **options: Any) -> str:
        """What ``certops lab sign`` writes for ``csr_pem``: leaf, issuing CA, root (PEM)."""
        pki = load_or_create_pki(self.lab.paths.ca)
        leaf = pki.sign_csr(x509.load_pem_x509_csr(csr_pem.encode()), ca, **options)
        return "".join(cert_pem(c) for c in [leaf, *pki.chain_for(ca)])

    def set_fault(self, name: str, fault: Fault) -> None:
        self.lab.set_fault(name, fault)

    def clear_faults(self, name: str) -> None:
        self.lab.clear_faults(name)

    def counters(self, name: str) -> dict[str, int]:
        """Requests by method, ``non_get``, ``writes``, ``total`` and ``SSH`` commands since
        the reset."""
        return self.lab.counters(name)

    def reset_counters(self) -> None:
        self.lab.reset_counters()

    def restart(self, name: str, service: str | None = None) -> str:
        """An unplanned restart of ``name`` (``Lab.restart``): its calls drop."""
        return self.lab.restart(name, service)

    def maintenance(self, name: str, on: bool) -> str:
        """Maintenance mode switched by hand at ``name``'s GUI (``Lab.maintenance``)."""
        return self.lab.maintenance(name, on)

    async def wait_idle(self) -> None:
        """Wait until no node is restarting."""
        for node in self.nodes.values():
            await node.wait_idle()
