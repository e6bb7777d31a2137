"""Checks: pure functions from the desired state (and later live snapshots) to findings."""

from reconciler.checks.fleet import FleetView, NodeView, TrustEntry, build_view, effective_trust
from reconciler.checks.offline import offline_findings

__all__ = [
    "FleetView",
    "NodeView",
    "TrustEntry",
    "build_view",
    "effective_trust",
    "offline_findings",
]
