"""The expected timeline of a plan's restarts: when each one starts and ends if applied now.

The executor starts an action as soon as everything it depends on is done, and restarts hold
no slot of the parallelism (``reconciler.apply.executor``). So, counting only the restarts'
expected downtime (each kind's ``expected_downtime``) and every other step as instant, each
restart starts at the latest end among what it depends on: the longest path through the
dependency graph. The other steps take seconds where restarts take minutes, so this is the
shape of the apply, not a promise; the apply report has the real times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from reconciler.model import RESTART_KINDS, Action


@dataclass(frozen=True)
class Slot:
    """One restart on the expected timeline: seconds from the start of the apply."""

    action: Action
    start: float
    end: float


def expected_slots(actions: Sequence[Action], downtime: Callable[[Action], float],
                   not_before: Callable[[Action], float] | None = None) -> list[Slot]:
    """Every restart of ``actions`` with its expected start and end, in start order (ties
    in plan order). ``actions`` are in plan order: each after what it depends on.
    ``not_before`` is the earliest a restart may start (its node's change window opening)."""
    ends: dict[str, float] = {}
    slots: list[Slot] = []
    for action in actions:
        start = max((ends[d] for d in action.depends_on if d in ends), default=0.0)
        restart = action.kind in RESTART_KINDS
        if restart and not_before is not None:
            start = max(start, not_before(action))
        end = start + (max(downtime(action), 0.0) if restart else 0.0)
        ends[action.id] = end
        if restart:
            slots.append(Slot(action, start, end))
    order = {id(s): i for i, s in enumerate(slots)}
    return sorted(slots, key=lambda s: (s.start, order[id(s)]))
