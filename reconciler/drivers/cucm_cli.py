"""The CUCM platform CLI over SSH (asyncssh): the only way to restart Cisco Tomcat [C].

The CLI is interactive: log in, wait for the ``admin:`` prompt, type the command, read until
the prompt comes back. The host key is checked against the key the inventory names, or the
user's ``~/.ssh/known_hosts``; certops never accepts an unknown host key silently.
"""

from __future__ import annotations

import asyncio

from reconciler.drivers.base import Endpoint
from reconciler.drivers.errors import ConfigError, DriverError, Unreachable

PROMPT = "admin:"
FAILED = ("failed", "error", "not found", "invalid", "executed command unsuccessfully")


async def run_cli(endpoint: Endpoint, command: str, timeout: float = 900.0) -> str:
    """Run one CLI command at the ``admin:`` prompt; the output, or a DriverError."""
    import asyncssh

    if not endpoint.username or not endpoint.password:
        raise ConfigError(f"{endpoint.name}: the SSH CLI needs the platform administrator's "
                          "credentials")
    kwargs: dict[str, object] = {
        "port": endpoint.ssh_port or 22, "username": endpoint.username,
        "password": endpoint.password, "client_keys": None, "agent_path": None,
    }
    if endpoint.ssh_host_key:  # else asyncssh's default: ~/.ssh/known_hosts
        kwargs["known_hosts"] = asyncssh.import_known_hosts(
            f"[{endpoint.host}]:{endpoint.ssh_port or 22} {endpoint.ssh_host_key}\n")
    try:
        async with asyncssh.connect(endpoint.host, **kwargs) as conn:
            process = await conn.create_process(term_type="vt100")
            output = await asyncio.wait_for(_converse(process, command), timeout)
            process.close()
    except (OSError, EOFError, asyncssh.Error) as exc:
        raise Unreachable(endpoint.name, f"SSH CLI: {exc}", method="SSH", path=command) from None
    except TimeoutError:
        raise DriverError(endpoint.name, f"SSH CLI: no prompt after {timeout:.0f}s",
                          method="SSH", path=command) from None
    lowered = output.lower()
    if any(word in lowered for word in FAILED) and "success" not in lowered:
        raise DriverError(endpoint.name, f"SSH CLI refused: {' '.join(output.split())[:200]}",
                          method="SSH", path=command)
    return output


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
