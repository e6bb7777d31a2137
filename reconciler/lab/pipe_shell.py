"""The platform CLI in-process: a pipe pair in place of an SSH session (no socket).

``shell_opener(node, services)`` gives what ``DriverFactory.shell_for`` takes: an async
context manager yielding a process-like object (``stdin.write``, ``await stdout.read``)
whose other end runs the lab's interactive session (``platform_cli.cli_session``), exactly
the conversation the SSH server holds (banner, escape codes, echo, prompts). Leaving the
context ends the session; a session hung on purpose (a ``cli_hang`` fault) is cancelled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reconciler.drivers.cli_replay import Pipe, piped
from reconciler.drivers.seams import ShellOpener
from reconciler.lab.node import Node
from reconciler.lab.platform_cli import cli_session


def shell_opener(node: Node, services: Sequence[str]) -> ShellOpener:
    """Open an in-process CLI session on ``node``."""

    async def serve(stdin: Pipe, stdout: Pipe) -> None:
        await cli_session(node, services, stdin.readline, _escaped(stdout.write))

    return piped(serve)


def _escaped(write: Callable[[str], None]) -> Callable[[str], None]:
    """Every line ends with an erase-line code and CR-LF, as the SSH lab writes it [U]."""

    def out(text: str) -> None:
        write(text.replace("\n", "\x1b[K\r\n"))

    return out
