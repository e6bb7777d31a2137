"""``certops lab`` commands: sign, fault, up --detach / status / down; fleets; example lab."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from ruamel.yaml import YAML
from typer.testing import CliRunner

from reconciler.lab import start_lab
from reconciler.lab.ca import key_pem, load_certs, make_csr, new_key
from reconciler.lab.cli import app
from reconciler.lab.files import LabPaths
from reconciler.lab.state import load_node

pytestmark = pytest.mark.lab
REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _csr(tmp_path: Path) -> Path:
    key = new_key()
    csr = make_csr(key, "expe1.nart.com", ["join.nart.com", "meet.nart.com"])
    path = tmp_path / "expe1.csr"
    from cryptography.hazmat.primitives.serialization import Encoding

    path.write_bytes(csr.public_bytes(Encoding.PEM))
    (tmp_path / "unused.key").write_text(key_pem(key))
    return path


def _ekus(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def _sans(cert: x509.Certificate) -> set[str]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(ext.get_values_for_type(x509.DNSName))


def test_sign(tmp_path: Path) -> None:
    csr, lab_dir = _csr(tmp_path), tmp_path / "lab"
    out = tmp_path / "full.pem"
    res = runner.invoke(app, ["sign", str(csr), "--ca", "new", "--out", str(out),
                              "--dir", str(lab_dir), "--days", "90"])
    assert res.exit_code == 0, res.output
    leaf, issuing, root = load_certs(out.read_text())
    assert leaf.issuer == issuing.subject and issuing.issuer == root.subject
    assert root.issuer == root.subject
    assert "New" in issuing.subject.rfc4514_string()
    assert _ekus(leaf) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert _sans(leaf) == {"expe1.nart.com", "join.nart.com", "meet.nart.com"}
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days == 90
    leaf.verify_directly_issued_by(issuing)

    bad = tmp_path / "bad.pem"
    res = runner.invoke(app, ["sign", str(csr), "--ca", "old", "--out", str(bad), "--dir",
                              str(lab_dir), "--no-client-auth", "--drop-san", "meet.nart.com",
                              "--leaf-only"])
    assert res.exit_code == 0, res.output
    (only,) = load_certs(bad.read_text())
    assert _ekus(only) == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert _sans(only) == {"expe1.nart.com", "join.nart.com"}
    assert "Old" in only.issuer.rfc4514_string()
    # old and new differ in Authority Key Identifier
    aki = x509.AuthorityKeyIdentifier
    assert (leaf.extensions.get_extension_for_class(aki).value.key_identifier
            != only.extensions.get_extension_for_class(aki).value.key_identifier)
    assert runner.invoke(app, ["sign", str(csr), "--ca", "mid", "--out", str(bad),
                               "--dir", str(lab_dir)]).exit_code == 1


def test_fault_command_on_a_stopped_lab(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    with start_lab(lab_dir, restart_seconds=0.2, builtin_cas=50):
        pass
    res = runner.invoke(app, ["fault", "expe1", "--dir", str(lab_dir), "--status", "503",
                              "--count", "2", "--endpoint", "sysinfo"])
    assert res.exit_code == 0, res.output
    state = load_node(LabPaths(lab_dir), "expe1")
    assert state is not None and state.faults[0].status == 503
    assert runner.invoke(app, ["fault", "expe1", "--dir", str(lab_dir), "--clear"]).exit_code == 0


def test_example_lab_is_due_for_renewal(tmp_path: Path) -> None:
    with start_lab(tmp_path / "lab", restart_seconds=0.2, builtin_cas=50) as lab:
        inv = YAML(typ="safe").load((tmp_path / "lab" / "inventory.yaml").read_text())
        assert set(inv["nodes"]) == {"expe1", "expc1", "cucm-pub"}
        assert inv["nodes"]["cucm-pub"]["type"] == "cucm" and inv["nodes"]["cucm-pub"]["ssh"]
        assert Path(inv["ca_bundle"]).exists()
        for name, info in inv["nodes"].items():
            path = ("/api/provisioning/sysinfo" if name != "cucm-pub" else
                    "/platformcom/api/v1/certmgr/config/snapshot/server")
            ctx = ssl.create_default_context(cafile=inv["ca_bundle"])
            with httpx.Client(verify=ctx, auth=(info["username"], info["password"])) as c:
                r = c.get(info["api"] + path,
                          extensions={"sni_hostname": info["tls_server_name"]})
            assert r.status_code == 200
        leaf = load_certs(lab.node("expe1").state.served.cert_pem)[0]
        left = leaf.not_valid_after_utc - datetime.now(UTC)
        assert 15 < left.days < 30
        assert "Old" in leaf.issuer.rfc4514_string()
        assert {"expe.nart.com", "guest.vngtpres.aca", "nart.com", "expe1.nart.com"} <= _sans(leaf)
        cucm = lab.node("cucm-pub").state
        assert len(cucm.trust["tomcat"]) == 2 and len(cucm.trust["callmanager"]) == 2


def test_synthetic_fleet_of_20(tmp_path: Path) -> None:
    with start_lab(tmp_path / "lab", nodes=20, restart_seconds=0.2, builtin_cas=50) as lab:
        assert len(lab.lab.nodes) == 20
        types = {n.state.type for n in lab.lab.nodes.values()}
        assert types == {"expressway-c", "expressway-e", "cucm"}
        ports = {lab.lab.listeners[n].port for n in lab.lab.nodes}
        assert len(ports) == 20
        for name, node in lab.lab.nodes.items():
            r = httpx.get(lab.url(name) + "/api/provisioning/sysinfo", verify=False,
                          auth=(node.username, node.password))
            assert r.status_code == (404 if node.state.is_vos else 200)


def _port_free(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def test_up_detach_status_down(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "reconciler.lab.cli"]
    t0 = time.monotonic()
    up = subprocess.run([*cli, "up", "--detach", "--dir", str(lab_dir), "--nodes", "6",
                         "--restart-seconds", "0.2", "--builtin-cas", "50"],
                        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    try:
        assert up.returncode == 0, up.stderr + up.stdout
        assert "https://127.0.0.1:" in up.stdout
        assert time.monotonic() - t0 < 30
        inv = YAML(typ="safe").load((lab_dir / "inventory.yaml").read_text())
        assert len(inv["nodes"]) == 6
        again = subprocess.run([*cli, "up", "--detach", "--dir", str(lab_dir)],
                               capture_output=True, text=True, env=env, timeout=30)
        assert again.returncode == 1  # already running
        fault = subprocess.run([*cli, "fault", "expe-001", "--dir", str(lab_dir),
                                "--endpoint", "sysinfo", "--status", "503", "--count", "1"],
                               capture_output=True, text=True, env=env, timeout=30)
        assert "running lab" in fault.stdout
        info = inv["nodes"]["expe-001"]
        r = httpx.get(info["api"] + "/api/provisioning/sysinfo", verify=False,
                      auth=(info["username"], info["password"]))
        assert r.status_code == 503
        st = subprocess.run([*cli, "status", "--dir", str(lab_dir)], capture_output=True,
                            text=True, env=env, timeout=30)
        assert st.returncode == 0 and "expe-001" in st.stdout and "cucm-002" in st.stdout
    finally:
        down = subprocess.run([*cli, "down", "--dir", str(lab_dir)], capture_output=True,
                              text=True, env=env, timeout=30)
    assert down.returncode == 0 and "stopped" in down.stdout
    ports = [int(n["api"].rsplit(":", 1)[1]) for n in inv["nodes"].values()]
    assert all(_port_free(p) for p in ports)
    st = subprocess.run([*cli, "status", "--dir", str(lab_dir)], capture_output=True,
                        text=True, env=env, timeout=30)
    assert st.returncode == 1


def test_topology_yaml(tmp_path: Path) -> None:
    from reconciler.lab.topology import load_topology

    path = tmp_path / "topo.yaml"
    path.write_text(
        "defaults: {restart_seconds: 0.2, builtin_cas: 60, key: ec256}\n"
        "nodes:\n"
        "  - name: e1\n    type: expressway-e\n    fqdn: e1.example.com\n"
        "    sans: [join.example.com]\n    links: [c1]\n    version: X14.3.1\n"
        "    certificate: {ca: new, days_left: 5}\n"
        "    faults: [{match: restart, status: 503, count: 1}]\n"
        "  - name: c1\n    type: expressway-c\n    links: [e1]\n"
        "  - name: u1\n    type: cucm\n    version: 12.5.1.16900-48\n    trust_list_shape: list\n"
    )
    topo = load_topology(path)
    with start_lab(tmp_path / "lab", topology=topo) as lab:
        e1 = lab.node("e1").state
        leaf = load_certs(e1.served.cert_pem)[0]
        assert "New" in leaf.issuer.rfc4514_string()
        assert (leaf.not_valid_after_utc - datetime.now(UTC)).days == 4
        assert e1.version == "X14.3.1" and e1.faults[0].status == 503
        assert lab.node("u1").state.builtin_cas == 60
    bad = tmp_path / "bad.yaml"
    bad.write_text("nodes:\n  - name: x\n    type: router\n")
    with pytest.raises(ValueError):
        load_topology(bad)


def test_every_lab_option_has_help_text() -> None:
    """Each option of every `certops lab` command says what it does in --help."""
    import typer.main

    from reconciler.lab.cli import app

    group = typer.main.get_command(app)
    commands = getattr(group, "commands", {})
    assert {"up", "down", "sign", "fault"} <= set(commands)
    for name, command in commands.items():
        for param in command.params:
            if param.param_type_name == "option":
                assert getattr(param, "help", None), f"certops lab {name} {param.opts[0]}: no help"


def test_sign_public_profile_is_server_auth_only(tmp_path: Path) -> None:
    """The lab's enterprise CA stays private (both EKUs); ``--profile public`` signs as a
    public CA of 2027 does: serverAuth only."""
    csr, lab_dir, out = _csr(tmp_path), tmp_path / "lab", tmp_path / "public.pem"
    res = runner.invoke(app, ["sign", str(csr), "--ca", "new", "--out", str(out),
                              "--dir", str(lab_dir), "--profile", "public"])
    assert res.exit_code == 0, res.output
    assert _ekus(load_certs(out.read_text())[0]) == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert runner.invoke(app, ["sign", str(csr), "--out", str(out), "--dir", str(lab_dir),
                               "--profile", "webpki"]).exit_code == 1
