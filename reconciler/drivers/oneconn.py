"""A node's one keep-alive connection, where httpx's transport keeps its httpcore pool.

Every node client allows one connection (``http.LIMITS``), so httpcore's pool only ever
queued requests for that one connection, yet did its bookkeeping on every request: a queue
entry, a pass over its connections, cancel-shielded scopes (anyio's) to close nothing, and a
wrapper on the body to hand the connection back (~5 % of a 1,000-node plan's CPU). Here a
lock stands for the queue and the connection is kept, made again only when it is closed,
expired or refused a request, as the pool would.

The same as the pool, for what certops sees: one connection at a time (concurrent requests
on a node wait their turn), the ``pool`` timeout on that wait (``httpcore.PoolTimeout``,
which httpx maps to ``httpx.PoolTimeout``), the scheme check and its messages, a connection
the node closed while idle made again before the request, a ``ConnectionNotAvailable``
tried again on a new connection, and the connection handed back when the body is closed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterable, AsyncIterator
from types import TracebackType

import httpcore


class OneConnection:
    """Stands where ``httpx.AsyncHTTPTransport`` keeps its ``httpcore.AsyncConnectionPool``."""

    def __init__(self, ssl_context: ssl.SSLContext, keepalive_expiry: float | None,
                 network_backend: httpcore.AsyncNetworkBackend) -> None:
        self._ssl_context = ssl_context
        self._keepalive_expiry = keepalive_expiry
        self._backend = network_backend
        self._connection: httpcore.AsyncHTTPConnection | None = None
        self._turn = asyncio.Lock()

    @property
    def connections(self) -> list[httpcore.AsyncHTTPConnection]:
        """The connection kept (none or one), as the pool's ``connections`` lists them."""
        return [self._connection] if self._connection is not None else []

    @property
    def network_backend(self) -> httpcore.AsyncNetworkBackend:
        return self._backend

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        """Send ``request`` on the connection once it is free; the response's body hands the
        connection back when it is closed."""
        scheme = request.url.scheme.decode()
        if scheme == "":
            raise httpcore.UnsupportedProtocol(
                "Request URL is missing an 'http://' or 'https://' protocol.")
        if scheme not in ("http", "https", "ws", "wss"):
            raise httpcore.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'.")
        await self._wait_turn(request.extensions.get("timeout", {}).get("pool"))
        try:
            while True:
                connection = await self._usable(request.url.origin)
                try:
                    response = await connection.handle_async_request(request)
                except httpcore.ConnectionNotAvailable:  # as the pool: on a new connection
                    await self._drop()
                    continue
                break
        except BaseException:
            await self._hand_back()
            raise
        assert isinstance(response.stream, AsyncIterable)
        return httpcore.Response(status=response.status, headers=response.headers,
                                 content=_Body(response.stream, self),
                                 extensions=response.extensions)

    async def _wait_turn(self, timeout: float | None) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._turn.acquire()
        except TimeoutError as exc:
            raise httpcore.PoolTimeout(exc) from exc

    async def _usable(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        """The kept connection, or a new one where it is closed, expired (the node closed it
        while idle, or its keep-alive ran out) or for another origin."""
        kept = self._connection
        if kept is not None and (kept.is_closed() or kept.has_expired()
                                 or not kept.can_handle_request(origin)):
            await self._drop()
            kept = None
        if kept is None:
            kept = self._connection = httpcore.AsyncHTTPConnection(
                origin=origin, ssl_context=self._ssl_context,
                keepalive_expiry=self._keepalive_expiry, network_backend=self._backend)
        return kept

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.aclose()

    async def _hand_back(self) -> None:
        """The request is done with the connection: forget it if it closed, free the turn."""
        try:
            if self._connection is not None and self._connection.is_closed():
                await self._drop()
        finally:
            self._turn.release()

    async def aclose(self) -> None:
        await self._drop()

    async def __aenter__(self) -> OneConnection:
        return self

    async def __aexit__(self, kind: type[BaseException] | None = None,
                        value: BaseException | None = None,
                        traceback: TracebackType | None = None) -> None:
        await self.aclose()


class _Body:
    """A response body that hands the connection back once, when it is closed (or fails)."""

    def __init__(self, stream: AsyncIterable[bytes], owner: OneConnection) -> None:
        self._stream = stream
        self._owner = owner
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            close = getattr(self._stream, "aclose", None)
            if close is not None:
                await close()
        finally:
            await self._owner._hand_back()
