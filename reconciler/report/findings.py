"""Findings as human text and as JSON-ready data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from reconciler.model import Finding, Severity


def finding_data(f: Finding) -> dict[str, Any]:
    """A finding as JSON data: stable keys, location as ``file``/``line``/``col``."""
    data: dict[str, Any] = {"code": f.code, "severity": f.severity.value, "message": f.message}
    if f.node:
        data["node"] = f.node
    if f.location:
        data["location"] = {"file": f.location.file, "line": f.location.line, "col": f.location.col}
    return data


def count(findings: Sequence[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)


def summary_line(findings: Sequence[Finding]) -> str:
    """``2 errors, 1 warning, 0 notes`` (pluralised)."""
    c = count(findings)

    def n(k: int, word: str) -> str:
        return f"{k} {word}{'' if k == 1 else 's'}"

    return ", ".join(
        [
            n(c[Severity.ERROR], "error"),
            n(c[Severity.WARNING], "warning"),
            n(c[Severity.INFO], "note"),
        ]
    )


def render_findings(findings: Sequence[Finding]) -> list[str]:
    """One line per finding, errors first, then by file position."""
    return [f.render() for f in sorted(findings, key=Finding.sort_key)]
