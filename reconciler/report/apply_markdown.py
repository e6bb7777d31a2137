"""The apply report in Markdown (``apply --report FILE.md``), for ``$GITHUB_STEP_SUMMARY``.

The real timeline of the apply as a Mermaid Gantt chart (each action from its start for the
seconds it took; restarts shaded, failures red), with the table under it; every failure and
every reason for a skip in full; the per-action table as far as ``max_chars`` allows (the
JSON report has every action).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from reconciler.model import RESTART_KINDS, ActionResult, ApplyResult
from reconciler.report.apply import drained_lines
from reconciler.report.budget import DEFAULT_MAX_CHARS, Parts, fit_blocks
from reconciler.report.facts import FleetFacts, finest_level, group_of
from reconciler.report.mermaid import MAX_BARS, Bar, Section, fenced, gantt
from reconciler.report.plan_pictures import naive_utc
from reconciler.report.text import cell

MARKER = "<!-- certops-apply -->"
_HEX = re.compile(r"[0-9a-f]{8,}")


def apply_markdown(result: ApplyResult, facts: FleetFacts | None = None, *,
                   max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The apply's outcome, timeline and failures, in at most ``max_chars`` (0: no limit)."""
    facts = facts or FleetFacts()
    outcomes = Counter(r.outcome for r in result.results)
    verdict = "complete" if result.ok else "INCOMPLETE"
    if result.ok and result.owed:
        verdict = "complete for now (the owed steps run in their change window)"
    counted = ", ".join(f"{n} {k}" for k, n in sorted(outcomes.items())) or "nothing to do"
    parts = Parts(max_chars)
    parts.add(0, [MARKER, "## certops apply", "",
                  f"**Apply {verdict}:** {counted} in {result.seconds:.1f} s "
                  f"(started {naive_utc(result.started_at):%Y-%m-%d %H:%M:%S} UTC).", ""])
    if result.outside_window:
        parts.add(0, [f"**Outside the change windows** (`--outside-window`): "
                      f"{cell(result.outside_window)}", ""])
    for line in drained_lines(result):
        parts.add(0, [f"**{cell(line)}**", ""])
    parts.add(0, _failures(result))
    parts.add(0, _owed(result))
    timeline, tabled = _timeline(result.results, facts)
    parts.add(1, timeline)
    rest = [r for r in result.results if r.id not in tabled]
    parts.add(2, lambda left: _actions(rest, left, "Every action" if not tabled
                                       else "Every action not in the timeline"))
    return "\n".join(parts.render()) + "\n"


def _failures(result: ApplyResult) -> list[str]:
    """Every failed action with its message, the stop, and the skips by reason."""
    out: list[str] = []
    failed = [r for r in result.results if r.outcome == "failed"]
    if failed:
        out += [f"### Failed ({len(failed)})", ""]
        out += [f"- **{r.id}**: {cell(r.detail)}" for r in failed]
        out.append("")
    if result.stopped_because:
        out += [f"**Stopped:** {cell(result.stopped_because)}", ""]
    why = Counter(r.detail.removeprefix("not started: ") for r in result.results
                  if r.outcome == "skipped")
    out += [f"- {n} skipped: {cell(reason)}" for reason, n in sorted(why.items())]
    manual = [r for r in result.results if r.outcome == "manual"]
    out += [f"- manual step **{r.id}**: {cell(r.detail)}" for r in manual]
    return [*out, ""] if why or manual else out


def _owed(result: ApplyResult) -> list[str]:
    """The steps left for a change window, each with its window (run `certops apply` then)."""
    if not result.owed:
        return []
    return [f"### Owed to a change window ({len(result.owed)})", "",
            "`certops apply` in the window runs them (the scheduled workflow does):", "",
            *(f"- {r.kind} **{r.node}**: {cell(r.detail)}" for r in result.owed), ""]


def _ran(results: Sequence[ActionResult]) -> list[tuple[ActionResult, datetime, datetime]]:
    out = []
    for r in results:
        if r.started_at is not None:
            start = naive_utc(r.started_at)
            out.append((r, start, start + timedelta(seconds=r.seconds)))
    return sorted(out, key=lambda x: x[1])


def _tags(r: ActionResult) -> tuple[str, ...]:
    if r.outcome == "failed":
        return ("crit",)
    return ("active",) if r.kind in RESTART_KINDS else ()


def _timeline(results: Sequence[ActionResult],
              facts: FleetFacts) -> tuple[list[str], set[str]]:
    """The Gantt chart of what ran when: per action while readable, else per group (its
    steps and its restarts as two bars), with the table under it; and the actions that
    table has a row for."""
    ran = _ran(results)
    if not ran:
        return [], set()

    def bars_at(level: str) -> int:
        if level == "node":
            return len(ran)
        group = group_of(facts, level)
        return len({(group(r.node), r.kind in RESTART_KINDS) for r, _, _ in ran})

    level = finest_level(MAX_BARS, bars_at)
    if level == "node":
        sections: dict[str, list[Bar]] = defaultdict(list)
        for r, start, end in ran:
            sections[r.node].append(Bar(f"{r.kind} {_part(r)}", start, end, _tags(r)))
        table = ["| started (UTC) | seconds | node | action | outcome | detail |",
                 "|---|---|---|---|---|---|"]
        table += [f"| {s:%H:%M:%S} | {r.seconds:.1f} | {r.node} | {r.kind} {_part(r)} | "
                  f"{r.outcome} | {cell(r.detail)[:200]} |" for r, s, _ in ran]
        drawn = [Section(node, tuple(bars)) for node, bars in sections.items()]
        tabled = {r.id for r, _, _ in ran}
    else:
        (drawn, table), tabled = _per_group(ran, facts, level), set()
    head = ["### Timeline", "",
            "Each action from its start for the time it took (UTC); restarts shaded, "
            "failures in red.", ""]
    return [*head, *fenced(gantt("Apply timeline (UTC)", drawn)), "", *table, ""], tabled


def _part(r: ActionResult) -> str:
    """The action id after ``node/kind``: the store or part it names (not a fingerprint)."""
    return "/".join(p for p in r.id.split("/")[2:] if not _HEX.fullmatch(p))


def _per_group(ran: Sequence[tuple[ActionResult, datetime, datetime]], facts: FleetFacts,
               level: str) -> tuple[list[Section], list[str]]:
    group = group_of(facts, level)
    spans: dict[tuple[str, bool], list[tuple[ActionResult, datetime, datetime]]] = defaultdict(list)
    for item in ran:
        spans[(group(item[0].node), item[0].kind in RESTART_KINDS)].append(item)
    sections: dict[str, list[Bar]] = defaultdict(list)
    table = [f"| {level} | what | actions | failed | first start | last end |",
             "|---|---|---|---|---|---|"]
    for (g, restart), items in sorted(spans.items()):
        first, last = min(i[1] for i in items), max(i[2] for i in items)
        failed = sum(i[0].outcome == "failed" for i in items)
        what = "restarts" if restart else "steps"
        tags = ("crit",) if failed else ("active",) if restart else ()
        sections[g].append(Bar(f"{what} ({len(items)})", first, last, tags))
        table.append(f"| {cell(g)} | {what} | {len(items)} | {failed} | {first:%H:%M:%S} | "
                     f"{last:%H:%M:%S} |")
    return [Section(g, tuple(b)) for g, b in sections.items()], table


def _actions(results: Sequence[ActionResult], left: int, title: str) -> list[str]:
    """These actions in plan order, as far as they fit (collapsed)."""
    if not results:
        return []
    head = [f"<details><summary>{title} ({len(results)})</summary>", "",
            "| action | outcome | seconds | detail |", "|---|---|---|---|"]
    rows = ([f"| {r.id} | {r.outcome} | {r.seconds:.1f} | {cell(r.detail)[:200]} |"]
            for r in results)
    body = fit_blocks(rows, max(left - 200, 0), "| … | {n} more actions: in the JSON report | | |",
                      len(results))
    return [*head, *body, "", "</details>", ""]
