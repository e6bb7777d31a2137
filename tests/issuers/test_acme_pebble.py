"""The ACME issuer against a real ACME server (Pebble) and a real DNS server (BIND 9).

One Pebble (External Account Binding required), one BIND (RFC 2136 with TSIG) and one
pebble-challtestsrv run on loopback for the whole module; the nodes are the in-process lab,
so apply goes through the real planner, executor and steps. Each test checks what the
nodes serve and what Pebble logged, never what certops says about it.
"""

from __future__ import annotations

import json
import logging
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from acmekit import (
    SKIP_REASON,
    account_key_pem,
    have_daemons,
    rfc2136,
    secret_env,
    start,
    with_acme_issuer,
)
from cryptography.hazmat.primitives import hashes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from unitkit import FAST, served

import reconciler.issuers.acme as acme_module
from reconciler.issuers import AcmeIssuer, IssueFailed
from reconciler.lab.acme_ca import AcmeLab
from reconciler.lab.inprocess import FAST_HTTP, InProcessLab
from reconciler.model import ApplyResult
from reconciler.model.layout import order_path
from reconciler.report.apply import apply_errors, apply_json
from reconciler.report.plan import plan_json
from reconciler.usecases.apply import ApplyRequest, ApplyRun, ApplyUi
from reconciler.usecases.apply import apply as apply_usecase
from reconciler.usecases.loading import load_fleet
from reconciler.usecases.session import Session

pytestmark = pytest.mark.skipif(not have_daemons(), reason=SKIP_REASON)


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeLab]:
    lab = start(tmp_path_factory.mktemp("acme"))
    try:
        yield lab
    finally:
        lab.down()



@pytest.fixture
def account() -> str:
    return account_key_pem()


def session(lab: InProcessLab, root: Path, env: dict[str, str]) -> Session:
    return Session(root=root, inventory=lab.inventory, drivers=lab.factory, http=FAST_HTTP,
                   timing=FAST, env=env)


async def apply(lab: InProcessLab, root: Path, env: dict[str, str]) -> ApplyRun:
    """``certops apply DIR --auto-approve`` through the use case."""
    return await apply_usecase(session(lab, root, env), ApplyRequest(source=root,
                               auto_approve=True), ApplyUi(prompt=lambda plan: True))


def outcomes(result: ApplyResult | None) -> dict[str, tuple[str, str]]:
    assert result is not None
    return {r.id: (r.outcome, r.detail) for r in result.results}


def x155(lab: InProcessLab, node: str = "expe1") -> None:
    """``node`` runs X15.5, which separates server and client certificates."""
    lab.nodes[node].state.version = "X15.5.1"


async def test_rfc2136_issues_installs_and_serves_in_one_apply(
    acme: AcmeLab, lab: InProcessLab, desired: Path, account: str
) -> None:
    with_acme_issuer(desired, acme, rfc2136(acme))
    x155(lab)
    issued_before = acme.issued_count()
    run = await apply(lab, desired, secret_env(acme, account))
    states = outcomes(run.result)
    assert run.result is not None and run.result.ok, states
    expe1 = [k for k in states if k.startswith("expe1/")]
    assert expe1 == ["expe1/csr.generate", "expe1/cert.issue", "expe1/cert.install/issued",
                     "expe1/node.restart"] or set(expe1) >= {"expe1/cert.issue"}
    assert all(states[k][0] == "done" for k in expe1)
    assert "Pebble Intermediate CA" in served(lab, "expe1").issuer.rfc4514_string()
    assert acme.issued_count() == issued_before + 1
    assert (desired / "certs" / "expe1.pem").read_text().count("BEGIN CERTIFICATE") == 2
    assert not (desired / order_path("pebble", "expe1")).exists()  # the order is done


async def test_x15_0_node_is_blocked_at_plan_for_an_issuer_without_client_auth(
    acme: AcmeLab, lab: InProcessLab, desired: Path, account: str
) -> None:
    with_acme_issuer(desired, acme, rfc2136(acme))  # eku: [serverAuth] (the ACME default)
    orders = acme.orders_placed()
    with pytest.raises(Exception, match=r"issuer\.no_client_auth.*expe1 -> expc1"):
        await apply(lab, desired, secret_env(acme, account))
    assert acme.orders_placed() == orders  # nothing was asked of the CA


async def test_dns_record_never_visible_stops_at_the_deadline(
    acme: AcmeLab, lab: InProcessLab, desired: Path, account: str
) -> None:
    hook = {"provider": "exec", "command": ["/bin/true"], "propagation_timeout": 1,
            "nameservers": [f"127.0.0.1:{acme.dns_port}"]}
    with_acme_issuer(desired, acme, hook)
    x155(lab)
    before = served(lab, "expe1").fingerprint(hashes.SHA256())
    issued = acme.issued_count()
    run = await apply(lab, desired, secret_env(acme, account))
    states = outcomes(run.result)
    outcome, detail = states["expe1/cert.issue"]
    assert outcome == "failed"
    assert "was not visible on 127.0.0.1" in detail and "within 1s" in detail
    assert states["expe1/cert.install/issued"][0] == "skipped"
    assert served(lab, "expe1").fingerprint(hashes.SHA256()) == before
    assert acme.issued_count() == issued
    assert not (desired / "certs" / "expe1.pem").exists()


def challtestsrv_hook(tmp: Path, acme: AcmeLab) -> Path:
    """An exec hook that sets the TXT record in pebble-challtestsrv (not in BIND), through its
    management API, and logs each call."""
    hook = tmp / "hook.py"
    hook.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, sys, urllib.request
        verb, fqdn, value = sys.argv[1:4]
        path = "/set-txt" if verb == "present" else "/clear-txt"
        body = {{"host": fqdn, "value": value}} if verb == "present" else {{"host": fqdn}}
        req = urllib.request.Request("http://127.0.0.1:{acme.cts_mgmt_port}" + path,
                                     data=json.dumps(body).encode(), method="POST")
        urllib.request.urlopen(req, timeout=5).read()
        open("{tmp}/hook.log", "a").write(f"{{verb}} {{fqdn}}\\n")
        """))
    hook.chmod(0o755)
    return hook


async def test_order_invalid_when_the_ca_sees_no_record(
    acme: AcmeLab, lab: InProcessLab, desired: Path, account: str, tmp_path: Path
) -> None:
    """The hook publishes where certops checks (challtestsrv), not where Pebble looks (BIND):
    the CA refuses the authorization, the order is invalid, nothing is installed."""
    hook = challtestsrv_hook(tmp_path, acme)
    dns01 = {"provider": "exec", "command": [str(hook)], "propagation_timeout": 5,
             "nameservers": [f"127.0.0.1:{acme.cts_dns_port}"]}
    with_acme_issuer(desired, acme, dns01)
    x155(lab)
    run = await apply(lab, desired, secret_env(acme, account))
    outcome, detail = outcomes(run.result)["expe1/cert.issue"]
    assert outcome == "failed"
    assert "the ACME order for expe1 is invalid" in detail and "unauthorized" in detail
    log = (tmp_path / "hook.log").read_text().splitlines()
    assert log.count("present _acme-challenge.expe.nart.com.") == 1
    assert log.count("cleanup _acme-challenge.expe.nart.com.") == 1
    assert not (desired / order_path("pebble", "expe1")).exists()  # an invalid order is dropped


class Crash(BaseException):
    """Stands for the process dying (not an error certops would catch)."""


async def test_a_crash_between_order_and_finalize_resumes_that_order(
    acme: AcmeLab, lab: InProcessLab, desired: Path, account: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_acme_issuer(desired, acme, rfc2136(acme))
    fleet = load_fleet(session(lab, desired, {}), datetime.now(UTC)).fleet
    spec = fleet.desired.fleet.issuers["pebble"]
    assert spec.type == "acme"
    driver = lab.drivers(fleet.desired)["expe1"]
    csr = await driver.csr_generate(["expe.nart.com", "expe1.nart.com"])
    orders, issued = acme.orders_placed(), acme.issued_count()
    real = acme_module.finalize

    def crash(*args: object) -> object:
        raise Crash()

    monkeypatch.setattr(acme_module, "finalize", crash)
    with pytest.raises(Crash):
        await AcmeIssuer("pebble", spec, secret_env(acme, account), desired).submit("expe1", csr)
    record = json.loads((desired / order_path("pebble", "expe1")).read_text())
    assert set(record) == {"issuer", "node", "order_url", "csr_sha256", "directory", "placed_at"}
    monkeypatch.setattr(acme_module, "finalize", real)
    result = await AcmeIssuer("pebble", spec, secret_env(acme, account), desired).submit(
        "expe1", csr)
    assert "BEGIN CERTIFICATE" in getattr(result, "chain_pem", "")
    assert acme.orders_placed() == orders + 1  # the second run placed no order
    assert acme.issued_count() == issued + 1  # exactly one certificate
    assert not (desired / order_path("pebble", "expe1")).exists()


async def test_a_changed_csr_does_not_resume_the_old_order(
    acme: AcmeLab, lab: InProcessLab, desired: Path, account: str, tmp_path: Path
) -> None:
    with_acme_issuer(desired, acme, rfc2136(acme))
    fleet = load_fleet(session(lab, desired, {}), datetime.now(UTC)).fleet
    spec = fleet.desired.fleet.issuers["pebble"]
    assert spec.type == "acme"
    path = desired / order_path("pebble", "expe1")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"issuer": "pebble", "node": "expe1", "csr_sha256": "00",
                                "order_url": acme.directory_url, "directory": acme.directory_url,
                                "placed_at": "x"}))
    csr = await lab.drivers(fleet.desired)["expe1"].csr_generate(["expe.nart.com"])
    result = await AcmeIssuer("pebble", spec, secret_env(acme, account), desired).submit(
        "expe1", csr)
    assert "BEGIN CERTIFICATE" in getattr(result, "chain_pem", "")
    assert not path.exists()


async def test_a_missing_eab_is_refused_with_a_clear_message(
    acme: AcmeLab, lab: InProcessLab, desired: Path, account: str
) -> None:
    with_acme_issuer(desired, acme, rfc2136(acme))
    fleet = load_fleet(session(lab, desired, {}), datetime.now(UTC)).fleet
    spec = fleet.desired.fleet.issuers["pebble"].model_copy(
        update={"eab_kid_env": None, "eab_hmac_key_env": None})
    env = secret_env(acme, account)
    with pytest.raises(IssueFailed, match="requires External Account Binding"):
        await AcmeIssuer("pebble", spec, env, desired).submit("expe1", "x")


async def test_no_secret_appears_in_any_output(
    acme: AcmeLab, lab: InProcessLab, desired: Path, account: str,
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str],
) -> None:
    """A failed apply (DNS deadline) then a good one, every logger at DEBUG (the acme library
    logs each request and response): the account key, the TSIG secret and the EAB key appear
    in no plan, report, log, message, order record or file of the desired state."""
    caplog.set_level(logging.DEBUG)
    env = secret_env(acme, account)
    texts: list[str] = []
    never = {"/bin/true": {"provider": "exec", "command": ["/bin/true"],
                           "propagation_timeout": 1,
                           "nameservers": [f"127.0.0.1:{acme.dns_port}"]}}
    with_acme_issuer(desired, acme, never["/bin/true"])
    x155(lab)
    failed = await apply(lab, desired, env)
    assert failed.result is not None and not failed.result.ok
    texts += [plan_json(failed.plan), apply_json(failed.result), *apply_errors(failed.result)]
    assert "stays recorded in .certops/orders/pebble/expe1.json" in " ".join(texts)
    texts += [p.read_text() for p in (desired / ".certops").rglob("*.json")]
    config = desired / "certops.yaml"
    config.write_text(config.read_text().replace(json.dumps(never["/bin/true"]),
                                                 json.dumps(rfc2136(acme))))
    done = await apply(lab, desired, env)
    assert done.result is not None and done.result.ok
    texts += [plan_json(done.plan), apply_json(done.result)]
    assert "ACME order https://127.0.0.1" in apply_json(done.result)
    texts += [p.read_text(errors="replace") for p in desired.rglob("*") if p.is_file()]
    out = capsys.readouterr()
    texts += [caplog.text, out.out, out.err]
    assert "POST" in caplog.text  # the acme library's debug log was captured
    everything = "\n".join(texts)
    key_lines = [line for line in account.splitlines() if "-----" not in line]
    for secret in (*key_lines, env["DNS_TSIG_SECRET"], env["ACME_EAB_HMAC_KEY"]):
        assert secret not in everything
