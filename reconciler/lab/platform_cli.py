"""The commands of the emulated VOS platform CLI, without a transport.

Both the SSH server (``ssh``) and the in-process lab (``inprocess``) call ``run_command``
(one command) or ``cli_session`` (a whole interactive session): ``utils service restart
<service>`` (Cisco Tomcat [C], Cisco HAProxy, and the other services of the product),
``utils service list``, ``show version active``, ``set cli pagination off`` [C], and the
certificate commands of ``vos_cli_certs``.
A Tomcat restart takes the HTTPS port down for ``restart_seconds``, then serves the
installed tomcat identity and clears the "Cisco Tomcat" restart-pending flag; the command
returns when the service is started again. Output texts are [U] lookalikes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from reconciler.lab.node import Node
from reconciler.lab.soap import ALL_SERVICES
from reconciler.lab.vos_cli_certs import run_cert_command
from reconciler.lab.vos_products import VOS_PRODUCTS

PROMPT = "\x1b[1madmin:\x1b[0m "  # with escape codes, as a terminal CLI sends it
BANNER = ("\x1b[?1h\x1b=\nCommand Line Interface is starting up, please wait ...\n\n"
          "   Welcome to the Platform Command Line Interface\n\n")

_RESTART = "utils service restart "


def _service(name: str, services: Sequence[str]) -> str | None:
    """The service's canonical name (the CLI ignores case), or None when unknown."""
    return next((s for s in services if s.lower() == name.strip().lower()), None)


async def run_command(node: Node, command: str, write: Callable[[str], object],
                      services: Sequence[str] = ALL_SERVICES,
                      read_line: Callable[[], Awaitable[str]] | None = None) -> int:
    """Run one CLI command, writing its output; 0 on success. ``read_line``: the session's
    input, for the commands that prompt (the certificate commands, ``vos_cli_certs``)."""
    node.ssh_commands.append(command)
    node.faults.counters["SSH"] += 1
    cmd = " ".join(command.split())
    # The lab's per-answer latency (``--latency-ms``, a "*" fault) delays each command too.
    delay = sum(f.latency_ms for f in node.state.faults if f.match == "*")
    if delay:
        await asyncio.sleep(delay / 1000)
    if cmd.lower() == "set cli pagination off":
        write("Automatic pagination is turned off\n")  # [C]
        return 0
    product = VOS_PRODUCTS.get(node.state.type)
    if product is not None:
        code = await run_cert_command(node, product, cmd, write, read_line)
        if code is not None:
            return code
    if cmd.lower().startswith(_RESTART):
        service = _service(cmd[len(_RESTART):], services)
        if service is None:
            write(f"Executed command unsuccessfully\nInvalid service: {cmd[len(_RESTART):]}\n")
            return 1
        write("Do not press Ctrl+C while the service is restarting. If the service has not "
              "restarted properly, execute the same command again.\n")
        write("Service Manager is running\n")
        write(f"{service}[STOPPING]\n")
        write(f"{service}[STARTING]\n")
        await node.restart_service(service)
        write(f"{service}[STARTED]\n")
        return 0
    if cmd.lower() == "utils service list":
        for s in services:
            write(f"{s}[{node.service_status.get(s, 'Started').upper()}]\n")
        return 0
    if cmd.lower() == "utils ctl update ctlfile":
        from reconciler.lab.phones import ctl_update

        if node.publisher not in (None, node.name):
            write("Executed command unsuccessfully\nThis command runs on the publisher only\n")
            return 1
        ctl_update(node)
        write("The CTL file was updated successfully.\n")  # [U] the dialogue is not public
        return 0
    if cmd.lower() == "show version active":
        write(f"Active Master Version: {node.state.version}\nActive Version Installed Software "
              "Options:\nNo Installed Software Options Found.\n")
        return 0
    write(f"Executed command unsuccessfully\nInvalid command: {cmd}\n")
    return 1


async def cli_session(node: Node, services: Sequence[str], read_line: Callable[[], Awaitable[str]],
                      write: Callable[[str], object]) -> None:
    """An interactive session: the banner, no prompt until a newline [3P], then commands at
    the ``admin:`` prompt until ``exit`` or the end of input. Typed lines are echoed, as a
    terminal does (pasted certificates too)."""

    async def echoed() -> str:
        line = await read_line()
        write(line if line.endswith("\n") or not line else line + "\n")
        return line

    write(BANNER)
    if not await read_line():  # the prompt waits for a newline [3P]
        return
    write(PROMPT)
    while True:
        line = await read_line()
        if not line:
            return
        cmd = line.strip()
        write(cmd + "\n")
        if cmd in ("exit", "quit"):
            return
        if cmd:
            await run_command(node, cmd, write, services, echoed)
        write(PROMPT)
