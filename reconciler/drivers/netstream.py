"""httpcore's network layer on asyncio's own streams, instead of anyio's.

httpx hands each HTTP/1.1 exchange to httpcore, which reads and writes through a network
backend; its default on asyncio is anyio, which wraps every read and write in a cancel
scope and a deadline, and decrypts TLS itself record by record (16 KiB), so a Unified CM's
600-certificate answer (~0.6 MB) costs some 40 trips through that stack. asyncio's own
transports decrypt whatever the socket holds in one go and have no per-call scope.

What stays the same: the ``ssl.SSLContext`` (CA, pins through its ``sslobject_class``,
hostname check), the SNI name, TCP_NODELAY (asyncio sets it), the timeouts of
``httpx.Timeout`` (connect, TLS handshake, read, write), and the exceptions httpcore expects
(``ConnectError``/``ConnectTimeout``/``ReadError``/... with the OS or TLS error as their
cause), which httpx maps and ``NodeHttp`` reports as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

# As anyio.connect_tcp: try the next address of a name after 250 ms (RFC 8305).
HAPPY_EYEBALLS_DELAY = 0.25
# Bytes asyncio may buffer before it stops reading the socket: a whole CUCM answer.
READ_LIMIT = 2**20


def _readable(sock: Any) -> bool:
    """Whether ``sock`` has data or an EOF to read (httpcore asks before reusing an idle
    keep-alive connection: the node may have closed it)."""
    fd = sock.fileno() if sock is not None else -1
    if fd == -1:
        return True
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection as an asyncio stream pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Up to ``max_bytes`` of what has arrived (b"" at the end of the stream)."""
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(exc) from exc
        except (OSError, EOFError) as exc:
            raise httpcore.ReadError(exc) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.WriteError(exc) from exc

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):  # a broken connection closed: nothing to report
            await self._writer.wait_closed()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        """The TLS handshake on this connection; the same stream, now encrypted."""
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname,
                                             ssl_handshake_timeout=timeout)
        except BaseException as exc:
            self._writer.transport.abort()
            if isinstance(exc, TimeoutError):
                raise httpcore.ConnectTimeout(exc) from exc
            if isinstance(exc, OSError | EOFError):  # ssl.SSLError is an OSError
                raise httpcore.ConnectError(exc) from exc
            raise
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            return self._reader.at_eof() or _readable(self._writer.get_extra_info("socket"))
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connects with ``asyncio.open_connection``; see the module docstring. TCP only
    (certops never asks httpx for a Unix socket)."""

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, limit=READ_LIMIT, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                    local_addr=(local_address, 0) if local_address else None)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.ConnectError(exc) from exc
        sock: socket.socket = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
