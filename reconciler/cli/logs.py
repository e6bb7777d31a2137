"""``-v/--verbose`` and ``--log-file FILE``: an audit trail of every request and apply step.

Drivers and the apply listener log to the ``certops.audit`` logger with structured fields
(``node``, ``operation``, ``status``, ``duration_ms``). ``--log-file`` appends one JSON
object per line; ``-v`` prints the same records to stderr. No record carries a credential:
operations are a method and a path (without its query string), or an action's kind and id.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.apply.executor import Listener
    from reconciler.model import Action, DrainConfirmation, Plan
    from reconciler.usecases.apply import ApplyUi

AUDIT = logging.getLogger("certops.audit")
SILENT = logging.CRITICAL + 1  # the audit logger's level when no option asked for the trail
FIELDS = ("event", "node", "operation", "status", "duration_ms", "detail")


class JsonLines(logging.Formatter):
    """One JSON object per record: time, level, and the record's audit fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
        }
        data.update({k: getattr(record, k) for k in FIELDS if hasattr(record, k)})
        if "event" not in data:
            data["message"] = record.getMessage()
        return json.dumps(data, sort_keys=False)


class Plain(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        parts = [f"{k}={getattr(record, k)}" for k in FIELDS if hasattr(record, k)]
        return "certops: " + (" ".join(parts) or record.getMessage())


def configure(verbose: bool, log_file: Path | None) -> None:
    """Attach the handlers the options ask for (none: the audit logger stays silent)."""
    for old in list(AUDIT.handlers):  # a second run in the same process (tests)
        AUDIT.removeHandler(old)
        old.close()
    AUDIT.propagate = False
    AUDIT.setLevel(logging.INFO)
    if log_file is not None:
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(JsonLines())
        AUDIT.addHandler(handler)
    if verbose:
        handler = logging.StreamHandler()
        handler.setFormatter(Plain())
        AUDIT.addHandler(handler)
    if not AUDIT.handlers:
        # Nobody reads the trail: no record is even made (a record per request costs a
        # clock read, a process id and a dict of fields, ~1 % of a plan's CPU).
        AUDIT.addHandler(logging.NullHandler())
        AUDIT.setLevel(SILENT)


def audit_override(reason: str) -> None:
    """``apply --outside-window --reason``: who overrides the change windows says why."""
    AUDIT.warning("override", extra={
        "event": "outside_window", "operation": "apply --outside-window",
        "status": "override", "detail": reason[:500]})


def audit_drained(confirmation: DrainConfirmation) -> None:
    """``apply --drained``: who confirmed which nodes drained by hand, and why."""
    for node in confirmation.nodes:
        AUDIT.warning("drained by hand", extra={
            "event": "drained", "node": node, "operation": "apply --drained",
            "status": "confirmed", "detail": (
                f"confirmed by {confirmation.by or 'an unknown user'}"
                + (f": {confirmation.reason[:500]}" if confirmation.reason else ""))})


def audited(ui: ApplyUi) -> ApplyUi:
    """``ui`` whose progress listener also logs each step's start and outcome."""
    from dataclasses import replace

    inner = ui.progress

    def progress(plan: Plan) -> Listener:
        listener = inner(plan)
        started: dict[str, float] = {}

        def notify(event: str, action: Action, detail: str) -> None:
            now = time.monotonic()
            if event == "started":
                started[action.id] = now
            took = round((now - started.get(action.id, now)) * 1000, 1)
            AUDIT.info("step", extra={
                "event": "step", "node": action.node, "operation": action.id,
                "status": event, "duration_ms": took, "detail": detail[:500]})
            if listener is not None:
                listener(event, action, detail)

        return notify

    return replace(ui, progress=progress)
