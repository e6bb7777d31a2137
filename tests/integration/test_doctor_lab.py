"""``certops doctor`` over real HTTPS and SSH on the lab (issue 11 f, "done when").

Green against the lab; with a wrong password, an unpinned SSH host key and an untrusted API
certificate it names each problem and its fix, exits 1, and sends no request but GETs.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fleet import certops
from ruamel.yaml import YAML

from reconciler.lab import LabThread


def stranger_ca() -> str:
    """A CA that issued nothing the lab serves."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Stranger Root")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(datetime.datetime(2025, 1, 1))
            .not_valid_after(datetime.datetime(2035, 1, 1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def test_doctor_green_on_the_lab(lab: LabThread, desired: Path, inventory: Path) -> None:
    lab.reset_counters()
    code, out = certops("doctor", str(desired), "--inventory", str(inventory))
    assert code == 0, out
    assert "[FAIL]" not in out and "ssh host key: pinned" in out
    assert all(lab.counters(n)["non_get"] == 0 for n in ("expe1", "expc1", "cucm-pub"))


def test_doctor_names_each_problem_and_fix(lab: LabThread, desired: Path, inventory: Path,
                                           tmp_path: Path) -> None:
    yaml = YAML()
    data = yaml.load(inventory.read_text())
    data["nodes"]["expe1"]["password"] = "not-the-password"
    data["nodes"]["cucm-pub"].pop("ssh_host_key", None)
    bad = tmp_path / "inventory.yaml"
    (desired / "cas" / "stranger.pem").write_text(stranger_ca())
    node = desired / "nodes" / "expc1.yaml"
    node.write_text(node.read_text() + "connection:\n  ca_file: ../cas/stranger.pem\n")
    data["ca_bundle"] = str(lab.lab.paths.ca_bundle)  # absolute: the copy lives elsewhere
    with bad.open("w") as fh:
        yaml.dump(data, fh)
    lab.reset_counters()
    code, out = certops("doctor", str(desired), "--inventory", str(bad))
    assert code == 1, out
    assert "expe1:" in out and "[FAIL] authentication" in out and "password" in out
    assert "[FAIL] tls" in out and "connection.api_pins: ['sha256:" in out
    assert "[FAIL] ssh host key" in out and "connection.ssh_host_key: '" in out
    assert "not-the-password" not in out
    assert all(lab.counters(n)["non_get"] == 0 for n in ("expe1", "expc1", "cucm-pub"))
