"""The root of certops' own exceptions: problems a user can act on, never tracebacks.

Each carries a message that says what is wrong and what to do, and, where a file is at
fault, the findings with their ``file:line:col``. The CLI prints them as one line each.
"""

from __future__ import annotations

from reconciler.model.common import Finding


class CertopsError(Exception):
    """A problem the user can act on (bad input, a node that cannot be reached, a stale plan)."""

    findings: tuple[Finding, ...] = ()
