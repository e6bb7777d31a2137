"""A saved plan file, as apply must treat it: input from elsewhere, checked before it counts.

The file says what to do; it does not get to say where (the desired-state directory comes
from apply's own arguments), when it stops counting (apply's clock and ``--max-plan-age``),
or in which format (only ``FORMAT_VERSION``). What it says to do is re-derived from the
desired state and the nodes in ``usecases.apply``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

from reconciler.model import CertopsError, Plan
from reconciler.model.plan import FORMAT_VERSION

MAX_PLAN_BYTES = 64 << 20  # a 1,000-node plan is a few MB
CLOCK_SKEW = timedelta(minutes=5)  # how far ahead of ours the planning machine's clock may be
REPLAN = "run certops plan again and apply that plan"


class Refused(CertopsError):
    """Apply will not start; the message says why and what to do."""


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_PLAN_BYTES:
            raise Refused(f"{path}: {path.stat().st_size} bytes is too large for a plan "
                          f"(at most {MAX_PLAN_BYTES} bytes): {REPLAN}")
        return path.read_bytes()
    except OSError as exc:
        raise Refused(f"{path}: cannot read the plan: {exc.strerror}") from None


def _version(path: Path, raw: bytes) -> None:
    """Refuse any format but ours before the model reads it (a newer format may mean else)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise Refused(f"{path}: not a certops plan (not JSON): write one with "
                      "certops plan --out FILE") from None
    version = data.get("format_version") if isinstance(data, dict) else None
    if version != FORMAT_VERSION:
        shown = version if isinstance(version, int) and not isinstance(version, bool) else "?"
        raise Refused(f"{path}: plan format_version {shown} is not {FORMAT_VERSION}, the one "
                      f"this certops reads: {REPLAN} with this certops")


def load_plan_file(path: Path) -> Plan:
    """The plan in ``path``; Refused when it is unreadable, too large or not our format."""
    raw = _read(path)
    _version(path, raw)
    try:
        return Plan.model_validate_json(raw)
    except (ValueError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise Refused(
            f"{path}: not a certops plan ({first}): write one with certops plan --out FILE"
        ) from None


def check_age(plan: Plan, now: datetime, max_age: timedelta) -> None:
    """Refuse a plan from the future (beyond ``CLOCK_SKEW``) or older than ``max_age``."""
    made = plan.created_at
    if made.tzinfo is None:
        raise Refused(f"the plan's created_at {made.isoformat()} has no time zone: {REPLAN}")
    if made > now + CLOCK_SKEW:
        raise Refused(f"the plan was made at {made.isoformat()}, after now "
                      f"({now.isoformat(timespec='seconds')}): a plan from the future is not "
                      f"applied; check the clocks, then {REPLAN}")
    if now - made > max_age:
        hours = (now - made).total_seconds() / 3600
        raise Refused(f"the plan was made at {made.isoformat()}, {hours:.0f} h ago, more than "
                      f"--max-plan-age ({max_age.total_seconds() / 3600:.0f} h): {REPLAN}")


def _same_dir(named: str, root: Path) -> bool:
    if Path(named).is_absolute() or root.is_absolute():
        return os.path.realpath(named) == os.path.realpath(root)
    return os.path.normpath(named) == os.path.normpath(root)


def check_root(plan: Plan, root: Path) -> None:
    """The plan must have been made from the directory apply works on (apply's own argument)."""
    if plan.desired_root is not None and not _same_dir(plan.desired_root, root):
        raise Refused(
            f"the plan was made from the desired-state directory {plan.desired_root!r}, but "
            f"this apply works on {str(root)!r} (--dir, default desired-state): plan that "
            "directory and apply that plan, or pass --dir with the planned directory"
        )
