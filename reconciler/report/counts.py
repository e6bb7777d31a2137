"""Count tables per group (kind, site, cluster, label) that stay small, however many groups.

Up to ``TABLE_ROWS`` groups get a row each. Beyond, groups with the same counts share one row
("1,000 clusters alike, e.g. ..."), so every node is still counted in a table of a few rows,
and the row per group goes into a collapsed section as far as the size budget allows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from reconciler.report.budget import fit_blocks
from reconciler.report.text import cell

TABLE_ROWS = 50


def _head(title: str, columns: Sequence[str]) -> list[str]:
    return [f"| {title} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]


def _row(name: str, values: Sequence[int]) -> str:
    return f"| {name} | " + " | ".join(map(str, values)) + " |"


def count_table(title: str, columns: Sequence[str],
                rows: Mapping[str, Sequence[int]]) -> list[str]:
    """The table that is always shown: a row per group, or per set of groups alike (then
    ``full_table`` has the row per group)."""
    ordered = sorted(rows.items())
    if len(ordered) <= TABLE_ROWS:
        return [*_head(title, columns), *(_row(cell(n), v) for n, v in ordered), ""]
    alike: dict[tuple[int, ...], list[str]] = defaultdict(list)
    for name, values in ordered:
        alike[tuple(values)].append(name)
    shared = sorted(alike.items(), key=lambda x: (-len(x[1]), x[1][0]))
    summary = [f"{len(ordered)} {title}s; those with the same counts share a row:", "",
               *_head(f"{title}s", columns)]
    summary += [_row(f"{len(names)} alike, e.g. {cell(names[0])}", values)
                for values, names in shared]
    return [*summary, ""]


def full_table(title: str, columns: Sequence[str], rows: Mapping[str, Sequence[int]],
               left: int, rest: str) -> list[str]:
    """Every group's row in a collapsed section, as many as fit in ``left``."""
    if len(rows) <= TABLE_ROWS:
        return []
    head = [f"<details><summary>Every {title} ({len(rows)})</summary>", "",
            *_head(title, columns)]
    body = fit_blocks([[_row(cell(n), v)] for n, v in sorted(rows.items())],
                      max(left - 200, 0), rest)
    return [*head, *body, "", "</details>", ""]
