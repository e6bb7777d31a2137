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

A list may name CA set files (``ca-sets/``) beside CA files: every CA of a set is listed. A
file is read once per run, its entries are built once, and the stores of a thousand nodes that
name the same files share one mapping of them.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.kinds import NodeKind, kind_of
from reconciler.model import Desired, DesiredNode, PemFile, renew_before_of
from reconciler.model.layout import CAS_DIR, is_ca_set
from reconciler.pki import CertCache, CertInfo, ChainResult, PkiError, build_chain, split_leaf


@dataclass(frozen=True)
class TrustEntry:
    """One CA that a store must hold, and why."""

    cert: CertInfo
    reason: str  # "listed" or "chain of <node>'s certificate"
    # root-relative path of a file under cas/ holding it, else of the CA set that lists it
    file: str | None
    listed: bool


# The entries of a store, by SHA-256. Read-only: stores that list the same files share one
# mapping (a thousand Unified CM nodes naming the same CA sets), copied before it is changed.
Entries = Mapping[str, TrustEntry]


@dataclass(frozen=True)
class ListedFile:
    """A CA file or CA set file that trust lists name: parsed once per run, with the entries
    that list its CAs, shared by every node and store that names it."""

    path: str
    certs: tuple[CertInfo, ...]
    entries: Entries
    first_expiry: datetime | None  # the earliest notAfter: most files need no closer look


@dataclass
class RoleView:
    """A certificate role other than the kind's primary one (``certificates:``), parsed: the
    primary role stays in ``NodeView``'s own fields, so every existing path reads it as
    before."""

    role: str
    name: str  # the node's name
    file: str | None = None
    leaf: CertInfo | None = None
    bundled: tuple[CertInfo, ...] = ()
    chain: ChainResult | None = None
    issuer: str | None = None
    issuer_chain: tuple[CertInfo, ...] = ()
    copy_from: str | None = None
    self_signed: bool = False  # regenerated on the node (its next certificate is unknown)

    def chain_cas(self) -> tuple[CertInfo, ...]:
        return self.chain.chain[1:] if self.chain else ()

    def known_chain(self) -> tuple[CertInfo, ...]:
        return self.chain_cas() if self.chain else self.issuer_chain

    def chain_reason(self) -> str:
        if self.chain is None and self.issuer:
            return f"chain of issuer {self.issuer} for {self.name} {self.role}"
        return f"chain of {self.name}'s {self.role} certificate"


@dataclass
class NodeView:
    """One node with its desired certificate parsed and its chain built."""

    node: DesiredNode
    leaf: CertInfo | None = None
    bundled: tuple[CertInfo, ...] = ()  # the other certificates of a full-chain file
    chain: ChainResult | None = None
    listed: dict[str, tuple[CertInfo, ...]] = field(default_factory=dict)
    # per store, the root-relative paths its list names, in list order (index = list item)
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)
    trust: dict[str, Entries] = field(default_factory=dict)
    issuer: str | None = None  # the issuer that signs for this node during apply (no file)
    issuer_chain: tuple[CertInfo, ...] = ()  # that issuer's declared CA certificates
    roles: dict[str, RoleView] = field(default_factory=dict)  # the other declared roles

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
    lists: TrustLists = field(repr=False)

    @property
    def listed_files(self) -> dict[str, ListedFile]:
        """Every file a trust list names, by root-relative path."""
        return self.lists.files


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


def _listed_file(path: str, certs: tuple[CertInfo, ...], ca_files: dict[str, str]) -> ListedFile:
    """The entries a file contributes to every list that names it, built once."""
    set_path = path if is_ca_set(path) else None
    entries = {
        cert.sha256: TrustEntry(cert, "listed", ca_files.get(cert.sha256) or set_path,
                                listed=True)
        for cert in certs
    }
    first = min((c.not_after for c in certs), default=None)
    return ListedFile(path=path, certs=certs, entries=entries, first_expiry=first)


class TrustLists:
    """The trust lists of the fleet, read once: each file, and each distinct list of files
    (a thousand nodes naming the same CA sets share one tuple of certificates and one
    mapping of entries)."""

    def __init__(self, read: Callable[[str], tuple[CertInfo, ...]], ca_files: dict[str, str],
                 ca_pool: dict[str, CertInfo]) -> None:
        self.read = read
        self.ca_files = ca_files
        self.ca_pool = ca_pool
        self.files: dict[str, ListedFile] = {}
        self._certs: dict[tuple[str, ...], tuple[CertInfo, ...]] = {}
        self._paths: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._entries: dict[tuple[str, ...], Entries] = {}

    def interned(self, paths: tuple[str, ...]) -> tuple[str, ...]:
        """One tuple object per distinct list: nodes keep their lists' paths for the checks,
        and 1,000 copies of a 600-file list would hold 600,000 strings."""
        return self._paths.setdefault(paths, paths)

    def certs(self, paths: tuple[str, ...]) -> tuple[CertInfo, ...]:
        """Every CA the list names, in list order; its CAs join the pool the first time."""
        found = self._certs.get(paths)
        if found is None:
            for path in paths:
                if path not in self.files:
                    self.files[path] = _listed_file(path, self.read(path), self.ca_files)
            found = tuple(c for path in paths for c in self.files[path].certs)
            for cert in found:
                self.ca_pool.setdefault(cert.sha256, cert)
            self._certs[paths] = found
        return found

    def entries(self, paths: tuple[str, ...]) -> Entries:
        """The entries of a list of files read by ``certs`` (later files win, as a list read
        in order would): one file's own entries when the list names one file."""
        found = self._entries.get(paths)
        if found is None:
            if len(paths) == 1:
                found = self.files[paths[0]].entries
            else:
                merged: dict[str, TrustEntry] = {}
                for path in paths:
                    merged.update(self.files[path].entries)
                found = merged
            self._entries[paths] = found
        return found


def build_view(desired: Desired, cache: CertCache) -> FleetView:
    """Parse every certificate the desired state names and derive each node's effective trust."""
    ca_files: dict[str, str] = {}
    ca_pool: dict[str, CertInfo] = {}
    read = _file_reader(desired, cache)
    for path in sorted(desired.files):
        if path.startswith(f"{CAS_DIR}/"):
            for cert in read(path):
                ca_files.setdefault(cert.sha256, path)
                ca_pool.setdefault(cert.sha256, cert)
    for path in sorted(desired.files):
        if is_ca_set(path):  # after cas/: a CA's own file is where messages point
            for cert in read(path):
                ca_pool.setdefault(cert.sha256, cert)

    lists = TrustLists(read, ca_files, ca_pool)
    views: dict[str, NodeView] = {}
    for node in desired.nodes:
        view = NodeView(node=node)
        for store, spec in node.spec.stores().items():
            paths = lists.interned(tuple(node.resolve(ref) for ref in spec.cas))
            view.sources[store] = paths
            view.listed[store] = lists.certs(paths)
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
        view.roles = _role_views(desired, cache, view, read, ca_pool)
        views[node.name] = view

    anchors = [c for c in ca_pool.values() if c.self_signed]
    for view in views.values():
        if view.leaf is not None:
            candidates = [*view.bundled, *ca_pool.values()]
            view.chain = build_chain(view.leaf, candidates, anchors)
        for role in view.roles.values():
            if role.leaf is not None:
                role.chain = build_chain(role.leaf, [*role.bundled, *ca_pool.values()], anchors)

    fleet = FleetView(desired=desired, nodes=views, ca_files=ca_files, ca_pool=ca_pool,
                      lists=lists)
    for view in views.values():
        view.trust = effective_trust(fleet, view)
    return fleet


def _role_views(
    desired: Desired, cache: CertCache, view: NodeView,
    read: Callable[[str], tuple[CertInfo, ...]], ca_pool: dict[str, CertInfo],
) -> dict[str, RoleView]:
    """The node's declared roles other than the primary one, their files parsed."""
    node = view.node
    primary = view.kind.role_table.primary
    out: dict[str, RoleView] = {}
    for role, spec in sorted(node.spec.certificates.items()):
        if role == primary:
            continue  # role.twice or the primary role under certificates: (loader)
        rv = RoleView(role=role, name=node.name, file=spec.file, copy_from=spec.copy_from,
                      self_signed=spec.self_signed)
        if spec.file:
            certs = parse_file(cache, desired.files.get(node.resolve(spec.file)))
            try:
                rv.leaf, rv.bundled = split_leaf(certs) if certs else (None, ())
            except PkiError:
                rv.leaf = None
            for cert in rv.bundled:
                if cert.is_ca:
                    ca_pool.setdefault(cert.sha256, cert)
        elif spec.issuer and spec.issuer in desired.fleet.issuers:
            rv.issuer = spec.issuer
            rv.issuer_chain = issuer_cas(desired, spec.issuer, read)
            for cert in rv.issuer_chain:
                ca_pool.setdefault(cert.sha256, cert)
        out[role] = rv
    return out


def issuer_of(desired: Desired, node: DesiredNode) -> str | None:
    """The issuer that signs the node's certificate during apply: named, defined in
    certops.yaml, and no ``file`` committed (a committed file is installed as it is)."""
    sc = node.spec.server_certificate
    if sc is None or sc.file or not sc.issuer or sc.issuer not in desired.fleet.issuers:
        return None
    return sc.issuer


def renew_before(desired: Desired, view: NodeView, role: str | None = None) -> str:
    """The effective ``renew_before`` of the node's certificate (of ``role``, for a role other
    than the primary one): ``model.renew_before_of``: the node's, the policy's, or a third of
    the lifetime for an ACME issuer."""
    spec = view.node.spec
    sc = spec.server_certificate if role is None else spec.certificates.get(role)
    name = view.issuer if role is None else (view.roles[role].issuer if role in view.roles
                                             else None)
    issuer = desired.fleet.issuers.get(name) if name else None
    return renew_before_of(sc.renew_before if sc else None, desired.fleet.policy, issuer)


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


def effective_trust(fleet: FleetView, view: NodeView) -> dict[str, Entries]:
    """Per store, the CAs (by SHA-256) that ``view``'s node must trust, with the reason.

    A store's listed CAs are the mapping its list of files shares with every node naming
    the same files; it is copied only when the node's chains add a CA the list lacks."""
    out: dict[str, Entries] = {
        store: fleet.lists.entries(view.sources.get(store, ()))
        for store in view.node.spec.stores()
    }
    kind = view.kind
    for store in (*kind.own_stores, *kind.peer_stores):
        out.setdefault(store, {})
    if not derives_trust(fleet.desired, view.node):
        return out
    sources: list[tuple[NodeView | RoleView, tuple[str, ...]]] = [(view, kind.own_stores)]
    sources += [(role, _own_stores(view, role)) for role in view.roles.values()]
    for peer in fleet.desired.peers(view.name):
        identity = identity_source(fleet, peer)
        if identity is not None:
            sources.append((identity, kind.peer_stores))
        other = fleet.nodes.get(peer)
        if other is not None:
            sources += [(role, stores) for role in other.roles.values()
                        if (stores := _peer_stores(other, role, kind))]
    own: dict[str, dict[str, TrustEntry]] = {}  # stores copied for this node
    for source, stores in sources:
        reason = source.chain_reason()
        for cert in source.known_chain():
            for store in stores:
                if cert.sha256 in out.get(store, {}):
                    continue  # listed, or already derived from an earlier source
                mine = own.get(store)
                if mine is None:
                    mine = own[store] = dict(out.get(store, {}))
                    out[store] = mine
                mine[cert.sha256] = TrustEntry(
                    cert, reason, fleet.ca_files.get(cert.sha256), listed=False
                )
    return out


def _own_stores(view: NodeView, role: RoleView) -> tuple[str, ...]:
    """The node's stores that must hold ``role``'s chain: the role table's (Unified CM's
    callmanager: callmanager-trust), else the kind's own stores."""
    profile = view.kind.role_table.roles.get(role.role)
    stores = profile.own_stores if profile is not None else None
    return view.kind.own_stores if stores is None else stores


def _peer_stores(other: NodeView, role: RoleView, kind: NodeKind) -> tuple[str, ...]:
    """The stores of a ``kind`` node linked to ``other`` that must hold ``role``'s chain: the
    role table's ``presented_to`` (the CallManager identity: the Expressway-C's list, another
    cluster's callmanager-trust), else the kind's peer stores where ``other`` connects to a
    ``kind`` node presenting its roles (its client role), else none."""
    profile = other.kind.role_table.roles.get(role.role)
    stores = profile.peer_stores_of(kind.type) if profile is not None else None
    if stores is not None:
        return tuple(s for s in stores if s in kind.stores)
    return kind.peer_stores if other.kind.role_table.link_to(kind.type) else ()
