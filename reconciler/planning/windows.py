"""The window policy: may a disruptive step run on a node now, and if not, until when.

Pure: the time is always an argument. A node's restarts wait for the nearest
``restart_window`` (node file, cluster, defaults; none: any time). A window opens at each
moment its cron expression matches, read in its own time zone (daylight saving time as
cronsim follows it: a start in the skipped hour runs at the first minute after it, one in
the repeated hour once), and stays open ``duration`` of real time. A freeze covers whole
days, ``from`` to ``to`` included, in its own zone: while one covers the moment, nothing
that changes a node runs. The executor asks ``WindowGate.hold`` before each disruptive
step; the planner and the reports ask ``node_window`` what to say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim

from reconciler.checks.fleet import FleetView
from reconciler.checks.windows import cron_problem, needed_time, window_of, zone
from reconciler.model import (
    RESTART_KINDS,
    Action,
    Code,
    Desired,
    Finding,
    FreezeSpec,
    NodeWindow,
    Severity,
    WindowSpec,
    parse_span,
)
from reconciler.model.plan import UTC_NAMES

_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Window:
    """One change window, compiled: its name, cron, length and zone."""

    name: str
    cron: str
    duration: timedelta
    tz: ZoneInfo

    @classmethod
    def of(cls, name: str, spec: WindowSpec) -> Window:
        """The window as validated (checks/windows.py); a bad zone or span raises ValueError."""
        tz = zone(spec.timezone)
        if tz is None:
            raise ValueError(f"window '{name}': unknown time zone {spec.timezone!r}")
        return cls(name, spec.cron, parse_span(spec.duration), tz)

    def open_since(self, now: datetime) -> datetime | None:
        """The latest opening whose window still covers ``now`` (UTC); None: closed.

        cronsim's reverse walk goes by the wall clock and misses an opening in the first
        pass of a repeated (DST) hour, so it only finds where to start: from its answer (or
        from ``now - duration``, whichever is later) the openings are walked forward in real
        time, a step or two, however often the cron fires."""
        local = now.astimezone(self.tz).replace(microsecond=0) + _SECOND
        wall = next(CronSim(self.cron, local, reverse=True))
        floor = now - self.duration
        latest = wall.astimezone(UTC) if wall > floor else None
        for start in CronSim(self.cron, wall if latest else floor.astimezone(self.tz)):
            if start > now:
                return latest
            if start > floor:
                latest = start.astimezone(UTC)
        return latest  # pragma: no cover (cron iterations never end)

    def closes_at(self, now: datetime) -> datetime | None:
        """When the window open at ``now`` closes (UTC); None: it is closed at ``now``."""
        since = self.open_since(now)
        return since + self.duration if since is not None else None

    def is_open(self, now: datetime) -> bool:
        return self.closes_at(now) is not None

    def next_open(self, now: datetime) -> datetime:
        """The first opening after ``now`` (aware, in the window's zone)."""
        return next(CronSim(self.cron, now.astimezone(self.tz)))


@dataclass(frozen=True)
class Freeze:
    """A freeze in force: its reason and the moments it starts and ends (UTC)."""

    reason: str
    starts: datetime
    ends: datetime

    @classmethod
    def of(cls, spec: FreezeSpec) -> Freeze:
        tz = zone(spec.timezone) or ZoneInfo("UTC")
        start = datetime.combine(spec.from_, time(0), tz).astimezone(UTC)
        end = datetime.combine(spec.to + timedelta(days=1), time(0), tz).astimezone(UTC)
        return cls(spec.reason, start, end)

    def covers(self, now: datetime) -> bool:
        return self.starts <= now < self.ends

    def describe(self) -> str:
        last = (self.ends - _SECOND).date()
        return f"change freeze '{self.reason}' ({self.starts.date()} to {last} UTC)"


def local_and_utc(moment: datetime, tz: ZoneInfo) -> str:
    """``2026-12-07 22:00 Europe/Zurich = 21:00 UTC`` (the UTC date too when it differs);
    a window kept in UTC: ``2026-12-07 21:00 UTC``."""
    local = moment.astimezone(tz)
    utc = moment.astimezone(UTC)
    if tz.key in UTC_NAMES:
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    fmt = "%H:%M" if utc.date() == local.date() else "%Y-%m-%d %H:%M"
    return f"{local:%Y-%m-%d %H:%M} {tz.key} = {utc.strftime(fmt)} UTC"


class WindowPolicy:
    """The windows and freezes of one desired state, asked with a time."""

    def __init__(self, desired: Desired) -> None:
        self.desired = desired
        # A window that does not validate is left out: its window.* error blocks the plan.
        self.windows = {n: Window.of(n, s) for n, s in desired.fleet.windows.items()
                        if cron_problem(s.cron) is None and zone(s.timezone) is not None
                        and _span_ok(s.duration)}
        self.freezes = tuple(Freeze.of(f) for f in desired.fleet.freeze)
        # Every node of a window asks the same question at the same moment (a plan of a
        # thousand nodes, the executor's burst of ready restarts): answered once.
        self._states: dict[tuple[str, datetime], tuple[datetime | None, datetime]] = {}

    def state(self, window: Window, now: datetime) -> tuple[datetime | None, datetime]:
        """When ``window`` closes (None: closed at ``now``) and when it next opens."""
        key = (window.name, now)
        if key not in self._states:
            if len(self._states) > 4096:
                self._states.clear()
            self._states[key] = (window.closes_at(now), window.next_open(now))
        return self._states[key]

    def window(self, node: str) -> Window | None:
        """The window a node's disruptive steps wait for (None: any time)."""
        name = window_of(self.desired, node)
        return self.windows.get(name) if name is not None else None

    def freeze_at(self, now: datetime) -> Freeze | None:
        """The freeze that covers ``now``, if any (the first listed)."""
        return next((f for f in self.freezes if f.covers(now)), None)

    def closed_because(self, node: str, now: datetime) -> str | None:
        """Why ``node`` may not be disrupted at ``now`` (None: it may)."""
        window = self.window(node)
        if window is None:
            return None
        closes, upcoming = self.state(window, now)
        if closes is not None:
            return None
        return (f"owed to window {window.name} (closed; next opens "
                f"{local_and_utc(upcoming, window.tz)})")

    def node_window(self, node: str, now: datetime) -> NodeWindow | None:
        """What a plan says about a node's window at ``now`` (None: no window)."""
        window = self.window(node)
        if window is None:
            return None
        closes, upcoming = self.state(window, now)
        return NodeWindow(
            window=window.name,
            timezone=window.tz.key,
            open=closes is not None,
            closes_at=closes,
            next_open=upcoming.astimezone(UTC),
            next_open_local=upcoming.strftime("%Y-%m-%d %H:%M"),
        )


def chain_findings(fleet: FleetView, policy: WindowPolicy,
                   actions: tuple[Action, ...]) -> list[Finding]:
    """``window.short`` from this plan's own order: the restarts of a window's nodes that
    must run one after another (linked nodes, a cluster's waves, a trust restart before an
    install and its restart), each as long as its kind's ``restart_estimate``, against the
    window's length. Only where validate's per-cluster estimate did not already warn."""
    out: list[Finding] = []
    for name, window in sorted(policy.windows.items()):
        if needed_time(fleet, name)[0] > window.duration:
            continue  # validate's window.short says so already
        longest = _longest_chain(fleet, policy, window, actions)
        if longest > window.duration:
            out.append(Finding(
                code=Code.WINDOW_SHORT, severity=Severity.WARNING,
                location=policy.desired.fleet_pos("windows", name, "duration"),
                message=f"window '{name}' is open {_minutes(window.duration)}, but this plan's "
                        f"restarts in it run one after another for ~{_minutes(longest)} "
                        "(linked nodes and waves; certops' estimate per kind): what is left "
                        "when it closes waits for the next window"))
    return out


def _longest_chain(fleet: FleetView, policy: WindowPolicy, window: Window,
                   actions: tuple[Action, ...]) -> timedelta:
    """The longest chain of ``window``'s restarts through the plan's dependencies, each
    weighed by its kind's estimate. One pass: a plan lists dependencies first."""
    upto: dict[str, timedelta] = {}
    for action in actions:
        before = max((upto[d] for d in action.depends_on if d in upto), default=timedelta(0))
        own = (action.kind in RESTART_KINDS and action.node in fleet.nodes
               and policy.window(action.node) is window)
        upto[action.id] = before + (
            fleet.nodes[action.node].kind.restart_estimate if own else timedelta(0))
    return max(upto.values(), default=timedelta(0))


def _minutes(span: timedelta) -> str:
    return f"{span.total_seconds() / 60:g} min"


def disruptive_kinds(fleet: FleetView) -> dict[str, frozenset[str]]:
    """Per node, the action kinds that disrupt its service (its kind's profile says)."""
    return {name: view.kind.disruptive for name, view in fleet.nodes.items()}


def _span_ok(text: str) -> bool:
    try:
        parse_span(text)
    except ValueError:
        return False
    return True


def plan_windows(policy: WindowPolicy, disruptive: dict[str, frozenset[str]],
                 actions: tuple[Action, ...], now: datetime
                 ) -> tuple[dict[str, NodeWindow], list[Finding]]:
    """What a plan made at ``now`` says about windows: the window of each node with a
    disruptive action, and a ``freeze.active`` warning while a freeze covers ``now``."""
    nodes = sorted({a.node for a in actions if a.kind in disruptive.get(a.node, frozenset())})
    notes = {n: w for n in nodes if (w := policy.node_window(n, now)) is not None}
    freeze = policy.freeze_at(now)
    findings: list[Finding] = []
    if freeze is not None and actions:
        index = next(i for i, f in enumerate(policy.freezes) if f is freeze)
        findings.append(Finding(
            code=Code.FREEZE_ACTIVE, severity=Severity.WARNING,
            location=policy.desired.fleet_pos("freeze", index),
            message=f"{freeze.describe()} covers the plan's time: certops apply changes no "
                    "node until it ends (then plan again)."))
    return notes, findings


@dataclass(frozen=True)
class WindowGate:
    """What the executor asks before a step: is it disruptive on its node, and may it run
    now. ``override`` (``apply --outside-window --reason``) lets every step run."""

    policy: WindowPolicy
    disruptive: dict[str, frozenset[str]]  # node -> the action kinds that disrupt it
    override: str | None = None
    # node -> why it may restart outside its window (planning.emergency: a revocation)
    emergency: Mapping[str, str] = field(default_factory=dict)

    def hold(self, node: str, kind: str, now: datetime) -> str | None:
        """Why the step must wait (it is then owed), or None to run it. A freeze that began
        during the walk holds every step, override or emergency or not (freeze wins)."""
        freeze = self.policy.freeze_at(now)
        if freeze is not None:
            return f"held by the {freeze.describe()}"
        if self.override is not None or kind not in self.disruptive.get(node, frozenset()):
            return None
        if node in self.emergency:
            return None
        return self.policy.closed_because(node, now)
