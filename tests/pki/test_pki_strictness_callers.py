"""x509.lenient reaches users: the offline checks of a desired certificate (``certops
validate`` / ``plan``) and ``certops verify`` both report it, through verify()."""

from __future__ import annotations

from pathlib import Path

from pkifactory import NOW, Factory, Pki
from typer.testing import CliRunner

from reconciler.checks import build_view, offline_findings
from reconciler.cli.app import build_app
from reconciler.desired import load
from reconciler.model import Severity
from reconciler.pki import CertCache

NODE = """name: expe1
type: expressway-e
api: https://expe1.example.com
credentials:
  username_env: EXPE1_USER
  password_env: EXPE1_PASSWORD
server_certificate:
  file: ../certs/expe1.pem
  subject_alt_names: [expe.example.com]
trust: [../cas/root.pem, ../cas/inter.pem]
"""


def _tree(tmp_path: Path, factory: Factory, pki: Pki) -> Path:
    """A one-node desired state whose certificate's CN is not one of its SANs."""
    leaf = factory.leaf(pki.inter, "expe1.example.com", sans=("expe.example.com",))
    for folder in ("nodes", "cas", "certs", "csrs"):
        (tmp_path / folder).mkdir()
    (tmp_path / "certops.yaml").write_text("policy:\n  min_rsa_bits: 2048\n")
    (tmp_path / "nodes" / "expe1.yaml").write_text(NODE)
    (tmp_path / "cas" / "root.pem").write_bytes(pki.root.pem)
    (tmp_path / "cas" / "inter.pem").write_bytes(pki.inter.pem)
    (tmp_path / "certs" / "expe1.pem").write_bytes(leaf.pem)
    return tmp_path


def test_offline_checks_report_it_at_the_certificate_file(
    tmp_path: Path, factory: Factory, pki: Pki
) -> None:
    cache = CertCache()
    loaded = load(_tree(tmp_path, factory, pki), cache)
    assert loaded.desired is not None, [f.render() for f in loaded.findings]
    findings = offline_findings(build_view(loaded.desired, cache), cache, NOW)
    lenient = [f for f in findings if f.code == "x509.lenient"]
    assert len(lenient) == 1, [f.render() for f in findings]
    assert lenient[0].severity is Severity.WARNING and lenient[0].node == "expe1"
    assert lenient[0].location is not None
    assert lenient[0].location.file.endswith("expe1.yaml")
    assert "CA/B Forum BR 7.1.4.3" in lenient[0].message
    assert not any(f.severity is Severity.ERROR for f in findings)


def test_certops_verify_prints_it(tmp_path: Path, factory: Factory, pki: Pki) -> None:
    tree = _tree(tmp_path, factory, pki)
    result = CliRunner().invoke(build_app(), [
        "verify", str(tree / "certs" / "expe1.pem"), "--ca", str(tree / "cas" / "root.pem"),
        "--intermediate", str(tree / "cas" / "inter.pem"), "--at", NOW.isoformat(),
        "--name", "expe.example.com"])
    assert result.exit_code == 0, result.output
    assert "x509.lenient" in result.output and "BR 7.1.4.3" in result.output
