"""VOS identities beside the planner (issue 22): a role's own restarts, the regeneration of a
self-signed identity, and the trust its new certificate needs on the linked peers.

- ``role_restarts``: a role whose row in the kind's role table names its restarts (Unified
  CM's callmanager: Cisco HAProxy from 14SU1, CallManager + CTIManager + HAProxy on 14.0,
  then TFTP) restarts those, as ``service.restart/<role>``, instead of the kind's identity
  restart (Cisco Tomcat);
- ``regenerate_drafts``: a self-signed identity that is due is regenerated on the node
  (``cert.regenerate``; CLI ``set cert regen <unit>`` [C]), never sent to a CA;
- ``regenerated_trust``: the new self-signed certificate is known only after apply, so each
  linked peer that must trust the role (the role table's ``presented_to``: a CallManager
  identity to the Expressway-C's list and other clusters' callmanager-trust) gets a
  ``trust.add`` of it (``certificate_from`` the regeneration) before the restart that makes
  the node present it.

Pure: drafts in, drafts out.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.checks.fleet import FleetView, NodeView
from reconciler.kinds.roles import Version
from reconciler.planning.graph import Draft, Drafts, action_id
from reconciler.planning.lifecycle import CertFacts


def role_restart_id(node: str, role: str) -> str:
    return action_id(node, "service.restart", role)


def role_restarts(view: NodeView, role: str, version: Version | None,
                  drafts: Iterable[Draft]) -> list[Draft]:
    """``drafts`` of ``role`` with the kind's identity restart replaced by the role's own
    restarts at ``version`` (where the role table names them)."""
    profile = view.kind.role_table.roles.get(role)
    row = profile.restart_services(version) if profile is not None else None
    restart = view.kind.after_install
    generic = action_id(view.name, restart.kind, restart.part)
    out: list[Draft] = []
    for draft in drafts:
        if row is None or draft.id != generic:
            out.append(draft)
            continue
        services = view.kind.order_services(row.services)
        out.append(Draft(
            id=role_restart_id(view.name, role), kind="service.restart", node=view.name,
            services=services, depends_on=draft.depends_on, role=role,
            reason=f"{draft.reason} ({role} role): restart {', '.join(services)} ({row.tag})"))
    return out


def manual_trust_drafts(view: NodeView, role: str, drafts: Iterable[Draft]) -> list[Draft]:
    """``drafts`` with a manual upload of the role's CA chain into a store certops does not
    manage (Unified CM's TVS-trust, ``RoleProfile.manual_trust``) before its CA-signed
    install."""
    profile = view.kind.role_table.roles.get(role)
    out = list(drafts)
    install = next((d for d in out if d.kind == "cert.install" and d.role == role), None)
    if profile is None or not profile.manual_trust or install is None:
        return out
    issuer = (install.certificate.issuer if install.certificate
              else install.issuer or "the issuing CA")
    step = Draft(
        id=action_id(view.name, "manual", "trust", role), kind="manual", node=view.name,
        role=role, depends_on=install.depends_on,
        reason=f"the {role} certificate's CA chain must be in the node's trust store for it "
        "before the install; certops does not manage that store",
        manual=profile.manual_trust.format(issuer=issuer))
    at = out.index(install)
    return [*out[:at], step, install.after([step.id]), *out[at + 1:]]


def restart_version_note(view: NodeView, role: str, version: Version | None,
                         drafts: Iterable[Draft]) -> str | None:
    """Where ``role``'s restarts differ by version and the node's version is unknown (a REST
    read without the platform CLI), the widest row is planned: say so, and how to narrow it."""
    profile = view.kind.role_table.roles.get(role)
    row = profile.restart_services(None) if profile is not None else None
    if (version is not None or row is None or profile is None or len(profile.restarts) < 2
            or role_restart_id(view.name, role) not in {d.id for d in drafts}):
        return None
    return (f"{view.name} {role}: the node's version is unknown (the REST API does not show "
            f"it), so the plan restarts the widest set Cisco names for this identity "
            f"({', '.join(row.services)}). Declare the node's platform CLI "
            "(connection.ssh_port or connection.ssh_host_key) and certops reads the version "
            "(show version active) and restarts only what that release needs.")


def regenerate_drafts(view: NodeView, facts: CertFacts) -> list[Draft]:
    """Regenerate the self-signed identity on the node, then the kind's (or role's) restart."""
    role = facts.role or ""
    regen = Draft(
        id=action_id(view.name, "cert.regenerate", role),
        kind="cert.regenerate",
        node=view.name,
        role=facts.role,
        reason=f"regenerate the self-signed {role} certificate on the node (renewal is due; "
        "self_signed: never a CSR to a CA)",
    )
    restart = view.kind.after_install
    serve = Draft(
        id=action_id(view.name, restart.kind, restart.part), kind=restart.kind, node=view.name,
        services=restart.services, depends_on=frozenset({regen.id}),
        reason="present the regenerated certificate")
    return [regen, serve]


def regenerated_trust(fleet: FleetView, names: frozenset[str], drafts: Drafts) -> dict[str, Draft]:
    """Each linked peer that must trust a regenerated self-signed identity uploads it (known
    after apply) before the node's restart presents it."""
    out = dict(drafts)
    for regen in [d for d in drafts.values() if d.kind == "cert.regenerate"]:
        view = fleet.nodes[regen.node]
        profile = view.kind.role_table.roles.get(regen.role or "")
        if profile is None or regen.role is None:
            continue
        adds: list[str] = []
        for peer in fleet.desired.peers(regen.node):
            other = fleet.nodes.get(peer)
            if other is None or peer not in names:
                continue
            for store in profile.peer_stores_of(other.kind.type) or ():
                if store not in other.kind.stores:
                    continue
                add = Draft(
                    id=action_id(peer, "trust.add", store, f"{regen.node}.{regen.role}"),
                    kind="trust.add", node=peer, store=store,
                    certificate_from=regen.id, depends_on=frozenset({regen.id}),
                    reason=f"{store} must trust {regen.node}'s regenerated self-signed "
                    f"{regen.role} certificate (known after apply) before {regen.node} "
                    "presents it")
                out[add.id] = add
                adds.append(add.id)
        restart = out.get(role_restart_id(regen.node, regen.role))
        if restart is not None and adds:
            out[restart.id] = restart.after(adds)
    return out
