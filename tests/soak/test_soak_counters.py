"""The soak run's counters over hand-made timelines (no lab, no clock)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.checks.windows import cron_problem
from reconciler.lab.soak import SoakOptions, fault_days, window_cron
from reconciler.lab.soak_counters import Run, expired_seconds, renewals, run_counts


def sample(node: str, wall: float, up: bool, not_after: float, sha: str = "a") -> dict[str, Any]:
    return {"node": node, "wall": wall, "up": up, "served_sha": sha,
            "served_not_before": 0.0, "served_not_after": not_after}


def test_expired_seconds_counts_only_up_time_past_not_after() -> None:
    samples = [
        sample("n1", 0, True, 10),       # up, expires at 10
        sample("n1", 12, False, 10),     # down from 12 (2 s expired while up)
        sample("n1", 15, True, 10),      # up again, still expired until the end at 20
        sample("n2", 0, True, 100),      # never expires
    ]
    assert expired_seconds(samples, end=20) == {"n1": 7.0, "n2": 0.0}


def test_a_renewal_before_expiry_counts_nothing() -> None:
    samples = [sample("n1", 0, True, 10, "a"), sample("n1", 9.5, True, 110, "b")]
    assert expired_seconds(samples, end=50) == {"n1": 0.0}
    assert renewals(samples) == {"n1": 1}


def test_failed_runs_and_their_recovery() -> None:
    runs = [
        Run("apply", 1, 2, 0), Run("apply", 3, 4, -9, "apply_sigkill"),
        Run("apply", 5, 6, 0), Run("drift", 1, 2, 2), Run("drift", 7, 8, 1, "node_503"),
    ]
    counts = run_counts(runs)
    assert counts["apply"] == {"runs": 3, "failed": 1, "recovered": 1,
                               "failed_by_fault": {"apply_sigkill": 1}}
    # drift's 2 is drift found, not a failure; the last failed drift has no later run
    assert counts["drift"] == {"runs": 2, "failed": 1, "recovered": 0,
                               "failed_by_fault": {"node_503": 1}}


def test_window_cron_uses_the_seconds_field() -> None:
    cron, duration = window_cron(SoakOptions(day_seconds=1, window_every_days=10,
                                             window_open_days=5))
    assert (cron, duration) == ("*/10 * * * * *", "5s")
    assert cron_problem(cron) is None
    with pytest.raises(ValueError, match="divisor of a minute"):
        window_cron(SoakOptions(day_seconds=1, window_every_days=7))


def test_six_fields_are_accepted_and_seven_are_not() -> None:
    assert cron_problem("*/5 * * * * *") is None
    assert cron_problem("* * * * * * *") is not None


def test_fault_days_come_from_the_seed() -> None:
    a, b = SoakOptions(seed=7), SoakOptions(seed=8)
    assert fault_days(a) == fault_days(SoakOptions(seed=7))
    assert fault_days(a) != fault_days(b)
    assert sorted(name for _day, name in fault_days(a)) == sorted(a.faults)
    assert all(a.lifetime_days * 0.8 <= day <= a.days * 0.9 for day, _name in fault_days(a))
