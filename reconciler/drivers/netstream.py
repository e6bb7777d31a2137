"""A node's network stream on asyncio's own streams, with TLS through ``ssl.MemoryBIO``:
what ``h11conn`` reads and writes through (httpcore's network-stream interface, which
httpcore's own backends also offer).

httpcore's default backend on asyncio is anyio, which wraps every read and write in a
cancel scope and a deadline and hands back one TLS record (16 KiB at most) per read, so a
Unified CM's 600-certificate answer (~0.6 MB) cost ~40 trips through that whole stack. Here
a read decrypts whatever has arrived, up to what the caller asks for, and a timeout is armed
only when the read has to wait. asyncio's own TLS transport would do the same, but keeps a
256 KiB buffer per connection for the connection's life (+50 MB for 200 nodes).

As anyio's streams: the ``ssl.SSLContext`` (CA, hostname check, and pins through its
``sslobject_class``, checked before a byte of a request is written), the SNI name (IDNA
2008 as anyio sends it), TCP_NODELAY (asyncio sets it), the timeouts (connect and TLS
handshake, read, write), no TLS close_notify on close (anyio's mode for httpcore), and
httpcore's exceptions (``ConnectError``, ``ReadTimeout``, ...) with the OS or TLS error as
their cause, which ``h11conn`` maps to httpx's and ``NodeHttp`` reports.
"""
from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import select
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

# As anyio.connect_tcp: try the next address of a name after 250 ms (RFC 8305).
HAPPY_EYEBALLS_DELAY = 0.25
# Raw bytes taken from asyncio per TLS read: a few records, decrypted in one go. No more
# than anyio takes (64 KiB): OpenSSL's memory BIO keeps the largest size written to it for
# the connection's life (256 KiB: +10 MB of RSS for 66 Unified CM connections).
RAW_CHUNK = 64 * 1024


def eyeballs_delay(host: str) -> float | None:
    """The happy-eyeballs delay for ``host``: none for an IP address, which is one address
    (asyncio's staggered race would only add ~0.1 ms of CPU a connection)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return HAPPY_EYEBALLS_DELAY
    return None


def _readable(sock: Any) -> bool:
    """Whether ``sock`` has data or an EOF to read (httpcore asks before reusing an idle
    keep-alive connection: the node may have closed it)."""
    fd = sock.fileno() if sock is not None else -1
    if fd == -1:
        return True
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


def _sni(name: str | None) -> str | None:
    """The server name as anyio sends it: ASCII as is, else IDNA 2008 (``idna``, a
    dependency of httpx); ``wrap_bio`` alone would encode IDNA 2003."""
    if name is None or name.isascii():
        return name
    import idna

    return str(idna.encode(name, uts46=True).decode("ascii"))


class TcpStream(httpcore.AsyncNetworkStream):
    """One TCP connection as an asyncio stream pair."""

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
        except OSError as exc:
            raise httpcore.ReadError(exc) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._send(buffer)
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.WriteError(exc) from exc

    async def _send(self, data: bytes) -> None:
        self._writer.write(data)
        await self._writer.drain()

    async def _receive(self) -> bytes:
        """What has arrived, waiting for something (b"" at the end of the stream)."""
        return await self._reader.read(RAW_CHUNK)

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):  # a broken connection closed: nothing to report
            await self._writer.wait_closed()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        """The TLS handshake on this connection (bounded by ``timeout``); a failure closes
        the connection and raises ``ConnectError`` (``ConnectTimeout``) from its cause."""
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = TlsStream(self, incoming, outgoing, ssl_context.wrap_bio(
            incoming, outgoing, server_hostname=_sni(server_hostname)))
        try:
            async with asyncio.timeout(timeout):
                await tls.handshake()
        except BaseException as exc:
            self._writer.transport.abort()
            if isinstance(exc, TimeoutError):
                raise httpcore.ConnectTimeout(exc) from exc
            if isinstance(exc, OSError):  # ssl.SSLError is an OSError
                raise httpcore.ConnectError(exc) from exc
            raise
        return tls

    def get_extra_info(self, info: str) -> Any:
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            return self._reader.at_eof() or _readable(self._writer.get_extra_info("socket"))
        return None


class TlsStream(httpcore.AsyncNetworkStream):
    """TLS over a ``TcpStream``: an ``SSLObject`` between two memory BIOs."""

    def __init__(self, tcp: TcpStream, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO,
                 tls: ssl.SSLObject) -> None:
        self._tcp = tcp
        self._incoming = incoming  # what the node sent, not yet decrypted
        self._outgoing = outgoing  # what the SSLObject has to send
        self._tls = tls

    async def handshake(self) -> None:
        """Run the handshake to its end (the context verifies the node on the way). What it
        leaves to send (TLS 1.3's client Finished) goes out with the first request, in one
        write: a system call and a segment less per connection (a 1.3 client may send data
        right after its Finished; in 1.2 nothing is left, the Finished went before the
        server's)."""
        await self._until_done(self._tls.do_handshake, flush=False)

    async def _until_done(self, step: Any, *args: Any, flush: bool = True) -> Any:
        """``step(*args)`` on the SSLObject, feeding it what the node sends until it stops
        asking for more; whatever it has to send goes out first (and at the end, unless
        ``flush`` is false: then with the next write)."""
        while True:
            try:
                result = step(*args)
            except ssl.SSLWantReadError:
                await self._flush()
                data = await self._tcp._receive()
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
            else:
                if flush:
                    await self._flush()
                return result

    async def _flush(self) -> None:
        if self._outgoing.pending:
            await self._tcp._send(self._outgoing.read())

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Up to ``max_bytes`` of plaintext: every record already here, in one go; b"" once
        the node has closed (with or without close_notify, as anyio reads for httpcore)."""
        try:
            data = self._tls.read(max_bytes)  # the usual case: a record is already here
        except ssl.SSLWantReadError:
            data = await self._wait_read(max_bytes, timeout)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""
        except ssl.SSLError as exc:
            raise httpcore.ReadError(exc) from exc
        return data + self._more(max_bytes - len(data)) if data else data

    async def _wait_read(self, max_bytes: int, timeout: float | None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return bytes(await self._until_done(self._tls.read, max_bytes))
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(exc) from exc
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""
        except OSError as exc:  # ssl.SSLError is an OSError
            raise httpcore.ReadError(exc) from exc

    def _more(self, room: int) -> bytes:
        """Further records already received, up to ``room`` bytes, without waiting."""
        parts: list[bytes] = []
        while room > 0 and (self._incoming.pending or self._tls.pending()):
            try:
                part = self._tls.read(room)
            except ssl.SSLError:  # want more, or the end: the next read() says which
                break
            if not part:
                break
            parts.append(part)
            room -= len(part)
        return b"".join(parts)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._until_done(self._tls.write, buffer)
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(exc) from exc
        except OSError as exc:  # ssl.SSLError is an OSError
            raise httpcore.WriteError(exc) from exc

    async def aclose(self) -> None:
        await self._tcp.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("TLS inside TLS is not used by certops")

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._tls
        if info == "is_readable":
            return bool(self._incoming.pending) or self._tcp.get_extra_info("is_readable")
        return self._tcp.get_extra_info(info)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Connects with ``asyncio.open_connection``; see the module docstring. TCP only
    (certops never asks httpx for a Unix socket)."""

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None, socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, happy_eyeballs_delay=eyeballs_delay(host),
                    local_addr=(local_address, 0) if local_address else None)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(exc) from exc
        except OSError as exc:
            raise httpcore.ConnectError(exc) from exc
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return TcpStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
