"""Emulated CUCM platform CLI over SSH (asyncssh server), for restarts SOAP cannot do.

The conversation public clients met [3P]: after login a banner ("Welcome to the Platform
Command Line Interface") and **no prompt until the client sends a newline**; terminal escape
codes around the prompt and on every output line; a restart prints progress lines and ends
with ``<service>[STARTED]``. [U]: the exact escape codes and the other banner lines.

Answers at an ``admin:`` prompt (interactive shell) or as a single exec command; the
commands themselves (``utils service restart <service>``, ``utils service list``,
``show version active``) are ``platform_cli.run_command``, shared with the in-process
runner; ``exit`` ends the session. Login: the lab admin credentials (password auth).
The services the CLI knows are the product's (``VosProduct.cli_services``; CUCM's by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import asyncssh

from reconciler.lab.files import atomic_write
from reconciler.lab.node import Node
from reconciler.lab.platform_cli import BANNER, PROMPT, cli_session, run_command
from reconciler.lab.soap import ALL_SERVICES

__all__ = ["BANNER", "PROMPT", "load_or_create_host_key", "start_ssh"]


def load_or_create_host_key(path: Path) -> Any:
    """One host key per lab directory, shared by every emulated CUCM."""
    if path.exists():
        return asyncssh.import_private_key(path.read_bytes())
    key = asyncssh.generate_private_key("ecdsa-sha2-nistp256")
    atomic_write(path, key.export_private_key(), private=True)
    return key


class _Server(asyncssh.SSHServer):
    def __init__(self, node: Node) -> None:
        self.node = node

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == self.node.username and password == self.node.password


def _escaped(write: Any) -> Any:
    """A writer that marks every line with an erase-line escape code, as the CLI does [U]."""

    def out(text: str) -> None:
        write(text.replace("\n", "\x1b[K\r\n"))

    return out


async def _session(node: Node, services: Sequence[str], process: Any) -> None:
    write = _escaped(process.stdout.write)
    try:
        if process.command:
            process.exit(await run_command(node, process.command, write, services))
            return
        await cli_session(node, services, process.stdin.readline, write)
        process.exit(0)
    except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, BrokenPipeError,
            ConnectionError):
        process.exit(0)


async def start_ssh(node: Node, host_key: Any, port: int = 0,
                    services: Sequence[str] = ALL_SERVICES) -> tuple[Any, int]:
    """Serve the node's CLI on loopback; ``port`` if free, else any free port."""
    for candidate in ([port, 0] if port else [0]):
        try:
            acceptor = await asyncssh.create_server(
                partial(_Server, node), "127.0.0.1", candidate,
                server_host_keys=[host_key], process_factory=partial(_session, node, services),
                encoding="utf-8", line_editor=False,
            )
        except OSError:
            continue
        return acceptor, int(acceptor.get_port())
    raise OSError(f"cannot bind the SSH port of {node.name}")
