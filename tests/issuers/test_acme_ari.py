"""ARI and ACME profiles against the lab's ACME CA (acme2certifier, BIND 9 on loopback).

One acme2certifier lab for the module; the nodes are the in-process lab, so plan and apply go
through the real use cases, planner, executor and steps. Each test checks what the nodes
serve, what the CA recorded (orders, certificates, ``replaces``, renewalInfo requests) and
the plan's findings, not what certops says about itself.
"""

from __future__ import annotations

import json
import shutil
import ssl
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from acmekit import ZONES, account_key_pem, rfc2136
from cryptography import x509
from cryptography.hazmat.primitives import hashes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from unitkit import FAST, served

from reconciler.lab.acme_a2c import A2cCa
from reconciler.lab.acme_ca import AcmeLab, missing
from reconciler.lab.inprocess import FAST_HTTP, InProcessLab
from reconciler.model.layout import RENEWAL_INFO_FILE
from reconciler.pki.ari import cert_id
from reconciler.usecases.apply import ApplyRequest, ApplyRun, ApplyUi
from reconciler.usecases.apply import apply as apply_usecase
from reconciler.usecases.plan import PlanRun, plan
from reconciler.usecases.session import Session

pytestmark = pytest.mark.skipif(
    bool(missing("a2c")), reason=f"{', '.join(missing('a2c'))} not installed "
    "(bind9: scripts/system-deps.sh; the certops-lab-a2c plug-in: scripts/setup.sh)")


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeLab]:
    lab = AcmeLab(tmp_path_factory.mktemp("a2c")).up(ZONES)
    try:
        yield lab
    finally:
        lab.down()


def with_issuer(root: Path, acme: AcmeLab, **extra: Any) -> None:
    """expe1 (X15.5: serverAuth-only is fine) names the ACME issuer ``lab``."""
    root_pem, issuing_pem = acme.ca_chain()
    (root / "cas" / "lab-acme-root.pem").write_text(root_pem)
    (root / "cas" / "lab-acme-issuing.pem").write_text(issuing_pem)
    spec = {"type": "acme", "directory": acme.directory_url, "tls_ca_file": str(acme.tls_ca_file),
            "account_key_env": "ACME_ACCOUNT_KEY", "dns01": rfc2136(acme), "timeout": 60,
            "ca_files": ["cas/lab-acme-root.pem", "cas/lab-acme-issuing.pem"], **extra}
    with (root / "certops.yaml").open("a") as out:
        out.write(f"issuers:\n  lab: {json.dumps(spec)}\n")
    path = root / "nodes" / "expe1.yaml"
    path.write_text(path.read_text().replace("server_certificate:",
                                             "server_certificate:\n  issuer: lab", 1))


def session(lab: InProcessLab, root: Path, acme: AcmeLab, now: datetime) -> Session:
    env = {"PATH": "/usr/bin:/bin", "ACME_ACCOUNT_KEY": ACCOUNT,
           "DNS_TSIG_SECRET": acme.tsig_secret}
    return Session(root=root, inventory=lab.inventory, drivers=lab.factory, http=FAST_HTTP,
                   timing=FAST, env=env, clock=lambda: now)


async def apply(lab: InProcessLab, root: Path, acme: AcmeLab, now: datetime) -> ApplyRun:
    return await apply_usecase(session(lab, root, acme, now), ApplyRequest(
        source=root, auto_approve=True), ApplyUi(prompt=lambda plan: True))


async def plan_at(lab: InProcessLab, root: Path, acme: AcmeLab, now: datetime) -> PlanRun:
    return await plan(session(lab, root, acme, now))


ACCOUNT = account_key_pem()


def kinds(run: PlanRun, node: str) -> list[str]:
    return [a.kind for a in run.plan.actions if a.node == node]


@pytest.fixture
def issued(acme: AcmeLab, lab: InProcessLab, desired: Path) -> tuple[x509.Certificate, datetime]:
    """expe1 on X15.5 with a certificate from the lab CA (profile sc081-2029: 47 days)."""
    with_issuer(desired, acme, profile="sc081-2029")
    lab.nodes["expe1"].state.version = "X15.5.1"
    return served(lab, "expe1"), datetime.now(UTC)


async def test_the_lab_ca_issues_like_a_2027_public_ca(
    acme: AcmeLab, lab: InProcessLab, desired: Path, issued: tuple[x509.Certificate, datetime]
) -> None:
    now = issued[1]
    run = await apply(lab, desired, acme, now)
    assert run.result is not None and run.result.ok
    leaf = served(lab, "expe1")
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(days=47)
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]
    points = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    url = points[0].full_name[0].value
    tls = ssl.create_default_context(cafile=str(acme.tls_ca_file))
    crl = x509.load_der_x509_crl(httpx.get(url, verify=tls).content)
    assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is None
    issuing = x509.load_pem_x509_certificate(acme.ca_chain()[1].encode())
    assert crl.is_signature_valid(issuing.public_key())  # type: ignore[arg-type]


async def test_an_unknown_profile_is_a_plan_error_naming_the_offered_ones(
    acme: AcmeLab, lab: InProcessLab, desired: Path
) -> None:
    with_issuer(desired, acme, profile="fortnight")
    lab.nodes["expe1"].state.version = "X15.5.1"
    orders = acme.orders_placed()
    run = await plan_at(lab, desired, acme, datetime.now(UTC))
    [finding] = [f for f in run.plan.findings if f.code == "issuer.unknown_profile"]
    assert finding.severity == "error"
    assert "'fortnight'" in finding.message
    assert all(p in finding.message for p in ("classic", "tlsserver", "shortlived"))
    assert finding.location is not None and finding.location.line > 0
    assert acme.orders_placed() == orders


async def test_ari_window_times_renewal_retry_after_is_cached_replaces_is_sent(
    acme: AcmeLab, lab: InProcessLab, desired: Path, issued: tuple[x509.Certificate, datetime],
    tmp_path: Path,
) -> None:
    now = issued[1]
    assert (await apply(lab, desired, acme, now)).result.ok  # type: ignore[union-attr]
    leaf = served(lab, "expe1")
    ident = cert_id(leaf)
    assert ident is not None
    # The CA's window opens at 2/3 of 47 days: nothing to do now, one question asked.
    asked = acme.ca.ari_requests() if acme.ca else 0
    first = await plan_at(lab, desired, acme, now)
    assert kinds(first, "expe1") == []
    assert acme.ca is not None and acme.ca.ari_requests() == asked + 1
    cached = json.loads((desired / RENEWAL_INFO_FILE).read_text())["windows"][ident]
    assert cached["node"] == "expe1" and cached["issuer"] == "lab"
    # The CA moves the window to now: a fresh clone before Retry-After does not ask again.
    acme.ca.move_window(leaf, now - timedelta(hours=1), now + timedelta(days=1))
    clone = tmp_path / "clone"
    shutil.copytree(desired, clone)
    again = await plan_at(lab, clone, acme, now + timedelta(hours=5))
    assert kinds(again, "expe1") == [] and acme.ca.ari_requests() == asked + 1
    # After Retry-After (6 hours) it asks, sees the moved window and renews, replacing it.
    later = now + timedelta(hours=7)
    due = await plan_at(lab, clone, acme, later)
    assert acme.ca.ari_requests() == asked + 2
    assert "cert.issue" in kinds(due, "expe1")
    [note] = [f for f in due.plan.findings if f.code == "renewal.due" and f.node == "expe1"]
    assert "the CA's ARI window" in note.message
    run = await apply(lab, clone, acme, later)
    assert run.result is not None and run.result.ok
    assert served(lab, "expe1").fingerprint(hashes.SHA256()) != leaf.fingerprint(hashes.SHA256())
    assert acme.ca.replaces_seen()[-1]["replaces"] == ident
    assert acme.ca.replaces_seen()[-1]["profile"] == "sc081-2029"


async def test_without_ari_renewal_follows_a_third_of_the_lifetime(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """A CA without renewalInfo whose certificates live 47 days: with no renew_before written
    (node or policy), an ACME issuer renews at 1/3 of the lifetime left (about 15.7 days), not
    at the policy default's 30 days."""
    for path in (desired / "certops.yaml", desired / "nodes" / "expe1.yaml"):
        path.write_text(path.read_text().replace("  renew_before: 30d\n", ""))
    acme = AcmeLab(tmp_path / "no-ari", ca=A2cCa(tmp_path / "no-ari", ari=False)).up(ZONES)
    try:
        with_issuer(desired, acme, profile="sc081-2029")
        lab.nodes["expe1"].state.version = "X15.5.1"
        now = datetime.now(UTC)
        assert (await apply(lab, desired, acme, now)).result.ok  # type: ignore[union-attr]
        leaf = served(lab, "expe1")
        assert acme.ca is not None
        thirty_days_left = leaf.not_valid_after_utc - timedelta(days=30)
        third_left = leaf.not_valid_after_utc - timedelta(days=47) / 3
        quiet = await plan_at(lab, desired, acme, thirty_days_left)
        due = await plan_at(lab, desired, acme, third_left + timedelta(minutes=1))
        assert kinds(quiet, "expe1") == [], [f.message for f in quiet.plan.findings]
        assert "cert.issue" in kinds(due, "expe1")
        [note] = [f for f in due.plan.findings if f.code == "renewal.due" and f.node == "expe1"]
        assert "renew_before 1/3" in note.message
        assert acme.ca.ari_requests() == 0 and not (desired / RENEWAL_INFO_FILE).exists()
    finally:
        acme.down()


async def test_drift_says_when_each_certificate_is_renewed_and_why(
    acme: AcmeLab, lab: InProcessLab, desired: Path, issued: tuple[x509.Certificate, datetime]
) -> None:
    from reconciler.report.drift import drift_json, drift_markdown, drift_metrics, drift_text
    from reconciler.usecases.drift import drift

    now = issued[1]
    assert (await apply(lab, desired, acme, now)).result.ok  # type: ignore[union-attr]
    leaf = served(lab, "expe1")
    report = await drift(session(lab, desired, acme, now))
    window_opens = leaf.not_valid_before_utc + (leaf.not_valid_after_utc
                                                - leaf.not_valid_before_utc) * 2 / 3
    data = json.loads(drift_json(report))
    ari = data["nodes"]["expe1"]["renewal"]
    assert ari["source"] == "ari" and "the CA's ARI window" in ari["why"]
    assert abs(datetime.fromisoformat(ari["at"]) - window_opens) < timedelta(seconds=2)
    fixed = data["nodes"]["expc1"]["renewal"]  # a committed certificate: renew_before 30d
    assert fixed["source"] == "fixed" and fixed["why"] == "renew_before 30d"
    assert any(line.startswith("renewal: expe1: renewed from ") for line in drift_text(report))
    assert "| expe1 | " in drift_markdown(report)
    metric = 'certops_certificate_renewal_timestamp_seconds{node="expe1",source="ari"} '
    [line] = [m for m in drift_metrics(report).splitlines() if m.startswith(metric)]
    assert abs(int(line.split()[-1]) - window_opens.timestamp()) <= 2


async def test_a_mass_revocation_is_seen_through_ari_then_the_crl_and_replaced(
    acme: AcmeLab, lab: InProcessLab, desired: Path, issued: tuple[x509.Certificate, datetime]
) -> None:
    now = issued[1]
    assert (await apply(lab, desired, acme, now)).result.ok  # type: ignore[union-attr]
    leaf = served(lab, "expe1")
    assert acme.ca is not None
    acme.ca.revoke([leaf], now, timedelta(hours=24))  # "renew now", revoked in 24 hours
    later = now + timedelta(hours=7)  # after the 6-hour Retry-After of the last answer
    warned = await plan_at(lab, desired, acme, later)
    codes = {f.code for f in warned.plan.findings if f.node == "expe1"}
    assert "cert.revocation_pending" in codes and "cert.revoked" not in codes
    assert "cert.issue" in kinds(warned, "expe1")
    acme.ca.publish_due(now + timedelta(hours=25))  # the notice is over: on the CRL
    listed = await plan_at(lab, desired, acme, later)
    [revoked] = [f for f in listed.plan.findings if f.code == "cert.revoked"]
    assert revoked.node == "expe1" and f"{leaf.serial_number:x}" in revoked.message.lower()
    run = await apply(lab, desired, acme, later)
    assert run.result is not None and run.result.ok
    assert served(lab, "expe1").serial_number != leaf.serial_number
    after = await plan_at(lab, desired, acme, later)
    assert kinds(after, "expe1") == []
    assert not {f.code for f in after.plan.findings} & {"cert.revoked", "cert.revocation_pending"}


@pytest.mark.parametrize(("expected", "installs"), [("47d", True), ("90d", False),
                                                     ("30d", True)])
async def test_the_issued_lifetime_is_checked_against_the_profiles(
    acme: AcmeLab, lab: InProcessLab, desired: Path, expected: str, installs: bool
) -> None:
    """issuers.<name>.lifetime: a certificate shorter than the profile is expected to issue
    is refused before any install; a longer one is installed with a note."""
    with_issuer(desired, acme, profile="sc081-2029", lifetime=expected)
    lab.nodes["expe1"].state.version = "X15.5.1"
    before = served(lab, "expe1").serial_number
    run = await apply(lab, desired, acme, datetime.now(UTC))
    assert run.result is not None and run.result.ok is installs
    after = served(lab, "expe1")
    assert (after.serial_number != before) is installs
    [issue] = [r for r in run.result.results if r.kind == "cert.issue"]
    said = "lives 47.0 days, profile sc081-2029 is expected to issue " + expected
    assert (said in issue.detail) is (expected != "47d")
    if not installs:
        assert "not installed" in issue.detail and "issuers.lab.lifetime" in issue.detail


async def test_ari_renewal_lands_at_the_first_restart_window_inside_it(
    acme: AcmeLab, lab: InProcessLab, desired: Path, issued: tuple[x509.Certificate, datetime]
) -> None:
    """The CA's window (seen before it opens) opens while expe1's daily restart window is
    closed: nothing is ordered (renewal.waits_for_window names the opening); in the opening,
    after the CA was asked again (same window: still a normal one, not "renew now"), one
    apply orders, installs and restarts, replacing the old certificate."""
    now = issued[1]
    assert (await apply(lab, desired, acme, now)).result.ok  # type: ignore[union-attr]
    leaf = served(lab, "expe1")
    assert acme.ca is not None
    start = now + timedelta(hours=3)
    acme.ca.move_window(leaf, start, start + timedelta(days=3))
    hour = (start.hour + 4) % 24  # the first opening after the CA's start: 3-4 hours on
    config = desired / "certops.yaml"
    config.write_text(config.read_text().replace("defaults:\n", "defaults:\n  restart_window: "
                                                 "daily\n", 1) + "windows:\n  daily: {cron: "
                      f"\"0 {hour} * * *\", duration: 2h, timezone: UTC}}\n")
    opens = (start + timedelta(hours=4)).replace(minute=0, second=0, microsecond=0)
    assert start + timedelta(hours=3) <= opens <= start + timedelta(hours=4)
    asked = acme.ca.ari_requests()
    seen = await plan_at(lab, desired, acme, now)  # asked before the CA's window opens
    assert "cert.issue" not in kinds(seen, "expe1") and acme.ca.ari_requests() == asked + 1
    orders = acme.orders_placed()
    waiting = await plan_at(lab, desired, acme, start + timedelta(minutes=5))
    assert "cert.issue" not in kinds(waiting, "expe1")
    [note] = [f for f in waiting.plan.findings if f.code == "renewal.waits_for_window"]
    assert f"renewed on {opens:%Y-%m-%d %H:%M} UTC (in restart window daily" in note.message
    run = await apply(lab, desired, acme, opens + timedelta(minutes=1))
    assert acme.ca.ari_requests() == asked + 2  # after Retry-After: asked again
    assert run.result is not None and run.result.ok and not run.result.owed
    assert acme.orders_placed() == orders + 1
    assert served(lab, "expe1").serial_number != leaf.serial_number  # restarted, in the window
    assert acme.ca.replaces_seen()[-1]["replaces"] == cert_id(leaf)
    assert not any(f.code == "cert.revocation_pending" for f in run.plan.findings)
