"""``certops validate`` as a library call: load the desired state, then run the offline checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.checks import build_view, offline_findings
from reconciler.model import Desired, Finding, Severity
from reconciler.pki import default_cache


@dataclass(frozen=True)
class ValidateResult:
    desired: Desired | None
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)


def validate(root: Path, now: datetime) -> ValidateResult:
    """Every loader problem and every offline finding, in one sorted list."""
    from reconciler.desired import load

    loaded = load(root)
    findings = list(loaded.findings)
    if loaded.desired is not None:
        cache = default_cache()
        findings += offline_findings(build_view(loaded.desired, cache), cache, now)
    return ValidateResult(loaded.desired, tuple(sorted(findings, key=Finding.sort_key)))
