"""Live snapshots parsed once: the certificates, CSR and stores of each node as pki objects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

from reconciler.model import Code, Finding, LiveNode, Severity
from reconciler.pki import CertCache, CertInfo, CsrInfo, PkiError


@dataclass
class LiveView:
    """One reachable node's live state, parsed."""

    live: LiveNode
    installed: CertInfo | None = None
    served: CertInfo | None = None
    pending_csr: CsrInfo | None = None
    # store -> sha -> cert; read-only: nodes with the same store share one (CertCache.parse_store)
    stores: dict[str, Mapping[str, CertInfo]] = field(default_factory=dict)
    role_installed: dict[str, CertInfo] = field(default_factory=dict)  # other roles
    role_pending: dict[str, CsrInfo] = field(default_factory=dict)

    def lacks(self, store: str, shas: Iterable[str]) -> set[str]:
        """The SHA-256s of ``shas`` that ``store`` does not hold (a set difference: a
        fleet's stores mostly hold every listed CA)."""
        return set(shas) - self.stores.get(store, {}).keys()

    @property
    def restart_pending(self) -> bool:
        """Installed but not served: the node waits for a restart."""
        if self.live.restart_required:
            return True
        return (
            self.installed is not None
            and self.served is not None
            and self.installed.sha256 != self.served.sha256
        )


def parse_live(live: LiveNode, cache: CertCache) -> tuple[LiveView, list[Finding]]:
    """Parse what the node returned; anything unparseable becomes a finding, not a crash."""
    view = LiveView(live=live)
    findings: list[Finding] = []

    def bad(what: str, exc: Exception) -> None:
        findings.append(
            Finding(
                code=Code.LIVE_UNPARSEABLE,
                severity=Severity.ERROR,
                node=live.name,
                message=f"the node returned {what} that is not a certificate ({exc}); check the "
                "node's API by hand before planning changes to it",
            )
        )

    for attr in ("server_certificate", "served_certificate"):
        pem = getattr(live, attr)
        if pem:
            try:
                cert = cache.parse_text(pem)[0]
            except PkiError as exc:
                bad(attr.replace("_", " "), exc)
                continue
            if attr == "server_certificate":
                view.installed = cert
            else:
                view.served = cert
    if live.pending_csr:
        try:
            view.pending_csr = cache.parse_csr(live.pending_csr.encode())
        except PkiError as exc:
            bad("a pending CSR", exc)
    for role, pem in live.role_certificates.items():
        try:
            view.role_installed[role] = cache.parse_text(pem)[0]
        except PkiError as exc:
            bad(f"the {role} certificate", exc)
    for role, pem in live.role_pending_csrs.items():
        try:
            view.role_pending[role] = cache.parse_csr(pem.encode())
        except PkiError as exc:
            bad(f"a pending {role} CSR", exc)
    if live.transport == "cli":
        findings.append(transport_note(live))
    for store, pems in live.stores.items():
        try:
            view.stores[store] = cache.parse_store(tuple(pems))
        except PkiError:  # which entries: each one on its own, the good ones kept
            view.stores[store] = cache.store_entries(pems, partial(bad, f"an entry of {store}"))
    return view, findings


def transport_note(live: LiveNode) -> Finding:
    """The one difference a CLI node makes to a plan: a note saying how it is reached."""
    return Finding(
        code=Code.LIVE_TRANSPORT,
        severity=Severity.INFO,
        node=live.name,
        message=f"read over the platform CLI (release {live.version or 'unknown'}: no "
        "Certificate Management REST API); its steps run as CLI commands in one SSH session "
        "each (set cert import, set csr gen, show csr own), and its pending CSR is read "
        "(show csr list own).",
    )
