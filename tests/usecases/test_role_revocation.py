"""ARI and CRL cover every certificate certops renews, not only the primary one: an X15.5
Expressway's client certificate (``certificates: {client: ...}``) that its CA wants
replaced now (ARI) or has revoked (CRL) is renewed, and said so, like a server certificate.
From the role-x155-migration scenario's fleet, with the client certificates' names as
installed, judged in August: nothing is due by ``renew_before``."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.checks import FleetView, build_view
from reconciler.desired import load
from reconciler.model import Code, LiveNode, Plan
from reconciler.model.renewal import RenewalWindow
from reconciler.pki import CertCache
from reconciler.pki.ari import cert_id
from reconciler.planning import make_plan
from reconciler.usecases import revocation
from reconciler.usecases.renewal import installed_ids

CASE = Path(__file__).parents[1] / "scenarios" / "role-x155-migration"
AUGUST = datetime(2026, 8, 1, tzinfo=UTC)


def _steady(tmp_path: Path) -> Path:
    """The scenario's tree whose client certificates want the names they have: nothing to
    renew but what the CA says."""
    root = tmp_path / "desired"
    shutil.copytree(CASE / "desired", root)
    live = json.loads((CASE / "live.json").read_text())
    cache = CertCache()
    for node in ("expc1", "expe1"):
        names = sorted(cache.parse_text(live[node]["role_certificates"]["client"])[0].san_set())
        path = root / "nodes" / f"{node}.yaml"
        text = path.read_text().replace(f"    subject_alt_names: [{node}.nart.com]",
                                        f"    subject_alt_names: [{', '.join(names)}]")
        assert text != path.read_text()
        path.write_text(text)
    return root


def _fleet(root: Path) -> tuple[FleetView, dict[str, LiveNode], CertCache]:
    cache = CertCache()
    loaded = load(root, cache)
    assert loaded.desired is not None, [f.render() for f in loaded.findings]
    live = {n: LiveNode.model_validate(d)
            for n, d in json.loads((CASE / "live.json").read_text()).items()}
    return build_view(loaded.desired, cache), live, cache


def _client(live: dict[str, LiveNode], cache: CertCache, node: str) -> str:
    leaf = cache.parse_text(live[node].role_certificates["client"])[0]
    ident = cert_id(leaf.cert)
    assert ident is not None
    return ident


def _renewed(plan: Plan) -> set[tuple[str, str | None]]:
    return {(a.node, a.role) for a in plan.actions if a.kind == "cert.issue"}


def test_a_client_certificate_the_ca_wants_now_or_revoked_is_renewed(tmp_path: Path) -> None:
    fleet, live, cache = _fleet(_steady(tmp_path))
    assert _renewed(make_plan(fleet, live, AUGUST, cache=cache)) == set()
    urgent = RenewalWindow(
        cert_id=_client(live, cache, "expe1"), issuer="private-ca", node="expe1",
        role="client", start=AUGUST - timedelta(days=1), end=AUGUST + timedelta(days=1),
        checked_at=AUGUST - timedelta(hours=1), next_check=AUGUST + timedelta(hours=5))
    assert urgent.key == "expe1.client"
    plan = make_plan(fleet, live, AUGUST, cache=cache, renewal={urgent.key: urgent},
                     revoked={"expc1.client": "serial 1a is on the CA's CRL, reason "
                                              "keyCompromise"})
    assert _renewed(plan) == {("expe1", "client"), ("expc1", "client")}
    pending = [f for f in plan.findings if f.code == Code.CERT_REVOCATION_PENDING]
    revoked = [f for f in plan.findings if f.code == Code.CERT_REVOKED]
    assert [f.node for f in pending] == ["expe1"] and [f.node for f in revoked] == ["expc1"]
    assert "the live client certificate" in pending[0].message
    assert "the live client certificate is revoked" in revoked[0].message
    # a window about a certificate the role no longer holds changes nothing
    stale = urgent.model_copy(update={"cert_id": "c3RhbGU.AQ"})
    assert _renewed(make_plan(fleet, live, AUGUST, cache=cache,
                              renewal={stale.key: stale})) == set()


def _desired_with_client_acme(tmp_path: Path) -> Path:
    """The scenario's tree with the client certificates' issuer an ACME CA (a private one,
    step-ca say) whose declared CAs issued them."""
    root = _steady(tmp_path)
    config = root / "certops.yaml"
    text = config.read_text().replace(
        "  private-ca:\n    type: command\n    run: [step, ca, sign, --bundle]\n",
        "  private-ca:\n    type: acme\n    directory: https://127.0.0.1:9/directory\n"
        "    account_key_env: ACME_ACCOUNT_KEY\n"
        "    dns01: {provider: exec, command: [/bin/true], nameservers: [127.0.0.1]}\n",
    ).replace("ca_files: [cas/private-root.pem]",
              "ca_files: [cas/lab-root.pem, cas/issuing-old.pem]")
    assert "type: command" not in text
    config.write_text(text)
    return root


def test_the_ca_is_asked_about_every_role_it_issued(tmp_path: Path) -> None:
    fleet, live, cache = _fleet(_desired_with_client_acme(tmp_path))
    ids = installed_ids(fleet, live, cache)
    assert sorted(ids) == ["expc1.client", "expe1.client"]  # the servers: another CA's
    cert, ident = ids["expe1.client"]
    assert (cert.node, cert.role, cert.issuer, ident) == (
        "expe1", "client", "private-ca", _client(live, cache, "expe1"))


def test_the_crl_is_read_for_every_role(tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    fleet, live, cache = _fleet(_desired_with_client_acme(tmp_path))
    serial = cache.parse_text(live["expc1"].role_certificates["client"])[0].cert.serial_number
    asked: list[str] = []

    def listed(url: str, issuer: object, verify: object) -> dict[int, str]:
        asked.append(url)
        return {serial: "keyCompromise"}

    monkeypatch.setattr(revocation, "crl_urls", lambda cert: ["http://127.0.0.1:9/crl"])
    monkeypatch.setattr(revocation, "revoked_serials", listed)
    found, findings = asyncio.run(revocation.revocations(fleet, live, cache, {}))
    assert findings == [] and asked == ["http://127.0.0.1:9/crl"]  # one CRL, read once
    assert list(found) == ["expc1.client"]
    assert "reason keyCompromise" in found["expc1.client"][1]


def test_drift_says_when_each_role_is_renewed(tmp_path: Path) -> None:
    from reconciler.planning.drift import drift_report
    from reconciler.report.drift import drift_json, drift_metrics, drift_text

    fleet, live, cache = _fleet(_steady(tmp_path))
    later = RenewalWindow(
        cert_id=_client(live, cache, "expe1"), issuer="private-ca", node="expe1",
        role="client", start=AUGUST + timedelta(days=3), end=AUGUST + timedelta(days=5),
        checked_at=AUGUST, next_check=AUGUST + timedelta(hours=6))
    plan = make_plan(fleet, live, AUGUST, cache=cache, renewal={later.key: later})
    report = drift_report(fleet, live, plan, AUGUST, cache, renewal={later.key: later})
    client = report.role_renewals["expe1"]["client"]
    assert (client.at, client.source) == (later.start, "ari")
    assert report.role_renewals["expc1"]["client"].source == "fixed"  # renew_before 30d
    assert report.renewals["expe1"].source == "fixed"
    assert any(line.startswith("renewal: expe1 client: renewed from 2026-08-04 00:00 UTC")
               for line in drift_text(report))
    data = json.loads(drift_json(report))
    assert data["nodes"]["expe1"]["role_renewals"]["client"]["source"] == "ari"
    assert ('certops_certificate_renewal_timestamp_seconds{node="expe1",role="client",'
            f'source="ari"}} {int(later.start.timestamp())}') in drift_metrics(report)


def test_a_role_whose_renewal_period_holds_too_few_windows_is_named(tmp_path: Path) -> None:
    """renewal.few_windows covers each role certops renews: with a monthly restart window,
    renew_before 30d holds at most one opening, for the server and the client certificate
    alike (an error: renew_before decides); an ARI window about the client certificate that
    ends before the next opening makes its finding a warning (the CA decides)."""
    root = _steady(tmp_path)
    config = root / "certops.yaml"
    config.write_text(config.read_text().replace(
        "defaults:\n", "windows:\n  monthly: {cron: \"0 22 1 * *\", duration: 4h, "
        "timezone: Europe/Zurich}\ndefaults:\n  restart_window: monthly\n", 1))
    fleet, live, cache = _fleet(root)
    plan = make_plan(fleet, live, AUGUST, cache=cache)
    few = sorted((f.node, f.severity.value, f.message.split(" lives")[0])
                 for f in plan.findings
                 if f.code == Code.RENEWAL_FEW_WINDOWS and f.node in ("expc1", "expe1"))
    assert few == [
        ("expc1", "error", "the certificate"), ("expc1", "error", "the client certificate"),
        ("expe1", "error", "the certificate"), ("expe1", "error", "the client certificate")]
    late = RenewalWindow(
        cert_id=_client(live, cache, "expe1"), issuer="private-ca", node="expe1",
        role="client", start=datetime(2026, 11, 20, tzinfo=UTC),
        end=datetime(2026, 11, 25, tzinfo=UTC), checked_at=AUGUST,
        next_check=AUGUST + timedelta(hours=6))
    by_ca = make_plan(fleet, live, AUGUST, cache=cache, renewal={late.key: late})
    client = [f for f in by_ca.findings if f.code == Code.RENEWAL_FEW_WINDOWS
              and f.node == "expe1" and "client" in f.message]
    assert [f.severity.value for f in client] == ["warning"]
    assert "the CA's ARI window 2026-11-20 00:00" in client[0].message
