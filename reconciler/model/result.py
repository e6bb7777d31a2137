"""What ``certops apply`` reports: per action its outcome, timing and what it replaced.

``owed``: a disruptive step (a restart) outside its node's change window, or a step that
depends on one; it runs in the window (docs/architecture.md, Change windows). An apply
whose only unfinished steps are owed is ``ok``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from reconciler.model.common import Frozen

Outcome = Literal["done", "failed", "skipped", "manual", "owed"]
# Outcomes of an apply that did what it may: done, or waiting for a change window.
FINE: tuple[str, ...] = ("done", "owed")


class ActionResult(Frozen):
    id: str
    kind: str
    node: str
    outcome: Outcome
    detail: str = ""
    started_at: datetime | None = None
    seconds: float = 0.0
    replaced_certificate: str | None = Field(
        None, description="The public PEM (with chain) that a cert.install replaced."
    )


class DrainConfirmation(Frozen):
    """``apply --drained``: the nodes a person put into maintenance mode by hand, who
    confirmed it and why (``--reason``, if given)."""

    nodes: tuple[str, ...]
    by: str | None = None
    reason: str | None = None


class ApplyResult(Frozen):
    format_version: int = 1
    started_at: datetime
    seconds: float
    desired_digest: str
    ok: bool
    results: tuple[ActionResult, ...] = ()
    stopped_because: str | None = None
    outside_window: str | None = Field(
        None, description="apply --outside-window: the reason given for running disruptive "
        "steps outside their change windows.",
    )
    drained: DrainConfirmation | None = Field(
        None, description="apply --drained: the nodes confirmed drained by hand (their "
        "manual drain then waits for the calls instead of stopping the apply).",
    )

    @property
    def owed(self) -> tuple[ActionResult, ...]:
        """The steps left for a change window."""
        return tuple(r for r in self.results if r.outcome == "owed")
