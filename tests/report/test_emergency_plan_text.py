"""A node whose certificate is being revoked restarts now under emergency restart-now: the
plan's text says so (not the window's next opening), the restart is not held by the window,
and the restart chart draws no window for it. From the emergency scenarios' plans."""

from __future__ import annotations

from pathlib import Path

from reconciler.model import Plan
from reconciler.report.plan import held_by_windows, when_text

SCENARIOS = Path(__file__).parents[1] / "scenarios"


def _plan(case: str) -> Plan:
    return Plan.model_validate_json((SCENARIOS / case / "expected-plan.json").read_text())


def test_restart_now_says_now_and_holds_nothing() -> None:
    plan = _plan("plan-emergency-restart-now")
    text = when_text(plan, "expe1")
    assert text is not None
    assert ("restarts now, outside window nightly (emergency.revocation: restart-now "
            "(cert.revocation_pending))") in text
    restarts = {a.id for a in plan.actions if a.kind == "node.restart"}
    assert restarts and not restarts & held_by_windows(plan)


def test_wait_for_window_names_the_next_opening() -> None:
    plan = _plan("plan-emergency-wait-for-window")
    assert plan.restart_windows["expe1"].emergency is None
    text = when_text(plan, "expe1")
    assert text is not None and "restarts in window nightly (next: 2026-09-29 22:00" in text
    restarts = {a.id for a in plan.actions if a.kind == "node.restart"}
    assert restarts and restarts <= held_by_windows(plan)
