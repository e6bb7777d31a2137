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

from reconciler.model import RESTART_KINDS, Action, Plan
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
    """A change window (certops.yaml ``windows:``) that the restarts run in (``plan_window``
    reads it from the plan), or any span passed in; times in UTC."""

    name: str
    start: datetime
    end: datetime


def node_windows(plan: Plan, facts: FleetFacts) -> dict[str, Window]:
    """Per node whose restarts wait for a change window (``restart_windows``; not one in an
    emergency), that window as of the plan's time: open now until it closes, else its next
    opening for its length."""
    out: dict[str, Window] = {}
    for node, note in plan.restart_windows.items():
        if note.emergency:  # a revocation: its restarts run now (planning.emergency)
            continue
        if note.open and note.closes_at is not None:
            out[node] = Window(note.window, plan.created_at, note.closes_at)
        elif (length := facts.windows.get(note.window)) is not None:
            out[node] = Window(note.window, note.next_open, note.next_open + length)
    return out


def naive_utc(t: datetime) -> datetime:
    """``t`` as a UTC wall time without a zone (how the charts write times)."""
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _what(slot: Slot) -> str:
    return ", ".join(slot.action.services) if slot.action.services else "node restart"


def _clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}"


@dataclass(frozen=True)
class Frame:
    """Where the chart's times start (``origin``, as plan seconds count from it) and the
    change window each node's restarts wait for (none: any time)."""

    origin: datetime
    windows: dict[str, Window]

    def at(self, seconds: float) -> datetime:
        return self.origin + timedelta(seconds=seconds)

    def late(self, node: str, end: datetime) -> bool:
        """Whether a restart of ``node`` ending at ``end`` runs past its window."""
        window = self.windows.get(node)
        return window is not None and end > naive_utc(window.end)

    def clock(self, seconds: float) -> str:
        """A time in the table: UTC with windows, else h:mm after the start."""
        if self.windows:
            return f"{self.at(seconds):%Y-%m-%d %H:%M}"
        return f"+{_clock(seconds)}"


def restart_section(plan: Plan, facts: FleetFacts, window: Window | None = None) -> list[str]:
    """The restarts: a Gantt chart of their expected times, the table under it. With change
    windows (``window`` for every restart, else the plan's own per node) a restart starts no
    earlier than its window opens, the windows are drawn, and a restart past its window's
    end is red."""
    restarting = {a.node for a in plan.actions if a.kind in RESTART_KINDS}
    windows = ({n: window for n in restarting} if window else node_windows(plan, facts))
    frame = Frame(naive_utc(plan.created_at) if windows else ORIGIN, windows)

    def not_before(action: Action) -> float:
        w = windows.get(action.node)
        return max((naive_utc(w.start) - frame.origin).total_seconds(), 0.0) if w else 0.0

    slots = expected_slots(plan.actions, facts.downtime, not_before)
    if not slots:
        return []
    level = finest_level(MAX_BARS, lambda lv: len(slots) if lv == "node" else
                         len({group_of(facts, lv)(s.action.node) for s in slots}))
    if level == "node":
        sections, table = _per_restart(plan, slots, facts, frame)
    else:
        sections, table = _per_group(slots, facts, level, frame)
    shown = {(w.name, w.start, w.end) for w in windows.values()}
    bars = tuple(Bar(name, naive_utc(a), naive_utc(b), ("done",)) for name, a, b in sorted(shown))
    if bars:
        sections = [Section("change windows", bars), *sections]
    first, last = min(s.start for s in slots), max(s.end for s in slots)
    if windows:
        title = "Expected restarts in their change windows (UTC)"
    else:
        title = "Expected restarts (hours after the apply starts)"
    head = [
        "### Restarts (service interruptions)", "",
        f"{len(slots)} restart(s), expected to take about {_clock(last - first)} (h:mm) from "
        "the first to the last: each starts when what it depends on is done (linked nodes "
        "one at a time, clusters within their budget)"
        + (" and its change window is open" if windows else "")
        + "; the expected downtime per restart is its kind's figure, every other step counted "
        "as instant." + (" Red: past the end of its window." if windows else ""), "",
    ]
    axis = "%H:%M" if last < 86_400 else "%m-%d %H:%M" if windows else "day %e %H:%M"
    return [*head, *fenced(gantt(title, sections, axis)), "", *table, ""]


def _per_restart(plan: Plan, slots: Sequence[Slot], facts: FleetFacts,
                 frame: Frame) -> tuple[list[Section], list[str]]:
    """One bar per restart, a section per cluster; the table row per restart."""
    waves = restart_waves(plan.actions)
    sections: dict[str, list[Bar]] = {}
    when = "starts (UTC)" if frame.windows else "starts (h:mm)"
    rows = [f"| wave | {when} | node | restarts | expected downtime |", "|---|---|---|---|---|"]
    for slot in slots:
        node = slot.action.node
        start, end = frame.at(slot.start), frame.at(slot.end)
        tags = ("crit",) if frame.late(node, end) else ()
        key = facts.of(node).cluster or NO_CLUSTER
        sections.setdefault(key, []).append(Bar(f"{node} {_what(slot)}", start, end, tags))
        rows.append(f"| {waves.get(slot.action.id, '')} | {frame.clock(slot.start)} | {node} | "
                    f"{cell(_what(slot))} | {_clock(slot.end - slot.start)} |")
    named = [Section("restarts" if k == NO_CLUSTER and len(sections) == 1 else k, tuple(bars))
             for k, bars in sections.items()]
    return named, rows


def _per_group(slots: Sequence[Slot], facts: FleetFacts, level: str,
               frame: Frame) -> tuple[list[Section], list[str]]:
    """One bar per group (cluster, site or kind): from its first restart to its last, red
    when one of them runs past its window."""
    group = group_of(facts, level)
    spans: dict[str, list[float]] = {}
    counts: dict[str, int] = defaultdict(int)
    late: set[str] = set()
    for slot in slots:
        g = group(slot.action.node)
        first, last = spans.setdefault(g, [slot.start, slot.end])
        spans[g] = [min(first, slot.start), max(last, slot.end)]
        counts[g] += 1
        if frame.late(slot.action.node, frame.at(slot.end)):
            late.add(g)
    bars = []
    rows = [f"| {level} | restarts | first starts | last ends |", "|---|---|---|---|"]
    for g, (first, last) in spans.items():
        tags = ("crit",) if g in late else ()
        bars.append(Bar(f"{g} ({counts[g]} restarts)", frame.at(first), frame.at(last), tags))
        rows.append(f"| {cell(g)} | {counts[g]} | {frame.clock(first)} | {frame.clock(last)} |")
    return [Section(f"restarts per {level}", tuple(bars))], rows
