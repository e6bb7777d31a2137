"""What the emulated products' HTTP apps share: route tables, Basic auth, multipart, JSON.

A product module declares one ``ROUTES`` table (method, path, operation name, handler) that
mirrors its table in device-apis.md; ``build_app`` turns it into a starlette app wrapped in
the node's fault/counter middleware. Multipart bodies are parsed with the standard
library's ``email`` parser (starlette's form parser would need python-multipart).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp

from reconciler.lab.faults import FaultMiddleware, ReadsFor
from reconciler.lab.node import Node

Handler = Callable[[Node, Request], Awaitable[Response]]
# Which account a route takes: the node's admin (on VOS the platform (OS) administrator, for
# the REST API) or a VOS node's application user (SOAP service control) [3P: two accounts].
Account = Literal["admin", "app"]


@dataclass(frozen=True)
class Route:
    """One row of a product's API table."""

    method: str
    path: str
    operation: str
    handler: Handler
    auth: bool = True
    account: Account = "admin"
    # A non-GET route whose body may only read: says so from the body (not a write).
    reads: Callable[[bytes], bool] | None = None


def message(status: int, text: str, **extra: Any) -> JSONResponse:
    """The Expressway answer shape: ``{"Message": ...}``."""
    return JSONResponse({"Message": text, **extra}, status_code=status)


def pem_text(text: str) -> PlainTextResponse:
    return PlainTextResponse(text, media_type="text/plain")


def authorized(node: Node, request: Request, account: Account = "admin") -> bool:
    """Basic auth with the route's account; the other account's password is refused."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    want_user, want_password = (
        (node.username, node.password) if account == "admin"
        else (node.app_username, node.app_password)
    )
    return bool(want_password) and secrets.compare_digest(user, want_user) and (
        secrets.compare_digest(password, want_password))


def unauthorized(realm: str) -> Response:
    return PlainTextResponse(
        "401 Unauthorized", status_code=401,
        headers={"WWW-Authenticate": f'Basic realm="{realm}"'},
    )


async def multipart_file(request: Request, field: str = "file") -> bytes | None:
    """The content of one multipart/form-data field, or None when absent or not multipart."""
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        return None
    body = await request.body()
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\nMIME-Version: 1.0\r\n\r\n" + body
    )
    if not isinstance(msg, EmailMessage) or not msg.is_multipart():
        return None
    for part in msg.iter_parts():
        if part.get_param("name", header="content-disposition") == field:
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else None
    return None


async def json_body(request: Request) -> dict[str, Any] | None:
    try:
        data = json.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def operation_lookup(routes: Sequence[Route], prefix: str = "") -> Callable[[str, str], str]:
    table = {(r.method, prefix + r.path): r.operation for r in routes}

    def operation_for(method: str, path: str) -> str:
        return table.get((method.upper(), path), "")

    return operation_for


def reads_lookup(routes: Sequence[Route], prefix: str = "") -> ReadsFor:
    table = {(r.method, prefix + r.path): r.reads for r in routes if r.reads is not None}

    def reads_for(method: str, path: str) -> Callable[[bytes], bool] | None:
        return table.get((method.upper(), path))

    return reads_for


def build_app(
    node: Node, routes: Sequence[Route], *, realm: str, prefix: str = "",
    gate: Callable[[Request], Response | None] | None = None,
) -> ASGIApp:
    """A starlette app serving ``routes`` for ``node``, with auth, faults and counters."""

    def endpoint(route: Route) -> Callable[[Request], Awaitable[Response]]:
        async def call(request: Request) -> Response:
            if gate is not None and (early := gate(request)) is not None:
                return early
            if route.auth and not authorized(node, request, route.account):
                return unauthorized(realm)
            return await route.handler(node, request)

        return call

    by_path: dict[str, list[Route]] = {}
    for r in routes:
        by_path.setdefault(prefix + r.path, []).append(r)
    st_routes = []
    for path, group in by_path.items():
        handlers = {r.method: endpoint(r) for r in group}

        async def dispatch(
            request: Request, handlers: dict[str, Callable[[Request], Awaitable[Response]]]
            = handlers,
        ) -> Response:
            return await handlers[request.method](request)

        st_routes.append(StarletteRoute(path, dispatch, methods=list(handlers)))
    app = Starlette(routes=st_routes)
    return FaultMiddleware(app, node.faults, operation_lookup(routes, prefix),
                           reads_lookup(routes, prefix))
