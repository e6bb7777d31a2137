"""Live snapshots: what a node's management API (and its TLS port) showed at one moment.

Certificates are kept as PEM text, exactly as read; the pki layer parses them (once, through
its content-addressed cache). ``fingerprint()`` is a SHA-256 over a canonical form, used to
refuse a stale plan.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from pydantic import Field

from reconciler.model.common import Frozen


class ExpiredApiCertificate(Frozen):
    """The node's API certificate was expired (or not yet valid) when certops connected.

    ``pinned_by`` names the committed record that pins it (``certs/<node>.pem``, the node's
    certificate file, or ``connection.recovery_pins``): certops then read the node with the
    expiry set aside for that one certificate. None: no record pins it, no credentials were
    sent and the node was not read (``reason`` says why it was refused)."""

    sha256: str = Field(description="'sha256:<hex>' of the served leaf (DER).")
    subject: str
    not_before: str = Field(description="ISO 8601, UTC.")
    not_after: str = Field(description="ISO 8601, UTC.")
    expired: bool = Field(True, description="False: not yet valid (a clock behind).")
    pinned_by: str | None = None
    reason: str = ""


class LiveNode(Frozen):
    """One node as read. ``error`` is set (and the rest left empty) when it could not be read."""

    name: str
    type: str = Field(description="The node's device kind (reconciler.kinds).")
    error: str | None = None
    version: str | None = None
    server_certificate: str | None = Field(None, description="Installed certificate (PEM).")
    served_certificate: str | None = Field(
        None, description="Certificate presented in a TLS handshake on the API port (PEM)."
    )
    pending_csr: str | None = Field(None, description="The node's pending CSR (PEM), if any.")
    stores: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="Trust store name -> CA certificates (PEM)."
    )
    restart_required: bool = False
    services_pending: tuple[str, ...] = Field(
        (), description="CUCM services that must restart before a trust change takes effect."
    )
    capabilities: tuple[str, ...] = ()
    transport: str | None = Field(
        None, description="VOS: how the node was read, 'rest' or 'cli' (the platform CLI over "
        "SSH, release 12.5); not part of the fingerprint: the state is the same either way."
    )
    unparseable: bool = Field(
        False, description="``error`` says the node answered a shape certops does not know."
    )
    role_certificates: dict[str, str] = Field(
        default_factory=dict,
        description="Certificates of roles other than the primary one (role -> PEM), e.g. "
        "an Expressway X15.5's client certificate.",
    )
    role_pending_csrs: dict[str, str] = Field(
        default_factory=dict, description="Pending CSRs of roles other than the primary one."
    )
    roles_unreadable: tuple[str, ...] = Field(
        (), description="Roles the node has but whose store its API does not list (manual)."
    )
    settings: dict[str, str] = Field(
        default_factory=dict,
        description="Node settings that decide EKU rules, as read (name -> value).",
    )
    api_certificate_expired: ExpiredApiCertificate | None = Field(
        None, description="The API certificate had expired when certops connected: read "
        "under a pin, or (with ``error``) not read; not part of the fingerprint (the served "
        "certificate is)."
    )

    @property
    def reachable(self) -> bool:
        return self.error is None

    def fingerprint_parts(self) -> dict[str, str]:
        """A SHA-256 per part of the state a plan depends on, to say what changed."""
        parts: dict[str, object] = {
            "server certificate": _norm(self.server_certificate),
            "served certificate": _norm(self.served_certificate),
            "pending CSR": _norm(self.pending_csr),
            "restart flags": [self.restart_required, sorted(self.services_pending)],
            "reachability": self.error or "",
        }
        for store, pems in sorted(self.stores.items()):
            parts[store] = sorted(_digest(p) for p in pems)
        # Parts of other roles and settings appear only when present: the fingerprints of
        # nodes without them stay what they were.
        for role, pem in sorted(self.role_certificates.items()):
            parts[f"{role} certificate"] = _norm(pem)
        for role, pem in sorted(self.role_pending_csrs.items()):
            parts[f"{role} pending CSR"] = _norm(pem)
        if self.settings:
            parts["settings"] = sorted(self.settings.items())
        return {k: _sha(v) for k, v in parts.items()}

    def fingerprint(self) -> str:
        """SHA-256 over the canonical form of every part (see ``fingerprint_parts``)."""
        return fingerprint_of(self.fingerprint_parts())


def fingerprint_of(parts: dict[str, str]) -> str:
    """A node's fingerprint from its ``fingerprint_parts`` (when those are at hand already)."""
    return _sha(parts)


def _sha(value: object) -> str:
    blob = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


@lru_cache(maxsize=65536)
def _digest(pem: str) -> str:
    """SHA-256 of one certificate's normalised PEM (memoised: stores repeat the same CAs)."""
    return hashlib.sha256(_norm(pem).encode()).hexdigest()


def _norm(pem: str | None) -> str:
    return "" if pem is None else "".join(pem.split())
