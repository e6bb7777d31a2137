"""The links whose trust a plan changes, as a Mermaid graph with the table under it.

An arrow from a node to a peer: the node adds the CAs named on it, which the peer's new
certificate chains to; red where one of them is the peer's new issuing CA. A link whose ends
add the same CAs for each other is one double arrow. Clusters are frames: where every member
adds the same CAs for every other, the frame's caption says so instead of an arrow per pair,
and where every member of one cluster and every member of another do so for each other, one
arrow joins the frames. Above ``MAX_EDGES`` arrows the graph joins clusters, sites or kinds
instead (``reconciler.report.facts.LEVELS``), the links counted on each arrow.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import permutations, product

from reconciler.model import Plan
from reconciler.report.facts import FleetFacts, finest_level, group_of
from reconciler.report.mermaid import MAX_EDGES, Edge, fenced, flowchart
from reconciler.report.text import cell, short_subject, trust_change

Links = dict[tuple[str, str], frozenset[str]]  # (node, peer) -> the CAs node adds for peer
Pair = tuple[str, str]


def changed_links(plan: Plan, facts: FleetFacts) -> tuple[Links, set[Pair]]:
    """Each (node, peer) link and the CAs the node adds for the peer; the red ones."""
    found: dict[Pair, set[str]] = defaultdict(set)
    red: set[Pair] = set()
    names: dict[str, str] = {}
    for a in plan.actions:
        if trust_change(a) != "trust.add" or a.certificate is None:
            continue
        sha, subject = a.certificate.sha256, a.certificate.subject
        name = names.get(subject) or names.setdefault(subject, short_subject(subject))
        for peer in facts.peers.get(a.node, ()):
            peer_facts = facts.of(peer)
            if sha in peer_facts.chain:
                found[(a.node, peer)].add(name)
                if sha == peer_facts.issuing:
                    red.add((a.node, peer))
    return {k: frozenset(v) for k, v in found.items()}, red


def _label(cas: frozenset[str]) -> str:
    return ", ".join(sorted(cas))


def _members(facts: FleetFacts, links: Links) -> dict[str, list[str]]:
    """Each cluster with a link: its members (every node of the fleet in it)."""
    wanted = {c for pair in links for n in pair if (c := facts.of(n).cluster)}
    out: dict[str, list[str]] = defaultdict(list)
    for node, nf in sorted(facts.nodes.items()):
        if nf.cluster in wanted:
            out[nf.cluster].append(node)
    return out


def _whole(links: Links, pairs: list[Pair]) -> frozenset[str] | None:
    """The CAs every one of ``pairs`` adds, when they are all links with the same CAs."""
    sets = {links.get(p) for p in pairs}
    if len(pairs) < 2 or len(sets) != 1 or None in sets:
        return None
    return next(iter(sets))


def node_picture(links: Links, red: set[Pair],
                 facts: FleetFacts) -> tuple[list[Edge], dict[str, str]]:
    """The arrows between nodes and between cluster frames, and the frames' captions."""
    left, titles, edges = dict(links), {}, []
    members = _members(facts, links)
    for cluster, nodes in members.items():
        inside = list(permutations(nodes, 2))
        cas = _whole(left, inside)
        if cas is not None:
            titles[cluster] = f"{cluster}: members add {_label(cas)} for each other"
            for p in inside:
                left.pop(p)
    linked = {tuple(sorted((ca, cb))) for a, b in left
              if (ca := facts.of(a).cluster) and (cb := facts.of(b).cluster) and ca != cb}
    for c1, c2 in sorted(linked):
        n1, n2 = members[c1], members[c2]
        across = [*product(n1, n2), *product(n2, n1)]
        cas = _whole(left, across)
        if cas is not None:
            edges.append(Edge(c1, c2, _label(cas), any(p in red for p in across), both=True))
            for p in across:
                left.pop(p)
    for (a, b), cas in sorted(left.items()):
        back = left.get((b, a))
        if back == cas and b < a:
            continue  # drawn with (b, a)
        both = back == cas
        edges.append(Edge(a, b, _label(cas), (a, b) in red or (both and (b, a) in red), both))
    return edges, titles


def group_picture(links: Links, red: set[Pair], facts: FleetFacts,
                  level: str) -> tuple[list[Edge], dict[str, str], list[str]]:
    """Arrows between groups (the links counted), notes for the links inside a group, and
    the table's rows."""
    group = group_of(facts, level)
    between: dict[Pair, list[Pair]] = defaultdict(list)
    inside: dict[str, int] = defaultdict(int)
    for a, b in links:
        ga, gb = group(a), group(b)
        if ga == gb:
            inside[ga] += 1
        else:
            between[(ga, gb)].append((a, b))
    edges, rows = [], []
    for (ga, gb), pairs in sorted(between.items()):
        cas = frozenset(c for p in pairs for c in links[p])
        rows.append(f"| {cell(ga)} | {cell(gb)} | {len(pairs)} | {cell(_label(cas))} |")
        back = between.get((gb, ga), [])
        if back and gb < ga:
            continue  # drawn with (gb, ga)
        every = [*pairs, *back]
        names = sorted({c for p in every for c in links[p]})
        text = f"{len(every)} links: " + ", ".join(names[:2]) + (" …" if len(names) > 2 else "")
        edges.append(Edge(ga, gb, text, any(p in red for p in every), bool(back)))
    rows += [f"| {cell(g)} | {cell(g)} | {n} | (inside the {level}) |"
             for g, n in sorted(inside.items())]
    return edges, {g: f"{n} links inside" for g, n in inside.items()}, rows


def trust_graph(plan: Plan, facts: FleetFacts) -> list[str]:
    """The graph and its table (nothing when no link's trust changes, or without facts)."""
    links, red = changed_links(plan, facts)
    if not links:
        return []
    at_node = node_picture(links, red, facts)
    at_group: dict[str, tuple[list[Edge], dict[str, str], list[str]]] = {}

    def drawn(level: str) -> int:
        if level == "node":
            return len(at_node[0])
        if level not in at_group:
            at_group[level] = group_picture(links, red, facts, level)
        edges, notes, _ = at_group[level]
        return len(edges) + len(notes)

    level = finest_level(MAX_EDGES, drawn)
    if level == "node":
        edges, titles = at_node
        ends = {x for e in edges for x in (e.source, e.target)}
        clusters = {nf.cluster for nf in facts.nodes.values() if nf.cluster}
        frames = {c for x in ends if (c := facts.of(x).cluster)} | (ends & clusters) | set(titles)
        groups = {n: c for n, nf in facts.nodes.items() if (c := nf.cluster) and c in frames}
        chart = flowchart(edges, groups=groups, titles=titles)
        rows = ["| node | trusts the new chain of | CAs added |", "|---|---|---|"]
        rows += [f"| {a} | {b} | {cell(_label(cas))} |" for (a, b), cas in sorted(links.items())]
    else:
        edges, notes, rows = at_group[level]
        chart = flowchart(edges, notes)
        rows = [f"| from {level} | to {level} | links | CAs added |", "|---|---|---|---|", *rows]
    head = ["#### Trust links that change", "",
            "An arrow from a node to a peer: the node adds the CA named on it, which the peer's "
            "new certificate chains to (a double arrow: each adds it for the other; a frame is "
            "a cluster); **red**: the peer's new issuing CA.", ""]
    return [*head, *fenced(chart), "", *rows, ""]
