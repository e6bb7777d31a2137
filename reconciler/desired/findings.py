"""Small constructors for the loader's findings, so every module words and places them alike."""

from __future__ import annotations

from reconciler.model import Code, Finding, Severity, SourcePos


def error(code: Code, message: str, where: SourcePos, node: str | None = None) -> Finding:
    """A blocking problem at ``where``."""
    return Finding(code=code, severity=Severity.ERROR, message=message, node=node, location=where)


def warning(code: Code, message: str, where: SourcePos, node: str | None = None) -> Finding:
    """A problem worth fixing that does not block the plan."""
    return Finding(code=code, severity=Severity.WARNING, message=message, node=node, location=where)


def at_file(display: str) -> SourcePos:
    """A whole file (no line): for problems with a file's content rather than a place in it."""
    return SourcePos(file=display)


class Hidden:
    """A value that may be a secret (under ``credentials``): messages give its size only."""

    def __init__(self, value: object) -> None:
        self.size = len(value) if isinstance(value, str) else None

    def __str__(self) -> str:
        size = f"{self.size}-character " if self.size is not None else ""
        return f"a {size}value (not shown: it may be a secret)"


SECRET_HINTS = ("credential", "password", "secret", "token", "_env")


def may_be_secret(loc: tuple[object, ...] | list[object]) -> bool:
    """Whether a value at ``loc`` could be a credential: never echo it."""
    return any(isinstance(s, str) and any(h in s.lower() for h in SECRET_HINTS) for s in loc)


def quote(value: object) -> str:
    """A value the user wrote as a name (a key, a type): quoted when it is a short string."""
    if isinstance(value, str) and "\n" not in value and len(value) <= 60:
        return repr(value)
    return describe(value)


def describe(value: object) -> str:
    """A value as a message shows it: short scalars verbatim, everything else by its kind.

    Long or multi-line strings are never echoed: they may be pasted secrets, and they make
    one-line diagnostics unreadable.
    """
    if isinstance(value, Hidden):
        return str(value)
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if "\n" in value or len(value) > 60:
            return f"a {len(value)}-character string"
        return f"the string {value!r}"
    if isinstance(value, list | tuple):
        return f"a list of {len(value)} item{'' if len(value) == 1 else 's'}"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"
