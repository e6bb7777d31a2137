"""The project's own errors for talking to nodes: each names the node, method, path, status.

``TemporaryError`` is retried (connect errors, timeouts, 502/503/504, 429); ``PermanentError``
never is (400/401/403/404/409 and any other 4xx). Callers see only these, never httpx's.
"""

from __future__ import annotations

from typing import Any

from reconciler.model import CertopsError


class DriverError(CertopsError):
    """A request to a node failed. ``str()`` is one line a user can act on."""

    def __init__(
        self,
        node: str,
        message: str,
        *,
        method: str = "",
        path: str = "",
        status: int | None = None,
        hint: str = "",
    ) -> None:
        self.node, self.method, self.path, self.status, self.hint = node, method, path, status, hint
        self.detail = message
        where = f" {method} {path}" if method else ""
        code = f" -> {status}" if status is not None else ""
        tail = f"; {hint}" if hint else ""
        super().__init__(f"{node}:{where}{code}: {message}{tail}")


class TemporaryError(DriverError):
    """Worth retrying: the node may answer later."""


class Unreachable(TemporaryError):
    """No connection (refused, reset, timed out, DNS).

    ``sent`` tells whether the request may have reached the node (the connection broke or
    timed out after it was sent) or surely did not (refused, connect timeout, TLS failure):
    a restart that was sent and then lost its connection may well be under way.
    """

    def __init__(self, node: str, message: str, *, sent: bool = False, **kwargs: Any) -> None:
        super().__init__(node, message, **kwargs)
        self.sent = sent


class PermanentError(DriverError):
    """Retrying will not help: the request or the node's state must change."""


class AuthError(PermanentError):
    """401/403: wrong credentials, or the account lacks API access."""


class NotFound(PermanentError):
    """404: the endpoint or object does not exist (e.g. CUCM 12.5 has no REST API)."""


class Conflict(PermanentError):
    """409: the node's state forbids it (e.g. a CSR is already pending)."""


class BadResponse(PermanentError):
    """The node answered, but not with what its API documents (garbage, wrong shape)."""


class Unparseable(BadResponse):
    """The node answered JSON of a shape certops does not know (``live.unparseable``): the
    message names the fields it saw, so that a real node's shape can be added."""


class ConfigError(CertopsError):
    """A node cannot be contacted as configured (missing credentials variable, bad URL)."""
