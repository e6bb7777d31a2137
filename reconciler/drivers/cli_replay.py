"""Recorded platform CLI conversations, replayed through the driver (the CLI's counterpart of
``recording.ReplayTransport``), and the in-memory pipes both the replay and the in-process
lab use in place of an SSH session.

A CLI recording is JSON: ``{"node", "type", "source", "banner", "prompt", "exchanges":
[{"command", "source", "output": [step, ...]}]}``. A step is ``{"text": ..., "then": ...}``:
the text the CLI writes, then what it waits for before the next step: ``"line"`` (an
answer such as ``yes``), ``"paste"`` (lines up to an END line and the Enter after it),
``"key"`` (one key, a pager's). After the last step the prompt follows. A command answers
with its first exchange not played yet, else its last one again (so a recording can show
a list before and after a change). A command the recording lacks is answered ``not in the
recording: <command>`` (a refusal, never a guess).
Every exchange names its source and tag; no credential is ever in one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from reconciler.drivers.seams import ShellOpener


class Pipe:
    """One direction of a session: text written at one end, read at the other."""

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

    async def _wait(self, enough: Callable[[], bool]) -> None:
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
    """The client's end of a piped session: ``stdin`` to the CLI, ``stdout`` from it."""

    def __init__(self) -> None:
        self.stdin = Pipe()
        self.stdout = Pipe()

    def close(self) -> None:
        self.stdin.close()


# Serves one session: reads ``stdin`` (the client's input), writes ``stdout``.
Server = Callable[[Pipe, Pipe], Any]


def piped(serve: Server) -> ShellOpener:
    """A shell opener whose other end is ``serve`` (run as a task, cancelled at the end)."""

    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[PipeProcess]:
        process = PipeProcess()

        async def run() -> None:
            try:
                await serve(process.stdin, process.stdout)
            finally:
                process.stdout.close()

        task = asyncio.ensure_future(run())
        try:
            yield process
        finally:
            process.close()
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return opened


class CliReplay:
    """Plays a CLI recording to whoever opens a shell (see the module docstring)."""

    def __init__(self, recording: dict[str, Any]) -> None:
        self.recording = recording
        self.unused: list[dict[str, Any]] = list(recording["exchanges"])
        self.last: dict[str, dict[str, Any]] = {}
        self.typed: list[str] = []
        self.keys: list[str] = []  # answers read at "line"/"key" steps, in order

    def opener(self) -> ShellOpener:
        return piped(self._serve)

    async def _serve(self, stdin: Pipe, stdout: Pipe) -> None:
        prompt = self.recording.get("prompt", "admin: ")
        stdout.write(self.recording.get("banner", ""))
        if not await stdin.readline():  # the prompt waits for a newline [3P]
            return
        stdout.write(prompt)
        while line := await stdin.readline():
            command = " ".join(line.split())
            if command in ("exit", "quit"):
                return
            if command:
                self.typed.append(command)
                await self._answer(command, stdin, stdout)
            stdout.write(prompt)

    async def _answer(self, command: str, stdin: Pipe, stdout: Pipe) -> None:
        exchange = next((e for e in self.unused if " ".join(e["command"].split()) == command),
                        None)
        if exchange is not None:
            self.unused.remove(exchange)
            self.last[command] = exchange
        exchange = exchange or self.last.get(command)
        if exchange is None:
            stdout.write(f"not in the recording: {command}\n")
            return
        for step in exchange["output"]:
            stdout.write(step["text"])
            then = step.get("then")
            if then == "line":
                self.keys.append(await stdin.readline())
            elif then == "key":
                self.keys.append(await stdin.read(1))
            elif then == "paste":
                while (got := await stdin.readline()) and "-----END" not in got:
                    pass
                await stdin.readline()  # the Enter after the PEM
