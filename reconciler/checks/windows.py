"""Change windows and freezes in certops.yaml, checked offline (``window.*``, ``freeze.*``).

What ``certops validate`` says about ``windows:``, ``freeze:`` and every ``restart_window:``
(defaults, clusters, node files): each finding at the ``file:line:col`` to fix. The cron
and time-zone readers live here too, so that the window policy (``planning/windows.py``)
reads a window exactly as it was validated.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from reconciler.checks.fleet import FleetView
from reconciler.model import Code, Desired, Finding, Severity, parse_span
from reconciler.model.restart_settings import restart_settings

# Any fixed moment: cronsim needs a start to parse an expression; no clock is read.
_EPOCH = datetime(2000, 1, 1)


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a cron expression cronsim accepts (None: it is): five
    fields, or six with cronsim's seconds field first (windows that open every few seconds,
    as the lab's compressed-time soak run uses)."""
    if len(expression.split()) not in (5, 6):
        return ("write five fields: minute hour day-of-month month day-of-week "
                "(or six, seconds first)")
    try:
        CronSim(expression, _EPOCH)
    except CronSimError as exc:
        return str(exc) or "not a cron expression"
    return None


def zone(name: str) -> ZoneInfo | None:
    """The IANA time zone ``name`` (None: unknown or not a zone name)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def window_of(desired: Desired, node: str) -> str | None:
    """The change window a node's restarts wait for: the nearest ``restart_window`` of its
    node file, its cluster, ``defaults`` (None: any time), as ``model.restart_settings``
    resolves every restart setting."""
    return restart_settings(desired, node).restart_window


def window_findings(fleet: FleetView) -> list[Finding]:
    """Every problem with windows, freezes and the window names that refer to them."""
    desired = fleet.desired
    return [*_window_specs(desired), *_freezes(desired), *_references(desired),
            *_short_windows(fleet)]


def _fleet_error(desired: Desired, code: Code, message: str, *path: str | int,
                 severity: Severity = Severity.ERROR) -> Finding:
    return Finding(code=code, severity=severity, message=message,
                   location=desired.fleet_pos(*path))


def _window_specs(desired: Desired) -> Iterator[Finding]:
    for name, spec in sorted(desired.fleet.windows.items()):
        problem = cron_problem(spec.cron)
        if problem:
            yield _fleet_error(desired, Code.WINDOW_CRON,
                               f"window '{name}': cron {spec.cron!r} is not valid: {problem} "
                               "(e.g. '0 22 * * 1-5': 22:00 Monday to Friday)",
                               "windows", name, "cron")
        if zone(spec.timezone) is None:
            yield _zone_error(desired, f"window '{name}'", spec.timezone,
                              "windows", name, "timezone")


def _zone_error(desired: Desired, what: str, name: str, *path: str | int) -> Finding:
    return _fleet_error(desired, Code.WINDOW_TIMEZONE,
                        f"{what}: {name!r} is not an IANA time zone (e.g. Europe/Zurich, "
                        "America/New_York, UTC)", *path)


def _freezes(desired: Desired) -> Iterator[Finding]:
    for i, freeze in enumerate(desired.fleet.freeze):
        if freeze.to < freeze.from_:
            yield _fleet_error(desired, Code.FREEZE_ORDER,
                               f"freeze '{freeze.reason}' ends ({freeze.to}) before it starts "
                               f"({freeze.from_}): swap from and to", "freeze", i, "to")
        if zone(freeze.timezone) is None:
            yield _zone_error(desired, f"freeze '{freeze.reason}'", freeze.timezone,
                              "freeze", i, "timezone")


def _unknown(desired: Desired, name: str) -> str:
    known = sorted(desired.fleet.windows)
    close = difflib.get_close_matches(name, known, n=3)
    hint = (f"did you mean {', '.join(close)}?" if close
            else f"defined windows: {', '.join(known) or 'none'}")
    return f"restart_window '{name}' is not defined under windows: in {desired.fleet_file} ({hint})"


def _references(desired: Desired) -> Iterator[Finding]:
    windows = desired.fleet.windows
    name = desired.fleet.defaults.restart_window
    if name is not None and name not in windows:
        yield _fleet_error(desired, Code.WINDOW_UNKNOWN, _unknown(desired, name),
                           "defaults", "restart_window")
    for cluster, spec in sorted(desired.fleet.clusters.items()):
        if spec.restart_window is not None and spec.restart_window not in windows:
            yield _fleet_error(desired, Code.WINDOW_UNKNOWN, _unknown(desired, spec.restart_window),
                               "clusters", cluster, "restart_window")
    for node in desired.nodes:
        name = node.spec.restart_window
        if name is not None and name not in windows:
            yield Finding(code=Code.WINDOW_UNKNOWN, severity=Severity.ERROR, node=node.name,
                          message=_unknown(desired, name), location=node.pos("restart_window"))


def needed_time(fleet: FleetView, window: str) -> tuple[timedelta, str]:
    """How long the restarts that wait for ``window`` are expected to take, and which ones:
    a cluster's members restart ``max_unavailable`` at a time, one wave after the other,
    each wave as long as its kind's ``restart_estimate``; nodes outside clusters restart
    beside them. The longest of these decides."""
    desired = fleet.desired
    best, what = timedelta(0), ""
    for name, view in sorted(fleet.nodes.items()):
        if window_of(desired, name) != window:
            continue
        cluster = desired.cluster_of(name)
        if cluster is None:
            need, label = view.kind.restart_estimate, f"a restart of {name}, {view.kind.title}"
        else:
            spec = desired.fleet.clusters[cluster]
            waves = math.ceil(len(spec.members) / spec.max_unavailable)
            need = waves * view.kind.restart_estimate
            label = (f"cluster {cluster}: {len(spec.members)} members, {spec.max_unavailable} "
                     f"at a time, ~{_minutes(view.kind.restart_estimate)} each")
        if need > best:
            best, what = need, label
    return best, what


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:g} min"


def _short_windows(fleet: FleetView) -> Iterator[Finding]:
    desired = fleet.desired
    for name, spec in sorted(desired.fleet.windows.items()):
        try:
            length = parse_span(spec.duration)
        except ValueError:
            continue  # input.schema said so
        need, what = needed_time(fleet, name)
        if need > length:
            yield _fleet_error(
                desired, Code.WINDOW_SHORT,
                f"window '{name}' is open {spec.duration}, but its restarts are expected to "
                f"take ~{_minutes(need)} ({what}; certops' estimate per kind): restarts left "
                "when it closes wait for the next window. Lengthen the window (a cluster: or "
                "raise max_unavailable).", "windows", name, "duration", severity=Severity.WARNING)

