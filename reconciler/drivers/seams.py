"""How drivers reach their nodes: the HTTP transport, the TLS probe and the CLI runner.

By default every driver uses the real network: httpx's own transport, a TLS handshake on
the API port for the certificate a node serves (``base.handshake_certificate``), and the
platform CLI over SSH (``cucm_cli``). A ``DriverFactory`` replaces any of the three per
node; tests use it to run drivers, steps and the executor against in-process emulated
nodes (``reconciler.lab.inprocess``) with no socket at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import httpx

# The certificate the node serves on its API port (PEM); raises Unreachable when it is down.
Probe = Callable[[], Awaitable[str | None]]
# Run one platform CLI command (command, timeout in seconds) and return its raw output;
# the driver interprets the output (``cucm_cli.cli_result``), whoever ran the command.
CliRunner = Callable[[str, float], Awaitable[str]]
# Open one logged-in platform CLI shell: an async context manager giving a process-like
# object (``stdin.write(str)``, ``await stdout.read(n)``); the certificate commands of a
# node without the REST API run in it, one session per read (``vos_cli_certs``).
ShellOpener = Callable[[], AbstractAsyncContextManager[Any]]


def _network(name: str) -> None:
    """No replacement for this node: the driver uses the real network."""
    return None


@dataclass(frozen=True)
class DriverFactory:
    """Per node name, what replaces the network; ``None`` (the default) keeps the network."""

    transport_for: Callable[[str], httpx.AsyncBaseTransport | None] = _network
    probe_for: Callable[[str], Probe | None] = _network
    cli_for: Callable[[str], CliRunner | None] = _network
    shell_for: Callable[[str], ShellOpener | None] = _network


NETWORK = DriverFactory()
