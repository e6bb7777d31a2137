"""Recorded exchanges: an httpx transport that records (``certops doctor --record``) and one
that replays a recording through the drivers (tests, through ``seams.DriverFactory``).

A recording is JSON: ``{"node", "type", "source", "exchanges": [{"request": {"method",
"path", "query", "headers"}, "response": {"status", "content_type", "body"}, "source"}]}``.
Credentials never enter it: ``Authorization``, cookies and session tokens are removed from
headers, and JSON fields named like a secret are masked. Certificates are kept (public).
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie",
                  "x-auth-token", "x-csrf-token"}
SECRET_FIELD = re.compile(r"pass|secret|token|session|cookie|auth", re.IGNORECASE)
MASK = "***"


def scrub(value: Any) -> Any:
    """``value`` with every JSON field named like a secret masked."""
    if isinstance(value, dict):
        return {k: MASK if SECRET_FIELD.search(str(k)) else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def _body(content: bytes, content_type: str) -> Any:
    text = content.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return scrub(json.loads(text))
        except ValueError:
            return text
    return text


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes every request to ``inner`` and keeps a scrubbed copy of the exchange."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[dict[str, Any]] = []
        # Every request sent, answered or not: (method, SOAPAction header or "").
        self.sent: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.headers.get("soapaction", "")))
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        ctype = response.headers.get("content-type", "")
        self.exchanges.append({
            "request": {
                "method": request.method, "path": request.url.path,
                "query": request.url.query.decode(),
                "headers": {k: v for k, v in request.headers.items()
                            if k.lower() not in SECRET_HEADERS | {"host", "content-length"}},
            },
            "response": {"status": response.status_code, "content_type": ctype,
                         "body": _body(content, ctype)},
        })
        return httpx.Response(response.status_code, headers=response.headers, content=content,
                              extensions=response.extensions, request=request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers each request with the first recorded exchange of the same method and path."""

    def __init__(self, recording: dict[str, Any]) -> None:
        self.exchanges: list[dict[str, Any]] = list(recording["exchanges"])

    def find(self, method: str, path: str) -> dict[str, Any] | None:
        return next((e for e in self.exchanges if e["request"]["method"] == method
                     and e["request"]["path"] == path), None)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        found = self.find(request.method, request.url.path)
        if found is None:
            return httpx.Response(599, text=f"not in the recording: {request.method} "
                                  f"{request.url.path}", request=request)
        answer = found["response"]
        body = answer["body"]
        content = json.dumps(body) if not isinstance(body, str) else body
        return httpx.Response(answer["status"], content=content.encode(), request=request,
                              headers={"content-type": answer.get("content_type", "")})
