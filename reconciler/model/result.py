"""What ``certops apply`` reports: per action its outcome, timing and what it replaced."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from reconciler.model.common import Frozen

Outcome = Literal["done", "failed", "skipped", "manual"]


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


class ApplyResult(Frozen):
    format_version: int = 1
    started_at: datetime
    seconds: float
    desired_digest: str
    ok: bool
    results: tuple[ActionResult, ...] = ()
    stopped_because: str | None = None
