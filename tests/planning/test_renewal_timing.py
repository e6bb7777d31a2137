"""A renewal the CA times lands at the node's first restart window inside the ARI window
(planning.renewal_timing), with fixed clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from reconciler.model.renewal import RenewalWindow
from reconciler.planning.lifecycle import RenewalTime
from reconciler.planning.renewal_timing import first_opening, in_restart_window
from reconciler.planning.windows import Window

# 03:00 Zurich is 02:00 UTC in January.
NIGHTLY = Window("nightly", "0 3 * * *", timedelta(hours=2), ZoneInfo("Europe/Zurich"))
WEEKLY = Window("weekly", "0 3 * * 0", timedelta(hours=2), ZoneInfo("Europe/Zurich"))
ASKED = datetime(2027, 1, 1, tzinfo=UTC)


def _ari(start: datetime, end: datetime, checked: datetime = ASKED) -> RenewalWindow:
    return RenewalWindow(cert_id="a.b", issuer="acme", node="expe1", start=start, end=end,
                         checked_at=checked, next_check=checked + timedelta(hours=6))


def _timed(ari: RenewalWindow, window: Window | None, now: datetime) -> RenewalTime:
    return in_restart_window(RenewalTime(ari.start, "ari", ari.describe()), ari, window, now)


def test_the_renewal_waits_inside_the_ari_window_for_the_first_opening() -> None:
    ari = _ari(datetime(2027, 1, 9, 12, tzinfo=UTC), datetime(2027, 1, 12, tzinfo=UTC))
    when = _timed(ari, NIGHTLY, ASKED)
    assert when.at == datetime(2027, 1, 10, 2, tzinfo=UTC)  # not 9 January 12:00
    assert ari.start < when.at < ari.end
    assert "in restart window nightly 2027-01-10 03:00 Europe/Zurich = 02:00 UTC" in when.why
    assert "the first opening inside the CA's ARI window 2027-01-09 12:00" in when.why


def test_a_window_open_when_the_ari_window_opens_renews_at_its_start() -> None:
    start = datetime(2027, 1, 9, 2, 30, tzinfo=UTC)  # nightly is open 02:00-04:00 UTC
    ari = _ari(start, start + timedelta(days=2))
    when = _timed(ari, NIGHTLY, ASKED)
    assert when.at == start
    assert "restart window nightly open at its start" in when.why


def test_never_after_the_ari_windows_end() -> None:
    # Monday 11 to Wednesday 13 January: the weekly Sunday window does not open inside it.
    ari = _ari(datetime(2027, 1, 11, tzinfo=UTC), datetime(2027, 1, 13, tzinfo=UTC))
    assert first_opening(WEEKLY, ari.start, ari.end) is None
    when = _timed(ari, WEEKLY, ASKED)
    assert when.at == ari.start  # at the CA's start, not at Sunday's window after its end
    assert "does not open inside it (next 2027-01-17 03:00 Europe/Zurich" in when.why
    # an opening that begins exactly at the end is outside [start, end)
    sunday = datetime(2027, 1, 17, 2, tzinfo=UTC)
    assert first_opening(WEEKLY, ari.start, sunday) is None
    assert first_opening(WEEKLY, ari.start, sunday + timedelta(seconds=1)) == sunday


def test_an_urgent_window_a_fixed_time_or_no_window_is_left_alone() -> None:
    urgent = _ari(ASKED - timedelta(days=1), ASKED + timedelta(days=1))  # opened before asked
    assert _timed(urgent, NIGHTLY, ASKED).at == urgent.start
    later = _ari(datetime(2027, 1, 9, 12, tzinfo=UTC), datetime(2027, 1, 12, tzinfo=UTC))
    assert _timed(later, None, ASKED).at == later.start
    fixed = RenewalTime(datetime(2027, 1, 9, 12, tzinfo=UTC), "fixed", "renew_before 30d")
    assert in_restart_window(fixed, later, NIGHTLY, ASKED) is fixed


def test_drift_says_the_renewal_lands_in_the_restart_window() -> None:
    """Drift (text, JSON, metrics share ``renewals``) times expe1 as the plan does, from the
    scenario whose ARI window is open while the nightly restart window is closed."""
    import json
    from pathlib import Path

    from reconciler.checks import build_view
    from reconciler.desired import load
    from reconciler.issuers.ari import read_cache
    from reconciler.model import LiveNode
    from reconciler.pki import CertCache
    from reconciler.planning import make_plan
    from reconciler.planning.drift import drift_report

    case = Path(__file__).parents[1] / "scenarios" / "plan-ari-restart-window-waits"
    cache = CertCache()
    loaded = load(case / "desired", cache)
    assert loaded.desired is not None
    fleet = build_view(loaded.desired, cache)
    live = {n: LiveNode.model_validate(d)
            for n, d in json.loads((case / "live.json").read_text()).items()}
    windows = {w.key: w for w in read_cache(case / "desired").windows.values()}
    now = datetime(2026, 9, 30, 6, tzinfo=UTC)
    plan = make_plan(fleet, live, now, cache=cache, renewal=windows)
    report = drift_report(fleet, live, plan, now, cache, renewal=windows)
    when = report.renewals["expe1"]
    assert (when.at, when.source) == (datetime(2026, 9, 30, 20, tzinfo=UTC), "ari")
    assert "in restart window nightly" in when.why


def test_a_window_kept_in_utc_says_its_time_once() -> None:
    from reconciler.planning.windows import local_and_utc

    utc = Window("nightly", "0 2 * * *", timedelta(hours=2), ZoneInfo("UTC"))
    ari = _ari(datetime(2027, 1, 9, 12, tzinfo=UTC), datetime(2027, 1, 12, tzinfo=UTC))
    assert "in restart window nightly 2027-01-10 02:00 UTC, the first" in _timed(
        ari, utc, ASKED).why
    zurich = local_and_utc(datetime(2027, 1, 10, 2, tzinfo=UTC), ZoneInfo("Europe/Zurich"))
    assert zurich == "2027-01-10 03:00 Europe/Zurich = 02:00 UTC"
