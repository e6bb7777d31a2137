"""Mermaid diagram text (Gantt charts, flowcharts, pie charts) for the Markdown reports.

GitHub draws a fenced ``mermaid`` block in a comment, an issue or a job summary as a picture;
elsewhere (e-mail notifications, screen readers) the text table under each diagram carries
the same facts. Only the oldest, plainest syntax is used, so that GitHub's Mermaid release
draws what the tests render with the ``mermaid`` npm package.

Labels are reduced to a safe alphabet: Mermaid reads ``:`` ``;`` ``#`` in Gantt task names
and quotes, pipes and brackets in flowchart labels as syntax. Times are written as UTC wall
times without a zone: Mermaid parses and draws them in the viewer's zone alike, so the axis
shows UTC (the title says so).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

# A diagram stops being readable past this many bars or edges: GitHub draws a diagram in the
# comment's width (~900 px), so 40 Gantt rows (24 px each) are already a screen high, and a
# flowchart of more than 20 labelled edges (an edge each way drawn as one) is a tangle at that
# width (the seven-node cluster demo, 15 edges, is about the most that stays legible). Above
# it the reports draw one bar or box per cluster, site or kind instead
# (``reconciler.report.facts.LEVELS``), never a cut list.
MAX_BARS = 40
MAX_EDGES = 20
# Mermaid refuses to draw a diagram longer than this (its default ``maxTextSize``).
MAX_TEXT = 50_000
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_UNSAFE_TASK = re.compile(r"[^A-Za-z0-9 ._()/+,=-]+")
_SAFE_LABEL = re.compile(r"[A-Za-z0-9 ._()/+,=-]")


def fenced(lines: Sequence[str]) -> list[str]:
    """A Markdown ``mermaid`` block."""
    return ["```mermaid", *lines, "```"]


def task_text(text: str) -> str:
    """A Gantt title, section or task name: no ``:``, ``#`` or ``;`` (Mermaid syntax)."""
    return " ".join(_UNSAFE_TASK.sub(" ", text).split()) or "-"


def label_text(text: str) -> str:
    """A flowchart label: characters outside a safe alphabet as Mermaid entity codes."""
    return "".join(c if _SAFE_LABEL.match(c) else f"#{ord(c)};" for c in text)


@dataclass(frozen=True)
class Bar:
    """One Gantt task. ``tags``: Mermaid's ``crit`` (red), ``active`` (shaded), ``done``
    (grey), ``milestone`` (a diamond at ``start``)."""

    label: str
    start: datetime
    end: datetime
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    name: str
    bars: tuple[Bar, ...]


def axis_format(span: timedelta) -> str:
    """Tick labels that fit the span: seconds for a short apply, dates for a year."""
    if span <= timedelta(minutes=10):
        return "%H:%M:%S"
    if span <= timedelta(days=2):
        return "%H:%M"
    return "%Y-%m-%d"


def gantt(title: str, sections: Sequence[Section], axis: str | None = None) -> list[str]:
    """A Gantt chart; task ids ``t1``, ``t2``... in the order given (the tests find them)."""
    bars = [b for s in sections for b in s.bars]
    if not bars:
        return []
    first, last = min(b.start for b in bars), max(b.end for b in bars)
    out = [
        "gantt",
        f"    title {task_text(title)}",
        "    dateFormat YYYY-MM-DD HH:mm:ss",
        f"    axisFormat {axis or axis_format(last - first)}",
        "    todayMarker off",
    ]
    n = 0
    for section in sections:
        out.append(f"    section {task_text(section.name)}")
        for bar in section.bars:
            n += 1
            end = max(bar.end, bar.start + timedelta(seconds=1))  # Mermaid drops empty bars
            tags = "".join(f"{t}, " for t in bar.tags)
            out.append(f"    {task_text(bar.label)} :{tags}t{n}, "
                       f"{bar.start.strftime(TIME_FORMAT)}, {end.strftime(TIME_FORMAT)}")
    return out


@dataclass(frozen=True)
class Edge:
    """``source --label--> target`` (``both``: an arrow each way); ``strong`` draws it thick
    and red."""

    source: str
    target: str
    label: str
    strong: bool = False
    both: bool = False


def flowchart(edges: Sequence[Edge], notes: Mapping[str, str] | None = None,
              groups: Mapping[str, str] | None = None,
              titles: Mapping[str, str] | None = None) -> list[str]:
    """A left-to-right flowchart of the edges' ends. Boxes get ids ``n1``, ``n2``...;
    ``notes`` add a second line to a box (a box with a note is drawn even without an edge);
    ``groups`` put boxes in a frame per group (a cluster; ``titles`` its caption), and an
    edge may join two frames by their group names."""
    notes, groups, titles = notes or {}, groups or {}, titles or {}
    frames = sorted(set(groups.values()))
    frame_ids = {g: f"g{i}" for i, g in enumerate(frames, 1)}
    ends = {n for e in edges for n in (e.source, e.target)}
    names = sorted({*notes, *(n for n in ends if n in groups or n not in frame_ids),
                    *(n for n, g in groups.items() if g in ends or g in titles)})
    ids = {name: f"n{i}" for i, name in enumerate(names, 1)}

    def box(name: str) -> str:
        note = notes.get(name)
        return f'{ids[name]}["{label_text(name)}' + (
            f'<br/>{label_text(note)}"]' if note else '"]')

    out = ["flowchart LR", *(f"    {box(n)}" for n in names if n not in groups)]
    for group in frames:
        members = [n for n in names if groups.get(n) == group]
        if members:
            out.append(f'    subgraph {frame_ids[group]}["{label_text(titles.get(group, group))}"]')
            out += [*(f"        {box(m)}" for m in members), "    end"]
    for edge in edges:
        a, b = (ids.get(n) or frame_ids[n] for n in (edge.source, edge.target))
        out.append(f'    {a} {"<-->" if edge.both else "-->"}|"{label_text(edge.label)}"| {b}')
    strong = [str(i) for i, edge in enumerate(edges) if edge.strong]
    if strong:
        out.append(f"    linkStyle {','.join(strong)} stroke:#d62728,stroke-width:3px")
    return out


def pie(title: str, slices: Sequence[tuple[str, int]]) -> list[str]:
    """A pie chart of counts (slices of zero left out: Mermaid draws them as slivers)."""
    shown = [(name, n) for name, n in slices if n > 0]
    if not shown:
        return []
    return ["pie", f"    title {task_text(title)}",
            *(f'    "{label_text(f"{name} ({n})")}" : {n}' for name, n in shown)]
