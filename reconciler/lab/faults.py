"""Fault injection and request counting for one emulated node (an ASGI middleware).

A ``Fault`` matches requests by ``match``: a path glob when it holds ``/`` or ``*``
(``/api/provisioning/*``), otherwise an operation name from the product's route table
(``cert.upload``, ``restart``, ``soap.control`` ...); ``*`` matches everything. What it
does, in this order: ``latency_ms`` (added delay, then a normal answer), ``slow_seconds``
(a delay meant to outlast the client's timeout), ``drop`` (close the socket, no answer),
``status`` (500/503 with an optional ``Retry-After``), ``malformed_json`` (a truncated
JSON body with status 200). ``restart_hang`` is read by the restart logic: the node goes
down and never comes back while the fault is set. ``count`` limits a fault to the next N
matching calls (None: until cleared).

Every request is counted by method before anything else (even a 401), so tests can
assert that ``certops plan`` sends no request other than GET. ``writes`` counts the requests
that may change the node: every one but a GET, except a request its route declares a read
(``reads``: a function of the body; the SOAP ``soapGetServiceStatus`` is a POST that only
reads), so tests can assert that ``certops doctor`` writes nothing.
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Per (method, path): None, or a function of the request body that says it only reads.
ReadsFor = Callable[[str, str], Callable[[bytes], bool] | None]


class Fault(BaseModel):
    """One injected misbehaviour of a node; see the module docstring."""

    match: str = Field("*", description="Path glob (has '/' or '*') or operation name.")
    latency_ms: int = Field(0, ge=0)
    slow_seconds: float = Field(0.0, ge=0)
    drop: bool = False
    status: int | None = Field(None, ge=400, le=599)
    retry_after: int | None = Field(None, ge=0)
    malformed_json: bool = False
    restart_hang: bool = False
    # The platform CLI (``lab.vos_cli_certs``; ``match``: a command name such as
    # ``cert.import``): stop answering after the command's prompt, or answer garbage.
    cli_hang: bool = False
    cli_garbage: bool = False
    count: int | None = Field(None, ge=1, description="Only the next N matching calls.")

    def matches(self, path: str, operation: str) -> bool:
        if self.match == "*":
            return True
        if "/" in self.match or "*" in self.match:
            return fnmatch.fnmatchcase(path, self.match)
        return self.match == operation


class DroppedConnection(Exception):
    """Raised in-process (httpx.ASGITransport) where there is no socket to close."""


class FaultHost:
    """What the middleware needs from a node: its fault list, counters and persistence."""

    def __init__(self, faults: list[Fault], save: Callable[[], None]) -> None:
        self.faults = faults
        self.save = save
        self.counters: Counter[str] = Counter()

    def take(self, path: str, operation: str) -> list[Fault]:
        """The faults that apply to this call; counted ones are used up."""
        hit = [f for f in self.faults if not (f.restart_hang or f.cli_hang or f.cli_garbage)
               and f.matches(path, operation)]
        spent = False
        for fault in hit:
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.faults.remove(fault)
                    spent = True
        if spent:
            self.save()
        return hit

    def restart_hangs(self) -> bool:
        return any(f.restart_hang for f in self.faults)

    def count(self, method: str, *, reads: bool = False) -> None:
        """One request; ``reads``: a non-GET that only reads (not counted in ``writes``)."""
        self.counters[method.upper()] += 1
        self.counters["total"] += 1
        if method.upper() != "GET":
            self.counters["non_get"] += 1
            if not reads:
                self.counters["writes"] += 1


def _transport_of(send: Send) -> asyncio.Transport | None:
    # uvicorn's ``send`` is a bound method of its request cycle, which holds the transport.
    owner = getattr(send, "__self__", None)
    transport = getattr(owner, "transport", None)
    return transport if isinstance(transport, asyncio.Transport) else None


class FaultMiddleware:
    """Counts requests and applies the node's faults before the product app sees them."""

    def __init__(
        self, app: ASGIApp, host: FaultHost, operation_for: Callable[[str, str], str],
        reads_for: ReadsFor | None = None,
    ) -> None:
        self.app = app
        self.host = host
        self.operation_for = operation_for
        self.reads_for = reads_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        judge = self.reads_for(method, path) if self.reads_for and method != "GET" else None
        if judge is not None:
            body, receive = await _buffered(receive)
            self.host.count(method, reads=judge(body))
        else:
            self.host.count(method)
        faults = self.host.take(path, self.operation_for(method, path))
        for fault in faults:
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.slow_seconds:
                await asyncio.sleep(fault.slow_seconds)
        for fault in faults:
            if fault.drop:
                transport = _transport_of(send)
                if transport is None:
                    raise DroppedConnection(f"fault: connection dropped on {method} {path}")
                transport.abort()
                await asyncio.sleep(0)  # let the loop see the connection is gone
                return
            if fault.status:
                await _send(send, fault.status, _error_body(fault.status), fault.retry_after)
                return
            if fault.malformed_json:
                await _send(send, 200, b'{"Message": "The operation was succ', None)
                return
        await self.app(scope, receive, send)


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole request body, and a ``receive`` that hands it to the app again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _error_body(status: int) -> bytes:
    text = "Service Unavailable" if status == 503 else "Internal Server Error"
    return json.dumps({"Message": text}).encode()


async def _send(send: Send, status: int, body: bytes, retry_after: int | None) -> None:
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def parse_faults(items: list[dict[str, Any]]) -> list[Fault]:
    return [Fault.model_validate(i) for i in items]
