"""Lab topologies: the example fleet, synthetic fleets, topology YAML, and node seeding.

A topology YAML (read with ruamel.yaml)::

    defaults: {restart_seconds: 3, builtin_cas: 100, latency_ms: 0}
    nodes:
      - name: expe1
        type: expressway-e            # expressway-c | expressway-e | vcs | cucm | imp | cuc
        fqdn: expe1.nart.com          # the system FQDN: CN of the CSRs the node makes
        sans: [expe.nart.com, join.nart.com]
        links: [expc1]
        version: X15.0.2              # VOS: 14.0.1.13900-155, or 12.5.1.x (no REST API)
        certificate: {ca: old, days_left: 20, lifetime_days: 365, key: rsa2048}
        restart_seconds: 3
        trust_list_shape: wrapped     # VOS: list | wrapped
        snapshot_shape: full          # VOS: full | identities (no trusts: read per store)
        faults: [{match: restart, status: 503, count: 1}]
        calls: {per_minute: 60, duration_seconds: [1, 4]}   # offered calls (see lab.calls)
        maintenance_api: true         # Expressway: /api/raml lists maintenance mode [U]
    seed: 1                           # the calls' random seed
    clusters:                         # optional: members restart in turn, see availability
      cucm: {members: [cucm-pub, cucm-sub1], publisher: cucm-pub, max_unavailable: 1,
             replication_seconds: 0.5}

``seed_node`` turns one entry into a fresh ``NodeState`` (keys, a server certificate from
the chosen lab CA expiring in ``days_left`` days, trust holding the lab root + that CA).
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from ruamel.yaml import YAML

from reconciler.lab.ca import CaName, KeyKind, LabPki, cert_pem, key_pem, new_key
from reconciler.lab.calls import CallProfile
from reconciler.lab.eku import has_client_store
from reconciler.lab.faults import Fault
from reconciler.lab.phones import UNITS, seed_phones, self_signed
from reconciler.lab.state import (
    EXPRESSWAY_TYPES,
    Identity,
    LabNodeType,
    NodeState,
    SnapshotShape,
    TrustShape,
    entry_of,
)
from reconciler.lab.vos_products import VOS_PRODUCTS

EXPRESSWAY_VERSION = "X15.0.2"


class CertSpec(BaseModel):
    """The starting server certificate of a node."""

    model_config = ConfigDict(extra="forbid")
    ca: CaName = "old"
    days_left: float = 20.0
    lifetime_days: int = 365
    key: KeyKind | None = None


class TopologyCalls(BaseModel):
    """Calls offered to a node (``reconciler.lab.calls``): arrivals a minute, and the
    shortest and longest call in seconds."""

    model_config = ConfigDict(extra="forbid")
    per_minute: float = Field(ge=0)
    duration_seconds: tuple[float, float] = (1.0, 4.0)

    @model_validator(mode="after")
    def _ordered(self) -> TopologyCalls:
        low, high = self.duration_seconds
        if not 0 < low <= high:
            raise ValueError("duration_seconds: [shortest, longest], 0 < shortest <= longest")
        return self

    def profile(self) -> CallProfile:
        return CallProfile(self.per_minute, *self.duration_seconds)


class TopologyNode(BaseModel):
    """One node of a topology file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    type: LabNodeType
    fqdn: str | None = None
    sans: list[str] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)
    version: str | None = None
    certificate: CertSpec = Field(default_factory=CertSpec)
    restart_seconds: float | None = None
    trust_list_shape: TrustShape | None = None
    snapshot_shape: SnapshotShape = "full"
    builtin_cas: int | None = None
    faults: list[Fault] = Field(default_factory=list)
    # Expressway: settings that decide EKU checks (e.g. "SIP TLS Certificate ExtendedKeyUsage
    # Checking Mode": "Off"), and whether an X15.5's RAML lists the client store.
    settings: dict[str, str] = Field(default_factory=dict)
    raml_client: bool = True
    calls: TopologyCalls | None = None
    # Expressway: whether /api/raml lists a maintenance-mode resource. No public source shows
    # one [C: GUI only]; the lab lists one by default, as its assumption [U], so that the
    # automated drain can be exercised; false shows the manual drain.
    maintenance_api: bool = True
    # Unified CM: the identities that start self-signed (20 days from expiry like the
    # others; the rest start like the Tomcat one), and the phones registered to the node.
    self_signed: list[str] = Field(default_factory=lambda: ["tvs", "itlrecovery", "capf"])
    phones: int = 10


class TopologyDefaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    restart_seconds: float = 3.0
    builtin_cas: int = 100
    latency_ms: int = 0
    key: KeyKind = "rsa2048"
    calls: TopologyCalls | None = None


class TopologyCluster(BaseModel):
    """Nodes that serve as one. On a Unified CM cluster with a ``publisher``, a
    callmanager-trust upload on the publisher appears on every subscriber after
    ``replication_seconds`` (device-apis.md, "Cluster behaviour" [C])."""

    model_config = ConfigDict(extra="forbid")
    members: list[str] = Field(min_length=1)
    publisher: str | None = None
    max_unavailable: int = Field(1, ge=1)
    replication_seconds: float = Field(0.0, ge=0)
    security_mode: Literal["non-secure", "mixed"] = "non-secure"  # Unified CM: mixed = CTL


class Topology(BaseModel):
    """A whole lab: defaults, nodes and clusters."""

    model_config = ConfigDict(extra="forbid")
    defaults: TopologyDefaults = Field(default_factory=TopologyDefaults)
    nodes: list[TopologyNode]
    clusters: dict[str, TopologyCluster] = Field(default_factory=dict)
    seed: int = 1

    def call_profiles(self) -> dict[str, CallProfile]:
        """Each node's offered calls (its own ``calls:``, else the defaults')."""
        out: dict[str, CallProfile] = {}
        for node in self.nodes:
            calls = node.calls or self.defaults.calls
            if calls is not None and calls.per_minute > 0:
                out[node.name] = calls.profile()
        return out

    def linked(self) -> dict[str, set[str]]:
        """node -> the nodes it opens TLS to: its links and its cluster's other members."""
        out: dict[str, set[str]] = {n.name: set(n.links) for n in self.nodes}
        for cluster in self.clusters.values():
            for member in cluster.members:
                out.setdefault(member, set()).update(m for m in cluster.members if m != member)
        return out


def load_topology(path: Path) -> Topology:
    data = YAML(typ="safe").load(path.read_text())
    return Topology.model_validate(data)


def example_topology() -> Topology:
    """expe1 ↔ expc1 ↔ cucm-pub with OLD-CA certificates 20 days from expiry."""
    expe_sans = ["expe.nart.com", "expe1.nart.com", "expe2.nart.com", "join.nart.com",
                 "meeting.nart.com", "meet.nart.com", "guest.vngtp.aca", "guest.vngtpres.aca",
                 "vngtp.lab", "nart.com"]
    return Topology(nodes=[
        TopologyNode(name="expe1", type="expressway-e", fqdn="expe1.nart.com", sans=expe_sans,
                     links=["expc1"]),
        TopologyNode(name="expc1", type="expressway-c", fqdn="expc1.nart.com",
                     sans=["expc.nart.com", "expc1.nart.com"], links=["expe1", "cucm-pub"]),
        TopologyNode(name="cucm-pub", type="cucm", fqdn="cucm-pub.nart.com",
                     sans=["cucm-pub.nart.com", "cucm.nart.com"], links=["expc1"]),
    ])


def with_cucm_version(topology: Topology, version: str) -> Topology:
    """``topology`` with every Unified CM node at ``version`` (a cluster runs one release):
    ``12.5.1.16900-48`` gives nodes without the REST API, read and changed over the CLI."""
    nodes = [n.model_copy(update={"version": version}) if n.type == "cucm" else n
             for n in topology.nodes]
    return topology.model_copy(update={"nodes": nodes})


# The calls offered to every node of the clustered demo (topologies/clusters.yaml).
DEMO_CALLS = TopologyCalls(per_minute=40, duration_seconds=(1.0, 3.0))


def clustered_topology(replication_seconds: float = 0.0,
                       calls: TopologyCalls | None = None) -> Topology:
    """An Expressway-E pair, an Expressway-C pair and a Unified CM publisher with two
    subscribers, OLD-CA certificates 20 days from expiry. Every E is linked to every C,
    every C to every Unified CM node; each member's SANs hold its cluster's shared name.
    ``calls``: offered to every node (none by default)."""
    expe = ["expe1", "expe2"]
    expc = ["expc1", "expc2"]
    cucm = ["cucm-pub", "cucm-sub1", "cucm-sub2"]

    def node(name: str, kind: LabNodeType, shared: str, links: list[str]) -> TopologyNode:
        fqdn = f"{name}.nart.com"
        return TopologyNode(name=name, type=kind, fqdn=fqdn, sans=[fqdn, shared], links=links)

    nodes = [
        *(node(n, "expressway-e", "expe.nart.com", list(expc)) for n in expe),
        *(node(n, "expressway-c", "expc.nart.com", [*expe, *cucm]) for n in expc),
        *(node(n, "cucm", "cucm.nart.com", list(expc)) for n in cucm),
    ]
    return Topology(defaults=TopologyDefaults(calls=calls), nodes=nodes, clusters={
        "expe": TopologyCluster(members=expe),
        "expc": TopologyCluster(members=expc),
        "cucm": TopologyCluster(members=cucm, publisher="cucm-pub",
                                replication_seconds=replication_seconds),
    })


def synthetic_topology(count: int) -> Topology:
    """``count`` nodes: Expressway-E/C pairs with a CUCM publisher behind each C; ECDSA keys."""
    nodes: list[TopologyNode] = []
    site = 0
    while len(nodes) < count:
        site += 1
        dom = f"site{site:03d}.lab"
        group = [
            TopologyNode(name=f"expe-{site:03d}", type="expressway-e", fqdn=f"expe.{dom}",
                         sans=[f"join.{dom}", dom], links=[f"expc-{site:03d}"]),
            TopologyNode(name=f"expc-{site:03d}", type="expressway-c", fqdn=f"expc.{dom}",
                         links=[f"expe-{site:03d}", f"cucm-{site:03d}"]),
            TopologyNode(name=f"cucm-{site:03d}", type="cucm", fqdn=f"cucm.{dom}",
                         links=[f"expc-{site:03d}"]),
        ]
        nodes.extend(group[: count - len(nodes)])
    names = {n.name for n in nodes}
    for node in nodes:  # the last site may be cut short: no links to nodes that do not exist
        node.links = [peer for peer in node.links if peer in names]
    return Topology(defaults=TopologyDefaults(key="ec256"), nodes=nodes)


def _shape(name: str) -> TrustShape:
    return "list" if zlib.crc32(name.encode()) % 2 else "wrapped"


def _identity(pki: LabPki, spec: CertSpec, kind: KeyKind, cn: str, sans: list[str],
              now: datetime) -> Identity:
    key = new_key(kind)
    not_after = now + timedelta(days=spec.days_left)
    not_before = min(not_after - timedelta(days=spec.lifetime_days), now - timedelta(minutes=5))
    names = [cn, *[s for s in sans if s != cn]]
    cert = pki.issue(spec.ca, key.public_key(), cn, names,
                     not_before=not_before, not_after=not_after)
    return Identity(cert_pem=cert_pem(cert), key_pem=key_pem(key),
                    chain_pems=[cert_pem(c) for c in pki.chain_for(spec.ca)])


def seed_node(spec: TopologyNode, defaults: TopologyDefaults, pki: LabPki) -> NodeState:
    """A fresh node as the topology describes it."""
    now = datetime.now(UTC)
    kind = spec.certificate.key or defaults.key
    fqdn = spec.fqdn or f"{spec.name}.lab"
    trust_pems = [cert_pem(pki.root.cert), cert_pem(pki.issuing[spec.certificate.ca].cert)]
    common = {
        "name": spec.name, "type": spec.type, "fqdn": fqdn, "links": list(spec.links),
        "restart_seconds": (spec.restart_seconds if spec.restart_seconds is not None
                            else defaults.restart_seconds),
        "faults": [f.model_copy() for f in spec.faults],
        "maintenance_api": spec.maintenance_api,
    }
    if spec.type in EXPRESSWAY_TYPES:
        ident = _identity(pki, spec.certificate, kind, fqdn, spec.sans, now)
        version = spec.version or EXPRESSWAY_VERSION
        # X15.5+: the upgrade copied the certificate and key into the client store [C].
        client = ident.model_copy(deep=True) if has_client_store(version) else None
        return NodeState(**common, version=version,
                         served=ident, server=ident.model_copy(deep=True),
                         trusted_cas=trust_pems, client=client, settings=dict(spec.settings),
                         raml_client=spec.raml_client)
    product = VOS_PRODUCTS[spec.type]
    identities = {
        service: _identity(pki, spec.certificate, kind if service == "tomcat" else "ec256",
                           cn.format(fqdn=fqdn, name=spec.name),
                           spec.sans if service == "tomcat" else [], now)
        if service not in spec.self_signed or service == "tomcat" else
        self_signed(UNITS.get(service, service), fqdn, spec.certificate.days_left,
                    spec.certificate.lifetime_days)
        for service, cn in product.identities.items()
    }
    entries = [entry_of(c, "lab CA") for c in (pki.root.cert,
                                                pki.issuing[spec.certificate.ca].cert)]
    state = NodeState(
        **common, version=spec.version or product.version,
        served=identities["tomcat"].model_copy(deep=True), identities=identities,
        trust={s: list(entries) if s in product.seeded_trust else [] for s in product.services},
        builtin_cas=spec.builtin_cas if spec.builtin_cas is not None else defaults.builtin_cas,
        trust_list_shape=spec.trust_list_shape or _shape(spec.name),
        snapshot_shape=spec.snapshot_shape,
    )
    if spec.type == "cucm":
        seed_phones(state, spec.phones)
    return state
