"""What ``certops doctor`` found: one ``Check`` per thing checked, per node (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "fail", "info"]


@dataclass(frozen=True)
class Check:
    """One result: what was checked on which node, its status, and the fix when it failed."""

    node: str
    check: str
    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]
    writes: int = 0  # requests other than GET that doctor sent (always 0)

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)
