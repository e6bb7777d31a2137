"""``certops validate``: load the desired state, then run the offline checks. No node is read."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.checks import build_view, offline_findings
from reconciler.desired import load
from reconciler.model import Desired, Finding, Severity
from reconciler.usecases.session import Session


@dataclass(frozen=True)
class ValidateResult:
    desired: Desired | None
    findings: tuple[Finding, ...]
    node_files: int = 0

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def nodes(self) -> list[str]:
        return [n.name for n in self.desired.nodes] if self.desired else []


def validate(session: Session) -> ValidateResult:
    """Every loader problem and every offline finding, in one sorted list."""
    loaded = load(session.root, session.cache)
    findings = list(loaded.findings)
    if loaded.desired is not None:
        view = build_view(loaded.desired, session.cache)
        findings += offline_findings(view, session.cache, session.now())
    every = tuple(sorted(findings, key=Finding.sort_key))
    return ValidateResult(loaded.desired, every, loaded.node_files)
