"""The rest of a Unified CM cluster after a TVS, CAPF or ITLRecovery change (issue 22), beside
the phones' trust rules (``planning.phones``).

Each TFTP server builds its own ITL, and every ITL lists all the TVS certificates of the
cluster, and CAPF and ITLRecovery [C Security Guide 15; TAC 214231]. So when one node's TVS
(or the cluster's CAPF or ITLRecovery) changes, Cisco restarts Cisco Trust Verification
Service and Cisco TFTP on every node, publisher first [C TAC 214231, TAC 217138], not only on
the node that changed. The role table names those services (``RoleProfile.cluster_restarts``);
this rule plans them on each other member, after the changed node's own restarts, one member
after the other, publisher first: ``service.restart/itl`` (one per member, however many
changes it follows).

Nothing is uploaded to the other members: TFTP puts the new certificates in their ITLs. Which
members run TFTP and TVS is not read (the service list only shows that they exist): certops
restarts both wherever the node lists them [U: Cisco says "where status shows Started"].

Pure: drafts in, drafts out.
"""

from __future__ import annotations

from itertools import pairwise

from reconciler.checks.fleet import FleetView
from reconciler.planning.graph import Draft, Drafts, action_id

SOURCE = "Cisco TAC 214231, 217138"


def itl_restart_id(node: str) -> str:
    return action_id(node, "service.restart", "itl")


def cluster_itl_restarts(fleet: FleetView, names: frozenset[str],
                         drafts: Drafts) -> dict[str, Draft]:
    """``drafts`` with ``service.restart/itl`` on every other planned member of the cluster
    of each node whose role restart names ``cluster_restarts``."""
    out = dict(drafts)
    for restart in sorted((d for d in drafts.values() if d.kind == "service.restart"
                           and d.role), key=lambda d: d.id):
        view = fleet.nodes[restart.node]
        profile = view.kind.role_table.roles.get(restart.role or "")
        cluster_name = fleet.desired.cluster_of(restart.node)
        if profile is None or not profile.cluster_restarts or cluster_name is None:
            continue
        cluster = fleet.desired.fleet.clusters[cluster_name]
        for member in cluster.members:
            if member == restart.node or member not in names or member not in fleet.nodes:
                continue
            out[itl_restart_id(member)] = _merged(
                fleet, out.get(itl_restart_id(member)), member, restart,
                profile.cluster_restarts)
    return _publisher_first(fleet, out)


def _merged(fleet: FleetView, old: Draft | None, member: str, after: Draft,
            services: tuple[str, ...]) -> Draft:
    """The member's one ITL restart: the services of every change it follows."""
    kind = fleet.nodes[member].kind
    wanted = kind.order_services({*services, *(old.services if old else ())})
    why = f"{after.node}'s {after.role} changed"
    reason = (f"{old.reason}; {why}" if old else
              f"{why}: every member's TFTP rebuilds its ITL, which lists the cluster's TVS, "
              f"CAPF and ITLRecovery certificates, and TVS restarts with it ({SOURCE}: all "
              "nodes, publisher first)")
    return Draft(id=itl_restart_id(member), kind="service.restart", node=member,
                 services=wanted, depends_on=(old.depends_on if old else frozenset())
                 | {after.id}, reason=reason)


def _publisher_first(fleet: FleetView, drafts: dict[str, Draft]) -> dict[str, Draft]:
    """The members' ITL restarts one after the other, the publisher's first."""
    out = dict(drafts)
    for cluster in fleet.desired.fleet.clusters.values():
        rest = sorted(m for m in cluster.members if m != cluster.publisher)
        order = [cluster.publisher, *rest] if cluster.publisher else rest
        ids = [itl_restart_id(m) for m in order if itl_restart_id(m) in out]
        for before, later in pairwise(ids):
            out[later] = out[later].after([before])
    return out
