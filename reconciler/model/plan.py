"""Plans (DESIGN.md sections 4 and 5): findings plus actions ordered by a dependency graph."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from reconciler.model.common import CertSummary, Finding, Frozen, Severity

ActionKind = Literal[
    "trust.add",
    "service.restart",
    "csr.generate",
    "cert.install",
    "node.restart",
    "trust.remove",
    "manual",
]
PHASES: dict[str, int] = {
    "trust.add": 1,
    "service.restart": 2,
    "csr.generate": 3,
    "cert.install": 4,
    "node.restart": 5,
    "trust.remove": 6,
    "manual": 7,
}
FORMAT_VERSION = 1


class Action(Frozen):
    """One step on one node. ``id`` is stable for the same inputs."""

    id: str
    kind: ActionKind
    node: str
    reason: str
    store: str | None = None
    certificate: CertSummary | None = None
    services: tuple[str, ...] = ()
    subject_alt_names: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    manual: str | None = Field(
        None, description="For kind 'manual': the exact GUI path or CLI command."
    )

    @property
    def phase(self) -> int:
        return PHASES[self.kind]


class Plan(Frozen):
    """What ``certops plan`` writes and ``certops apply`` executes."""

    format_version: int = FORMAT_VERSION
    created_at: datetime
    desired_digest: str
    git_commit: str | None = None
    desired_root: str | None = Field(None, description="The desired-state directory planned.")
    node_fingerprints: dict[str, str] = Field(default_factory=dict)
    node_state: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Per node, a SHA-256 per part of its live state."
    )
    tls_verify_off: tuple[str, ...] = ()
    live_certificates: dict[str, CertSummary] = Field(
        default_factory=dict, description="Each node's installed certificate as read (step A)."
    )
    findings: tuple[Finding, ...] = ()
    actions: tuple[Action, ...] = ()

    @property
    def blocked(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)
