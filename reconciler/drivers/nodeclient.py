"""A node's requests, built as ``httpx.AsyncClient`` builds them and sent straight to the
node's transport.

httpx's client wraps each request in layers certops does not use (an auth flow, a redirect
loop, event hooks, a bound body stream, a timer) and re-merges its defaults every time; for
a node's few small reads that was ~0.15 ms of CPU a request, more than h11 costs. What it
did for certops is done here, once per node where it can be:

- the client's default headers (``Accept``, ``Accept-Encoding: gzip, deflate``,
  ``Connection: keep-alive``, its ``User-Agent``) and the node's credentials as an
  ``Authorization`` header, which a request's ``auth=(user, password)`` replaces (SOAP's
  application user) and its own ``headers`` override;
- URLs joined to the base URL as the client joins them (``url``), ``params`` merged into
  the query, bodies encoded by ``httpx.Request`` itself (``json``, ``content``, ``files``);
- cookies: a ``Set-Cookie`` kept and sent back on the node's later requests;
- timeouts as the client hands them to its transport (connect, and read/write/pool);
- the response read whole and its stream closed (the transport's connection handed back).

No redirect is followed (the client's default too): a 3xx is an answer like any other.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

# What httpx.AsyncClient sends on every request; Accept-Encoding without the optional
# decoders (br, zstd) httpx offers when their packages happen to be installed.
DEFAULT_HEADERS = (
    ("Accept", "*/*"),
    ("Accept-Encoding", "gzip, deflate"),
    ("Connection", "keep-alive"),
    ("User-Agent", f"python-httpx/{httpx.__version__}"),
)


def basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` value of HTTP Basic auth, encoded as ``httpx.BasicAuth`` does
    (UTF-8 ``user:password``, base64)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class _Cookies(httpx.Cookies):
    """A cookie store that reads ``Set-Cookie`` only when a response has one: the jar
    first builds urllib request and response adapters (a URL split and header copies),
    and the node APIs rarely set cookies. When one does, the jar does what it did."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


def _base(base_url: str) -> str:
    """The base URL as httpx's client keeps it (parsed, its path ending in a slash)."""
    url = httpx.URL(base_url)
    if not url.raw_path.endswith(b"/"):
        url = url.copy_with(raw_path=url.raw_path + b"/")
    return str(url)


class NodeClient:
    """See the module docstring. ``transport`` is the node's own (``h11conn``), httpx's
    with a proxy, or a test's (a mock, the in-process lab's ASGI app)."""

    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport,
                 auth: tuple[str, str] | None, timeout: httpx.Timeout) -> None:
        self.base_url = _base(base_url)
        self.transport = transport
        self.cookies: httpx.Cookies = _Cookies()
        self._headers = [*DEFAULT_HEADERS, *((("Authorization", basic_authorization(*auth)),)
                                             if auth is not None else ())]
        self._timeout = timeout.as_dict()

    def __repr__(self) -> str:  # never the credentials' header
        return f"NodeClient({self.base_url!r})"

    def url(self, path: str) -> httpx.URL:
        """The absolute URL of ``path`` under the base URL, joined as httpx joins a relative
        URL to ``base_url`` (the base path, then ``path`` without its leading slashes)."""
        return httpx.URL(f"{self.base_url.rstrip('/')}/{path.lstrip('/')}")

    def build(self, method: str, url: httpx.URL, *, headers: dict[str, str] | None = None,
              auth: tuple[str, str] | None = None, extensions: dict[str, Any] | None = None,
              **body: Any) -> httpx.Request:
        """The request ``httpx.AsyncClient.build_request`` would make (``body``: params,
        json, content, data, files)."""
        merged = httpx.Headers(self._headers)
        if auth is not None:
            merged["Authorization"] = basic_authorization(*auth)
        if headers:
            merged.update(headers)
        request = httpx.Request(method, url, headers=merged,
                                extensions={"timeout": self._timeout, **(extensions or {})},
                                **body)
        if self.cookies:
            self.cookies.set_cookie_header(request)
        return request

    async def send(self, method: str, url: httpx.URL, **kwargs: Any) -> httpx.Response:
        """The node's answer, read whole."""
        request = self.build(method, url, **kwargs)
        response = await self.transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        self.cookies.extract_cookies(response)
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()
