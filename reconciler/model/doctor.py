"""What ``certops doctor`` found: one ``Check`` per thing checked, per node (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "fail", "info"]


@dataclass(frozen=True)
class Check:
    """One result: what was checked on which node, its status, and the fix when it failed.

    ``account``: the account the check was made with ("OS administrator admin: REST API,
    SSH CLI"...), or "" for what is the node's (reachability, TLS, version, capabilities).
    """

    node: str
    check: str
    status: Status
    detail: str
    fix: str = ""
    account: str = ""


@dataclass(frozen=True)
class DoctorReport:
    checks: tuple[Check, ...]
    # Requests that may change a node: every non-GET but the read-only SOAP status query
    # (always 0: doctor never writes).
    writes: int = 0

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)
