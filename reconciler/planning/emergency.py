"""The emergency policy: may a revocation or an expired certificate restart a node outside its
change window?

``emergency.revocation`` in certops.yaml: ``wait-for-window`` (the default) keeps the
restarts of a node whose certificate is being revoked owed to its window like any other;
``restart-now`` lets them run outside it. A node is in that emergency when the plan found
its certificate on its issuer's CRL (``cert.revoked``) or its CA asks through ARI for its
replacement now (``cert.revocation_pending``). ``emergency.expired``: a node whose API
certificate has already expired (``node.api_cert_expired``) is an outage, so its restarts run
outside the window by default (``restart-now``); ``wait-for-window`` keeps them owed.
``emergency_nodes`` says which nodes and why (the apply's window gate lets their restarts
through, the report names them);
``emergency_findings`` puts the same reason in the plan. A freeze still wins (the gate asks
it first). Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.checks.fleet import FleetView
from reconciler.model import Action, Code, Finding, NodeWindow, Severity
from reconciler.planning.windows import WindowPolicy

REVOCATION_CODES = (Code.CERT_REVOKED, Code.CERT_REVOCATION_PENDING)
EXPIRED_CODES = (Code.NODE_API_CERT_EXPIRED,)


def _urgent_codes(fleet: FleetView) -> dict[str, str]:
    """The finding codes whose nodes may restart now -> the setting that lets them."""
    policy = fleet.desired.fleet.emergency
    out: dict[str, str] = {}
    if policy.revocation == "restart-now":
        out |= {c: "emergency.revocation: restart-now" for c in REVOCATION_CODES}
    if policy.expired == "restart-now":
        out |= {c: "emergency.expired: restart-now" for c in EXPIRED_CODES}
    return out


def emergency_nodes(fleet: FleetView, findings: Iterable[Finding]) -> dict[str, str]:
    """node -> why its restarts may run outside its window (empty unless ``restart-now``)."""
    urgent = _urgent_codes(fleet)
    out: dict[str, str] = {}
    for f in sorted(findings, key=Finding.sort_key):
        if f.code in urgent and f.node:
            out.setdefault(f.node, f"{urgent[f.code]} ({f.code})")
    return out


def emergency_findings(fleet: FleetView, findings: Iterable[Finding],
                       actions: Iterable[Action], policy: WindowPolicy) -> list[Finding]:
    """For each node in an emergency with restarts planned and a restart window: where the
    plan says its restarts run (outside the window, or owed to it) and why."""
    findings = list(findings)
    planned = {a.node for a in actions if a.kind in ("node.restart", "service.restart")}
    now = emergency_nodes(fleet, findings)
    out = []
    for node, code in _in_emergency(findings).items():
        window = policy.window(node)
        if window is None or node not in planned:
            continue
        out.append(Finding(code=Code.CERT_EMERGENCY, severity=Severity.WARNING, node=node,
                           message=_where(node, code, window.name, node in now),
                           location=fleet.desired.fleet_pos("emergency", _setting(code))))
    return out


def _in_emergency(findings: Iterable[Finding]) -> dict[str, str]:
    """node -> the first emergency code that names it (revocation before expiry)."""
    out: dict[str, str] = {}
    for f in sorted(findings, key=Finding.sort_key):
        if f.node and f.code in (*REVOCATION_CODES, *EXPIRED_CODES):
            out.setdefault(f.node, f.code)
    return out


def _setting(code: str) -> str:
    return "expired" if code in EXPIRED_CODES else "revocation"


def _where(node: str, code: str, window: str, restart_now: bool) -> str:
    if code in EXPIRED_CODES:
        return (f"{node}'s API certificate has expired: its restarts run outside restart window "
                f"{window} (emergency.expired: restart-now), drained as configured"
                if restart_now else
                f"{node}'s API certificate has expired, but its restarts wait for restart window "
                f"{window} (emergency.expired: wait-for-window): it serves the expired "
                "certificate until then")
    return (f"{node}'s certificate is being revoked: its restarts run outside restart window "
            f"{window} (emergency.revocation: restart-now), drained as configured"
            if restart_now else
            f"{node}'s certificate is being revoked, but its restarts wait for restart window "
            f"{window} (emergency.revocation: wait-for-window): it may serve a revoked "
            "certificate until then; set restart-now to restart outside the window")


def with_emergency(windows: Mapping[str, NodeWindow],
                   urgent: Mapping[str, str]) -> dict[str, NodeWindow]:
    """The plan's node windows, each node in an emergency marked with why its restarts run
    now (the plan's text then says so instead of naming the window's next opening)."""
    return {n: w.model_copy(update={"emergency": urgent[n]}) if n in urgent else w
            for n, w in windows.items()}
