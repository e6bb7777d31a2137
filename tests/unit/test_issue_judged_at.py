"""When a certificate issued just now is judged: now, or its notBefore within the CA clock
skew; never a minute ahead of now (that called a short-lived certificate expired)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from reconciler.apply.issue import CLOCK_SKEW, _judged_at


def leaf(not_before: datetime) -> Any:
    return SimpleNamespace(not_before=not_before)


def test_a_certificate_from_a_clock_ahead_is_judged_at_its_not_before() -> None:
    now = datetime.now(UTC)
    ahead = now + timedelta(seconds=20)
    assert _judged_at(SimpleNamespace(now=now), leaf(ahead)) == ahead  # type: ignore[arg-type]


def test_a_certificate_valid_since_before_now_is_judged_now_not_a_skew_ahead() -> None:
    before = datetime.now(UTC)
    at = _judged_at(SimpleNamespace(now=before), leaf(before - timedelta(seconds=5)))  # type: ignore[arg-type]
    assert before <= at < before + CLOCK_SKEW / 2


def test_a_not_before_beyond_the_skew_is_judged_at_the_skew() -> None:
    now = datetime.now(UTC)
    far = now + CLOCK_SKEW * 3
    at = _judged_at(SimpleNamespace(now=now), leaf(far))  # type: ignore[arg-type]
    assert at < far  # so validity_findings reports it not yet valid
