"""Openings of a restart window inside a renewal period (planning.renewal_windows)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from reconciler.planning.renewal_windows import MIN_WINDOWS, openings
from reconciler.planning.windows import Window

NIGHTLY = Window("nightly", "0 22 * * *", timedelta(hours=4), ZoneInfo("Europe/Zurich"))
MONTHLY = Window("monthly", "0 22 1 * *", timedelta(hours=4), ZoneInfo("Europe/Zurich"))
START = datetime(2027, 3, 1, tzinfo=UTC)


def test_only_openings_that_close_before_the_end_count() -> None:
    # 22:00 Zurich is 21:00 UTC in March (before the change to summer time on the 28th).
    found = openings(NIGHTLY, START, START + timedelta(days=1, hours=1), MIN_WINDOWS)
    assert found == [datetime(2027, 3, 1, 22, tzinfo=ZoneInfo("Europe/Zurich"))]
    assert len(openings(NIGHTLY, START, START + timedelta(days=3), MIN_WINDOWS)) == MIN_WINDOWS


def test_an_opening_at_the_start_counts_and_a_month_holds_one_monthly_window() -> None:
    opens = datetime(2027, 3, 1, 22, tzinfo=ZoneInfo("Europe/Zurich"))
    assert openings(MONTHLY, opens, opens + timedelta(hours=4), 5) == [opens]
    assert len(openings(MONTHLY, START, START + timedelta(days=30), 5)) == 1
    assert openings(MONTHLY, START + timedelta(days=2), START + timedelta(days=20), 5) == []
