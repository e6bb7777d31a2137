"""The CUCM platform CLI over SSH (asyncssh): the only way to restart Cisco Tomcat [C].

The CLI is interactive: log in, wait for the ``admin:`` prompt, type the command, read until
the prompt comes back. The host key is checked against the key the inventory names, or the
user's ``~/.ssh/known_hosts``; certops never accepts an unknown host key silently.

Failures map to the project's errors like HTTP ones: a host key that does not match and a
refused login are permanent (retrying cannot help); no connection is ``Unreachable``.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from reconciler.drivers.base import Endpoint
from reconciler.drivers.errors import (
    AuthError,
    ConfigError,
    PermanentError,
    TemporaryError,
    Unreachable,
)

PROMPT = "admin:"
FAILED = ("failed", "error", "not found", "invalid", "executed command unsuccessfully")
DEFAULT_PORT = 22


def known_hosts_line(endpoint: Endpoint) -> str:
    """The known_hosts line pinning the inventory's host key (OpenSSH syntax: the port is
    written as ``[host]:port`` only when it is not 22)."""
    port = endpoint.ssh_port or DEFAULT_PORT
    host = endpoint.host if port == DEFAULT_PORT else f"[{endpoint.host}]:{port}"
    return f"{host} {endpoint.ssh_host_key}\n"


async def run_cli(endpoint: Endpoint, command: str, timeout: float = 900.0,
                  connect_timeout: float = 30.0) -> str:
    """Run one CLI command at the ``admin:`` prompt; the output, or a DriverError."""
    output = await cli_output(endpoint, command, timeout, connect_timeout)
    return cli_result(endpoint, command, output)


async def cli_output(endpoint: Endpoint, command: str, timeout: float = 900.0,
                     connect_timeout: float = 30.0) -> str:
    """The SSH part of ``run_cli``: the command's raw output (not yet judged), or a
    DriverError when the session itself fails (login, host key, network, no prompt)."""
    try:
        import asyncssh
    except ImportError:  # the CUCM CLI is the only user: keep it an optional import
        raise ConfigError(f"{endpoint.name}: the SSH CLI needs the asyncssh package "
                          "(pip install asyncssh)") from None

    if not endpoint.username or not endpoint.password:
        raise ConfigError(f"{endpoint.name}: the SSH CLI needs the platform administrator's "
                          "credentials")
    where: dict[str, Any] = {"method": "SSH", "path": command}
    kwargs: dict[str, object] = {
        "port": endpoint.ssh_port or DEFAULT_PORT, "username": endpoint.username,
        "password": endpoint.password, "client_keys": None, "agent_path": None,
        "connect_timeout": connect_timeout,
    }
    pinned = "the inventory's ssh_host_key" if endpoint.ssh_host_key else "~/.ssh/known_hosts"
    if endpoint.ssh_host_key:  # else asyncssh's default: ~/.ssh/known_hosts
        kwargs["known_hosts"] = asyncssh.import_known_hosts(known_hosts_line(endpoint))
    connected = False
    try:
        async with asyncssh.connect(endpoint.host, **kwargs) as conn:
            connected = True
            process = await conn.create_process(term_type="vt100")
            try:
                output = await asyncio.wait_for(_converse(process, command), timeout)
            except TimeoutError:  # (an OSError too: told apart from a connect timeout here)
                raise TemporaryError(endpoint.name, f"SSH CLI: no prompt after {timeout:.0f}s",
                                     **where) from None
            process.close()
    except asyncssh.PermissionDenied:
        raise AuthError(endpoint.name, "SSH CLI: the login was refused", **where,
                        hint="check the platform administrator's username and password") from None
    except (asyncssh.HostKeyNotVerifiable, asyncssh.KeyExchangeFailed) as exc:
        if isinstance(exc, asyncssh.KeyExchangeFailed) and "host key" not in str(exc).lower():
            raise PermanentError(endpoint.name, f"SSH CLI: {exc}", **where) from None
        raise PermanentError(
            endpoint.name, f"SSH CLI: the node's host key does not match {pinned} ({exc})",
            **where, hint="if the node was reinstalled, verify its new key out of band and "
            "update ssh_host_key; otherwise someone may be in the middle") from None
    except (OSError, EOFError, asyncssh.Error) as exc:
        # A refused host key sometimes surfaces as "connection lost" (the server hangs up
        # while the client rejects its key): look at the key itself before calling it a
        # network problem, so a wrong key is never retried as if it were temporary.
        if endpoint.ssh_host_key and not connected and not await _key_matches(
                asyncssh, endpoint, connect_timeout):
            raise PermanentError(
                endpoint.name, f"SSH CLI: the node's host key does not match {pinned}",
                **where, hint="if the node was reinstalled, verify its new key out of band and "
                "update ssh_host_key; otherwise someone may be in the middle") from None
        raise Unreachable(endpoint.name, f"SSH CLI: {exc or type(exc).__name__}",
                          **where) from None
    return output


def cli_result(endpoint: Endpoint, command: str, output: str) -> str:
    """The output of a command that succeeded; PermanentError when the CLI refused it."""
    lowered = output.lower()
    # "success" as a word start only: "Executed command unsuccessfully" is a refusal.
    if any(word in lowered for word in FAILED) and not re.search(r"\bsuccess", lowered):
        raise PermanentError(endpoint.name,
                             f"SSH CLI refused: {' '.join(output.split())[:200]}",
                             method="SSH", path=command)
    return output


async def _key_matches(asyncssh: Any, endpoint: Endpoint, timeout: float) -> bool:
    """Whether the node presents the pinned host key (True when it cannot be asked)."""
    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(endpoint.host, endpoint.ssh_port or DEFAULT_PORT),
            timeout)
    except (OSError, asyncssh.Error):
        return True  # unreachable: let the caller report that
    if key is None:
        return True
    presented = key.export_public_key("openssh").decode().split()[:2]
    return bool(presented == (endpoint.ssh_host_key or "").split()[:2])


async def _converse(process: object, command: str) -> str:
    await _read_until_prompt(process)
    process.stdin.write(command + "\n")  # type: ignore[attr-defined]
    return await _read_until_prompt(process)


async def _read_until_prompt(process: object) -> str:
    buf = ""
    while not buf.rstrip().endswith(PROMPT):
        chunk = await process.stdout.read(4096)  # type: ignore[attr-defined]
        if not chunk:
            raise EOFError("the CLI closed the session")
        buf += chunk
    return buf.rstrip()[: -len(PROMPT)]
