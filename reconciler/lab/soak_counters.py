"""The soak run's counters, from the lab's own record (its availability timeline) and the
exit codes the timer saw, never from certops' reports.

- ``expired_seconds``: per node, the seconds it was up and served a leaf past its
  ``notAfter`` (the timeline samples carry the served leaf's validity; between two samples
  of a node nothing changes, so the sum is exact up to the end of the run);
- ``refused_handshakes``: the lab's mutual-TLS link check over the whole timeline
  (``lab.handshakes``), and ``invariant_breaches``: the cluster invariant
  (``lab.availability``);
- ``runs``: per command the runs, those that exited non-zero (1 or a signal; drift's 2 is
  "drift found", not a failure), and those followed by a run of the same command that
  exited as it should, with no person in between (the harness has none).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OK_CODES = {"drift": (0, 2), "apply": (0,)}


@dataclass(frozen=True)
class Run:
    """One command the timer started: which, when (epoch seconds), its exit code, why."""

    command: str
    start: float
    end: float
    rc: int
    fault: str = ""
    slot: str = "gap"  # "window": the windows workflow's apply; "gap": between windows


def expired_seconds(samples: Sequence[Mapping[str, Any]], end: float,
                    field: str = "served_not_after") -> dict[str, float]:
    """Per node, the seconds up while serving an expired leaf, until ``end`` (epoch);
    ``field``: which leaf's ``notAfter`` (the served one, the client one, SIP TLS's)."""
    by_node: dict[str, list[Mapping[str, Any]]] = {}
    for sample in samples:
        by_node.setdefault(str(sample["node"]), []).append(sample)
    out: dict[str, float] = {}
    for node, seq in by_node.items():
        total = 0.0
        for here, after in zip(seq, [*seq[1:], None], strict=True):
            stop = float(after["wall"]) if after is not None else end
            not_after = float(here.get(field) or 0.0)
            if here["up"] and not_after:
                total += max(0.0, stop - max(float(here["wall"]), not_after))
        out[node] = round(total, 3)
    return out


def run_counts(runs: Iterable[Run]) -> dict[str, Any]:
    """Runs per command, the failed ones, and how many a later run recovered."""
    out: dict[str, Any] = {}
    seq = sorted(runs, key=lambda r: r.start)
    for command, ok in OK_CODES.items():
        mine = [r for r in seq if r.command == command]
        failed = [i for i, r in enumerate(mine) if r.rc not in ok]
        recovered = [i for i in failed if any(r.rc in ok for r in mine[i + 1:])]
        out[command] = {"runs": len(mine), "failed": len(failed), "recovered": len(recovered),
                        "failed_by_fault": _by_fault(mine[i] for i in failed)}
    return out


def _by_fault(runs: Iterable[Run]) -> dict[str, int]:
    out: dict[str, int] = {}
    for run in runs:
        out[run.fault or "none"] = out.get(run.fault or "none", 0) + 1
    return out


def renewals(samples: Sequence[Mapping[str, Any]], field: str = "served_sha") -> dict[str, int]:
    """Per node, how many times the served leaf changed (a renewal that reached the port);
    ``field``: which leaf (``client_sha``, ``sip_sha``); nodes without one are left out."""
    last: dict[str, str] = {}
    out: dict[str, int] = {}
    for sample in samples:
        node, sha = str(sample["node"]), str(sample.get(field) or "")
        if not sha:
            continue
        if node in last and last[node] != sha:
            out[node] = out.get(node, 0) + 1
        out.setdefault(node, 0)
        last[node] = sha
    return out


def closest_call(samples: Sequence[Mapping[str, Any]], since: float,
                 sha: str = "served_sha", not_after: str = "served_not_after") -> float | None:
    """The least time (seconds) a replaced leaf had left when its successor reached the
    node, over the changes after ``since`` (epoch): the margin the run actually kept."""
    last: dict[str, Mapping[str, Any]] = {}
    least: float | None = None
    for sample in samples:
        node = str(sample["node"])
        before = last.get(node)
        if (before is not None and float(sample["wall"]) > since and sample.get(sha)
                and before.get(sha) and sample[sha] != before[sha]):
            left = float(before.get(not_after) or 0.0) - float(sample["wall"])
            least = left if least is None else min(least, left)
        last[node] = sample
    return least
