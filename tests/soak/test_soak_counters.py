"""The soak run's counters over hand-made timelines (no lab, no clock)."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.checks.windows import cron_problem
from reconciler.lab import soak_fleet
from reconciler.lab.soak import (
    SoakOptions,
    durations,
    fault_days,
    share_of,
    window_cron,
    year_calls,
)
from reconciler.lab.soak_counters import (
    Run,
    closest_call,
    expired_seconds,
    renewals,
    run_counts,
)


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
                                             window_open_days=5, tick_days=5))
    assert (cron, duration) == ("*/10 * * * * *", "5s")
    assert cron_problem(cron) is None
    assert window_cron(SoakOptions()) == ("*/6 * * * * *", "4s")  # the year's defaults
    with pytest.raises(ValueError, match="divisor of a minute"):
        window_cron(SoakOptions(day_seconds=1, window_every_days=7, tick_days=7))
    with pytest.raises(ValueError, match="whole number of timer ticks"):
        window_cron(SoakOptions(day_seconds=1, window_every_days=12, tick_days=5))


def test_the_leaves_other_than_the_served_one_are_counted_by_their_own_fields() -> None:
    samples = [{**sample("c1", 0, True, 100), "client_sha": "x", "client_not_after": 5.0},
               {**sample("c1", 8, True, 100), "client_sha": "y", "client_not_after": 50.0},
               sample("e1", 0, True, 100)]  # no client leaf: left out
    assert expired_seconds(samples, 20, "client_not_after") == {"c1": 3.0, "e1": 0.0}
    assert renewals(samples, "client_sha") == {"c1": 1}
    # the replaced client leaf had already expired when its successor came: -3 s
    assert closest_call(samples, 0, "client_sha", "client_not_after") == -3.0
    assert closest_call(samples, 10, "client_sha", "client_not_after") is None


def test_closest_call_is_the_least_time_left_at_a_renewal() -> None:
    samples = [sample("n1", 0, True, 10, "a"), sample("n1", 7, True, 30, "b"),
               sample("n2", 0, True, 12, "c"), sample("n2", 4, True, 40, "d"),
               sample("n1", 21, False, 30, "b")]  # a restart, not a renewal
    assert closest_call(samples, since=0) == 3.0  # n1: 10 - 7


def test_renew_before_must_be_a_share_of_the_lifetime() -> None:
    assert share_of("1/3") == pytest.approx(1 / 3)
    assert share_of("33%") == pytest.approx(0.33)
    with pytest.raises(ValueError, match="share of the lifetime"):
        share_of("30d")


def test_durations_per_command_and_slot() -> None:
    runs = [Run("apply", 0, 2, 0, slot="window"), Run("apply", 5, 6, 0),
            Run("apply", 9, 13, 0), Run("drift", 2, 3, 2)]
    got = durations(runs, day_seconds=0.5)
    assert got["apply (gap)"] == {"runs": 2, "median_s": 2.5, "p90_s": 4, "max_s": 4,
                                  "max_days": 8.0}
    assert set(got) == {"apply (gap)", "apply (window)", "drift (gap)"}


def test_nodes_adds_expressway_e_pairs_linked_to_the_c_pair() -> None:
    base = soak_fleet.topology(8, 1.0, 0.2)
    assert len(base.nodes) == 8 and base.clusters.keys() == {"expe", "expc", "cucm"}
    cli = next(n for n in base.nodes if n.name == soak_fleet.CLI_NODE)
    assert cli.version == soak_fleet.CUCM_125
    big = soak_fleet.topology(13, 1.0, 0.2)  # 13: two more pairs (the odd one is not made)
    assert len(big.nodes) == 12
    assert big.clusters["expe-p3"].members == ["expe5", "expe6"]
    expc1 = next(n for n in big.nodes if n.name == "expc1")
    assert {"expe6", "cucm125", "cucm-pub"} <= set(expc1.links)
    with pytest.raises(ValueError, match="8 or more"):
        soak_fleet.extra_pairs(7)


def test_node_files_name_the_issuers_the_fleet_runs_on() -> None:
    topo = soak_fleet.topology(8, 1.0, 0.2)
    files = {n.name: soak_fleet.node_file(n, 2.0) for n in topo.nodes}
    assert files["expe1"]["server_certificate"]["issuer"] == "acme"
    assert files["expe1"]["certificates"]["client"]["issuer"] == "soak"
    assert files["cucm-pub"]["certificates"]["callmanager"]["issuer"] == "soak"
    assert files["cucm125"]["connection"] == {"transport": "cli", "read_timeout": 2.0}


def test_six_fields_are_accepted_and_seven_are_not() -> None:
    assert cron_problem("*/5 * * * * *") is None
    assert cron_problem("* * * * * * *") is not None


def test_fault_days_come_from_the_seed() -> None:
    a, b = SoakOptions(seed=7), SoakOptions(seed=8)
    assert fault_days(a) == fault_days(SoakOptions(seed=7))
    assert fault_days(a) != fault_days(b)
    assert sorted(name for _day, name in fault_days(a)) == sorted(a.faults)
    assert all(a.lifetime_days * 0.8 <= day <= a.days * 0.9 for day, _name in fault_days(a))
    assert {"cli_hang", "ca_down", "node_503"} <= {name for _day, name in fault_days(a)}


def test_the_years_calls_leave_out_the_onboardings() -> None:
    """The lab counts calls from its start; the onboarding (before the clock) restarts the
    12.5 node's Cisco CallManager, and a node no cluster peer covers refuses the calls that
    arrive meanwhile: they are the set-up's, not the year's."""
    setup = {"cucm125": {"active": 2, "dropped": 0, "moved": 0, "refused": 13}}
    now = {"cucm125": {"active": 1, "dropped": 0, "moved": 0, "refused": 13},
           "expe1": {"active": 2, "dropped": 1, "moved": 40, "refused": 0}}
    assert year_calls(now, setup) == {
        "cucm125": {"active": 1, "dropped": 0, "moved": 0, "refused": 0},
        "expe1": {"active": 2, "dropped": 1, "moved": 40, "refused": 0}}
