"""What the Markdown reports know of each node beyond the plan: kind, cluster, site, chain.

Plain data, built once from the loaded fleet (``facts_of``) by the command that renders; a
report rendered without it (a plan file alone) still works, with every node its own group.
The reports count and summarise by these groups (``LEVELS``): per node while a diagram stays
readable, then per cluster, per site (``SITE_LABEL``), per kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import timedelta

from reconciler.checks import FleetView
from reconciler.kinds import UnknownKind, kind_of
from reconciler.kinds.base import DEFAULT_SERVICE_DOWNTIME
from reconciler.model import Action, parse_span
from reconciler.model.layout import SITE_LABEL

NO_CLUSTER = "not in a cluster"
NO_SITE = f"no {SITE_LABEL} label"


@dataclass(frozen=True)
class NodeFacts:
    """One node: its kind's title and type, cluster, site, and the CAs (SHA-256) that its
    next certificate chains to (``issuing`` the one that signs it)."""

    type: str = ""
    kind: str = "node"
    cluster: str | None = None
    site: str | None = None
    chain: frozenset[str] = frozenset()
    issuing: str | None = None
    renew_before: str = "30d"
    labels: tuple[tuple[str, str], ...] = ()  # every label but the site, sorted


UNKNOWN = NodeFacts()


@dataclass(frozen=True)
class FleetFacts:
    nodes: Mapping[str, NodeFacts] = field(default_factory=dict)
    peers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # How long each change window (certops.yaml windows:) stays open.
    windows: Mapping[str, timedelta] = field(default_factory=dict)

    def of(self, node: str) -> NodeFacts:
        return self.nodes.get(node, UNKNOWN)

    def downtime(self, action: Action) -> float:
        """Expected seconds of a restart action (its kind's figure; a guess when unknown)."""
        try:
            kind = kind_of(self.of(action.node).type)
        except UnknownKind:
            return float(DEFAULT_SERVICE_DOWNTIME)
        return float(kind.expected_downtime(action.kind, action.services))


def facts_of(fleet: FleetView) -> FleetFacts:
    """Each node's facts from the loaded fleet (clusters by member, one pass)."""
    desired = fleet.desired
    cluster_of = {m: name for name, c in sorted(desired.fleet.clusters.items(), reverse=True)
                  for m in c.members}
    default_renew = desired.fleet.policy.renew_before
    nodes: dict[str, NodeFacts] = {}
    for name, view in fleet.nodes.items():
        spec = view.node.spec
        chain = view.known_chain()
        sc = spec.server_certificate
        nodes[name] = NodeFacts(
            type=spec.type, kind=view.kind.title, cluster=cluster_of.get(name),
            site=spec.labels.get(SITE_LABEL), chain=frozenset(c.sha256 for c in chain),
            issuing=chain[0].sha256 if chain else None,
            renew_before=(sc.renew_before if sc and sc.renew_before else default_renew),
            labels=tuple(sorted((k, v) for k, v in spec.labels.items() if k != SITE_LABEL)),
        )
    peers = {n: desired.peers(n) for n in fleet.nodes}
    windows: dict[str, timedelta] = {}
    for name, window in desired.fleet.windows.items():
        with suppress(ValueError):  # validate reports a bad span; the chart just skips it
            windows[name] = parse_span(window.duration)
    return FleetFacts(nodes, peers, windows)


# How the reports group nodes, finest first: the first level with few enough groups is drawn.
LEVELS = ("node", "cluster", "site", "kind")


def label_keys(facts: FleetFacts) -> list[str]:
    """The label keys the fleet's nodes carry besides the site, sorted."""
    return sorted({k for nf in facts.nodes.values() for k, _ in nf.labels})


def group_of(facts: FleetFacts, level: str) -> Callable[[str], str]:
    """The group name of a node at ``level`` (or ``label KEY``: its value of that label)."""
    if level.startswith("label "):
        key = level.removeprefix("label ")
        return lambda n: dict(facts.of(n).labels).get(key, f"no {key} label")
    if level == "node":
        return lambda n: n
    if level == "cluster":
        return lambda n: facts.of(n).cluster or NO_CLUSTER
    if level == "site":
        return lambda n: facts.of(n).site or NO_SITE
    return lambda n: facts.of(n).kind


def finest_level(limit: int, count: Callable[[str], int]) -> str:
    """The finest of ``LEVELS`` at which ``count(level)`` (bars, edges) is at most ``limit``;
    the coarsest level when none is."""
    return next((level for level in LEVELS if count(level) <= limit), LEVELS[-1])
