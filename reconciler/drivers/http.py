"""The one module that owns HTTP: TLS, timeouts, retries with backoff, and error mapping.

Every driver request goes through ``NodeHttp.request``. One ``NodeClient`` per node sends
over one keep-alive connection; TLS verification is on unless the node file says
``tls_verify: false``, and then only for that node. Reading is CPU-bound at fleet scale, so
the per-request path is kept short: credentials as a header built once, URLs parsed once,
the cookie jar only for answers that set a cookie, and h11 spoken directly on asyncio
streams (``h11conn``, ``netstream``) rather than through httpcore and anyio.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import logging
import random
import ssl
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from reconciler.drivers.errors import (
    AuthError,
    BadResponse,
    Conflict,
    NotFound,
    PermanentError,
    TemporaryError,
    Unreachable,
)
from reconciler.drivers.h11conn import NodeTransport
from reconciler.drivers.nodeclient import NodeClient
from reconciler.drivers.tlsrecovery import (
    ApiRecovery,
    manual_step,
    refused_in,
    verify_code_in,
)
from reconciler.pki.apirecovery import VALIDITY_VERIFY_CODES

RETRY_STATUSES = {429, 502, 503, 504}


def _sniffio_absent_once() -> None:
    """httpcore runs ``import sniffio`` on every request, lock and cancel shield (20 times a
    node) to learn whether it runs under asyncio or trio; anyio 4 no longer brings sniffio, and
    a failed import is not cached, so each one searched the whole ``sys.path`` again (~0.1 ms,
    a tenth of certops' CPU in plan). Where sniffio is not installed, say so once: httpcore
    then assumes asyncio, which is what certops runs."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_sniffio_absent_once()


@dataclass(frozen=True)
class HttpSettings:
    """How patient to be with a node."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retries: int = 3
    backoff: float = 0.5  # first wait; doubles each retry, with jitter
    max_backoff: float = 8.0
    max_retry_after: float = 60.0  # a node's Retry-After is honoured up to this
    restart_timeout: float = 900.0  # a service restart the driver waits for (--restart-timeout)
    poll: float = 1.0  # between looks while it waits (--poll-interval)


# One context per distinct trust configuration: building one loads the system store (~15 ms),
# and a fleet of 1,000 nodes shares the same CAs. SSLContext is safe to share across
# connections; the server name is per connection.
_CONTEXTS: dict[tuple[bool, bool, bytes], ssl.SSLContext] = {}


def tls_context(ca_pems: list[bytes], *, verify: bool, use_system: bool = True) -> ssl.SSLContext:
    """Client TLS context trusting the fleet's CAs (``cas/``) and, by default, the system store."""
    bundle = b"\n".join(ca_pems) if verify else b""
    key = (verify, use_system, bundle)
    ctx = _CONTEXTS.get(key)
    if ctx is not None:
        return ctx
    if not verify:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx = (
            ssl.create_default_context() if use_system else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        )

        if bundle:
            ctx.load_verify_locations(cadata=bundle.decode("ascii", errors="replace"))
    _CONTEXTS[key] = ctx
    return ctx


class _PinnedObject(ssl.SSLObject):
    """An SSLObject that checks the peer's certificate against the context's pins as soon as
    the handshake completes, before any request (and its credentials) is written."""

    def do_handshake(self) -> None:
        super().do_handshake()
        pins: frozenset[str] = getattr(self.context, "certops_pins", frozenset())
        der = self.getpeercert(binary_form=True) or b""
        seen = "sha256:" + hashlib.sha256(der).hexdigest()
        if seen not in pins:
            raise ssl.SSLCertVerificationError(
                1, f"CERTIFICATE_VERIFY_FAILED: the certificate ({seen}) matches no api_pins "
                "entry of the node file")


_PINNED: dict[frozenset[str], ssl.SSLContext] = {}


def pinned_context(pins: tuple[str, ...]) -> ssl.SSLContext:
    """A client context that authenticates the node by the SHA-256 of its certificate (DER)
    instead of a CA: no chain or name check, and no byte of a request before the pin matched
    (``_PinnedObject``). For nodes whose API certificate no CA certops has vouches for."""
    key = frozenset(p.lower() for p in pins)
    ctx = _PINNED.get(key)
    if ctx is None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.sslobject_class = _PinnedObject
        ctx.certops_pins = key  # type: ignore[attr-defined]
        _PINNED[key] = ctx
    return ctx


def only_these_cas(ca_pems: tuple[bytes, ...]) -> ssl.SSLContext:
    """A client context that trusts ``ca_pems`` only (a node's ``connection.ca_file``)."""
    ctx = tls_context(list(ca_pems), verify=True, use_system=False)
    ctx.check_hostname = True
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


AUDIT = logging.getLogger("certops.audit")  # configured by the CLI (reconciler/cli/logs.py)


# One keep-alive connection per node: one TLS handshake serves every request of a read
# (each extra handshake costs more CPU than the request itself).
LIMITS = httpx.Limits(max_connections=1, max_keepalive_connections=1)


def node_transport(verify: ssl.SSLContext | bool) -> NodeTransport:
    """The transport of a node reached without a proxy: its one connection, h11 directly
    (``h11conn``) on asyncio's streams with TLS through memory BIOs (``netstream``)."""
    assert LIMITS.max_connections == 1  # what NodeTransport keeps
    return NodeTransport(httpx.create_ssl_context(verify=verify, trust_env=False),
                         LIMITS.keepalive_expiry)


@dataclass
class NodeHttp:
    """HTTP to one node: base URL, credentials, TLS context, retry policy, request counters."""

    node: str
    base_url: str
    auth: tuple[str, str] | None = field(repr=False)  # never in a repr or a traceback
    verify: ssl.SSLContext | bool = True
    settings: HttpSettings = field(default_factory=HttpSettings)
    transport: httpx.AsyncBaseTransport | None = None
    server_name: str | None = None  # TLS name to send and verify, when not the URL's host
    proxy: str | None = field(default=None, repr=False)  # from the environment, on request
    counts: Counter[str] = field(default_factory=Counter)
    peer_certificate: bytes | None = field(default=None, repr=False)  # DER, from the TLS session
    # The pinned way in once the node's certificate has expired (drivers/tlsrecovery.py);
    # None: tls_verify off or api_pins (neither checks validity dates).
    recovery: ApiRecovery | None = field(default=None, repr=False)

    _client: NodeClient | None = field(default=None, repr=False)
    _retired: list[NodeClient] = field(default_factory=list, repr=False)
    _urls: dict[str, httpx.URL] = field(default_factory=dict, repr=False)

    @property
    def client(self) -> NodeClient:
        """The node's requests and its one transport: its own connection (``h11conn``),
        httpx's through a proxy, or the one a test gives."""
        if self._client is None:
            s = self.settings
            transport = self.transport or (
                node_transport(self.verify) if self.proxy is None else
                httpx.AsyncHTTPTransport(verify=self.verify, proxy=self.proxy, limits=LIMITS,
                                         trust_env=False))
            self._client = NodeClient(
                self.base_url, transport, self.auth,
                httpx.Timeout(s.read_timeout, connect=s.connect_timeout))
        return self._client

    async def aclose(self) -> None:
        for client in [*self._retired, *([self._client] if self._client else [])]:
            await client.aclose()
        self._retired.clear()
        self._client = None

    async def _send(self, method: str, path: str, kwargs: dict[str, Any]) -> httpx.Response:
        """The request; once more after the TLS context changed (``_switch_trust``)."""
        try:
            return await self.client.send(method, self.url(path), **kwargs)
        except httpx.ConnectError as exc:
            if not self._switch_trust(exc):
                raise
        return await self.client.send(method, self.url(path), **kwargs)

    def _switch_trust(self, exc: httpx.ConnectError) -> bool:
        """Whether a failed handshake calls for the other context: the recovery context when
        the ordinary one refused an expired (or not yet valid) certificate, the ordinary one
        when the recovery context met a certificate that is valid now (the node was renewed).
        The old client is retired, not closed: a request in flight on it ends as it would."""
        rec = self.recovery
        if rec is None:
            return False
        refused = refused_in(exc)
        if refused is not None:
            target = rec.normal if refused.verdict.refused == "valid_now" else None
        elif verify_code_in(exc) in VALIDITY_VERIFY_CODES:
            target = rec.context()
        else:
            target = None
        if target is None:
            return False
        if target is not self.verify:
            AUDIT.warning("tls", extra={
                "event": "tls", "node": self.node, "status": "switch", "duration_ms": 0.0,
                "operation": "expired API certificate: pinned recovery"
                if target is not rec.normal else "API certificate valid: ordinary verification"})
            if self._client is not None:
                self._retired.append(self._client)
            self._client = None
            self.verify = target
        return True

    def url(self, path: str) -> httpx.URL:
        """The absolute URL of ``path`` under the base URL (``NodeClient.url``), parsed once
        per path and node."""
        found = self._urls.get(path)
        if found is None:
            found = self._urls[path] = self.client.url(path)
        return found

    async def request(
        self,
        method: str,
        path: str,
        *,
        retry: bool = True,
        expect: tuple[int, ...] = (200, 201, 204),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send a request; retry temporary failures; map every failure to a DriverError."""
        attempts = 1 + (self.settings.retries if retry else 0)
        delay = self.settings.backoff
        if self.server_name:
            kwargs["extensions"] = {"sni_hostname": self.server_name}
        for attempt in range(1, attempts + 1):
            self.counts[method.upper()] += 1
            outcome = await self._audited_attempt(method, path, expect, kwargs)
            if isinstance(outcome, httpx.Response):
                return outcome
            error, retry_after = outcome
            if attempt == attempts:
                raise error
            wait = min(delay, self.settings.max_backoff) * (0.8 + 0.4 * random.random())
            if retry_after is not None:  # the node said when: never sooner (jitter only adds)
                wait = max(wait, min(retry_after, self.settings.max_retry_after))
            await asyncio.sleep(wait)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    async def _audited_attempt(
        self, method: str, path: str, expect: tuple[int, ...], kwargs: dict[str, Any]
    ) -> httpx.Response | tuple[TemporaryError, float | None]:
        """``_attempt``, recorded on the ``certops.audit`` logger (``--log-file``, ``-v``):
        node, method and path (no query string), status, duration; never a credential."""
        start = time.monotonic()
        status: str | int = "error"
        try:
            outcome = await self._attempt(method, path, expect, kwargs)
            status = (outcome.status_code if isinstance(outcome, httpx.Response)
                      else type(outcome[0]).__name__)
            return outcome
        except Exception as exc:
            status = type(exc).__name__
            raise
        finally:
            AUDIT.info("request", extra={
                "event": "request", "node": self.node,
                "operation": f"{method.upper()} {path.split('?', 1)[0]}", "status": status,
                "duration_ms": round((time.monotonic() - start) * 1000, 1)})

    async def _attempt(
        self, method: str, path: str, expect: tuple[int, ...], kwargs: dict[str, Any]
    ) -> httpx.Response | tuple[TemporaryError, float | None]:
        """One try: the response, or a temporary error (with the node's Retry-After) to retry
        on; a permanent failure is raised."""
        try:
            response = await self._send(method, path, kwargs)
        except httpx.TimeoutException as exc:
            # A connect or pool timeout means the request never left; a read or write
            # timeout means the node may have acted on it.
            return Unreachable(
                self.node,
                f"timed out ({type(exc).__name__})",
                method=method,
                path=path,
                sent=isinstance(exc, httpx.ReadTimeout | httpx.WriteTimeout),
                hint="the node is slow or down; try again later",
            ), None
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError,
                httpx.WriteError) as exc:
            return self._connection_error(method, path, exc), None
        except httpx.HTTPError as exc:
            raise PermanentError(
                self.node, str(exc) or type(exc).__name__, method=method, path=path
            ) from None
        _unbind(response)
        if response.status_code in expect:
            self._note_peer(response)
            return response
        error = self._status_error(method, path, response)
        if not isinstance(error, TemporaryError):
            raise error
        return error, _retry_after(response)

    def _connection_error(self, method: str, path: str, exc: httpx.HTTPError) -> TemporaryError:
        """A connection that failed: TLS verification is permanent (raised), the rest retried."""
        refused = refused_in(exc)
        if refused is not None and refused.verdict.refused != "valid_now":
            v = refused.verdict
            dates = (f"outside its validity ({v.not_before:%Y-%m-%d %H:%M} to "
                     f"{v.not_after:%Y-%m-%d %H:%M} UTC)" if v.not_before and v.not_after
                     else "unreadable")
            raise PermanentError(
                self.node,
                f"its API certificate {v.sha256} ({v.subject}) is {dates} and certops may not "
                f"use it: {v.reason}; no credentials were sent",
                method=method, path=path,
                hint=manual_step(self.node, v) if v.refused == "unpinned" else
                "renew the certificate by hand on the node (its chain or name does not verify "
                "even inside its validity)",
            ) from None
        if _is_tls_verification(exc):
            cause = _root_cause(exc)
            raise PermanentError(
                self.node,
                f"TLS verification failed: {cause}",
                method=method,
                path=path,
                hint=_tls_hint(cause),
            ) from None
        return Unreachable(
            self.node,
            f"connection failed: {_root_cause(exc)}",
            method=method,
            path=path,
            sent=not isinstance(exc, httpx.ConnectError),
            hint="check the URL, the network and that the node is up",
        )

    def _note_peer(self, response: httpx.Response) -> None:
        """Keep the certificate the node presented on this connection (what it serves)."""
        if self.peer_certificate is not None:
            return
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        if ssl_object is not None:
            self.peer_certificate = ssl_object.getpeercert(binary_form=True)

    def _status_error(self, method: str, path: str, r: httpx.Response) -> Exception:
        status = r.status_code
        body = _message(r)
        args: dict[str, Any] = {"method": method, "path": path, "status": status}
        if status in RETRY_STATUSES:
            return TemporaryError(self.node, body or "temporarily unavailable", **args)
        if status == 401:
            return AuthError(
                self.node,
                body or "not authorised",
                **args,
                hint="check the credentials in the environment variables the node "
                "file names, and that the account has API access",
            )
        if status == 403:
            return AuthError(
                self.node,
                body or "forbidden",
                **args,
                hint="the account lacks API access (or the node is in advanced "
                "account security mode), or the node refused a header",
            )
        if status == 404:
            return NotFound(self.node, body or "not found", **args)
        if status == 409:
            return Conflict(self.node, body or "conflict", **args)
        if 400 <= status < 500:
            return PermanentError(self.node, body or "request refused", **args)
        return PermanentError(
            self.node,
            body or "server error",
            **args,
            hint="the node failed; look at its logs before retrying",
        )

    def json(self, response: httpx.Response, method: str, path: str) -> Any:
        """The response's JSON, or a BadResponse naming the endpoint."""
        try:
            return loads(response.content)
        except ValueError:
            raise BadResponse(
                self.node,
                "the answer is not JSON: " + _snippet(response.text),
                method=method,
                path=path,
                status=response.status_code,
            ) from None


_READ = httpx.ByteStream(b"")  # the stream of a response whose body has been read


def _unbind(response: httpx.Response) -> None:
    """Drop the read response's stream, which httpx binds back to the response (a reference
    cycle): the body (a Unified CM inventory is ~600 kB) is then freed as soon as the driver
    lets go of the response, not at the next full garbage collection, which at fleet scale
    is the difference between ~200 MB of dead answers held and none. The body stays readable
    (``content``, ``text``, ``json()``)."""
    if response.is_stream_consumed and response.is_closed:
        response.stream = _READ


def loads(content: bytes) -> Any:
    """What ``json.loads(content)`` gives (``httpx.Response.json()``), decoded by orjson
    where it can: ~2.5x faster on a Unified CM's inventory. orjson refuses what json
    accepts beyond strict UTF-8 JSON (NaN, integers over 64 bits, UTF-16 text): json then
    decides, with its own answer or its own error."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


def _message(r: httpx.Response) -> str:
    try:
        data = r.json()
    except ValueError:
        return _snippet(r.text)
    if isinstance(data, dict):
        for key in ("Message", "message", "error", "detail"):
            if isinstance(data.get(key), str):
                return str(data[key])
    return _snippet(r.text)


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text[:200] + ("…" if len(text) > 200 else "")


def _retry_after(r: httpx.Response) -> float | None:
    value = r.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _root_cause(exc: BaseException) -> str:
    seen = {id(exc)}
    while (nxt := exc.__cause__ or exc.__context__) is not None and id(nxt) not in seen:
        seen.add(id(nxt))
        exc = nxt
    return str(exc) or type(exc).__name__


# OpenSSL's words when the certificate is trusted but does not name the address connected to.
_NAME_MISMATCH = ("hostname mismatch", "ip address mismatch", "doesn't match")


def _tls_hint(cause: str) -> str:
    """What to do about a failed verification: a name mismatch is not fixed by adding a CA."""
    if any(words in cause.lower() for words in _NAME_MISMATCH):
        return (
            "the node's certificate does not name the address in the URL: use a URL with a "
            "name the certificate carries, or tell certops the name to verify (the inventory's "
            "tls_server_name)"
        )
    return (
        "add the CA of the node's certificate under cas/ "
        "(or set tls_verify: false on this node, which every plan will show)"
    )


def _is_tls_verification(exc: BaseException) -> bool:
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)
