"""Partial plans: what a node that cannot be read holds back, and nothing more.

A node that could not be read (``node.unreachable``) or answered something certops cannot
parse (``live.unparseable``) gets no action: its state is unknown. The nodes linked to it
are held back too: their new certificate needs its trust, and its new certificate would need
theirs. So is every action that waits (transitively) for a held-back one. The rest of the
fleet is planned; each held-back node is named (``node.held_back``). With ``--strict`` none
of this applies: the troubled node's finding is an error and blocks the whole plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.checks.fleet import FleetView
from reconciler.model import Code, Finding, Severity
from reconciler.planning.graph import Draft, Drafts

TROUBLE = (Code.NODE_UNREACHABLE, Code.LIVE_UNPARSEABLE)
PARTIAL_NOTE = (" Without --strict the plan is partial: the rest of the fleet is planned, and "
                "the nodes linked to this one are held back (node.held_back).")


def troubled_nodes(findings: Iterable[Finding]) -> frozenset[str]:
    """The nodes a ``node.unreachable`` or ``live.unparseable`` finding names."""
    return frozenset(f.node for f in findings if f.code in TROUBLE and f.node)


def soften(finding: Finding) -> Finding:
    """A troubled node's finding as a warning of a partial plan (an error with --strict)."""
    if finding.code not in TROUBLE or finding.severity is not Severity.ERROR:
        return finding
    return replace_finding(finding, Severity.WARNING, finding.message + PARTIAL_NOTE)


def replace_finding(finding: Finding, severity: Severity, message: str) -> Finding:
    return finding.model_copy(update={"severity": severity, "message": message})


def hold_back(
    fleet: FleetView, drafts: Drafts, troubled: frozenset[str]
) -> tuple[dict[str, Draft], list[Finding]]:
    """The drafts without those of the troubled nodes' linked peers and what waits for them;
    a ``node.held_back`` finding per node that had an action held back."""
    peers_of = {t: set(fleet.desired.peers(t)) for t in troubled}
    linked = {p for peers in peers_of.values() for p in peers if p not in troubled}
    held = {a for a, d in drafts.items() if d.node in linked or d.node in troubled}
    changed = True
    while changed:
        changed = False
        for aid, draft in drafts.items():
            if aid not in held and draft.depends_on & held:
                held.add(aid)
                changed = True
    by_node: dict[str, list[Draft]] = {}
    for aid in sorted(held):
        by_node.setdefault(drafts[aid].node, []).append(drafts[aid])
    findings = [
        _held_finding(fleet, node, items, peers_of, {a: drafts[a].node for a in held})
        for node, items in sorted(by_node.items())
    ]
    return {a: d for a, d in drafts.items() if a not in held}, findings


def _held_finding(
    fleet: FleetView, node: str, items: list[Draft], peers_of: Mapping[str, set[str]],
    held: Mapping[str, str],
) -> Finding:
    """Why ``node``'s actions are held back: the troubled peers it is linked to, or the
    held-back actions (of other nodes) its actions wait for."""
    troubled = sorted(t for t, peers in peers_of.items() if node in peers)
    kinds = ", ".join(sorted({d.kind for d in items}))
    if troubled:
        why = (f"it is linked to {', '.join(troubled)}, which could not be read: its new "
               "certificate needs their trust, and theirs needs its trust")
    else:
        waits = sorted({held[w] for d in items for w in d.depends_on if w in held} - {node})
        why = f"its actions wait for held-back actions of {', '.join(waits) or 'other nodes'}"
    view = fleet.nodes.get(node)
    return Finding(
        code=Code.NODE_HELD_BACK,
        severity=Severity.WARNING,
        node=node,
        message=f"{len(items)} action(s) held back ({kinds}): {why}. They are planned once "
        "the troubled node can be read again; --strict blocks the whole plan instead",
        location=view.node.pos("name") if view else None,
    )

