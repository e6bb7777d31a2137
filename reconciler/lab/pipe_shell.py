"""The platform CLI in-process: a pipe pair in place of an SSH session (no socket).

``shell_opener(node, services)`` gives what ``DriverFactory.shell_for`` takes: an async
context manager yielding a process-like object (``stdin.write``, ``await stdout.read``)
whose other end runs the lab's interactive session (``platform_cli.cli_session``), exactly
the conversation the SSH server holds (banner, escape codes, echo, prompts). Leaving the
context ends the session; a session hung on purpose (a ``cli_hang`` fault) is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from reconciler.drivers.seams import ShellOpener
from reconciler.lab.node import Node
from reconciler.lab.platform_cli import cli_session


class Pipe:
    """One direction of the session: text written at one end, read at the other."""

    def __init__(self) -> None:
        self._buf = ""
        self._closed = False
        self._ready = asyncio.Event()

    def write(self, text: str) -> None:
        self._buf += text
        self._ready.set()

    def close(self) -> None:
        self._closed = True
        self._ready.set()

    async def _wait(self, enough: Any) -> None:
        while not enough() and not self._closed:
            self._ready.clear()
            await self._ready.wait()

    async def read(self, n: int = 4096) -> str:
        """Up to ``n`` characters as soon as there are some; "" once closed and empty."""
        await self._wait(lambda: bool(self._buf))
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    async def readline(self) -> str:
        """One line with its newline; the rest (or "") once closed."""
        await self._wait(lambda: "\n" in self._buf)
        line, sep, rest = self._buf.partition("\n")
        self._buf = rest if sep else ""
        return line + sep


class PipeProcess:
    """The client's end: ``stdin`` to the node, ``stdout`` from it."""

    def __init__(self) -> None:
        self.stdin = Pipe()
        self.stdout = Pipe()

    def close(self) -> None:
        self.stdin.close()


def shell_opener(node: Node, services: Sequence[str]) -> ShellOpener:
    """Open an in-process CLI session on ``node`` (counted like an SSH login)."""

    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[PipeProcess]:
        process = PipeProcess()

        async def serve() -> None:
            try:
                await cli_session(node, services, process.stdin.readline,
                                  _escaped(process.stdout.write))
            finally:
                process.stdout.close()

        task = asyncio.ensure_future(serve())
        try:
            yield process
        finally:
            process.close()
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return opened


def _escaped(write: Any) -> Any:
    """Every line ends with an erase-line code and CR-LF, as the SSH lab writes it [U]."""

    def out(text: str) -> None:
        write(text.replace("\n", "\x1b[K\r\n"))

    return out
