"""A node's one keep-alive HTTP/1.1 connection, spoken with h11 directly: httpx's transport
for every node reached without a proxy.

httpx hands a request to its transport, which maps it to httpcore's request, httpcore's
connection, its HTTP/1.1 connection, and back through three wrappers of the response's
body; each layer awaits the next and many take a lock. A node's read is a few small
requests in turn on one connection, so that plumbing cost ~0.5 ms of CPU a request here,
twice what h11 and the TLS records themselves cost (issue 24 §2). This transport keeps what
those layers did for certops and nothing else:

- one connection per node (the node client's ``max_connections=1``): requests take turns
  (a lock), waiting at most the ``pool`` timeout (``httpx.PoolTimeout``);
- the connection is kept between requests and made again when it is closed, expired
  (``keepalive_expiry``), the node closed it while idle, or a request goes elsewhere;
- TCP connect and TLS handshake through ``netstream`` (the node's ``SSLContext``, SNI from
  the request's ``sni_hostname``, both bounded by the ``connect`` timeout), request and
  response through h11 (its limits: 100 KiB of headers, as httpcore sets them), the body
  read whole before the response is handed back (certops never streams a node's answer),
  and at most ``MAX_BODY`` of it;
- the errors httpx raises from httpcore's, with the same causes: ``ConnectError`` (its
  cause the ``ssl`` or OS error, which ``NodeHttp`` inspects), ``ReadTimeout``,
  ``RemoteProtocolError`` ("Server disconnected without sending a response."), ...;
- a write refused while sending the request is passed over, so that an answer the node
  sent before closing (an error status) is still read, as httpcore does.

A connection that fails or is cancelled mid-exchange is closed: its state is unknown.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterable
from typing import Any

import h11
import httpcore
import httpx

from reconciler.drivers.netstream import AsyncioBackend

READ_SIZE = 64 * 1024  # as httpcore reads
MAX_HEADERS = 100 * 1024  # as httpcore limits an incomplete event (h11's default is 16 KiB)
# The largest answer read: a Unified CM's certificate inventory is ~0.6 MB; a node that
# streams without end is cut off here instead of filling the memory.
MAX_BODY = 64 * 1024 * 1024

# httpcore's errors, raised by netstream, as httpx names them (its transport maps the same).
_MAPPED: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (h11.RemoteProtocolError, httpx.RemoteProtocolError),
    (h11.LocalProtocolError, httpx.LocalProtocolError),
)


def _mapped(exc: Exception) -> httpx.HTTPError | None:
    for theirs, ours in _MAPPED:
        if isinstance(exc, theirs):
            return ours(str(exc))
    return None


class _Connection:
    """One TCP (and TLS) connection and its h11 state."""

    def __init__(self, origin: tuple[str, str, int], stream: httpcore.AsyncNetworkStream) -> None:
        self.origin = origin
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADERS)
        self.expires: float | None = None

    def reusable(self, origin: tuple[str, str, int]) -> bool:
        """For ``origin``, idle, not expired, and nothing (an EOF, stray bytes) waiting,
        neither on the socket nor left over in h11's buffer."""
        buffered, closed = self.h11.trailing_data
        return (origin == self.origin and self.h11.our_state is h11.IDLE
                and not buffered and not closed
                and (self.expires is None or time.monotonic() < self.expires)
                and not self.stream.get_extra_info("is_readable"))


class NodeTransport(httpx.AsyncBaseTransport):
    """See the module docstring."""

    def __init__(self, ssl_context: ssl.SSLContext, keepalive_expiry: float | None = 5.0,
                 backend: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._backend = backend or AsyncioBackend()
        self._connection: _Connection | None = None
        self._turn = asyncio.Lock()

    @property
    def connected(self) -> bool:
        """Whether a connection is kept."""
        return self._connection is not None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._turn.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("timed out waiting for the node's connection") from None
        try:
            return await self._exchange(request, timeouts)
        except Exception as exc:
            mapped = _mapped(exc)
            if mapped is None:
                raise
            raise mapped from exc
        finally:
            self._turn.release()

    async def _exchange(self, request: httpx.Request,
                        timeouts: dict[str, float | None]) -> httpx.Response:
        connection = await self._connected(request, timeouts.get("connect"))
        try:
            response = await _send_and_receive(connection, request, timeouts)
        except BaseException:
            await self._drop()
            raise
        if connection.h11.our_state is h11.DONE and connection.h11.their_state is h11.DONE:
            connection.h11.start_next_cycle()
            if self._keepalive_expiry is not None:
                connection.expires = time.monotonic() + self._keepalive_expiry
        else:  # the node said close, or answered before the request was sent
            await self._drop()
        return response

    async def _connected(self, request: httpx.Request, timeout: float | None) -> _Connection:
        """The kept connection if it can take ``request``, else a new one."""
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'." if scheme
                else "Request URL is missing an 'http://' or 'https://' protocol.")
        port = url.port or (443 if scheme == "https" else 80)
        origin = (scheme, url.host, port)
        kept = self._connection
        if kept is not None and kept.reusable(origin):
            return kept
        await self._drop()
        stream = await self._backend.connect_tcp(url.host, port, timeout=timeout)
        if scheme == "https":
            sni = request.extensions.get("sni_hostname") or url.host
            stream = await stream.start_tls(self._ssl_context, server_hostname=sni,
                                            timeout=timeout)
        self._connection = _Connection(origin, stream)
        return self._connection

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.stream.aclose()

    async def aclose(self) -> None:
        await self._drop()


async def _send_and_receive(connection: _Connection, request: httpx.Request,
                            timeouts: dict[str, float | None]) -> httpx.Response:
    state, stream = connection.h11, connection.stream
    data = b"".join(await _request_bytes(state, request))
    # A write refused: the node may have answered before it closed; read that answer.
    with contextlib.suppress(httpcore.WriteError):
        await stream.write(data, timeouts.get("write"))
    read = timeouts.get("read")
    while not isinstance(head := await _next(connection, read), h11.Response):
        pass  # a 1xx answer comes before the real one
    body, size = [], 0
    while not isinstance(event := await _next(connection, read), h11.EndOfMessage):
        if isinstance(event, h11.Data):
            body.append(bytes(event.data))
            size += len(event.data)
            if size > MAX_BODY:
                raise httpcore.RemoteProtocolError(
                    f"the answer is larger than {MAX_BODY // 2**20} MiB: not read further")
    return httpx.Response(
        head.status_code, headers=head.headers.raw_items(),
        stream=httpx.ByteStream(b"".join(body)), request=request,
        extensions={"http_version": b"HTTP/" + head.http_version,
                    "reason_phrase": head.reason, "network_stream": stream})


async def _request_bytes(state: h11.Connection, request: httpx.Request) -> list[bytes]:
    """The request as h11 frames it: head, body (as httpx streams it: one part for bytes
    and JSON) and the end."""
    out = [state.send(h11.Request(method=request.method, target=request.url.raw_path,
                                  headers=request.headers.raw)) or b""]
    assert isinstance(request.stream, AsyncIterable)
    async for part in request.stream:
        if part:
            out.append(state.send(h11.Data(data=part)) or b"")
    out.append(state.send(h11.EndOfMessage()) or b"")
    return out


async def _next(connection: _Connection, timeout: float | None) -> Any:
    """The next h11 event, reading from the node as h11 needs."""
    state = connection.h11
    while (event := state.next_event()) is h11.NEED_DATA:
        data = await connection.stream.read(READ_SIZE, timeout)
        if not data and state.their_state is h11.SEND_RESPONSE:
            raise httpcore.RemoteProtocolError("Server disconnected without sending a response.")
        state.receive_data(data)
    return event
