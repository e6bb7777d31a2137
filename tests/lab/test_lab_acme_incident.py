"""``certops lab ari`` / ``revoke`` / ``crl``: staging an ACME CA incident on the lab CA's
files (no server needed: the server answers from the same files)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from reconciler.lab.acme_a2c import A2cCa
from reconciler.lab.ca import sha256_hex
from reconciler.lab.cli import app
from reconciler.lab.served_revoked import revoked_seconds
from reconciler.pki.ari import cert_id


def leaf_of(ca: A2cCa, tmp: Path, name: str) -> tuple[Path, x509.Certificate]:
    """A leaf signed by the lab CA's issuing key, written to ``tmp/name.pem``."""
    from cryptography.hazmat.primitives import serialization

    issuing = x509.load_pem_x509_certificate((ca.ca_dir / "issuing.pem").read_bytes())
    key = serialization.load_pem_private_key((ca.ca_dir / "issuing.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    now = datetime.now(UTC)
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(issuing.subject).public_key(ec.generate_private_key(
                ec.SECP256R1()).public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + timedelta(days=47))
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    path = tmp / f"{name}.pem"
    path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return path, leaf


def test_served_revoked_seconds_from_the_timeline() -> None:
    """A node up serving a revoked leaf counts from the revocation's moment to the sample
    that shows it replaced; down time and another leaf do not count."""
    samples = [
        {"node": "expe1", "wall": 100.0, "up": True, "served_sha": "old"},
        {"node": "expc1", "wall": 100.0, "up": True, "served_sha": "c-old"},
        {"node": "expe1", "wall": 150.0, "up": False, "served_sha": "old"},  # restarting
        {"node": "expe1", "wall": 155.0, "up": True, "served_sha": "old"},   # same again
        {"node": "expe1", "wall": 170.0, "up": True, "served_sha": "new"},
        {"node": "expc1", "wall": 110.0, "up": True, "served_sha": "c-new"},
    ]
    revoked = {"old": 140.0, "c-old": 120.0, "never-served": 0.0}
    assert revoked_seconds(samples, revoked, end=300.0) == {"expe1": 25.0}  # 140-150, 155-170
    assert revoked_seconds(samples[:1], revoked, end=160.0) == {"expe1": 20.0}
    assert revoked_seconds(samples, {}, end=300.0) == {}


def test_ari_now_then_revoke_with_notice_then_the_crl(tmp_path: Path) -> None:
    acme = tmp_path / "lab" / "acme"
    ca = A2cCa(acme)
    ca.write(port=1, dns_port=2, tls_dir=tmp_path)
    one, first = leaf_of(ca, tmp_path, "a.example")
    two, second = leaf_of(ca, tmp_path, "b.example")
    runner = CliRunner()
    moved = runner.invoke(app, ["ari", "--dir", str(tmp_path / "lab"), "--cert", str(one),
                                "--now"])
    assert moved.exit_code == 0, moved.output
    window = ca.overrides()[cert_id(first) or ""]
    start = datetime.fromisoformat(window["suggestedWindow"]["start"].replace("Z", "+00:00"))
    assert start <= datetime.now(UTC)
    revoked = runner.invoke(app, ["ari", "--dir", str(tmp_path / "lab"), "--cert", str(one)])
    assert revoked.exit_code == 1 and "give --now" in revoked.output
    notice = runner.invoke(app, ["revoke", "--acme-dir", str(acme), "--cert", str(one),
                                 "--cert", str(two), "--notice", "24h"])
    assert notice.exit_code == 0, notice.output
    assert set(ca.overrides()) == {cert_id(first), cert_id(second)}
    crl = x509.load_pem_x509_crl((ca.ca_dir / "issuing.crl").read_bytes())
    assert len(list(crl)) == 0  # 24 hours of notice: not on the CRL yet
    assert ca.publish_due(datetime.now(UTC) + timedelta(hours=25)) == 2
    crl = x509.load_pem_x509_crl((ca.ca_dir / "issuing.crl").read_bytes())
    assert {r.serial_number for r in crl} == {first.serial_number, second.serial_number}
    bad = runner.invoke(app, ["revoke", "--acme-dir", str(acme), "--cert", str(one),
                              "--notice", "soon"])
    assert bad.exit_code == 1 and "'soon'" in bad.output
    assert json.loads((acme / "revocations.json").read_text())[0]["reason"] == "superseded"
    # the CA's own record of what it revoked and when, for the timeline's served-revoked count
    effect = ca.revocations()
    assert set(effect) == {sha256_hex(first), sha256_hex(second)}
    assert abs(effect[sha256_hex(first)] - (datetime.now(UTC) + timedelta(hours=24)
                                             ).timestamp()) < 60
