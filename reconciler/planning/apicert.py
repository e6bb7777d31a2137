"""Findings of a node whose API certificate has expired (drivers/tlsrecovery.py). Pure.

Read under a pin: ``node.api_cert_expired`` (a warning: the plan renews the certificate, which
is due, and drift is not in sync while it is served); its restart is an emergency
(``planning/emergency.py``). Refused (no committed record pins the served certificate, or
its chain or name do not verify even inside its validity): the node was not read and no
credentials were sent; ``node.unreachable`` with the served fingerprint and the manual step.
"""

from __future__ import annotations

from reconciler.checks.fleet import FleetView
from reconciler.model import Code, ExpiredApiCertificate, Finding, LiveNode, Severity


def _when(iso: str) -> str:
    return iso[:16].replace("T", " ") + " UTC"


def expired_read(fleet: FleetView, name: str, seen: ExpiredApiCertificate) -> Finding:
    """The finding of a node read under the pin of its expired API certificate."""
    return Finding(
        code=Code.NODE_API_CERT_EXPIRED, severity=Severity.WARNING, node=name,
        location=fleet.nodes[name].node.pos("api"),
        message=f"{name}'s API certificate {seen.sha256} ({seen.subject}) "
        + (f"expired on {_when(seen.not_after)}" if seen.expired else
           f"is not valid before {_when(seen.not_before)}")
        + ": TLS "
        "verification refuses it, so certops read it, and repairs it, under the pin of "
        f"{seen.pinned_by} (the chain and the name verified at a moment inside its validity; "
        "only the expiry is set aside, for this one certificate). The plan renews it; "
        "its restart is an emergency as emergency.expired says (restart-now unless set).")


def expired_refused(name: str, snapshot: LiveNode) -> str:
    """The message of an unreadable node whose expired API certificate was refused."""
    return (f"{name} could not be read: {snapshot.error}. Nothing can be planned for it or "
            "for changes its peers need until that is done.")
