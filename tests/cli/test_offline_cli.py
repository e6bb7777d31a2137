"""End-to-end tests of the offline commands: validate, inspect, verify, schema."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from reconciler.cli.app import build_app

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "desired-state"
SCEN = REPO / "tests" / "scenarios"
AT = "2026-11-26T00:00:00Z"
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(build_app(), list(args))
    return result.exit_code, result.output


@pytest.fixture
def example(tmp_path: Path) -> Path:
    dst = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, dst)
    return dst


def test_example_is_valid() -> None:
    code, out = run("validate", str(EXAMPLE), "--at", AT)
    assert code == 0, out
    assert "valid: 3 nodes" in out


def test_one_bad_node_file_counts_every_node(example: Path) -> None:
    """A 3-node fleet with one broken file says 3 nodes, 1 unusable (not 'INVALID: 2 nodes')."""
    node = example / "nodes" / "expe1.yaml"
    node.write_text(node.read_text().replace("type: expressway-e", "type: expressway-x"))
    code, out = run("validate", str(example), "--at", AT)
    assert code == 1
    assert "INVALID: 3 nodes (1 unusable)" in out, out


def test_example_json() -> None:
    code, out = run("validate", str(EXAMPLE), "--format", "json", "--at", AT)
    data = json.loads(out)
    assert code == 0 and data["valid"] is True
    assert sorted(data["nodes"]) == ["cucm-pub", "expc1", "expe1"]


@pytest.mark.parametrize(
    ("file", "old", "new", "where", "code"),
    [
        (
            "nodes/expe1.yaml",
            "type: expressway-e",
            "type: expressway-x",
            "nodes/expe1.yaml:3:7",
            "input.schema",
        ),
        (
            "nodes/expe1.yaml",
            "labels: {site: dc1, role: edge}",
            "lables: {site: dc1}",
            "nodes/expe1.yaml:5:1",
            "input.schema",
        ),
        (
            "nodes/expc1.yaml",
            "  renew_before: 30d",
            "  renew_before: soon",
            "nodes/expc1.yaml:13:17",
            "input.schema",
        ),
        (
            "nodes/expc1.yaml",
            "trust: []",
            "trust: [../cas/missing.pem]",
            "nodes/expc1.yaml:14:9",
            "input.file_missing",
        ),
        (
            "certops.yaml",
            "  - [expc1, expe1]",
            "  - [expc1, expe9]",
            "certops.yaml:11:13",
            "link.unknown_node",
        ),
        (
            "certops.yaml",
            "  derive_trust: true",
            "  derive_trust: 12",
            "certops.yaml:16:17",
            "input.schema",
        ),
        (
            "nodes/cucm-pub.yaml",
            "name: cucm-pub",
            "name: cucm-pub\nname: again",
            "nodes/cucm-pub.yaml:3:1",
            "input.yaml",
        ),
    ],
)
def test_broken_variants_name_file_line_col(
    example: Path, file: str, old: str, new: str, where: str, code: str
) -> None:
    path = example / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    rc, out = run("validate", str(example), "--at", AT)
    assert rc == 1, out
    expected = f"{example}/{where}"
    lines = [ln for ln in out.splitlines() if f"[{code}]" in ln]
    assert any(ln.startswith(expected + ":") for ln in lines), out


def test_private_key_is_refused_and_never_printed(example: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (example / "certs" / "expe1.key").write_bytes(pem)
    rc, out = run("validate", str(example), "--at", AT)
    assert rc == 1
    assert "repo.private_key" in out and "expe1.key" in out
    body = b"".join(pem.splitlines()[1:-1]).decode()
    assert body[:40] not in out.replace("\n", "")


def test_several_problems_in_several_files_at_once(example: Path) -> None:
    (example / "nodes" / "expe1.yaml").write_text(
        (example / "nodes" / "expe1.yaml").read_text().replace("type: expressway-e", "type: 7")
    )
    (example / "nodes" / "expc1.yaml").write_text(
        (example / "nodes" / "expc1.yaml").read_text() + "bogus: 1\n"
    )
    (example / "cas" / "junk.pem").write_text("not a certificate\n")
    rc, out = run("validate", str(example), "--at", AT)
    assert rc == 1
    assert "nodes/expe1.yaml:" in out and "nodes/expc1.yaml:" in out and "cas/junk.pem" in out


def test_inspect_chain_and_csr() -> None:
    cert = SCEN / "new-ca-valid" / "desired" / "certs" / "expe1.pem"
    csr = SCEN / "csr-mismatch" / "desired" / "csrs" / "expe1.csr.pem"
    rc, out = run("inspect", str(cert), str(csr), "--at", AT)
    assert rc == 0, out
    assert "3 certificates" in out
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in out
    assert "guest.vngtpres.aca" in out and "certificate signing request" in out
    assert re.search(r"SHA-256:\s+([0-9A-F]{2}:){31}[0-9A-F]{2}", out)
    rc, out = run("inspect", str(cert), "--format", "json", "--at", AT)
    data = json.loads(out)
    assert [o["basic_constraints"]["ca"] for o in data[0]["objects"]] == [False, True, True]
    assert data[0]["objects"][0]["subject_alt_names"]["dns"][0] == "expe.nart.com"


def test_inspect_refuses_garbage_and_keys(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    rc, out = run("inspect", str(junk))
    assert rc == 1 and "junk.pem" in out


def _verify(case: str, *extra: str) -> tuple[int, dict[str, object]]:
    d = SCEN / case / "desired"
    rc, out = run(
        "verify",
        str(d / "certs" / "expe1.pem"),
        "--ca",
        str(d / "cas" / "lab-root.pem"),
        "--intermediate",
        str(d / "cas" / "issuing-new.pem"),
        "--intermediate",
        str(d / "cas" / "issuing-old.pem"),
        "--format",
        "json",
        *extra,
    )
    return rc, json.loads(out)


def test_verify_good_chain() -> None:
    rc, data = _verify("new-ca-valid", "--name", "meet.nart.com", "--at", AT)
    assert rc == 0 and data["valid"] is True, data
    assert len(data["chain"]) == 3  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "extra", "code"),
    [
        ("no-client-auth", ("--at", AT), "eku.missing"),
        ("new-ca-valid", ("--name", "other.example.com", "--at", AT), "san.name_mismatch"),
        ("new-ca-valid", ("--at", "2031-01-01T00:00:00Z"), "cert.expired"),
        ("weak-key-and-hash", ("--at", AT), "key.weak"),
        ("wildcard-expressway", ("--at", AT, "--node-type", "expressway-e"), "san.wildcard"),
    ],
)
def test_verify_failures(case: str, extra: tuple[str, ...], code: str) -> None:
    rc, data = _verify(case, *extra)
    assert rc == 1
    assert code in [f["code"] for f in data["findings"]]  # type: ignore[attr-defined]


def test_schema_prints_both() -> None:
    rc, out = run("schema")
    data = json.loads(out)
    assert rc == 0 and set(data) == {"certops.yaml", "nodes/*.yaml", "plan.json"}


def test_console_entry_points() -> None:
    for cmd in (
        [sys.executable, "-m", "reconciler", "--help"],
        [str(Path(sys.executable).parent / "certops"), "--version"],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert "certops" in proc.stdout


def test_bad_option_exits_nonzero() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "--at", "yesterday", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "ISO 8601" in proc.stderr and "Traceback" not in proc.stderr


def test_a_csr_saved_as_node_pem_is_a_warning_to_rename_it(example: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(
        key, hashes.SHA256()
    )
    (example / "csrs" / "expe1.pem").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    code, out = run("validate", str(example), "--at", AT)
    assert code == 0, out
    line = next(x for x in out.splitlines() if "[csr.misnamed]" in x)
    assert line.startswith(f"{example}/csrs/expe1.pem: warning[csr.misnamed]")
    assert "git mv csrs/expe1.pem csrs/expe1.csr.pem" in line
