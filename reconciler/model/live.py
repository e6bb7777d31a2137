"""Live snapshots: what a node's management API (and its TLS port) showed at one moment.

Certificates are kept as PEM text, exactly as read; the pki layer parses them (once, through
its content-addressed cache). ``fingerprint()`` is a SHA-256 over a canonical form, used to
refuse a stale plan.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import Field

from reconciler.model.common import Frozen
from reconciler.model.desired import NodeType


class LiveNode(Frozen):
    """One node as read. ``error`` is set (and the rest left empty) when it could not be read."""

    name: str
    type: NodeType
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

    @property
    def reachable(self) -> bool:
        return self.error is None

    def fingerprint(self) -> str:
        """SHA-256 over the state that a plan depends on (canonical JSON, sorted)."""
        data = {
            "server": _norm(self.server_certificate),
            "served": _norm(self.served_certificate),
            "csr": _norm(self.pending_csr),
            "stores": {k: sorted(_norm(p) for p in v) for k, v in sorted(self.stores.items())},
            "restart_required": self.restart_required,
            "services_pending": sorted(self.services_pending),
            "error": self.error,
        }
        blob = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()


def _norm(pem: str | None) -> str:
    return "" if pem is None else "".join(pem.split())
