"""Findings in the Markdown reports: every blocking one always, the others one row per code.

Blocking findings are listed one row each while they take at most a third of the size
budget, else one line per code that names every node (folded runs of names) and shows the
first message: nothing blocking is ever left out. The other findings are counted per code,
with the nodes named; each one is in full in its node's detail.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from reconciler.model import Finding, Severity
from reconciler.report.budget import compact_names, size
from reconciler.report.text import cell

# A "nodes" cell or a message in a grouped row stops after this many characters.
CELL_MAX = 300


def _row(f: Finding) -> str:
    where = f" (`{f.location}`)" if f.location else ""
    return f"| {f.severity.value} | {f.node or ''} | `{f.code}` | {cell(f.message)}{where} |"


def blocking_lines(findings: Sequence[Finding], max_chars: int, title: str) -> list[str]:
    """Every error finding under ``title``: rows, or grouped per code when they are many."""
    errors = sorted((f for f in findings if f.severity is Severity.ERROR),
                    key=lambda f: (f.node or "", f.code))
    if not errors:
        return []
    head = [f"### {title} ({len(errors)})", ""]
    rows = ["| severity | node | code | message |", "|---|---|---|---|",
            *(_row(f) for f in errors), ""]
    if not max_chars or size(rows) <= max_chars // 3:
        return head + rows
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for f in errors:
        by_code[f.code].append(f)
    universe = sorted({f.node or "" for f in errors})
    out = head
    for code, group in sorted(by_code.items()):
        share = max(max_chars // 3 // len(by_code), 300)
        nodes = compact_names({f.node or "" for f in group}, universe, share)
        out.append(f"- `{code}` on {len(group)} node(s): {nodes}. First: "
                   f"{cell(group[0].message)[:CELL_MAX]}")
    return [*out, ""]


def other_lines(findings: Sequence[Finding], universe: Sequence[str], title: str) -> list[str]:
    """Warnings and notes, one row per code (the nodes named; each one in its detail)."""
    groups: dict[tuple[int, str, str], list[Finding]] = defaultdict(list)
    for f in findings:
        if f.severity is not Severity.ERROR:
            groups[(f.severity.rank, f.severity.value, f.code)].append(f)
    if not groups:
        return []
    out = [f"### {title}", "", "| severity | code | nodes | first message |",
           "|---|---|---|---|"]
    for (_, severity, code), found in sorted(groups.items()):
        names = compact_names({f.node for f in found if f.node}, universe)
        if len(names) > CELL_MAX:
            names = names[:CELL_MAX].rsplit(",", 1)[0] + ", …"
        out.append(f"| {severity} | `{code}` | {len(found)}: {names} | "
                   f"{cell(found[0].message)[:CELL_MAX]} |")
    return [*out, ""]
