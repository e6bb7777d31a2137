"""The commands of the emulated CUCM platform CLI, without a transport.

Both the SSH server (``ssh``) and the in-process CLI runner (``inprocess``) call
``run_command``: ``utils service restart <service>`` (Cisco Tomcat [C], Cisco HAProxy, and
the other services of the product), ``utils service list``, ``show version active``.
A Tomcat restart takes the HTTPS port down for ``restart_seconds``, then serves the
installed tomcat identity and clears the "Cisco Tomcat" restart-pending flag; the command
returns when the service is started again. Output texts are [U] lookalikes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reconciler.lab.node import Node
from reconciler.lab.soap import ALL_SERVICES

_RESTART = "utils service restart "


def _service(name: str, services: Sequence[str]) -> str | None:
    """The service's canonical name (the CLI ignores case), or None when unknown."""
    return next((s for s in services if s.lower() == name.strip().lower()), None)


async def run_command(node: Node, command: str, write: Callable[[str], object],
                      services: Sequence[str] = ALL_SERVICES) -> int:
    """Run one CLI command, writing its output; 0 on success."""
    node.ssh_commands.append(command)
    node.faults.counters["SSH"] += 1
    cmd = " ".join(command.split())
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
    if cmd.lower() == "show version active":
        write(f"Active Master Version: {node.state.version}\nActive Version Installed Software "
              "Options:\nNo Installed Software Options Found.\n")
        return 0
    write(f"Executed command unsuccessfully\nInvalid command: {cmd}\n")
    return 1
