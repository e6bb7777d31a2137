"""The plan's restarts as a Gantt chart of their expected times, with the table under it.

A bar per restart (a section per cluster) while readable (``MAX_BARS``), else a bar per
cluster, site or kind (``reconciler.report.facts.LEVELS``): a summary of every restart, never
a cut. The changing trust links are ``reconciler.report.trust_graph``.
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
    Bar,
    Section,
    fenced,
    gantt,
)
from reconciler.report.text import cell

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
