"""One multi-server (SAN) tomcat certificate for a whole VOS cluster (issue 12, item 3).

With ``tomcat_identity: multi-server`` a cluster's publisher holds the cluster's tomcat
certificate (its node file names every member's FQDN and the shared names; the members'
files carry no ``server_certificate``). The planner decides the publisher's certificate as
for any node (CSR, issue or install, Tomcat restart); this module adds what a multi-server
certificate needs on top:

- the publisher's CSR is generated with distribution multi-server (the driver's table holds
  the REST value, [U]); the reason says so;
- the install, once on the publisher, is distributed by the cluster to every member [C:
  "pushed to all nodes automatically", device-evidence-vos.md], so each member restarts
  Cisco Tomcat after it (the cluster's rolling order, publisher first, within its
  ``max_unavailable``), and that restart proves by a TLS handshake that the member serves
  the new certificate;
- the install waits for every member's, and every member's linked peers', trust of the
  new chain (the per-node rule asks only the publisher's own peers);
- certops must still verify every member's API afterwards (``api.lockout`` per member);
- a member whose installed certificate is not served yet (an earlier apply stopped before
  its restart) restarts Tomcat even when nothing is installed now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from reconciler.checks.fleet import FleetView
from reconciler.model import Action, ClusterSpec, Finding
from reconciler.pki import CertInfo
from reconciler.planning.graph import Draft, Drafts, action_id, merge, serving_restart
from reconciler.planning.live import LiveView
from reconciler.planning.lockout import ApiTrust, lockout_findings

MULTI_SERVER_NOTE = "multi-server (SAN) CSR for cluster {cluster}, distribution multi-server"


def plan_multi_server(
    fleet: FleetView, lives: Mapping[str, LiveView], drafts: Drafts
) -> dict[str, Draft]:
    """``drafts`` with each multi-server cluster's CSR marked, its install linked to every
    member's (and their peers') trust, and each member's Tomcat restart after it."""
    out = dict(drafts)
    for name, cluster in sorted(fleet.desired.fleet.clusters.items()):
        publisher = cluster.publisher
        if not cluster.multi_server or publisher is None or publisher not in lives:
            continue
        out = _mark_csr(out, name, publisher)
        install = installs_on(out, publisher)
        if install is not None:
            others = ", ".join(m for m in cluster.members if m != publisher)
            install = replace(install.after(_trust_deps(fleet, cluster, out)), reason=(
                f"{install.reason}; cluster {name}'s multi-server certificate: the cluster "
                f"distributes it to {others or 'no other member'}"))
            out[install.id] = install
        out = merge(out, _member_restarts(fleet, lives, name, cluster, install))
    return out


def installs_on(drafts: Drafts, node: str) -> Draft | None:
    """The identity install planned on ``node`` (a committed file or an issued one)."""
    return next((d for d in drafts.values() if d.node == node and d.kind == "cert.install"),
                None)


def _mark_csr(drafts: dict[str, Draft], cluster: str, publisher: str) -> dict[str, Draft]:
    """The publisher's new CSR is the cluster's: say so in its reason."""
    aid = action_id(publisher, "csr.generate")
    draft = drafts.get(aid)
    if draft is None or draft.reason.startswith("keep"):
        return drafts
    note = MULTI_SERVER_NOTE.format(cluster=cluster)
    return {**drafts, aid: replace(draft, reason=f"{note}: {draft.reason}")}


def manual_distribution(fleet: FleetView, drafts: Drafts) -> dict[str, Draft]:
    """A publisher's CSR done by hand (no REST API) names the GUI's "Multi-server (SAN)"
    distribution instead of "this server"."""
    out = dict(drafts)
    for aid, draft in drafts.items():
        if (draft.kind == "manual" and draft.manual and aid.endswith("/csr.generate")
                and fleet.desired.multi_server_of(draft.node) is not None):
            text = draft.manual.replace("Distribution: this server",
                                        "Distribution: Multi-server (SAN)")
            out[aid] = replace(draft, manual=text)
    return out


def _trust_deps(fleet: FleetView, cluster: ClusterSpec, drafts: Drafts) -> list[str]:
    """The trust uploads (and their services' restarts) of the new chain on every member
    and on every member's linked peers: all of them will see the certificate."""
    publisher = fleet.nodes[cluster.publisher or ""]
    chain = {c.sha256 for c in publisher.known_chain()}
    holders: dict[str, tuple[str, ...]] = {}
    for member in cluster.members:
        if member not in fleet.nodes:
            continue
        holders[member] = fleet.nodes[member].kind.peer_stores
        for peer in fleet.desired.peers(member):
            if peer in fleet.nodes and peer not in cluster.members:
                holders[peer] = fleet.nodes[peer].kind.peer_stores
    deps: list[str] = []
    for node, stores in holders.items():
        adds = [d.id for d in drafts.values() if d.node == node and d.kind == "trust.add"
                and d.store in stores and d.certificate and d.certificate.sha256 in chain]
        restart = action_id(node, "service.restart", "trust")
        deps.extend([*adds, *([restart] if adds and restart in drafts else [])])
    return deps


def _member_restarts(
    fleet: FleetView, lives: Mapping[str, LiveView], name: str, cluster: ClusterSpec,
    install: Draft | None,
) -> list[Draft]:
    """Each member's Tomcat restart: after the publisher's install, or alone where the
    member's installed certificate is not served yet."""
    out: list[Draft] = []
    for member in cluster.members:
        if member == cluster.publisher or member not in lives or member not in fleet.nodes:
            continue
        view = fleet.nodes[member]
        if install is not None:
            out.append(serving_restart(view, (install.id,), (
                f"serve cluster {name}'s multi-server certificate, which the install on "
                f"{cluster.publisher} distributes to every member")))
        elif lives[member].restart_pending:
            out.append(serving_restart(view, (), (
                f"the cluster {name}'s multi-server certificate is installed here but not "
                "served yet (restart pending)")))
    return out



def multi_server_lockout(
    fleet: FleetView,
    actions: Sequence[Action],
    planned: Mapping[str, tuple[CertInfo, tuple[CertInfo, ...]]],
    trust: Mapping[str, ApiTrust],
) -> list[Finding]:
    """``api.lockout`` for the members: each member's API presents the publisher's
    multi-server certificate after the cluster distributes it."""
    installs: list[Action] = []
    leaves: dict[str, tuple[CertInfo, tuple[CertInfo, ...]]] = {}
    for action in actions:
        found = fleet.desired.multi_server_of(action.node)
        if action.kind != "cert.install" or found is None or action.node not in planned:
            continue
        cluster = found[1]
        if cluster.publisher != action.node:
            continue
        for member in cluster.members:
            if member != action.node:
                installs.append(action.model_copy(update={"node": member}))
                leaves[member] = planned[action.node]
    return lockout_findings(installs, leaves, trust)
