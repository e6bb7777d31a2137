"""``certops doctor`` results as text: per node, each check with its status and the fix."""

from __future__ import annotations

from itertools import groupby

from reconciler.model.doctor import DoctorReport

MARKS = {"ok": "[ ok ]", "fail": "[FAIL]", "info": "[info]"}


def doctor_text(report: DoctorReport) -> list[str]:
    """One block per node; a failed check is followed by its fix; a verdict at the end."""
    out: list[str] = []
    for node, checks in groupby(report.checks, key=lambda c: c.node):
        out.append(f"{node}:")
        for c in checks:
            out.append(f"  {MARKS[c.status]} {c.check}: {c.detail}")
            if c.status == "fail" and c.fix:
                out.append(f"         fix: {c.fix}")
    problems = sum(c.status == "fail" for c in report.checks)
    writes = f"; {report.writes} write requests sent" if report.writes else "; nothing written"
    verdict = "all checks passed" if report.ok else f"{problems} problem(s) to fix"
    out.append(f"Doctor: {verdict}{writes}.")
    return out
