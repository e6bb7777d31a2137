"""The soak run on the HTTPS lab, CI-sized (a simulated month), and the same run with one
rule broken on purpose, so the counters are shown to be able to fail.

Both run ``certops apply --auto-approve`` and ``certops drift`` as subprocesses against the
lab and the lab's ACME CA for about a minute each; the assertions are on the lab's
counters, never on durations.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.lab.acme_ca import missing
from reconciler.lab.soak import SoakOptions, run_soak

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(bool(missing("a2c")), reason="the soak's ACME CA needs "
                       + ", ".join(missing("a2c")) + " (scripts/system-deps.sh)"),
]


def month(tmp_path: Path, faults: tuple[str, ...], drain: bool = True) -> SoakOptions:
    """A month (36 days) at 1 s a day: 90-day certificates renewed at two thirds of their
    life left (60 s of margin: the onboarding before the clock starts may take 45 s on a
    loaded machine, and the whole fleet's rolling chain of restarts 35 s), a window every 6
    days open 4 (`*/6 * * * * *`, `4s`), a tick every 2 days."""
    return SoakOptions(days=36, day_seconds=1.0, lifetime_days=90, renew_before="2/3",
                       window_every_days=6, window_open_days=4, tick_days=2,
                       faults=faults, drain=drain, seed=4, out=tmp_path / "out")


def test_a_month_hands_off_with_faults_counts_nothing_a_user_fears(tmp_path: Path) -> None:
    # Two faults (days 9.4 and 12.3 from seed 4), one a tick: the year fires all eight, a
    # month's ticks on a loaded machine (10-20 s each at load 14) may reach only the first.
    result = run_soak(month(tmp_path, ("apply_sigkill", "ca_removed")), tmp_path / "work")
    assert result["expired_served_seconds"] == 0, result["expired_served_by_node"]
    assert result["refused_handshakes"] == 0, result["refused_reasons"]
    assert result["invariant_breaches"] == 0, result["invariant_examples"]
    assert result["calls_dropped_expressway"] == 0, result["calls_dropped_by_node"]
    assert result["phones_lost_trust"] == 0, result["phones_lost_by_node"]
    served = result["renewals_by_leaf"]["served"]
    assert all(count >= 1 for count in served.values()), result["renewals_by_leaf"]
    fired = {f["fault"] for f in result["faults"]}
    assert "ca_removed" in fired, result["faults"]
    assert result["ca_removed_restored"] is True
    if "apply_sigkill" in fired:
        assert result["runs"]["apply"]["failed"] >= 1, result["runs"]
    assert result["failed_runs"] == result["recovered_runs"], result["runs"]
    assert result["manual_steps"] == 0
    assert result["acme"]["issued"] >= 8, result["acme"]  # onboarding + the month
    assert (tmp_path / "out/soak.json").is_file() and (tmp_path / "out/soak.md").is_file()


def test_drain_off_drops_calls_on_the_expressways(tmp_path: Path) -> None:
    """The same month with `defaults: drain: false` (a rule broken on purpose): each
    Expressway restart ends the calls on it, two or three at any moment."""
    result = run_soak(month(tmp_path, (), drain=False), tmp_path / "work")
    assert result["calls_dropped_expressway"] > 0, result["calls_dropped_by_node"]
