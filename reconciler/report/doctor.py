"""``certops doctor`` results as text: per node and account, each check with its status and
the fix when it failed; a verdict at the end."""

from __future__ import annotations

from itertools import groupby

from reconciler.model.doctor import Check, DoctorReport

MARKS = {"ok": "[ ok ]", "fail": "[FAIL]", "info": "[info]"}


def doctor_text(report: DoctorReport) -> list[str]:
    """One block per node, a sub-block per account; a failed check is followed by its fix."""
    out: list[str] = []
    for node, checks in groupby(report.checks, key=lambda c: c.node):
        out.append(f"{node}:")
        for account, group in groupby(checks, key=lambda c: c.account):
            indent = "    " if account else "  "
            if account:
                out.append(f"  account {account}")
            out.extend(line for c in group for line in _check(c, indent))
    problems = sum(c.status == "fail" for c in report.checks)
    writes = f"; {report.writes} write requests sent" if report.writes else "; nothing written"
    verdict = "all checks passed" if report.ok else f"{problems} problem(s) to fix"
    out.append(f"Doctor: {verdict}{writes}.")
    return out


def _check(c: Check, indent: str) -> list[str]:
    lines = [f"{indent}{MARKS[c.status]} {c.check}: {c.detail}"]
    if c.status == "fail" and c.fix:
        lines.append(f"{indent}       fix: {c.fix}")
    return lines
