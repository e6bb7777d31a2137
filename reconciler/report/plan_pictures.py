"""The plan's two pictures: the restarts as a Gantt chart, the changing trust links as a graph.

Each comes with the text table under it (screen readers, e-mail notifications). Both draw
per node while readable (``MAX_BARS``, ``MAX_EDGES``), else per cluster, site or kind
(``reconciler.report.facts.LEVELS``): a summary of every restart and link, never a cut.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reconciler.model import Plan
from reconciler.planning.graph import restart_waves
from reconciler.planning.schedule import Slot, expected_slots
from reconciler.report.facts import NO_CLUSTER, FleetFacts, finest_level, group_of
from reconciler.report.mermaid import (
    MAX_BARS,
    MAX_EDGES,
    Bar,
    Edge,
    Section,
    fenced,
    flowchart,
    gantt,
)
from reconciler.report.text import cell, short_subject

# Without a change window the chart counts from the start of the apply: times are drawn from
# this fixed origin, so the axis reads hours:minutes after the start (and plans stay
# byte-identical). 1 January has no daylight-saving change in any zone.
ORIGIN = datetime(2000, 1, 1)


@dataclass(frozen=True)
class Window:
    """A change window (certops.yaml ``windows:``) that the restarts run in; times in UTC.
    Until the windows work lands the plan passes none."""

    name: str
    start: datetime
    end: datetime


def naive_utc(t: datetime) -> datetime:
    """``t`` as a UTC wall time without a zone (how the charts write times)."""
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _what(slot: Slot) -> str:
    return ", ".join(slot.action.services) if slot.action.services else "node restart"


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}"


def restart_section(plan: Plan, facts: FleetFacts, window: Window | None = None) -> list[str]:
    """The restarts: a Gantt chart of their expected times, the table under it."""
    slots = expected_slots(plan.actions, facts.downtime)
    if not slots:
        return []
    origin = naive_utc(window.start) if window else ORIGIN
    level = finest_level(MAX_BARS, lambda lv: len(slots) if lv == "node" else
                         len({group_of(facts, lv)(s.action.node) for s in slots}))
    if level == "node":
        sections, table = _per_restart(plan, slots, facts, origin, window)
    else:
        sections, table = _per_group(slots, facts, level, origin, window)
    if window:
        sections = [Section(f"window {window.name}", (
            Bar(window.name, origin, naive_utc(window.end), ("done",)),)), *sections]
    title = (f"Expected restarts in window {window.name} (UTC)" if window
             else "Expected restarts (hours after the apply starts)")
    span = max(s.end for s in slots)
    head = [
        "### Restarts (service interruptions)", "",
        f"{len(slots)} restart(s), expected to take about {_clock(span)} (h:mm) from the first "
        "to the last: each starts when what it depends on is done (linked nodes one at a "
        "time, clusters within their budget); the expected downtime per restart is its "
        "kind's figure, every other step counted as instant.", "",
    ]
    picture = fenced(gantt(title, sections, "%H:%M" if span < 86_400 else "day %e %H:%M"))
    return head + picture + [""] + table + [""]


def _per_restart(plan: Plan, slots: Sequence[Slot], facts: FleetFacts, origin: datetime,
                 window: Window | None) -> tuple[list[Section], list[str]]:
    """One bar per restart, a section per cluster; the table row per restart."""
    waves = restart_waves(plan.actions)
    late = naive_utc(window.end) if window else None
    sections: dict[str, list[Bar]] = {}
    rows = ["| wave | starts (h:mm) | node | restarts | expected downtime |",
            "|---|---|---|---|---|"]
    for slot in slots:
        node = slot.action.node
        start, end = origin + timedelta(seconds=slot.start), origin + timedelta(seconds=slot.end)
        tags = ("crit",) if late and end > late else ()
        key = facts.of(node).cluster or NO_CLUSTER
        sections.setdefault(key, []).append(Bar(f"{node} {_what(slot)}", start, end, tags))
        rows.append(f"| {waves.get(slot.action.id, '')} | +{_clock(slot.start)} | {node} | "
                    f"{cell(_what(slot))} | {_clock(slot.end - slot.start)} |")
    named = [Section("restarts" if k == NO_CLUSTER and len(sections) == 1 else k, tuple(bars))
             for k, bars in sections.items()]
    return named, rows


def _per_group(slots: Sequence[Slot], facts: FleetFacts, level: str, origin: datetime,
               window: Window | None) -> tuple[list[Section], list[str]]:
    """One bar per group (cluster, site or kind): from its first restart to its last."""
    group = group_of(facts, level)
    late = naive_utc(window.end) if window else None
    spans: dict[str, list[float]] = {}
    counts: dict[str, int] = defaultdict(int)
    for slot in slots:
        g = group(slot.action.node)
        first, last = spans.setdefault(g, [slot.start, slot.end])
        spans[g] = [min(first, slot.start), max(last, slot.end)]
        counts[g] += 1
    bars = []
    rows = [f"| {level} | restarts | first starts (h:mm) | last ends (h:mm) |",
            "|---|---|---|---|"]
    for g, (first, last) in spans.items():
        end = origin + timedelta(seconds=last)
        tags = ("crit",) if late and end > late else ()
        bars.append(Bar(f"{g} ({counts[g]} restarts)", origin + timedelta(seconds=first), end,
                        tags))
        rows.append(f"| {cell(g)} | {counts[g]} | +{_clock(first)} | +{_clock(last)} |")
    return [Section(f"restarts per {level}", tuple(bars))], rows


def trust_graph(plan: Plan, facts: FleetFacts) -> list[str]:
    """The links whose trust changes: node → peer, labelled with the CAs the node adds that
    the peer's next certificate chains to; red where one is the peer's issuing CA."""
    labels: dict[tuple[str, str], set[str]] = defaultdict(set)
    strong: set[tuple[str, str]] = set()
    for a in plan.actions:
        if a.kind != "trust.add" or a.certificate is None:
            continue
        sha = a.certificate.sha256
        for peer in facts.peers.get(a.node, ()):
            peer_facts = facts.of(peer)
            if sha in peer_facts.chain:
                labels[(a.node, peer)].add(short_subject(a.certificate.subject))
                if sha == peer_facts.issuing:
                    strong.add((a.node, peer))
    if not labels:
        return []
    def drawn_at(level: str) -> int:  # the edges between groups and the boxes of groups
        g = group_of(facts, level)
        pairs = {(g(a), g(b)) for a, b in labels}
        return len({p for p in pairs if p[0] != p[1]}) + len({p[0] for p in pairs})

    level = finest_level(MAX_EDGES, drawn_at) if len(labels) > MAX_EDGES else "node"
    if level == "node":
        edges = [Edge(a, b, ", ".join(sorted(cas)), (a, b) in strong)
                 for (a, b), cas in sorted(labels.items())]
        rows = ["| node | trusts the new chain of | CAs added |", "|---|---|---|"]
        rows += [f"| {e.source} | {e.target} | {cell(e.label)} |" for e in edges]
        notes: dict[str, str] = {}
    else:
        edges, rows, notes = _group_edges(labels, strong, facts, level)
    head = ["#### Trust links that change", "",
            "An arrow from a node to a peer: the node adds the CA named on it, which the peer's "
            "new certificate chains to; **red**: the peer's new issuing CA.", ""]
    return head + fenced(flowchart(edges, notes)) + [""] + rows + [""]


def _group_edges(labels: dict[tuple[str, str], set[str]], strong: set[tuple[str, str]],
                 facts: FleetFacts, level: str) -> tuple[list[Edge], list[str], dict[str, str]]:
    """The links between groups, counted; the links inside a group as a note on it."""
    group = group_of(facts, level)
    between: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    inside: dict[str, int] = defaultdict(int)
    for pair in labels:
        ga, gb = group(pair[0]), group(pair[1])
        if ga == gb:
            inside[ga] += 1
        else:
            between[(ga, gb)].append(pair)
    edges, rows = [], [f"| from {level} | to {level} | links | CAs added |", "|---|---|---|---|"]
    for (ga, gb), pairs in sorted(between.items()):
        cas = sorted({c for p in pairs for c in labels[p]})
        text = f"{len(pairs)} links: " + ", ".join(cas[:2]) + (" …" if len(cas) > 2 else "")
        edges.append(Edge(ga, gb, text, any(p in strong for p in pairs)))
        rows.append(f"| {cell(ga)} | {cell(gb)} | {len(pairs)} | {cell(', '.join(cas))} |")
    for g, n in sorted(inside.items()):
        rows.append(f"| {cell(g)} | {cell(g)} | {n} | (inside the {level}) |")
    return edges, rows, {g: f"{n} links inside" for g, n in inside.items()}
