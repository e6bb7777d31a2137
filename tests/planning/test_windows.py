"""The window policy (planning/windows.py): which window, open or not, when it closes and
next opens, in the window's zone and UTC, across daylight saving time; freezes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reconciler.model import (
    ClusterSpec,
    Defaults,
    Desired,
    DesiredNode,
    FleetSpec,
    FreezeSpec,
    WindowSpec,
)
from reconciler.model.desired import SingleStoreSpec
from reconciler.planning.windows import Freeze, Window, WindowGate, WindowPolicy, local_and_utc

ZURICH = ZoneInfo("Europe/Zurich")
NIGHTLY = WindowSpec(cron="0 22 * * 1-5", duration="4h", timezone="Europe/Zurich")


def at(*parts: int, tz: ZoneInfo = ZURICH) -> datetime:
    return datetime(*parts, tzinfo=tz)  # type: ignore[misc]


def nightly() -> Window:
    return Window.of("nightly", NIGHTLY)


def test_the_issues_weekday_window() -> None:
    window = nightly()
    # Sunday 6 December 2026, noon: closed; next Monday 22:00 Zurich (CET, UTC+1).
    sunday = at(2026, 12, 6, 12, 0)
    assert not window.is_open(sunday)
    assert window.next_open(sunday) == at(2026, 12, 7, 22, 0)
    assert local_and_utc(window.next_open(sunday), window.tz) == (
        "2026-12-07 22:00 Europe/Zurich = 21:00 UTC")
    # Monday 22:00 sharp it opens, 4 hours later (Tuesday 02:00) it closes.
    assert window.is_open(at(2026, 12, 7, 22, 0))
    assert window.closes_at(at(2026, 12, 7, 23, 30)) == datetime(2026, 12, 8, 1, 0, tzinfo=UTC)
    assert window.is_open(at(2026, 12, 8, 1, 59))
    assert not window.is_open(at(2026, 12, 8, 2, 0))
    assert not window.is_open(at(2026, 12, 7, 21, 59))
    # Friday 22:00 opens; Saturday 01:00 still open (the Friday window); Saturday 22:00 not.
    assert window.is_open(at(2026, 12, 12, 1, 0))
    assert not window.is_open(at(2026, 12, 12, 22, 30))
    assert window.next_open(at(2026, 12, 12, 22, 30)) == at(2026, 12, 14, 22, 0)


def test_dst_spring_forward_keeps_local_time_and_real_length() -> None:
    window = nightly()
    # 29 March 2026: CET -> CEST. Friday 27 March 22:00 is UTC+1, Monday 30 March UTC+2.
    assert window.next_open(at(2026, 3, 27, 12, 0)).astimezone(UTC) == datetime(
        2026, 3, 27, 21, 0, tzinfo=UTC)
    monday = window.next_open(at(2026, 3, 28, 12, 0))
    assert monday == at(2026, 3, 30, 22, 0)
    assert monday.astimezone(UTC) == datetime(2026, 3, 30, 20, 0, tzinfo=UTC)
    assert local_and_utc(monday, window.tz) == "2026-03-30 22:00 Europe/Zurich = 20:00 UTC"
    # The Friday window spans the night before the change: 4 real hours, to 02:00 CET.
    assert window.closes_at(at(2026, 3, 28, 1, 0)) == datetime(2026, 3, 28, 1, 0, tzinfo=UTC)


def test_dst_a_start_in_the_skipped_hour_runs_at_the_first_minute_after_it() -> None:
    early = Window.of("early", WindowSpec(cron="30 2 * * *", duration="1h",
                                          timezone="Europe/Zurich"))
    # 02:30 does not exist on 29 March 2026: the window opens at 03:00 CEST (01:00 UTC).
    start = early.next_open(at(2026, 3, 28, 12, 0))
    assert start.astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert early.is_open(datetime(2026, 3, 29, 1, 30, tzinfo=UTC))
    assert not early.is_open(datetime(2026, 3, 29, 2, 0, tzinfo=UTC))


def test_dst_fall_back_opens_once_and_lasts_real_time() -> None:
    early = Window.of("early", WindowSpec(cron="30 2 * * *", duration="1h",
                                          timezone="Europe/Zurich"))
    # 25 October 2026: 02:00-03:00 happens twice; the window opens at the first 02:30
    # (CEST, 00:30 UTC) and closes an hour of real time later (01:30 UTC), not at 03:30.
    start = early.next_open(at(2026, 10, 24, 12, 0))
    assert start.astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert early.is_open(datetime(2026, 10, 25, 1, 15, tzinfo=UTC))
    assert not early.is_open(datetime(2026, 10, 25, 1, 45, tzinfo=UTC))
    assert early.next_open(datetime(2026, 10, 25, 1, 45, tzinfo=UTC)).date() == date(2026, 10, 26)


def test_a_window_longer_than_its_period_is_always_open() -> None:
    every = Window.of("demo", WindowSpec(cron="* * * * *", duration="5m"))
    moment = datetime(2026, 12, 6, 5, 7, 31, 500, tzinfo=UTC)
    assert every.is_open(moment)
    assert every.closes_at(moment) == datetime(2026, 12, 6, 5, 12, tzinfo=UTC)


def test_freezes_cover_whole_days_in_their_zone() -> None:
    spec = FreezeSpec.model_validate({"from": date(2026, 12, 20), "to": date(2027, 1, 4),
                                      "reason": "year-end freeze",
                                      "timezone": "Europe/Zurich"})
    freeze = Freeze.of(spec)
    assert not freeze.covers(at(2026, 12, 19, 23, 59))
    assert freeze.covers(at(2026, 12, 20, 0, 0))
    assert freeze.covers(at(2027, 1, 4, 23, 59))
    assert not freeze.covers(at(2027, 1, 5, 0, 0))
    assert "year-end freeze" in freeze.describe()


def _desired(**fleet: object) -> Desired:
    nodes = tuple(
        DesiredNode(spec=SingleStoreSpec(type="x", name=n, api="https://x",
                                         restart_window=w), file=f"nodes/{n}.yaml")
        for n, w in (("a", None), ("b", "weekend"), ("c", None), ("d", None)))
    return Desired(root=".", fleet=FleetSpec.model_validate(fleet), nodes=nodes)


def test_the_nearest_window_wins_and_none_means_any_time() -> None:
    weekend = WindowSpec(cron="0 8 * * 6", duration="2h")
    desired = _desired(
        windows={"nightly": NIGHTLY, "weekend": weekend},
        clusters={"pair": ClusterSpec(members=("c",), restart_window="weekend")},
        defaults=Defaults(restart_window="nightly"))
    policy = WindowPolicy(desired)
    assert {n: getattr(policy.window(n), "name", None) for n in "abcd"} == {
        "a": "nightly", "b": "weekend", "c": "weekend", "d": "nightly"}
    assert WindowPolicy(_desired(windows={"weekend": weekend})).window("a") is None


def test_the_gate_holds_only_disruptive_steps_outside_the_window() -> None:
    desired = _desired(windows={"nightly": NIGHTLY}, defaults=Defaults(restart_window="nightly"),
                       freeze=(FreezeSpec.model_validate({"from": date(2026, 12, 20),
                                                          "to": date(2027, 1, 4),
                                                          "reason": "year-end"}),))
    disruptive = {n: frozenset({"node.restart"}) for n in "abcd"}
    gate = WindowGate(WindowPolicy(desired), disruptive)
    noon = at(2026, 12, 7, 12, 0)
    assert gate.hold("a", "cert.install", noon) is None
    held = gate.hold("a", "node.restart", noon)
    assert held == ("owed to window nightly (closed; next opens 2026-12-07 22:00 "
                    "Europe/Zurich = 21:00 UTC)")
    assert gate.hold("a", "node.restart", noon + timedelta(hours=11)) is None
    override = WindowGate(WindowPolicy(desired), disruptive, override="P1 outage")
    assert override.hold("a", "node.restart", noon) is None
    # A freeze holds everything, override or not.
    frozen = at(2026, 12, 24, 23, 0)
    for g in (gate, override):
        assert "year-end" in (g.hold("a", "cert.install", frozen) or "")


@pytest.mark.parametrize("bad", ["0 25 * * *", "0 22 * *", "hello world a b c"])
def test_a_bad_window_is_left_out_of_the_policy(bad: str) -> None:
    desired = _desired(windows={"nightly": WindowSpec(cron=bad, duration="4h")},
                       defaults=Defaults(restart_window="nightly"))
    assert WindowPolicy(desired).windows == {}


def test_the_plan_names_windows_of_disruptive_nodes_and_warns_of_a_freeze() -> None:
    from reconciler.model import Action, Code
    from reconciler.planning.windows import plan_windows

    desired = _desired(windows={"nightly": NIGHTLY}, defaults=Defaults(restart_window="nightly"),
                       freeze=(FreezeSpec.model_validate({"from": date(2026, 12, 20),
                                                          "to": date(2027, 1, 4),
                                                          "reason": "year-end"}),))
    disruptive = {n: frozenset({"node.restart"}) for n in "abcd"}
    actions = (Action(id="a/cert.install", kind="cert.install", node="a", reason="r"),
               Action(id="a/node.restart", kind="node.restart", node="a", reason="r"),
               Action(id="c/cert.install", kind="cert.install", node="c", reason="r"))
    policy = WindowPolicy(desired)
    notes, findings = plan_windows(policy, disruptive, actions, at(2026, 12, 7, 12, 0))
    assert set(notes) == {"a"}  # c has nothing disruptive
    assert (notes["a"].window, notes["a"].open, notes["a"].next_text()) == (
        "nightly", False, "2026-12-07 22:00 Europe/Zurich = 21:00 UTC")
    assert findings == []
    _, frozen = plan_windows(policy, disruptive, actions, at(2026, 12, 24, 12, 0))
    assert [f.code for f in frozen] == [Code.FREEZE_ACTIVE]
    assert "year-end" in frozen[0].message
    assert plan_windows(policy, disruptive, (), at(2026, 12, 24, 12, 0)) == ({}, [])


def _brute_open_since(window: Window, now: datetime) -> datetime | None:
    """The definition, walked the slow way: the latest opening in (now - duration, now],
    in real time. (cronsim's forward walk from inside a repeated hour may yield a moment
    of its first pass, before the start: hence the floor.)"""
    from cronsim import CronSim

    floor, latest = now - window.duration, None
    for start in CronSim(window.cron, floor.astimezone(window.tz)):
        if start > now:
            return latest
        if start > floor:
            latest = start.astimezone(UTC)
    return latest


@pytest.mark.parametrize("cron,duration,tz", [
    ("30 2 * * *", "1h", "Europe/Zurich"),
    ("0 22 * * 1-5", "4h", "Europe/Zurich"),
    ("*/20 * * * *", "90m", "Europe/Zurich"),
    ("0 1 * * *", "2h", "America/New_York"),
])
def test_open_or_not_agrees_with_the_definition_across_dst(cron: str, duration: str,
                                                           tz: str) -> None:
    window = Window.of("w", WindowSpec(cron=cron, duration=duration, timezone=tz))
    for first in (datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 3, 28, 12, tzinfo=UTC),
                  datetime(2026, 10, 24, 12, tzinfo=UTC), datetime(2026, 10, 31, 12, tzinfo=UTC)):
        for step in range(0, 48 * 60, 13):  # two days, every 13 minutes
            now = first + timedelta(minutes=step)
            assert window.open_since(now) == _brute_open_since(window, now), (cron, tz, now)


def test_a_revocation_restarts_outside_the_window_only_with_restart_now() -> None:
    from reconciler.model import Code, Finding, Severity
    from reconciler.planning.emergency import emergency_nodes

    desired = _desired(windows={"nightly": NIGHTLY}, defaults=Defaults(restart_window="nightly"),
                       freeze=(FreezeSpec.model_validate({"from": date(2026, 12, 20),
                                                          "to": date(2027, 1, 4),
                                                          "reason": "year-end"}),))
    revoked = [Finding(code=Code.CERT_REVOKED, severity=Severity.WARNING, node="a",
                       message="on the CRL")]
    disruptive = {n: frozenset({"node.restart"}) for n in "abcd"}
    noon, frozen = at(2026, 12, 7, 12, 0), at(2026, 12, 24, 12, 0)

    class View:  # the only part of a FleetView emergency_nodes reads
        def __init__(self, d: Desired) -> None:
            self.desired = d

    waiting = emergency_nodes(View(desired), revoked)  # type: ignore[arg-type]
    assert waiting == {}  # wait-for-window, the default
    now_desired = _desired(windows={"nightly": NIGHTLY},
                           defaults=Defaults(restart_window="nightly"),
                           emergency={"revocation": "restart-now"},
                           freeze=desired.fleet.freeze)
    urgent = emergency_nodes(View(now_desired), revoked)  # type: ignore[arg-type]
    assert urgent == {"a": "emergency.revocation: restart-now (cert.revoked)"}
    gate = WindowGate(WindowPolicy(now_desired), disruptive, emergency=urgent)
    assert gate.hold("a", "node.restart", noon) is None  # outside the window, now
    assert gate.hold("c", "node.restart", noon) is not None  # not revoked: owed
    assert "year-end" in (gate.hold("a", "node.restart", frozen) or "")  # freeze wins
    held = WindowGate(WindowPolicy(desired), disruptive, emergency=waiting)
    assert (held.hold("a", "node.restart", noon) or "").startswith("owed to window nightly")
