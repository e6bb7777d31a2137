"""``certops doctor`` over real HTTPS and SSH on the lab (issue 11 f, "done when").

Green against the lab; with a wrong OS password, a wrong application password, an unpinned
SSH host key and an untrusted API certificate it names each problem and its fix, exits 1,
and writes nothing to any node (the lab's ``writes`` counter: every request but GETs and the
read-only SOAP status query; and no REST request but GET, from ``--record``).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fleet import certops
from ruamel.yaml import YAML

from reconciler.drivers.cucm import API, READ_ONLY_SOAP
from reconciler.lab import LabThread

NODES = ("expe1", "expc1", "cucm-pub")


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


def nothing_written(lab: LabThread, record: Path) -> None:
    """Zero writes on every node; the only non-GET requests are SOAP status queries."""
    assert all(lab.counters(n)["writes"] == 0 for n in NODES), {
        n: lab.counters(n) for n in NODES}
    for file in record.glob("*.json"):
        for exchange in json.loads(file.read_text())["exchanges"]:
            r = exchange["request"]
            assert r["method"] == "GET" or (r["path"] == API["soap"][1]
                                            and r["headers"]["soapaction"] in READ_ONLY_SOAP)


def test_doctor_green_on_the_lab(lab: LabThread, desired: Path, inventory: Path,
                                 tmp_path: Path) -> None:
    lab.reset_counters()
    code, out = certops("doctor", str(desired), "--inventory", str(inventory),
                        "--record", str(tmp_path / "rec"))
    assert code == 0, out
    assert "[FAIL]" not in out and "ssh host key: pinned" in out
    assert "ssh login: admin logged in; show version active: " in out
    assert "[ ok ] authentication (SOAP): ccmadmin is accepted" in out
    assert "[ ok ] capability service.restart: ready" in out
    nothing_written(lab, tmp_path / "rec")
    assert lab.counters("cucm-pub")["non_get"] >= 1  # the SOAP status query: a read


def bad_inventory(lab: LabThread, inventory: Path, folder: Path, **cucm: Any) -> Path:
    """The lab's inventory with cucm-pub's entry changed (None: the key removed)."""
    yaml = YAML()
    data = yaml.load(inventory.read_text())
    for key, value in cucm.items():
        if value is None:
            data["nodes"]["cucm-pub"].pop(key, None)
        else:
            data["nodes"]["cucm-pub"][key] = value
    data["nodes"]["expe1"]["password"] = "not-the-password"
    data["ca_bundle"] = str(lab.lab.paths.ca_bundle)  # absolute: the copy lives elsewhere
    bad = folder / "inventory.yaml"
    with bad.open("w") as fh:
        yaml.dump(data, fh)
    return bad


def distrust_expc1(desired: Path) -> None:
    (desired / "cas" / "stranger.pem").write_text(stranger_ca())
    node = desired / "nodes" / "expc1.yaml"
    node.write_text(node.read_text() + "connection:\n  ca_file: ../cas/stranger.pem\n")


def run_doctor(lab: LabThread, desired: Path, inventory: Path, record: Path) -> str:
    lab.reset_counters()
    code, out = certops("doctor", str(desired), "--inventory", str(inventory),
                        "--record", str(record))
    assert code == 1, out
    assert "not-the-password" not in out and "not-the-app-password" not in out
    nothing_written(lab, record)
    return out


def test_doctor_names_each_problem_and_fix(lab: LabThread, desired: Path, inventory: Path,
                                           tmp_path: Path) -> None:
    """Wrong OS and application passwords on cucm-pub, a wrong password on expe1 and an
    untrusted API certificate on expc1: each named with its fix."""
    distrust_expc1(desired)
    bad = bad_inventory(lab, inventory, tmp_path, password="not-the-password",
                        app_password="not-the-app-password")
    out = run_doctor(lab, desired, bad, tmp_path / "rec")
    assert "expe1:" in out and "[FAIL] authentication (REST)" in out and "password" in out
    assert "[FAIL] tls" in out and "connection.api_pins: ['sha256:" in out
    assert "[FAIL] ssh login: the CLI refused admin's login" in out
    assert "fix: check the password of the OS administrator admin" in out
    assert "[FAIL] authentication (SOAP): SOAP refused ccmadmin" in out
    assert "fix: check the password of the application user ccmadmin" in out
    assert "capability service.restart: NOT READY" in out


def test_doctor_names_an_unpinned_ssh_host_key(lab: LabThread, desired: Path,
                                               inventory: Path, tmp_path: Path) -> None:
    bad = bad_inventory(lab, inventory, tmp_path, ssh_host_key=None)
    out = run_doctor(lab, desired, bad, tmp_path / "rec")
    assert "[FAIL] ssh host key" in out and "is not pinned" in out
    assert "fix: check it on the console (show ssh host key), then set " in out
    assert "connection.ssh_host_key: '" in out
    assert "ssh login: not tried" in out and lab.counters("cucm-pub")["SSH"] == 0
    assert "[ ok ] authentication (SOAP)" in out  # the other account is still checked


def test_doctor_names_a_changed_ssh_host_key(lab: LabThread, desired: Path,
                                             inventory: Path, tmp_path: Path) -> None:
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2hd3f0yb+8sVbKfT3tTGTFzMGUm1vMNfJtDbFjVAYF"
    bad = bad_inventory(lab, inventory, tmp_path, ssh_host_key=other)
    out = run_doctor(lab, desired, bad, tmp_path / "rec")
    assert "does not match the pinned key" in out and "connection.ssh_host_key: '" in out
    assert lab.counters("cucm-pub")["SSH"] == 0
