"""The device-kind seam: what certops must know about one kind of node, in one place.

A ``NodeKind`` is a pure description (no I/O): its node-file model and trust stores, which
stores must hold its own chain and which its linked peers', its extra leaf rules, what an
install uploads, what restarts after an install and after a change to each store, whether
a committed CSR stands for the pending one, the capabilities its driver may offer (and, where
the API is evidenced for some stores only, which stores: ``store_capable``), and the
exact GUI path or CLI command of each step done by hand, and whether (and how) a node is
drained before it restarts. Checks, planner, steps, loader,
schema and import ask the kind; none of them tests ``type``.

``Profile`` is the shared implementation: a kind module builds one (or a subclass) with its
own tables. ``reconciler.kinds`` registers them by ``type``.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, Protocol

from reconciler.kinds.roles import CLIENT_AUTH, RoleProfile, RoleTable, parse_version
from reconciler.model import Finding, NodeSpecBase
from reconciler.pki import CertInfo

# A kind that declares no roles: one certificate, ``server``, that needs both EKUs (the
# conservative reading of FN74362/FN74345 for a product certops knows nothing more about).
ONE_ROLE = RoleTable(primary="server", roles={"server": RoleProfile("server")})

RestartKind = Literal["node.restart", "service.restart"]
# Expected downtime of a service that a kind's table does not name: a guess, [U].
DEFAULT_SERVICE_DOWNTIME = 120

# The action kinds that interrupt service on a node of a kind, unless its profile says
# otherwise: a restart of the node or of its services (calls, registrations, web logins
# drop). A CSR, a trust upload and a certificate upload do not: on these products none of
# them takes effect before the restart that follows it (docs/device-evidence.md).
# "node.drain" is the maintenance-mode step before an Expressway restart: new calls go to
# the peers, so it disrupts too and runs only in the node's window.
DISRUPTIVE: frozenset[str] = frozenset({"node.restart", "service.restart", "node.drain"})


@dataclass(frozen=True)
class Restart:
    """What makes a change take effect: the whole node, or some of its services."""

    kind: RestartKind
    services: tuple[str, ...] = ()
    part: str = ""  # the action id's last part ("identity" for a service restart)


class NodeKind(Protocol):
    """What every layer may ask of a device kind (see the module docstring)."""

    @property
    def type(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def spec_model(self) -> builtins.type[NodeSpecBase]: ...
    @property
    def stores(self) -> tuple[str, ...]: ...
    @property
    def own_stores(self) -> tuple[str, ...]: ...
    @property
    def peer_stores(self) -> tuple[str, ...]: ...
    @property
    def install_with_chain(self) -> bool: ...
    @property
    def after_install(self) -> Restart: ...
    @property
    def committed_csr_stands_for_pending(self) -> bool: ...
    @property
    def capabilities(self) -> frozenset[str]: ...

    @property
    def cluster_group(self) -> str: ...

    @property
    def cluster_has_publisher(self) -> bool: ...
    @property
    def replicated_stores(self) -> frozenset[str]: ...

    @property
    def builtin_acme(self) -> str | None: ...

    @property
    def ships_builtin_cas(self) -> bool: ...
    @property
    def disruptive(self) -> frozenset[str]: ...
    @property
    def restart_estimate(self) -> timedelta: ...

    @property
    def role_table(self) -> RoleTable: ...
    @property
    def admin_role(self) -> str: ...
    @property
    def admin_apis(self) -> str: ...

    @property
    def drain(self) -> str | None: ...

    def leaf_findings(self, cert: CertInfo) -> list[Finding]: ...
    def expected_downtime(self, kind: str, services: tuple[str, ...]) -> int: ...
    def needs_client_auth(self, version: str | None) -> bool: ...
    def store_capable(self, store: str) -> bool: ...
    def services_after_trust(self, stores: Iterable[str]) -> tuple[str, ...]: ...
    def order_services(self, services: Iterable[str]) -> tuple[str, ...]: ...
    def manual(self, kind: str, **values: str) -> str: ...
    def trust_yaml(self, refs: Mapping[str, list[str]]) -> object: ...


@dataclass(frozen=True)
class Profile:
    """A device kind described by tables; subclasses override the methods that need logic.

    ``trust_restarts`` maps a store to the services that must restart after it changes;
    ``service_order`` is the order in which services restart when several must (services
    not in it come last, sorted). ``manual_steps`` maps an action kind to a template whose
    ``{placeholders}`` are filled by ``manual``.
    """

    type: str
    title: str
    spec_model: builtins.type[NodeSpecBase]
    stores: tuple[str, ...]
    own_stores: tuple[str, ...]
    peer_stores: tuple[str, ...]
    install_with_chain: bool
    after_install: Restart
    committed_csr_stands_for_pending: bool
    capabilities: frozenset[str]
    manual_steps: Mapping[str, str]
    trust_restarts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    service_order: tuple[str, ...] = ()
    store_labels: Mapping[str, str] = field(default_factory=dict)  # store -> name in GUI/CLI
    # Stores the API is evidenced to change; None: every store of the kind.
    api_stores: frozenset[str] | None = None
    # Kinds whose nodes may form one cluster share a group ("" means the kind's own type).
    cluster_group: str = ""
    # A cluster of this kind has a publisher that restarts first (VOS).
    cluster_has_publisher: bool = False
    # Stores whose uploads on a cluster's publisher replicate to the other members.
    replicated_stores: frozenset[str] = frozenset()
    # The GUI path of the node's own ACME client, where the product has one.
    builtin_acme: str | None = None
    # The product ships its trust stores full of vendor CAs (VOS: ~100+ per store): import
    # writes those as CA sets; a kind without them gets one file per CA, each reviewable.
    ships_builtin_cas: bool = False
    # Certificate roles, their EKUs by version and who connects to whom (kinds.roles).
    role_table: RoleTable = ONE_ROLE
    # The action kinds that interrupt service (run only in the node's change window).
    disruptive: frozenset[str] = DISRUPTIVE
    # How long one node's restart is expected to take, to judge whether a change window can
    # hold a cluster's rolling restarts (window.short). Each kind sets its own, tagged.
    restart_estimate: timedelta = timedelta(minutes=10)
    # Who ``credentials`` name and what that account reaches (``certops doctor``'s headings).
    admin_role: str = "administrator"
    admin_apis: str = "REST API"
    # How a node of this kind is drained before its restart (new calls go to its peers,
    # the calls on it end), in words for plans; None: the product has no drain (VOS).
    drain: str | None = None
    # Expected seconds each service restart keeps it down, for the plan's restart chart
    # (``plan --format markdown``); figures and their evidence tags in each kind's module.
    downtime: Mapping[str, int] = field(default_factory=dict)

    def expected_downtime(self, kind: str, services: tuple[str, ...]) -> int:
        """Expected seconds of a restart action: the whole node's ``restart_estimate``, or
        its services' ``downtime`` one after the other (the drivers restart them in turn)."""
        if kind == "node.restart":
            return int(self.restart_estimate.total_seconds())
        return sum(self.downtime.get(s, DEFAULT_SERVICE_DOWNTIME) for s in services)

    def leaf_findings(self, cert: CertInfo) -> list[Finding]:
        """Rules of this kind beyond the fleet policy (none by default)."""
        return []

    def needs_client_auth(self, version: str | None) -> bool:
        """Whether the node's server certificate must carry clientAuth (TLS Web Client
        Authentication) at software ``version``: it also opens TLS connections as a client
        with it (zones, trunks, mutual TLS). The role table's row for the primary role
        decides; a kind without rows (or an unknown version): yes."""
        table = self.role_table
        if not table.eku_rows:
            return True
        return CLIENT_AUTH in table.needed_eku(table.primary, parse_version(version))

    def store_capable(self, store: str) -> bool:
        """Whether the driver may change ``store`` over the API (else the step is manual),
        on top of the kind's ``capabilities``."""
        return self.api_stores is None or store in self.api_stores

    def services_after_trust(self, stores: Iterable[str]) -> tuple[str, ...]:
        """The services that a change to ``stores`` needs restarted, in a safe order."""
        restarts = self.trust_restarts
        return self.order_services(s for store in stores for s in restarts.get(store, ()))

    def order_services(self, services: Iterable[str]) -> tuple[str, ...]:
        wanted = set(services)
        known = [s for s in self.service_order if s in wanted]
        return (*known, *sorted(wanted - set(self.service_order)))

    def manual(self, kind: str, **values: str) -> str:
        """The instruction for doing action ``kind`` by hand on a node of this kind."""
        template = self.manual_steps.get(kind, "do '{kind}' by hand on the node")
        store = values.get("store", "")
        label = self.store_labels.get(store, store)
        filled = {
            "file": "(the CA certificate file)",
            "subject": "",
            "sans": "",
            "commands": "",
            "kind": kind,
            "store_file": label,
            "store_file_lower": label.lower(),
            **values,
        }
        return template.format(**filled)

    def trust_yaml(self, refs: Mapping[str, list[str]]) -> object:
        """The ``trust:`` value of a node file listing ``refs`` (store -> CA file paths)."""
        return {store: list(files) for store, files in refs.items()}
