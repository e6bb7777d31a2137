"""EKU reality on the in-process lab: an issuer whose certificates lack clientAuth.

Plan time: the issuer's declared ``eku`` and the node's live version (the kind's
``needs_client_auth``) give ``issuer.no_client_auth`` before anything is asked of a CA.
Apply time: the re-check of the issued certificate demands clientAuth exactly where the
kind needs it. The CA is ``openssl ca`` with a serverAuth-only profile.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from unitkit import apply as unitkit_apply
from unitkit import plan, served

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "issuers"))
from openssl_ca import OpensslCa, have_openssl, make_openssl_ca

from reconciler.kinds import kind_of
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Code, Severity

pytestmark = pytest.mark.skipif(not have_openssl(), reason="openssl is not installed")


def name_issuer(root: Path, ca: OpensslCa, eku: str, node: str = "expe1") -> None:
    """``node`` names the command issuer ``corp`` declaring ``eku``."""
    (root / "cas" / "corp-root.pem").write_bytes(ca.root_pem.read_bytes())
    with (root / "certops.yaml").open("a") as out:
        out.write(f"issuers:\n  corp:\n    type: command\n    run: [{ca.sign}]\n"
                  f"    ca_files: [cas/corp-root.pem]\n    eku: {eku}\n")
    path = root / "nodes" / f"{node}.yaml"
    path.write_text(path.read_text().replace("server_certificate:",
                                             "server_certificate:\n  issuer: corp", 1))


def codes(run_plan: object) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in run_plan.findings:  # type: ignore[attr-defined]
        out.setdefault(f.code, []).append(f.message)
    return out


async def test_x15_0_is_blocked_at_plan_naming_the_links(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    name_issuer(desired, make_openssl_ca(tmp_path / "ca", client_auth=False), "[serverAuth]")
    run, _ = await plan(lab, desired)
    found = [f for f in run.plan.findings if f.code == Code.ISSUER_NO_CLIENT_AUTH]
    assert len(found) == 1 and found[0].severity is Severity.ERROR
    assert "expe1 -> expc1" in found[0].message and "X15.0" in found[0].message
    assert run.plan.blocked


async def test_x15_5_splits_server_and_client_certificates_so_it_is_allowed(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """Planned, issued without clientAuth, re-checked without demanding it, installed."""
    name_issuer(desired, make_openssl_ca(tmp_path / "ca", client_auth=False), "[serverAuth]")
    lab.nodes["expe1"].state.version = "X15.5.2"
    run, result = await unitkit_apply(lab, desired)
    assert Code.ISSUER_NO_CLIENT_AUTH not in codes(run.plan)
    assert result is not None and result.ok, [r.detail for r in result.results]
    eku = served(lab, "expe1").extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]


async def test_a_ca_that_drops_client_auth_despite_its_declaration_is_caught_at_apply(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """Declared [serverAuth, clientAuth], issued serverAuth only, node X15.0: not installed."""
    ca = make_openssl_ca(tmp_path / "ca", client_auth=False)
    name_issuer(desired, ca, "[serverAuth, clientAuth]")
    before = served(lab, "expe1").serial_number
    _, result = await unitkit_apply(lab, desired)
    assert result is not None and not result.ok
    detail = {r.id: r.detail for r in result.results}["expe1/cert.issue"]
    assert "not installed" in detail and "TLS Web Client Authentication" in detail
    assert served(lab, "expe1").serial_number == before


async def test_the_unified_cm_always_needs_client_auth(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    name_issuer(desired, make_openssl_ca(tmp_path / "ca", client_auth=False), "[serverAuth]",
                node="cucm-pub")
    run, _ = await plan(lab, desired)
    assert any("cucm-pub -> expc1" in m for m in codes(run.plan)[Code.ISSUER_NO_CLIENT_AUTH])


def test_version_parsing_is_conservative() -> None:
    kind = kind_of("expressway-e")
    assert kind.needs_client_auth("X15.0.2") and kind.needs_client_auth("X14.3")
    assert not kind.needs_client_auth("X15.5") and not kind.needs_client_auth("X16.1.1")
    assert kind.needs_client_auth(None) and kind.needs_client_auth("garbage")
    assert kind_of("cucm").needs_client_auth("15.0.1")


async def test_expressway_acme_is_a_manual_step_after_the_trust(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    ca = make_openssl_ca(tmp_path / "ca")
    (desired / "cas" / "le-root.pem").write_bytes(ca.root_pem.read_bytes())
    with (desired / "certops.yaml").open("a") as out:
        out.write("issuers:\n  box:\n    type: expressway-acme\n"
                  "    ca_files: [cas/le-root.pem]\n")
    lab.nodes["expe1"].state.version = "X15.5.1"
    for node in ("expe1", "expc1"):
        path = desired / "nodes" / f"{node}.yaml"
        path.write_text(path.read_text().replace("server_certificate:",
                                                 "server_certificate:\n  issuer: box", 1))
    run, _ = await plan(lab, desired)
    by_id = {a.id: a for a in run.plan.actions}
    manual = by_id["expe1/cert.issue"]
    assert manual.kind == "manual" and manual.manual is not None
    assert "Maintenance > Security > ACME certificate" in manual.manual
    assert any(d.startswith("expe1/trust.add") for d in manual.depends_on)
    assert not any(a.node == "expe1" and a.kind == "node.restart" for a in run.plan.actions)
    errors = codes(run.plan)[Code.ISSUER_BUILTIN_ACME]
    assert any("Expressway-C does not have" in m for m in errors)  # expc1 has no such client
