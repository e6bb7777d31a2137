"""Markdown that fits a size by design: parts chosen by priority, node lists written short.

A report is built from parts: the ones that must be there (verdict, counts, every blocking
finding, every node that changes trust) are always kept; the others (diagrams, notes,
per-node detail) are kept in priority order while they fit; per-node detail is cut at a
node's boundary and the rest named ("N more nodes, in the artifact"). Node lists are written
with runs of neighbouring names folded (``exp-0001 … exp-0100 (100)``): lossless against the
fleet's sorted node list, and short for the fleets that are large.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

# GitHub refuses a comment over 65,536 characters; the workflow adds a heading per shard and
# a footer, so a report fits in this by default.
DEFAULT_MAX_CHARS = 60_000
# Lists up to this many names are written out; longer ones fold runs of RUN or more
# neighbouring names.
SHORT_LIST = 20
RUN = 3


def size(lines: Sequence[str]) -> int:
    """Characters of ``lines`` joined with newlines (and the last newline)."""
    return sum(len(line) + 1 for line in lines)


def compact_names(names: Iterable[str], universe: Sequence[str], limit: int = 0) -> str:
    """``names`` (a subset of the sorted ``universe``) with runs of neighbours folded.

    ``limit`` (0: none) bounds the text: should the folded list still be longer (names
    scattered across a huge fleet), it stops at a name and says how many more there are,
    rather than break the report's size."""
    wanted = set(names)
    if len(wanted) <= SHORT_LIST:
        return _capped(sorted(wanted), [1] * len(wanted), limit)
    parts: list[str] = []
    counts: list[int] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) >= RUN:
            parts.append(f"{run[0]} … {run[-1]} ({len(run)})")
            counts.append(len(run))
        else:
            parts.extend(run)
            counts.extend([1] * len(run))
        run.clear()

    for name in universe:
        if name in wanted:
            run.append(name)
        elif run:
            flush()
    flush()
    extra = sorted(wanted - set(universe)) if sum(counts) < len(wanted) else []
    return _capped(parts + extra, counts + [1] * len(extra), limit)


def _capped(parts: list[str], counts: list[int], limit: int) -> str:
    text = ", ".join(parts)
    if not limit or len(text) <= limit:
        return text
    kept, used = 0, 0
    while kept < len(parts) and used + len(parts[kept]) + 2 <= limit - 60:
        used += len(parts[kept]) + 2
        kept += 1
    more = sum(counts[kept:])
    return ", ".join(parts[:kept]) + f" … and {more} more (too many to name here: every one " \
        "in the artifact)"


Fill = Callable[[int], list[str]]  # given the characters left, the lines of a part


@dataclass
class Parts:
    """A report under assembly: parts in display order, kept or dropped by priority.

    Priority 0 parts are always kept; the others are taken in priority order (then display
    order) while they fit. A part may be a ``Fill``: it is asked for its lines with the
    characters left at its turn (per-node detail takes as many nodes as fit)."""

    limit: int  # 0: no limit
    parts: list[tuple[int, list[str] | Fill]] = field(default_factory=list)

    def add(self, priority: int, lines: list[str] | Fill) -> None:
        self.parts.append((priority, lines))

    def render(self) -> list[str]:
        fixed = [lines for p, lines in self.parts if p == 0 and isinstance(lines, list)]
        left = self.limit - sum(size(lines) for lines in fixed) if self.limit else 1 << 62
        kept: dict[int, list[str]] = {}
        order = sorted(range(len(self.parts)), key=lambda i: (self.parts[i][0], i))
        for i in order:
            priority, part = self.parts[i]
            lines = part if isinstance(part, list) else part(max(left, 0))
            if priority == 0:
                kept[i] = lines
                left -= 0 if isinstance(part, list) else size(lines)
            elif size(lines) <= left:
                kept[i] = lines
                left -= size(lines)
        return [line for i in range(len(self.parts)) for line in kept.get(i, [])]


def fit_blocks(blocks: Iterable[list[str]], budget: int, rest: str,
               total: int | None = None) -> list[str]:
    """As many ``blocks`` (whole, made as they are taken) as fit in ``budget``, then ``rest``
    formatted with the number left out (``{n}``) if any are; ``total`` is how many blocks
    there are (default: counted)."""
    if total is None:
        blocks = list(blocks)
        total = len(blocks)
    count = total
    out: list[str] = []
    used = 0
    for i, block in enumerate(blocks):
        n = size(block)
        note = size([rest.format(n=count - i), ""])
        if used + n + (note if i < count - 1 else 0) > budget:
            return [*out, rest.format(n=count - i), ""]
        out += block
        used += n
    return out
