"""The fleet as the checks and the planner see it: parsed certificates and effective trust.

Effective trust (docs/architecture.md, Cisco's step D): a node's trust stores must hold the CAs
its file lists, plus, where ``derive_trust`` is on, the chain (intermediates and root) of its
own desired certificate and of every linked peer's desired certificate. A node whose
certificate an issuer signs during apply (``server_certificate.issuer``, no ``file``) has no
desired certificate yet: the issuer's declared CA files (``issuers.<name>.ca_files``) stand
for its chain, so that trust is planned ahead exactly as for a committed certificate.
Which stores hold a node's own chain and which its peers' is the node's kind's to say
(``reconciler.kinds``: for Unified CM, a peer's chain goes to tomcat-trust and
callmanager-trust, its own to tomcat-trust).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field

from reconciler.kinds import NodeKind, kind_of
from reconciler.model import Desired, DesiredNode, PemFile
from reconciler.model.layout import CAS_DIR
from reconciler.pki import CertCache, CertInfo, ChainResult, PkiError, build_chain, split_leaf


@dataclass(frozen=True)
class TrustEntry:
    """One CA that a store must hold, and why."""

    cert: CertInfo
    reason: str  # "listed" or "chain of <node>'s certificate"
    file: str | None  # root-relative path of a file under cas/ holding it, if any
    listed: bool


@dataclass
class NodeView:
    """One node with its desired certificate parsed and its chain built."""

    node: DesiredNode
    leaf: CertInfo | None = None
    bundled: tuple[CertInfo, ...] = ()  # the other certificates of a full-chain file
    chain: ChainResult | None = None
    listed: dict[str, tuple[CertInfo, ...]] = field(default_factory=dict)
    trust: dict[str, dict[str, TrustEntry]] = field(default_factory=dict)
    issuer: str | None = None  # the issuer that signs for this node during apply (no file)
    issuer_chain: tuple[CertInfo, ...] = ()  # that issuer's declared CA certificates

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def kind(self) -> NodeKind:
        return kind_of(self.node.spec.type)

    def chain_cas(self) -> tuple[CertInfo, ...]:
        """The CA certificates above the leaf, in chain order (empty without a leaf)."""
        return self.chain.chain[1:] if self.chain else ()

    def known_chain(self) -> tuple[CertInfo, ...]:
        """The CAs the node's next certificate chains to, as far as known at plan time: the
        desired leaf's chain, else the declared chain of the issuer that signs for it."""
        return self.chain_cas() if self.chain else self.issuer_chain

    def chain_reason(self) -> str:
        """Why a peer (or the node itself) must trust ``known_chain()``."""
        if self.chain is None and self.issuer:
            return f"chain of issuer {self.issuer} for {self.name}"
        return f"chain of {self.name}'s certificate"


@dataclass
class FleetView:
    desired: Desired
    nodes: dict[str, NodeView]
    ca_files: dict[str, str]  # sha256 -> root-relative path under cas/ (first by name)
    ca_pool: dict[str, CertInfo]  # sha256 -> every CA known to the desired state


def parse_file(cache: CertCache, pem: PemFile | None) -> tuple[CertInfo, ...]:
    """Certificates of a desired-state file; an unreadable one was reported by the loader."""
    if pem is None:
        return ()
    try:
        return cache.parse(pem.data)
    except PkiError:
        return ()


def _file_reader(desired: Desired, cache: CertCache) -> Callable[[str], tuple[CertInfo, ...]]:
    """Certificates by root-relative path, each file parsed (and hashed) once per run: the
    same CA file is named by hundreds of node files."""
    memo: dict[str, tuple[CertInfo, ...]] = {}

    def read(path: str) -> tuple[CertInfo, ...]:
        found = memo.get(path)
        if found is None:
            found = memo[path] = parse_file(cache, desired.files.get(path))
        return found

    return read


def derives_trust(desired: Desired, node: DesiredNode) -> bool:
    if node.spec.derive_trust is not None:
        return node.spec.derive_trust
    return desired.fleet.defaults.derive_trust


def build_view(desired: Desired, cache: CertCache) -> FleetView:
    """Parse every certificate the desired state names and derive each node's effective trust."""
    ca_files: dict[str, str] = {}
    ca_pool: dict[str, CertInfo] = {}
    for path in sorted(desired.files):
        if path.startswith(f"{CAS_DIR}/"):
            for cert in parse_file(cache, desired.files[path]):
                ca_files.setdefault(cert.sha256, path)
                ca_pool.setdefault(cert.sha256, cert)

    read = _file_reader(desired, cache)
    views: dict[str, NodeView] = {}
    for node in desired.nodes:
        view = NodeView(node=node)
        for store, spec in node.spec.stores().items():
            certs: list[CertInfo] = []
            for ref in spec.cas:
                certs.extend(read(node.resolve(ref)))
            view.listed[store] = tuple(certs)
            for cert in certs:
                ca_pool.setdefault(cert.sha256, cert)
        sc = node.spec.server_certificate
        if sc is not None and sc.file:
            certs_in_file = parse_file(cache, desired.files.get(node.resolve(sc.file)))
            if certs_in_file:
                try:
                    view.leaf, view.bundled = split_leaf(certs_in_file)
                except PkiError:
                    view.leaf = None
            for cert in view.bundled:
                if cert.is_ca:
                    ca_pool.setdefault(cert.sha256, cert)
        _set_issuer(desired, view, read, ca_pool)
        views[node.name] = view

    anchors = [c for c in ca_pool.values() if c.self_signed]
    for view in views.values():
        if view.leaf is not None:
            candidates = [*view.bundled, *ca_pool.values()]
            view.chain = build_chain(view.leaf, candidates, anchors)

    fleet = FleetView(desired=desired, nodes=views, ca_files=ca_files, ca_pool=ca_pool)
    for view in views.values():
        view.trust = effective_trust(fleet, view)
    return fleet


def issuer_of(desired: Desired, node: DesiredNode) -> str | None:
    """The issuer that signs the node's certificate during apply: named, defined in
    certops.yaml, and no ``file`` committed (a committed file is installed as it is)."""
    sc = node.spec.server_certificate
    if sc is None or sc.file or not sc.issuer or sc.issuer not in desired.fleet.issuers:
        return None
    return sc.issuer


def issuer_cas(
    desired: Desired, name: str, read: Callable[[str], tuple[CertInfo, ...]]
) -> tuple[CertInfo, ...]:
    """The CA certificates of issuer ``name``'s ``ca_files`` (paths relative to certops.yaml)."""
    spec = desired.fleet.issuers[name]
    return tuple(c for ref in spec.ca_files for c in read(posixpath.normpath(ref)) if c.is_ca)


def _set_issuer(
    desired: Desired,
    view: NodeView,
    read: Callable[[str], tuple[CertInfo, ...]],
    ca_pool: dict[str, CertInfo],
) -> None:
    view.issuer = issuer_of(desired, view.node)
    if view.issuer is None:
        return
    view.issuer_chain = issuer_cas(desired, view.issuer, read)
    for cert in view.issuer_chain:
        ca_pool.setdefault(cert.sha256, cert)


def identity_source(fleet: FleetView, name: str) -> NodeView | None:
    """The node whose certificate ``name`` serves: itself, or, in a cluster with one
    multi-server (SAN) certificate, the publisher that holds it."""
    cluster_name = fleet.desired.cluster_of(name)
    cluster = fleet.desired.fleet.clusters[cluster_name] if cluster_name else None
    publisher = cluster.publisher if cluster is not None and cluster.multi_server else None
    if publisher is not None and publisher in fleet.nodes:
        return fleet.nodes[publisher]
    return fleet.nodes.get(name)


def effective_trust(fleet: FleetView, view: NodeView) -> dict[str, dict[str, TrustEntry]]:
    """Per store, the CAs (by SHA-256) that ``view``'s node must trust, with the reason."""
    out: dict[str, dict[str, TrustEntry]] = {s: {} for s in view.node.spec.stores()}
    kind = view.kind
    for store in (*kind.own_stores, *kind.peer_stores):
        out.setdefault(store, {})
    for store, certs in view.listed.items():
        for cert in certs:
            out[store][cert.sha256] = TrustEntry(
                cert, "listed", fleet.ca_files.get(cert.sha256), listed=True
            )
    if not derives_trust(fleet.desired, view.node):
        return out
    sources: list[tuple[NodeView, tuple[str, ...]]] = [(view, kind.own_stores)]
    for peer in fleet.desired.peers(view.name):
        source = identity_source(fleet, peer)
        if source is not None:
            sources.append((source, kind.peer_stores))
    for source, stores in sources:
        reason = source.chain_reason()
        for cert in source.known_chain():
            for store in stores:
                out[store].setdefault(
                    cert.sha256,
                    TrustEntry(cert, reason, fleet.ca_files.get(cert.sha256), listed=False),
                )
    return out
