"""Drift's forecast (issue 27): months before a renewal, a certificate whose issuer cannot
issue what its role needs at the node's version is reported with its renewal date; and
the X15.5 client certificates are part of drift's certificate records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.checks import build_view
from reconciler.desired import load
from reconciler.model import Code, LiveNode
from reconciler.pki import CertCache
from reconciler.planning import make_plan
from reconciler.planning.drift import drift_report

HERE = Path(__file__).parent
EARLY = datetime(2026, 8, 1, tzinfo=UTC)  # three and a half months before the renewals


def drift_of(case: str, at: datetime) -> tuple[list[str], list[tuple[str, str]]]:
    cache = CertCache()
    loaded = load(HERE / case / "desired", cache)
    assert loaded.desired is not None
    fleet = build_view(loaded.desired, cache)
    raw = json.loads((HERE / case / "live.json").read_text())
    live = {n: LiveNode.model_validate(d) for n, d in raw.items()}
    plan = make_plan(fleet, live, at, cache=cache)
    report = drift_report(fleet, live, plan, at, cache)
    forecasts = [f.message for f in report.findings if f.code == Code.RENEWAL_FORECAST]
    return forecasts, [(r.node, r.store) for r in report.certificates]


def test_forecast_names_the_date_the_issuer_and_the_version() -> None:
    forecasts, _ = drift_of("role-x153-public-blocked", EARLY)
    assert sorted(m.split(";")[0] for m in forecasts) == [
        "expc1 server: renews 2026-11-16", "expe1 server: renews 2026-11-16"]
    assert any("issuer public-acme cannot issue clientAuth, which X15.3.2 needs" in m
               for m in forecasts)


@pytest.mark.parametrize("case", ["role-x155-migration", "role-x154-e-switch-on"])
def test_no_forecast_where_the_issuers_fit(case: str) -> None:
    forecasts, _ = drift_of(case, EARLY)
    assert forecasts == []


def test_client_certificates_are_drift_records() -> None:
    _, records = drift_of("role-x155-undeclared-client", EARLY)
    assert ("expc1", "client") in records and ("expe1", "client") in records
