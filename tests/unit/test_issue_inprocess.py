"""cert.issue on the in-process lab: a value known after apply, checked before it is installed.

The plan here is written out by hand (trust of the issuer's root first, then CSR → issue →
install → restart), so these tests pin the apply side of the issuer seam on its own; the
planner's side has its own scenarios. The CA is real: ``openssl ca`` as a command issuer.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from unitkit import FAST, Events, served, session_of
from unitkit import apply as unitkit_apply

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuers"))
from openssl_ca import OpensslCa, have_openssl, make_openssl_ca

from reconciler.apply.executor import execute
from reconciler.apply.steps import StepContext
from reconciler.drivers.fleet import read_all
from reconciler.issuers import CommandIssuer
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Action, ApplyResult, CommandIssuerSpec, Plan
from reconciler.pki import CertCache
from reconciler.usecases.loading import load_fleet

CACHE = CertCache()  # one parse cache for this module's tests
pytestmark = pytest.mark.skipif(not have_openssl(), reason="openssl is not installed")
STORE = "trusted-ca-list"


def with_issuer(root: Path, ca: OpensslCa) -> None:
    """expe1 names the issuer `corp`; the issuer's root is a CA file of the desired state."""
    (root / "cas" / "corp-root.pem").write_bytes(ca.root_pem.read_bytes())
    with (root / "certops.yaml").open("a") as out:
        out.write(
            f"issuers:\n  corp:\n    type: command\n    run: [{ca.sign}]\n"
            "    ca_files: [cas/corp-root.pem]\n"
        )
    node = root / "nodes" / "expe1.yaml"
    text = node.read_text().replace("server_certificate:", "server_certificate:\n  issuer: corp", 1)
    node.write_text(text)


def issue_plan(lab: InProcessLab, root: Path, *, trust_first: bool = True) -> Plan:
    """trust.add of the issuer's root on expe1 and expc1, then expe1's issue and install."""
    root_ca = CACHE.parse((root / "cas" / "corp-root.pem").read_bytes())[0]
    fleet = load_fleet(session_of(lab, root), datetime.now(UTC)).fleet
    spec = fleet.nodes["expe1"].node.spec.server_certificate
    assert spec is not None
    sans = spec.subject_alt_names
    trust = [
        Action(id=f"{n}/trust.add/{STORE}", kind="trust.add", node=n, store=STORE,
               certificate=root_ca.summary(), reason="chain of issuer corp")
        for n in (("expe1", "expc1") if trust_first else ())
    ]
    flow = [
        Action(id="expe1/csr.generate", kind="csr.generate", node="expe1",
               subject_alt_names=sans, reason="renewal"),
        Action(id="expe1/cert.issue", kind="cert.issue", node="expe1", issuer="corp",
               subject_alt_names=sans, depends_on=("expe1/csr.generate",), reason="sign"),
        Action(id="expe1/cert.install/issued", kind="cert.install", node="expe1",
               certificate_from="expe1/cert.issue", reason="install (known after apply)",
               depends_on=("expe1/cert.issue", *(a.id for a in trust))),
        Action(id="expe1/node.restart", kind="node.restart", node="expe1",
               depends_on=("expe1/cert.install/issued",), reason="serve it"),
    ]
    return Plan(created_at=datetime.now(UTC), desired_digest="", actions=(*trust, *flow))


async def run(
    lab: InProcessLab, root: Path, ca: OpensslCa, plan: Plan, started: datetime | None = None
) -> ApplyResult:
    fleet = load_fleet(session_of(lab, root), datetime.now(UTC)).fleet
    spec = fleet.desired.fleet.issuers["corp"]
    issuer = CommandIssuer("corp", spec, {"PATH": "/usr/bin:/bin"})
    drivers = lab.drivers(fleet.desired)
    # A hand-made plan, fingerprinted as certops plan would: the executor compares them
    # before the first change to each node.
    live = await read_all(drivers)
    plan = plan.model_copy(update={"node_fingerprints": {
        n: v.fingerprint() for n, v in live.items()}})
    ctx = StepContext(plan=plan, fleet=fleet, drivers=drivers,
                      desired_root=root, timing=FAST, issuers={"corp": issuer},
                      now=started or datetime.now(UTC))
    return await execute(plan, ctx, listener=Events())


def outcome(result: ApplyResult) -> dict[str, str]:
    return {r.id: r.outcome for r in result.results}


async def test_issued_certificate_is_installed_served_and_saved(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    ca = make_openssl_ca(tmp_path / "ca")
    with_issuer(desired, ca)
    result = await run(lab, desired, ca, issue_plan(lab, desired))
    assert result.ok, [r.detail for r in result.results if r.outcome != "done"]
    assert "certops test openssl CA" in served(lab, "expe1").issuer.rfc4514_string()
    saved = (desired / "certs" / "expe1.pem").read_text()
    assert saved.count("BEGIN CERTIFICATE") == 2  # leaf and the issuer's root
    root_sha = CACHE.parse(ca.root_pem.read_bytes())[0].sha256
    for node in ("expe1", "expc1"):
        shas = {CACHE.parse(p.encode())[0].sha256
                for p in lab.nodes[node].state.trusted_cas}
        assert root_sha in shas


async def test_no_client_auth_is_refused_before_the_install(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    ca = make_openssl_ca(tmp_path / "ca", client_auth=False)
    with_issuer(desired, ca)
    before = served(lab, "expe1").fingerprint(hashes.SHA256())
    result = await run(lab, desired, ca, issue_plan(lab, desired))
    states = outcome(result)
    assert states["expe1/cert.issue"] == "failed"
    assert states["expe1/cert.install/issued"] == "skipped"
    detail = next(r.detail for r in result.results if r.id == "expe1/cert.issue")
    assert "TLS Web Client Authentication" in detail and "not installed" in detail
    assert not (desired / "certs" / "expe1.pem").exists()
    after = served(lab, "expe1").fingerprint(hashes.SHA256())
    assert before == after


async def test_untrusted_chain_is_refused_by_the_live_trust_gate(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    ca = make_openssl_ca(tmp_path / "ca")
    with_issuer(desired, ca)
    result = await run(lab, desired, ca, issue_plan(lab, desired, trust_first=False))
    detail = next(r.detail for r in result.results if r.id == "expe1/cert.issue")
    assert outcome(result)["expe1/cert.issue"] == "failed"
    assert "trusted-ca-list of expe1 does not trust 'CN=certops test openssl CA" in detail
    assert "in issuers.corp.ca_files, so a fresh plan uploads it first" in detail
    assert outcome(result)["expe1/cert.install/issued"] == "skipped"


async def test_an_issuer_that_fails_stops_the_node_with_its_message(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    ca = make_openssl_ca(tmp_path / "ca")
    with_issuer(desired, ca)
    ca.sign.write_text("#!/bin/sh\necho 'CA is in maintenance' >&2\nexit 1\n")
    result = await run(lab, desired, ca, issue_plan(lab, desired))
    detail = next(r.detail for r in result.results if r.id == "expe1/cert.issue")
    assert "exited 1 for expe1: CA is in maintenance" in detail
    assert outcome(result)["expe1/node.restart"] == "skipped"


def test_issuer_spec_is_what_certops_yaml_holds() -> None:
    spec = CommandIssuerSpec(type="command", run=("sign",))
    assert spec.timeout == 120 and spec.ca_files == ()


async def test_one_apply_renews_hands_off_through_the_planned_issuance(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """Renewal due, issuer named: plan → trust of the issuer's root on expe1 and expc1 →
    CSR → issue → install → restart, in ONE apply; the next plan is empty."""
    ca = make_openssl_ca(tmp_path / "ca")
    with_issuer(desired, ca)
    run_, result = await unitkit_apply(lab, desired)
    kinds = [a.kind for a in run_.plan.actions if a.node == "expe1"]
    assert kinds == ["trust.add", "csr.generate", "cert.issue", "cert.install", "node.drain",
                     "node.restart"]
    install = next(a for a in run_.plan.actions if a.kind == "cert.install")
    assert install.certificate is None and install.certificate_from == "expe1/cert.issue"
    assert result is not None and result.ok, [r.detail for r in result.results]
    assert "certops test openssl CA" in served(lab, "expe1").issuer.rfc4514_string()
    again, nothing = await unitkit_apply(lab, desired)
    assert nothing is None and not [a for a in again.plan.actions if a.node == "expe1"]


async def test_a_certificate_signed_after_the_apply_started_is_valid(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """openssl ca sets notBefore to the moment of signing: later than the apply's start, so
    the issued certificate is judged at the time of the check, not at the start."""
    ca = make_openssl_ca(tmp_path / "ca")
    with_issuer(desired, ca)
    started = datetime.now(UTC) - timedelta(minutes=10)
    result = await run(lab, desired, ca, issue_plan(lab, desired), started=started)
    assert result.ok, [r.detail for r in result.results if r.outcome != "done"]
