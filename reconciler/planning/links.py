"""``link.missing``: the live state shows two nodes talk, the desired state does not link them.

Links are what make certops put a peer's chain into a node's trust stores before a new
certificate is installed. A forgotten link goes unnoticed until a renewal with a new CA
breaks the connection. The live state holds the evidence: node A's trust store holds the CA
that issued node B's live certificate. When, in addition, B's next certificate chains to a
CA that A neither holds nor will be given, and no link joins them, the plan warns.
(A fleet whose nodes share one internal CA holds that CA everywhere; the second condition
keeps such pairs quiet until the change would break them.)
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.checks import FleetView, NodeView
from reconciler.model import Finding, LiveNode, Severity
from reconciler.model.codes import Code
from reconciler.model.desired import nearest
from reconciler.pki import CertCache, CertInfo, PkiError, issued_by


def _live_leaf(live: LiveNode, cache: CertCache) -> CertInfo | None:
    try:
        certs = cache.parse_text(live.server_certificate) if live.server_certificate else []
    except PkiError:
        return None
    return certs[0] if certs else None


def _stores(live: LiveNode, cache: CertCache) -> dict[str, list[CertInfo]]:
    out: dict[str, list[CertInfo]] = {}
    for store, pems in live.stores.items():
        for pem in pems:
            try:
                out.setdefault(store, []).extend(cache.parse_text(pem))
            except PkiError:
                continue
    return out


def missing_links(fleet: FleetView, live: Mapping[str, LiveNode],
                  cache: CertCache) -> list[Finding]:
    """A warning per node that trusts a peer's current issuer, is not linked to that peer,
    and would not trust the peer's next certificate."""
    leaves = {n: leaf for n, snap in live.items()
              if snap.reachable and (leaf := _live_leaf(snap, cache)) is not None}
    out: list[Finding] = []
    for name, view in sorted(fleet.nodes.items()):
        snap = live.get(name)
        if snap is None or not snap.reachable:
            continue
        stores = _stores(snap, cache)
        linked = set(fleet.desired.peers(name))
        for peer, leaf in sorted(leaves.items()):
            if peer == name or peer in linked or peer not in fleet.nodes:
                continue
            finding = _pair(fleet, view, stores, fleet.nodes[peer], leaf)
            if finding is not None:
                out.append(finding)
    return out


def _pair(fleet: FleetView, view: NodeView, stores: dict[str, list[CertInfo]],
          peer: NodeView, live_leaf: CertInfo) -> Finding | None:
    """The finding for ``view`` trusting ``peer``'s current issuer but not its next one."""
    evidence = next(((store, ca) for store, cas in sorted(stores.items()) for ca in cas
                     if issued_by(live_leaf, ca)), None)
    nxt = peer.known_chain()
    if evidence is None or not nxt or (peer.leaf and peer.leaf.sha256 == live_leaf.sha256):
        return None
    held = {c.sha256 for cas in stores.values() for c in cas}
    held |= {sha for entries in view.trust.values() for sha in entries}
    if nxt[0].sha256 in held:
        return None
    store, ca = evidence
    a, b = sorted((view.name, peer.name))
    return Finding(
        code=Code.LINK_MISSING, severity=Severity.WARNING, node=view.name,
        location=nearest(fleet.desired.fleet_positions, ("links",), fleet.desired.fleet_file),
        message=f"{view.name}'s {store} holds '{ca.subject}', the CA that issued "
        f"{peer.name}'s live certificate, so {view.name} likely connects to {peer.name}; but "
        f"no link joins them, and {peer.name}'s next certificate chains to '{nxt[0].subject}', "
        f"which {view.name} does not trust and will not be given. Add [{a}, {b}] to links in "
        f"{fleet.desired.fleet_file} (certops then adds the trust first), or list that CA in "
        f"{view.node.file}.",
    )
