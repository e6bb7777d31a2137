"""The emergency policy: may a CA's revocation restart a node outside its change window?

``emergency.revocation`` in certops.yaml: ``wait-for-window`` (the default) keeps the
restarts of a node whose certificate is being revoked owed to its window like any other;
``restart-now`` lets them run outside it. A node is in an emergency when the plan found its
certificate on its issuer's CRL (``cert.revoked``) or its CA asks through ARI for its
replacement now (``cert.revocation_pending``). ``emergency_nodes`` says which nodes and why
(the apply's window gate lets their restarts through, the report names them);
``emergency_findings`` puts the same reason in the plan. A freeze still wins (the gate asks
it first). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.checks.fleet import FleetView
from reconciler.model import Action, Code, Finding, Severity
from reconciler.planning.windows import WindowPolicy

REVOCATION_CODES = (Code.CERT_REVOKED, Code.CERT_REVOCATION_PENDING)


def emergency_nodes(fleet: FleetView, findings: Iterable[Finding]) -> dict[str, str]:
    """node -> why its restarts may run outside its window (empty unless ``restart-now``)."""
    if fleet.desired.fleet.emergency.revocation != "restart-now":
        return {}
    return {f.node: f"emergency.revocation: restart-now ({f.code})" for f in
            sorted(findings, key=Finding.sort_key) if f.code in REVOCATION_CODES and f.node}


def emergency_findings(fleet: FleetView, findings: Iterable[Finding],
                       actions: Iterable[Action], policy: WindowPolicy) -> list[Finding]:
    """For each node in an emergency with restarts planned and a restart window: where the
    plan says its restarts run (outside the window, or owed to it) and why."""
    urgent = sorted({f.node for f in findings if f.code in REVOCATION_CODES and f.node})
    restart_now = fleet.desired.fleet.emergency.revocation == "restart-now"
    planned = {a.node for a in actions if a.kind in ("node.restart", "service.restart")}
    out = []
    for node in urgent:
        window = policy.window(node)
        if window is None or node not in planned:
            continue
        text = (f"{node}'s certificate is being revoked: its restarts run outside restart window "
                f"{window.name} (emergency.revocation: restart-now), drained as configured"
                if restart_now else
                f"{node}'s certificate is being revoked, but its restarts wait for restart window "
                f"{window.name} (emergency.revocation: wait-for-window): it may serve a revoked "
                "certificate until then; set restart-now to restart outside the window")
        out.append(Finding(code=Code.CERT_EMERGENCY, severity=Severity.WARNING, node=node,
                           message=text,
                           location=fleet.desired.fleet_pos("emergency", "revocation")))
    return out
