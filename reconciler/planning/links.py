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
from dataclasses import dataclass

from cryptography.x509 import Name

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


@dataclass(frozen=True)
class _Held:
    """One node's trust as the pair check needs it, built once per node (not per pair):
    every CA it holds or will be given, and its live CAs by subject, in store order."""

    shas: frozenset[str]
    by_subject: dict[Name, list[tuple[str, CertInfo]]]

    @classmethod
    def of(cls, view: NodeView, stores: dict[str, list[CertInfo]]) -> _Held:
        by_subject: dict[Name, list[tuple[str, CertInfo]]] = {}
        for store, cas in sorted(stores.items()):
            for ca in cas:
                by_subject.setdefault(ca.cert.subject, []).append((store, ca))
        shas = {c.sha256 for cas in stores.values() for c in cas}
        shas |= {sha for entries in view.trust.values() for sha in entries}
        return cls(frozenset(shas), by_subject)

    def issuer_of(self, leaf: CertInfo) -> tuple[str, CertInfo] | None:
        """The first (store, CA) that issued ``leaf``, looked up by the leaf's issuer DN."""
        return next(((store, ca) for store, ca in self.by_subject.get(leaf.cert.issuer, ())
                     if issued_by(leaf, ca)), None)


def _changing(fleet: FleetView, live: Mapping[str, LiveNode],
              cache: CertCache) -> dict[str, tuple[CertInfo, tuple[CertInfo, ...]]]:
    """Peers whose next certificate is known and is not the live one: live leaf, next chain.
    Only these can break a connection, so only these are paired (a fleet in sync has none)."""
    out: dict[str, tuple[CertInfo, tuple[CertInfo, ...]]] = {}
    for name, snap in live.items():
        view = fleet.nodes.get(name)
        if view is None or not snap.reachable:
            continue
        leaf, nxt = _live_leaf(snap, cache), view.known_chain()
        if leaf is None or not nxt or (view.leaf and view.leaf.sha256 == leaf.sha256):
            continue
        out[name] = (leaf, nxt)
    return out


def missing_links(fleet: FleetView, live: Mapping[str, LiveNode],
                  cache: CertCache) -> list[Finding]:
    """A warning per node that trusts a peer's current issuer, is not linked to that peer,
    and would not trust the peer's next certificate."""
    changing = _changing(fleet, live, cache)
    out: list[Finding] = []
    if not changing:
        return out
    for name, view in sorted(fleet.nodes.items()):
        snap = live.get(name)
        if snap is None or not snap.reachable:
            continue
        held = _Held.of(view, _stores(snap, cache))
        linked = set(fleet.desired.peers(name))
        for peer, (leaf, nxt) in sorted(changing.items()):
            if peer == name or peer in linked or nxt[0].sha256 in held.shas:
                continue
            evidence = held.issuer_of(leaf)
            if evidence is not None:
                out.append(_finding(fleet, view, fleet.nodes[peer], evidence, nxt))
    return out


def _finding(fleet: FleetView, view: NodeView, peer: NodeView,
             evidence: tuple[str, CertInfo], nxt: tuple[CertInfo, ...]) -> Finding:
    """``view`` trusts ``peer``'s current issuer (``evidence``) but not its next one."""
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
