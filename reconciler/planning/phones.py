"""The phones' trust rules beside the planner (issue 22), from Cisco's text (sources and tags
in docs/device-evidence-vos.md, "Unified CM identities and the phones' trust").

A phone trusts its cluster through the ITL file (signed by ITLRecovery from 12.0, by
CallManager up to 11.5; it lists the CallManager, TVS, CAPF and TFTP certificates) and, in
mixed mode, the CTL [C TAC 214231]. Changing those identities carelessly leaves phones that
refuse their configuration files. The rules, on the drafts of one plan:

1. never CallManager and TVS of one node in the same apply [C TAC 214231]: TVS waits for a
   later apply (``phones.held``); both as committed files is refused (``phones.blocked``);
2. ITLRecovery only in a plan of its own, with a warning that the phones need the old one to
   accept the new [C TAC 214231, 225746]: held while anything else changes;
3. after a CallManager, TVS, CAPF or ITLRecovery change, Cisco TFTP restarts so the ITL is
   rebuilt [C TAC 214231] (the role table's restarts), and the next node's change waits for
   it: the publisher first, one node at a time [C TAC 214231];
4. mixed mode (``security_mode: mixed``): ``utils ctl update CTLFile`` on the publisher
   after each node's change and before its restarts [C TAC 214231]; its CLI dialogue is not
   published, so it is a manual step with the exact command (``phones.mixed_mode``).

Whether the ITL has been rebuilt cannot be read through any evidenced API [U]: certops takes
TFTP's restart (Started) as the sign.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import pairwise

from reconciler.checks.fleet import FleetView
from reconciler.model import Code, Finding, Severity
from reconciler.planning.graph import Draft, Drafts, action_id

CHANGES = ("cert.install", "cert.regenerate")
TAC = "Cisco TAC 214231"
CTL_COMMAND = "utils ctl update CTLFile"


@dataclass(frozen=True)
class Change:
    """One identity of one node that this plan changes."""

    node: str
    role: str
    itl: str  # "signer", "tvs", "capf" (kinds.roles.RoleProfile.itl)
    committed: bool  # a committed file is installed (not a renewal certops decided)


def _changes(fleet: FleetView, drafts: Drafts) -> list[Change]:
    out: dict[tuple[str, str], Change] = {}
    for d in drafts.values():
        if d.kind not in CHANGES or d.role is None:
            continue
        profile = fleet.nodes[d.node].kind.role_table.roles.get(d.role)
        if profile is None or not profile.itl:
            continue
        committed = d.kind == "cert.install" and d.certificate_from is None
        out[(d.node, d.role)] = Change(d.node, d.role, profile.itl, committed)
    return [out[k] for k in sorted(out)]


def _other_changes(drafts: Drafts, but: Change) -> bool:
    """Whether the plan changes any certificate besides ``but``."""
    return any(d.kind in CHANGES and (d.node, d.role) != (but.node, but.role)
               for d in drafts.values())


def _finding(fleet: FleetView, node: str, role: str, code: Code, severity: Severity,
             message: str) -> Finding:
    spec = fleet.nodes[node].node
    return Finding(code=code, severity=severity, node=node, message=message,
                   location=spec.pos("certificates", role))


def _drop(drafts: Drafts, node: str, role: str) -> dict[str, Draft]:
    """``drafts`` without the role's actions on the node and the peer uploads of its new
    certificate; what waited for them stops waiting."""
    gone = {a for a, d in drafts.items() if d.node == node and d.role == role}
    gone |= {a for a, d in drafts.items() if d.certificate_from in gone}
    return {a: (d if not d.depends_on & gone else
                replace(d, depends_on=d.depends_on - gone))
            for a, d in drafts.items() if a not in gone}


def _same_apply(fleet: FleetView, drafts: Drafts,
                changes: list[Change]) -> tuple[dict[str, Draft], list[Finding]]:
    """Rule 1: CallManager and TVS of one node never change in the same apply."""
    out, found = dict(drafts), []
    for tvs in [c for c in changes if c.itl == "tvs"]:
        signer = next((c for c in changes if c.node == tvs.node and c.itl == "signer"
                       and c.role != "itlrecovery"), None)
        if signer is None:
            continue
        if signer.committed and tvs.committed:
            found.append(_finding(
                fleet, tvs.node, tvs.role, Code.PHONES_BLOCKED, Severity.ERROR,
                f"{tvs.node}: this change installs new {signer.role} and {tvs.role} "
                f"certificates in one apply; phones that trust the cluster through the ITL "
                f"would reject both ({TAC}: never CallManager and TVS together). Instead: "
                f"commit the {signer.role} certificate alone, apply, let the phones download "
                f"the new ITL, then commit {tvs.role}."))
            out = _drop(out, tvs.node, tvs.role)
            continue
        out = _drop(out, tvs.node, tvs.role)
        found.append(_finding(
            fleet, tvs.node, tvs.role, Code.PHONES_HELD, Severity.WARNING,
            f"{tvs.node} {tvs.role}: waits for a later apply, because {signer.role} changes "
            f"in this one ({TAC}: never CallManager and TVS of one node together). Apply "
            "this plan, let the phones download the rebuilt ITL, then plan again."))
    return out, found


def _itl_recovery(fleet: FleetView, drafts: Drafts,
                  changes: list[Change]) -> tuple[dict[str, Draft], list[Finding]]:
    """Rule 2: ITLRecovery in a plan of its own, with the warning."""
    out, found = dict(drafts), []
    for rec in [c for c in changes if c.role == "itlrecovery"]:
        if _other_changes(out, rec):
            out = _drop(out, rec.node, rec.role)
            found.append(_finding(
                fleet, rec.node, rec.role, Code.PHONES_HELD, Severity.WARNING,
                f"{rec.node} itlrecovery: renewed only in a plan of its own ({TAC}): other "
                "certificates change in this one. Apply it, then plan again."))
            continue
        found.append(_finding(
            fleet, rec.node, rec.role, Code.PHONES_ITL_RECOVERY, Severity.WARNING,
            f"{rec.node} itlrecovery: the phones accept the new ITLRecovery certificate only "
            "through the old one (the ITL they hold is signed by it): keep every phone "
            "registered until it has downloaded the new ITL, and never delete the old "
            f"certificate before ({TAC}; CLI 'set cert regen ITLRecovery' warns the same)."))
    return out, found


def _publisher_first(fleet: FleetView, drafts: Drafts, changes: list[Change]) -> dict[str, Draft]:
    """Rule 3: in a cluster, the phone identities change one node at a time, publisher
    first: a node's changes wait for the previous node's restarts (TFTP rebuilt the ITL)."""
    out = dict(drafts)
    changed = {c.node for c in changes}
    for cluster in fleet.desired.fleet.clusters.values():
        order = [m for m in _rolling_order(cluster.publisher, cluster.members) if m in changed]
        for before, after in pairwise(order):
            waits = [a for a, d in out.items() if d.node == before and d.role
                     and d.kind == "service.restart"]
            for aid, d in list(out.items()):
                if d.node == after and d.kind in CHANGES:
                    out[aid] = d.after(waits)
    return out


def _rolling_order(publisher: str | None, members: Iterable[str]) -> list[str]:
    rest = sorted(m for m in members if m != publisher)
    return [publisher, *rest] if publisher else rest


def _mixed_mode(fleet: FleetView, drafts: Drafts,
                changes: list[Change]) -> tuple[dict[str, Draft], list[Finding]]:
    """Rule 4: mixed mode updates the CTL on the publisher before the node's restarts."""
    out, found = dict(drafts), []
    for node in sorted({c.node for c in changes}):
        name = fleet.desired.cluster_of(node)
        cluster = fleet.desired.fleet.clusters[name] if name else None
        if cluster is None or cluster.security_mode != "mixed":
            continue
        publisher = cluster.publisher or node
        step_id = action_id(publisher, "manual", "ctl-update", node)
        mine = [a for a, d in out.items() if d.node == node and d.kind in CHANGES]
        out[step_id] = Draft(
            id=step_id, kind="manual", node=publisher, depends_on=frozenset(mine),
            reason=f"cluster {name} is in mixed mode: the CTL file must list {node}'s new "
            f"identities before the phones reset ({TAC})",
            manual=f"CLI on the publisher {publisher}: {CTL_COMMAND}")
        for aid, d in list(out.items()):
            if d.node == node and d.kind == "service.restart" and d.role:
                out[aid] = d.after([step_id])
        found.append(Finding(
            code=Code.PHONES_MIXED_MODE, severity=Severity.WARNING, node=node,
            location=fleet.nodes[node].node.pos("name"),
            message=f"{node}: cluster {name} is in mixed mode; after its identity change the "
            f"plan stops for '{CTL_COMMAND}' on {publisher} (its CLI dialogue is not "
            "published: a manual step), then restarts the services and TFTP."))
    return out, found


def phone_rules(fleet: FleetView, drafts: Drafts) -> tuple[dict[str, Draft], list[Finding]]:
    """The drafts with the phones' trust rules applied, and the findings that name them."""
    changes = _changes(fleet, drafts)
    if not changes:
        return dict(drafts), []
    out, found = _same_apply(fleet, drafts, changes)
    out, more = _itl_recovery(fleet, out, _changes(fleet, out))
    found += more
    left = _changes(fleet, out)
    out = _publisher_first(fleet, out, left)
    out, more = _mixed_mode(fleet, out, left)
    return out, [*found, *more]
