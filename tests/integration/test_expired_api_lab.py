"""A node whose served (API) certificate has expired, end to end on the HTTPS lab.

TLS verification refuses the node's API once its certificate has expired. certops reads and
repairs it only under a pin the committed desired state records (here ``certs/expe1.pem``,
as certops writes it when it installs an issued certificate), after checking the chain and
the name at a moment inside the certificate's validity; without one it sends no
credentials and names the manual step.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet import apply_args, certops, served

from reconciler.lab import LabThread, start_lab
from reconciler.lab.ca import cert_pem, load_or_create_pki
from reconciler.lab.topology import CertSpec, example_topology


@pytest.fixture(params=["expe1", "cucm-pub"])
def expired(request: pytest.FixtureRequest) -> str:
    """The node whose API certificate has expired: an Expressway (its server certificate)
    or a Unified CM (the Tomcat identity that serves its REST API)."""
    return str(request.param)


@pytest.fixture
def expired_lab(tmp_path: Path, expired: str) -> Iterator[LabThread]:
    """The example lab with ``expired`` serving a certificate that expired two days ago."""
    topology = example_topology()
    for node in topology.nodes:
        if node.name == expired:
            node.certificate = CertSpec(ca="new", days_left=-2, lifetime_days=90)
    with start_lab(tmp_path / "lab", topology=topology, restart_seconds=0.2) as running:
        yield running


def _with_issuer(desired: Path, lab_dir: Path, name: str) -> None:
    """``name``'s certificate comes from a command CA (the lab's new CA, a year's
    lifetime)."""
    run = [sys.executable, "-m", "reconciler.lab.soak_issuer", "--lab", str(lab_dir),
           "--lifetime", str(365 * 86400)]
    pki = load_or_create_pki(lab_dir / "ca")
    (desired / "cas" / "lab-root.pem").write_text(cert_pem(pki.root.cert))
    (desired / "cas" / "lab-new.pem").write_text(cert_pem(pki.issuing["new"].cert))
    config = desired / "certops.yaml"
    config.write_text(config.read_text() + "issuers:\n  lab:\n    type: command\n"
                      f"    run: {run!r}\n".replace("'", '"')
                      + "    ca_files: [cas/lab-root.pem, cas/lab-new.pem]\n")
    node = desired / "nodes" / f"{name}.yaml"
    node.write_text(node.read_text().replace("server_certificate:",
                                             "server_certificate:\n  issuer: lab", 1))


def test_an_expired_pinned_api_certificate_is_renewed_by_one_apply(
    expired_lab: LabThread, desired: Path, tmp_path: Path, expired: str
) -> None:
    inventory = Path(expired_lab.lab.paths.inventory)
    _with_issuer(desired, tmp_path / "lab", expired)
    old = served(expired_lab, expired)
    (desired / "certs" / f"{expired}.pem").write_text(
        expired_lab.lab.nodes[expired].state.served.cert_pem)
    code, out = certops("drift", str(desired), "--inventory", str(inventory))
    assert code != 0 and "node.api_cert_expired" in out, out
    code, out = certops(*apply_args(desired, inventory, "--node", expired))
    assert code == 0, out
    assert "node.api_cert_expired" in out
    new = served(expired_lab, expired)
    assert new.serial_number != old.serial_number
    assert new.not_valid_after_utc > old.not_valid_after_utc
    # recovered: the next plan reads it with ordinary verification and has no renewal left
    # for it (the lab's Unified CM also expired its other identities: their own business)
    code, out = certops("plan", str(desired), "--inventory", str(inventory), "--node", expired,
                        "--format", "json")
    assert code == 0 and "node.api_cert_expired" not in out, out
    assert not [a for a in json.loads(out)["actions"]
                if a["kind"] in ("cert.issue", "cert.install") and not a.get("role")], out


def test_an_expired_unpinned_api_certificate_is_not_contacted(
    expired_lab: LabThread, desired: Path, expired: str
) -> None:
    """The served leaf is unknown to the desired state: no credentials, a clear finding,
    and plan, apply and drift exit 1 naming the node and the manual step."""
    inventory = Path(expired_lab.lab.paths.inventory)
    expired_lab.reset_counters()
    for command in (("plan",), ("drift",), apply_args(desired, inventory)[:1]):
        extra = ["--auto-approve"] if command[0] == "apply" else []
        code, out = certops(*command, str(desired), "--inventory", str(inventory), *extra)
        assert code == 1, (command, out)
        assert f"{expired} could not be read" in out and "recovery_pins" in out, (command, out)
        assert command[0] == "drift" or f"Not read: {expired}" in out, (command, out)
    assert expired_lab.counters(expired)["total"] == 0
