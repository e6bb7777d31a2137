"""Findings, source positions and certificate summaries: the vocabulary of every report."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


def colon_hex(hexstr: str) -> str:
    """``ab12...`` as ``AB:12:...``, the way OpenSSL, Expressway and CUCM show fingerprints
    and key identifiers."""
    return ":".join(hexstr[i : i + 2] for i in range(0, len(hexstr), 2)).upper()


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped (``\\n``, ``\\x1b``, an undecodable
    file-name byte as ``\\xff``): what a message quotes from a file name stays on one line."""
    if text.isprintable():
        return text
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if ch.isprintable():
            out.append(ch)
        elif 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
            out.append(f"\\x{code - 0xDC00:02x}")
        else:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


class Frozen(BaseModel):
    """Base of every model: immutable, and strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Severity(StrEnum):
    """How much a finding matters. Any ``error`` blocks apply of the whole plan."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Sort key: errors first (the order of the members above; the only place it is set)."""
        return _RANK[self]


_RANK = {s: i for i, s in enumerate(Severity)}


class SourcePos(Frozen):
    """A place in a desired-state file. ``line`` and ``col`` are 1-based; 0 means unknown."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        if self.col <= 0:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.col}"


class Finding(Frozen):
    """One problem or fact found by the loader, the checks or the planner.

    ``code`` is stable (documented in the README and used in JSON); ``message`` says what is
    wrong and what to do about it.
    """

    code: str
    severity: Severity
    message: str
    node: str | None = None
    location: SourcePos | None = None

    def sort_key(self) -> tuple[int, str, str, int, int, str, str]:
        """Errors first, then by file position, node, code and message: stable output."""
        loc = self.location
        return (
            self.severity.rank,
            loc.file if loc else "",
            self.node or "",
            loc.line if loc else 0,
            loc.col if loc else 0,
            self.code,
            self.message,
        )

    def render(self) -> str:
        """One line for a human: ``file:line:col: severity[code]: message``; control
        characters (a newline in a file name) escaped, so no finding can fake a log line."""
        where = f"{self.location}: " if self.location else (f"{self.node}: " if self.node else "")
        return printable(f"{where}{self.severity.value}[{self.code}]: {self.message}")


class CertSummary(Frozen):
    """How a certificate appears in plans and reports: public facts only, never key material."""

    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    sha256: str
    subject_alt_names: tuple[str, ...] = ()
    authority_key_id: str | None = None
    extended_key_usage: tuple[str, ...] = ()
