"""When a certificate is renewed, and why: an ACME CA's renewal window (ARI, RFC 9773).

Every certificate certops renews from an ACME issuer is asked about: a node's primary one
and its other roles' (``certificates:``); mappings of windows and revocations are keyed by
``RenewalWindow.key`` (``<node>`` or ``<node>.<role>``, ``model.layout.role_stem``).

``RenewalWindow`` is what a CA's ``renewalInfo`` said about one certificate (its certID,
``base64url(AKI).base64url(serial)``): the suggested window, an optional explanation URL
(a CA names its incident there), when it was asked and when it may be asked again (the
CA's ``Retry-After``). ``RenewalCache`` is the file every run reads first
(``model.layout.RENEWAL_INFO_FILE``, committed next to the CSRs) so that a fresh clone in
CI does not ask the CA again before ``next_check``. Pure data: the issuer layer fetches and
writes, the planner reads.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from reconciler.model.common import Frozen
from reconciler.model.layout import role_stem


class RenewalWindow(Frozen):
    """The CA's suggested renewal window for one certificate (RFC 9773 section 4.2)."""

    cert_id: str
    issuer: str  # the certops.yaml issuer that asked
    node: str  # the node whose certificate it is (an order that replaces it names cert_id)
    role: str | None = None  # a certificate role other than the node's primary one
    start: datetime
    end: datetime
    explanation_url: str | None = None
    checked_at: datetime
    next_check: datetime  # checked_at + the CA's Retry-After (bounded)
    # When certops first read this same window (start and end unchanged) from the CA, where
    # earlier than checked_at: a window seen before it opened stays a normal one when asked
    # again after it opened.
    first_seen: datetime | None = None

    @property
    def key(self) -> str:
        """``<node>`` or ``<node>.<role>``: the certificate's name in plans and orders."""
        return role_stem(self.node, self.role)

    def urgent(self, now: datetime) -> bool:
        """The CA says "renew now": the window had already opened when certops first saw it
        (how a CA announces a revocation through ARI), or it has closed."""
        return self.start <= (self.first_seen or self.checked_at) or self.end <= now

    def describe(self) -> str:
        when = f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"
        why = f"; the CA explains: {self.explanation_url}" if self.explanation_url else ""
        return f"the CA's ARI window {when}{why}"


class RenewalCache(Frozen):
    """``renewal-info.json``: the last answer of each certificate's CA, by certID, and the
    certificates found on their issuer's CRL (what the CRL said), by certID."""

    windows: dict[str, RenewalWindow] = Field(default_factory=dict)
    revoked: dict[str, str] = Field(default_factory=dict)
