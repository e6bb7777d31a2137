"""The drift report in Markdown (``drift --format markdown``): the certops-drift issue.

Always there: the verdict, the nodes counted per state (in sync, drift, errors, unreachable)
overall and per kind, site, cluster and label, every unreachable node and every error. Then, while
they fit in ``max_chars``: the states as a Mermaid pie chart, the expiry timeline of the
fleet's certificates and CAs over the next 12 months (renewal windows shaded, what is due
now in red) with its table, the other findings per code, the per-node detail.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.model import Severity, parse_duration
from reconciler.planning.drift import DriftReport
from reconciler.report.budget import DEFAULT_MAX_CHARS, Parts, compact_names, fit_blocks, size
from reconciler.report.counts import count_table, full_table
from reconciler.report.drift import MARKER
from reconciler.report.facts import FleetFacts, finest_level, group_of, label_keys
from reconciler.report.findings_markdown import blocking_lines, other_lines
from reconciler.report.mermaid import MAX_BARS, Bar, Section, fenced, gantt, pie
from reconciler.report.plan_pictures import naive_utc
from reconciler.report.text import cell, short_subject

HORIZON = timedelta(days=365)
STATES = ("in sync", "drift", "errors", "unreachable")
# A CA expiring within this is drawn in red.
CA_SOON = timedelta(days=90)


def drift_markdown(report: DriftReport, facts: FleetFacts | None = None, *,
                   max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The drift report in at most ``max_chars`` characters (0: no limit)."""
    facts = facts or FleetFacts()
    states = node_states(report)
    universe = sorted(states)
    drifting = sum(1 for s in states.values() if s != "in sync")
    parts = Parts(max_chars)
    parts.add(0, [MARKER, "## certops drift", "",
                  "**In sync.**" if report.in_sync else f"**Drift on {drifting} node(s).**", ""])
    parts.add(0, _state_counts(states, facts))
    counted = Counter(states.values())
    parts.add(1, [*fenced(pie("Nodes by state", [(s, counted[s]) for s in STATES])), ""])
    down = [n for n, s in states.items() if s == "unreachable"]
    if down:
        listed = compact_names(down, universe, max_chars // 10)
        parts.add(0, [f"**Unreachable ({len(down)}):** {listed}", ""])
    parts.add(0, blocking_lines(report.findings, max_chars, "Errors"))
    parts.add(1, expiry_section(report, facts))
    parts.add(2, other_lines(report.findings, universe, "Drift and hygiene items"))
    parts.add(3, lambda left: _details(report, left))
    parts.add(4, lambda left: _every_group(states, facts, left))
    return "\n".join(parts.render()) + "\n"


def node_states(report: DriftReport) -> dict[str, str]:
    """Each node's state: unreachable, errors, drift (a warning or a planned change), in sync."""
    worst: dict[str, Severity] = {}
    for f in report.findings:
        if f.node and (f.node not in worst or f.severity.rank < worst[f.node].rank):
            worst[f.node] = f.severity
    changing = {a.node for a in report.plan.actions}
    out: dict[str, str] = {}
    for node, up in report.up.items():
        severity = worst.get(node)
        if not up:
            out[node] = "unreachable"
        elif severity is Severity.ERROR:
            out[node] = "errors"
        elif severity is Severity.WARNING or node in changing:
            out[node] = "drift"
        else:
            out[node] = "in sync"
    return out


def _state_rows(states: dict[str, str], facts: FleetFacts, level: str) -> dict[str, list[int]]:
    group = group_of(facts, level)
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    for node, state in states.items():
        rows[group(node)][state] += 1
    return {g: [sum(c.values()), *(c[s] for s in STATES)] for g, c in rows.items()}


def _state_counts(states: dict[str, str], facts: FleetFacts) -> list[str]:
    """The nodes per state: in all, per kind, per site, per cluster (every node counted)."""
    total = Counter(states.values())
    out = ["| nodes | " + " | ".join(STATES) + " |", "|---" * (len(STATES) + 1) + "|",
           f"| {len(states)} | " + " | ".join(str(total[s]) for s in STATES) + " |", ""]
    for level in ("kind", "site", "cluster", *(f"label {k}" for k in label_keys(facts))):
        rows = _state_rows(states, facts, level)
        if level == "kind" or len(rows) > 1:
            out += count_table(level, ("nodes", *STATES), rows)
    return out


def _every_group(states: dict[str, str], facts: FleetFacts, left: int) -> list[str]:
    """The row per site and cluster that the counts shared out, as far as they fit."""
    out: list[str] = []
    for level in ("site", "cluster"):
        out += full_table(level, ("nodes", *STATES), _state_rows(states, facts, level),
                          left - size(out), f"| {{n}} more {level}s | | | | | |")
    return out


@dataclass(frozen=True)
class Expiry:
    """A certificate on the timeline: its renewal window (a CA's is its expiry alone)."""

    label: str
    nodes: tuple[str, ...]
    renew_from: datetime
    not_after: datetime
    ca: bool = False


def expiries(report: DriftReport, facts: FleetFacts) -> list[Expiry]:
    """Each node's installed certificate and each managed CA (once, with its nodes)."""
    leaves: dict[str, Expiry] = {}
    cas: dict[str, tuple[str, datetime, set[str]]] = {}
    for rec in report.certificates:
        cert = rec.cert
        if rec.store in ("server", "served"):
            if rec.store == "served" and rec.node in leaves:
                continue
            window = _window(facts.of(rec.node).renew_before, cert.not_before, cert.not_after)
            leaves[rec.node] = Expiry(rec.node, (rec.node,), naive_utc(cert.not_after - window),
                                      naive_utc(cert.not_after))
        elif cert.is_ca and rec.managed:
            entry = cas.setdefault(cert.sha256, (short_subject(cert.subject),
                                                 naive_utc(cert.not_after), set()))
            entry[2].add(rec.node)
    out = [leaves[n] for n in sorted(leaves)]
    out += [Expiry(label, tuple(sorted(nodes)), end, end, ca=True)
            for label, end, nodes in sorted(cas.values(), key=lambda c: (c[1], c[0]))]
    return out


def _window(renew_before: str, not_before: datetime, not_after: datetime) -> timedelta:
    try:
        return parse_duration(renew_before, not_before, not_after)
    except ValueError:
        return timedelta(days=30)


def expiry_section(report: DriftReport, facts: FleetFacts) -> list[str]:
    """The next 12 months: a Gantt chart of renewal windows and CA expiries, the table under
    it; per certificate while readable, else per group."""
    now = naive_utc(report.plan.created_at)
    horizon = now + HORIZON
    every = expiries(report, facts)
    items = [e for e in every if e.renew_from <= horizon]
    later = len(every) - len(items)
    head = ["### Expiry: the next 12 months", "",
            f"{len(items)} certificate(s) and CA(s) to renew or expiring by {horizon:%Y-%m-%d}"
            f" ({later} later). Bars: renewal windows (red: due now or expired); CAs: their "
            "expiry (red: within 90 days).", ""]
    if not items:
        return head
    level = finest_level(MAX_BARS, lambda lv: len(items) if lv == "node" else
                         len({_group(e, facts, lv) for e in items}))
    pin = Section("12 months", (Bar(f"from {now:%Y-%m-%d}", now, horizon, ("done",)),))
    if level == "node":
        sections, table = _per_item(items, now, horizon)
    else:
        sections, table = _per_group(items, facts, level, now, horizon)
    chart = gantt(f"Renewals and expiries (UTC) from {now:%Y-%m-%d}", [pin, *sections], "%b %Y")
    return [*head, *fenced(chart), "", *table, ""]


def _group(e: Expiry, facts: FleetFacts, level: str) -> str:
    return "CAs" if e.ca else group_of(facts, level)(e.nodes[0])


def _bar(e: Expiry, now: datetime, horizon: datetime) -> Bar:
    if e.ca:
        soon = e.not_after <= now + CA_SOON
        return Bar(f"CA {e.label}", e.not_after, e.not_after,
                   ("crit", "milestone") if soon else ("milestone",))
    if e.not_after <= now:
        return Bar(f"{e.label} EXPIRED", e.not_after, now, ("crit",))
    due = e.renew_from <= now
    return Bar(e.label, max(e.renew_from, now), min(e.not_after, horizon),
               ("crit",) if due else ("active",))


def _state(e: Expiry, now: datetime) -> str:
    if e.not_after <= now:
        return "**expired**"
    if e.renew_from <= now:
        return "**due now**"
    return f"renewal in {(e.renew_from - now).days} days"


def _per_item(items: Sequence[Expiry], now: datetime,
              horizon: datetime) -> tuple[list[Section], list[str]]:
    leaves = tuple(_bar(e, now, horizon) for e in items if not e.ca)
    cas = tuple(_bar(e, now, horizon) for e in items if e.ca)
    sections = [s for s in (Section("renewals", leaves), Section("CAs", cas)) if s.bars]
    table = ["| certificate | nodes | renewal from | expires | state |", "|---|---|---|---|---|"]
    table += [f"| {'CA ' if e.ca else ''}{cell(e.label)} | {len(e.nodes)} | "
              f"{'' if e.ca else f'{e.renew_from:%Y-%m-%d}'} | {e.not_after:%Y-%m-%d} | "
              f"{_state(e, now)} |" for e in items]
    return sections, table


def _per_group(items: Sequence[Expiry], facts: FleetFacts, level: str, now: datetime,
               horizon: datetime) -> tuple[list[Section], list[str]]:
    groups: dict[str, list[Expiry]] = defaultdict(list)
    for e in items:
        groups[_group(e, facts, level)].append(e)
    bars = []
    table = [f"| {level} | certificates | due now or expired | first renewal | last expiry |",
             "|---|---|---|---|---|"]
    for g, members in sorted(groups.items()):
        due = sum(1 for e in members if e.renew_from <= now)
        start = max(min(e.renew_from for e in members), now)
        end = min(max(e.not_after for e in members), horizon)
        bars.append(Bar(f"{g} ({len(members)}, {due} due)", start, max(end, start),
                        ("crit",) if due else ("active",)))
        table.append(f"| {cell(g)} | {len(members)} | {due} | "
                     f"{min(e.renew_from for e in members):%Y-%m-%d} | "
                     f"{max(e.not_after for e in members):%Y-%m-%d} |")
    return [Section(f"per {level}", tuple(bars))], table


def _details(report: DriftReport, left: int) -> list[str]:
    per: dict[str, list[str]] = defaultdict(list)
    for f in report.findings:
        if f.node:
            per[f.node].append(f"- {f.severity.value} `{f.code}`: {cell(f.message)}")
    blocks = ([f"<details><summary><b>{node}</b>: {len(items)} item(s)</summary>", "", *items,
               "", "</details>", ""] for node, items in sorted(per.items()))
    return fit_blocks(blocks, left,
                      "**{n} more nodes: `certops drift --format json` has every item.**",
                      len(per))
