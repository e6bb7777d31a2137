"""Which node files a ``--select`` shard loads: its nodes and every node linked to them.

A shard of a CI matrix plans its own nodes; a node's plan depends on the nodes it is linked
to (``certops.yaml``'s ``links`` and ``clusters``: their certificates, their trust, their
restarts), and theirs on theirs, never on a node no chain of links reaches. So a shard loads
the connected part of the link graph that holds its nodes, and nothing else: the same
desired state for those nodes as the whole fleet gives, at the cost of its own size.

A node file is known to be outside the shard from libyaml's events alone (its top-level
``name`` and ``labels``, ``yamlsource.top_scalars``); a file whose events do not show them
plainly is loaded, as is every file of a name the links reach. What the shard does not load
it does not check either: a broken node file elsewhere fails the shard it belongs to (and
``certops validate`` of the whole tree), not this one. The links and clusters are kept
where their nodes are loaded, so the checks across files see a whole fleet: the shard's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from reconciler.desired.yamlsource import top_scalars
from reconciler.model import FleetSpec

LOOKED_AT = frozenset({"name", "labels"})


def might_match(said: Mapping[str, list[str]] | None, selectors: Iterable[tuple[str, str]]
                ) -> bool:
    """Whether a node file that says ``said`` (``top_scalars``; None: unknown) may carry
    every ``key=value`` label of ``selectors``."""
    if said is None:
        return True
    labels = set(said.get("labels", ()))
    return all(f"{k}={v}" in labels for k, v in selectors)


def names_of(rel: str, said: Mapping[str, list[str]] | None) -> set[str]:
    """The node names a file may stand for: its file name's, and the ``name`` it gives."""
    return {PurePosixPath(rel).stem, *(said or {}).get("name", ())}


def reached(fleet: FleetSpec, start: Iterable[str]) -> set[str]:
    """Every node name a chain of links (clusters expanded, members linked among
    themselves) reaches from ``start``, ``start`` included."""
    def members(end: str) -> tuple[str, ...]:
        cluster = fleet.clusters.get(end)
        return cluster.members if cluster is not None else (end,)

    graph: dict[str, set[str]] = {}
    for a, b in fleet.links:
        for x in members(a):
            for y in members(b):
                graph.setdefault(x, set()).add(y)
                graph.setdefault(y, set()).add(x)
    for cluster in fleet.clusters.values():
        for x in cluster.members:
            graph.setdefault(x, set()).update(m for m in cluster.members if m != x)
    seen = set(start)
    todo = list(seen)
    while todo:
        for peer in graph.get(todo.pop(), ()):
            if peer not in seen:
                seen.add(peer)
                todo.append(peer)
    return seen


def files_to_load(raw: Mapping[str, bytes], fleet: FleetSpec,
                  selectors: Iterable[tuple[str, str]]) -> tuple[set[str], set[str]]:
    """The node files (relative paths -> contents) a shard loads (see the module), and the
    node names its links reach (for ``within``)."""
    pairs = list(selectors)
    said = {rel: top_scalars(data, LOOKED_AT) for rel, data in raw.items()}
    chosen = {rel for rel in raw if might_match(said[rel], pairs)}
    linked = reached(fleet, {n for rel in chosen for n in names_of(rel, said[rel])})
    return chosen | {rel for rel in raw if names_of(rel, said[rel]) & linked}, linked


def within(fleet: FleetSpec, linked: set[str]) -> FleetSpec:
    """``fleet`` with the links and clusters of the names ``linked`` (``files_to_load``)
    only: a chain of links never leaves that set, so every link or cluster either lies
    wholly in it (kept, with its members whether they have a file or not, for the checks to
    judge) or wholly outside (left to the other shards)."""
    clusters = {n: c for n, c in fleet.clusters.items() if set(c.members) & linked}
    ends = linked | set(clusters)
    links = tuple(link for link in fleet.links if link[0] in ends or link[1] in ends)
    return fleet.model_copy(update={"links": links, "clusters": clusters})
