"""A hostile pull request's files: YAML bombs, deep nesting, symlinks, odd names, certificate
files that hide their leaf, secrets in values, keys in disguise (issue 16, items 3, 10, 11,
12 and 14). Each must end as a finding at a file (and line) with exit 1, quickly."""

from __future__ import annotations

import base64
import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from reconciler.desired import load
from reconciler.lab.ca import cert_pem, load_or_create_pki
from reconciler.model import Finding
from reconciler.pki import CertCache

REPO = Path(__file__).resolve().parents[2]


def findings(root: Path) -> list[Finding]:
    return list(load(root, CertCache()).findings)


def errors_of(root: Path, code: str) -> list[Finding]:
    return [f for f in findings(root) if f.code == code]


def laughs(levels: int = 9) -> str:
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


NODE_PREFIX = "name: expe1\ntype: expressway-e\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param(NODE_PREFIX + laughs(), 3, "anchors", id="billion-laughs"),
        pytest.param(NODE_PREFIX + "labels: *x\n", 3, "alias", id="lone-alias"),
        pytest.param(NODE_PREFIX + "labels: {a: " + "[" * 1000 + "]" * 1000 + "}\n", 3,
                     "nesting deeper", id="nesting-1000"),
        pytest.param(NODE_PREFIX + "x:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 60)),
                     3, "nesting deeper", id="block-nesting-60"),
        pytest.param(NODE_PREFIX + "# " + "x" * (2 << 20) + "\n", 1, "bytes", id="2-MB"),
    ],
)
def test_yaml_that_exhausts_the_parser_is_refused_first(
    desired: Path, text: str, line: int, words: str
) -> None:
    """Item 3: refused as input.yaml at file:line, before composing."""
    (desired / "nodes" / "expe1.yaml").write_text(text)
    # The message proves the guard refused it before composing (an expanded alias or a
    # 1,000-deep nesting would be composed first otherwise); no wall-clock bound here.
    [finding] = errors_of(desired, "input.yaml")
    assert finding.location is not None and finding.location.file.endswith("nodes/expe1.yaml")
    assert finding.location.line >= line and words in finding.message


def test_100000_deep_nesting_does_not_crash_validate(desired: Path) -> None:
    """Item 3: the C composer segfaulted (exit 139); now exit 1 with the file's position."""
    (desired / "certops.yaml").write_text("links: " + "[" * 100_000 + "]" * 100_000 + "\n")
    proc = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(desired)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 1, proc.stderr
    assert "certops.yaml:1:" in proc.stdout and "input.yaml" in proc.stdout


def ca_only_file(root: Path, count: int) -> str:
    pki = load_or_create_pki(root.parent / "ca")
    cas = [cert_pem(c) for c in (*pki.chain_for("new"), pki.issuing["old"].cert)]
    return "".join(cas[i % len(cas)] for i in range(count))


@pytest.mark.parametrize("count", [2, 3, 10_000],
                         ids=["one-chain-of-cas", "two-issuing-cas", "10000-certificates"])
def test_a_certificate_file_without_its_leaf_is_an_error_at_the_reference(
    desired: Path, count: int
) -> None:
    """Item 10: only CA certificates (or thousands of them) in server_certificate.file."""
    (desired / "certs" / "expc1.pem").write_text(ca_only_file(desired, count))
    node = desired / "nodes" / "expc1.yaml"
    node.write_text(node.read_text().replace(
        "server_certificate:", "server_certificate:\n  file: ../certs/expc1.pem", 1))
    # How long 10,000 certificates take is a benchmark's business, not a test's: this checks
    # that they are refused with one finding at the reference.
    found = errors_of(desired, "input.pem")
    assert found and all(f.severity.value == "error" for f in found)
    assert any(f.location and f.location.file.endswith("certs/expc1.pem") for f in found)


SECRET = "Sup3r$ecret!pw"


@pytest.mark.parametrize("field", ["password_env", "username_env"])
def test_a_credential_value_is_never_echoed(desired: Path, field: str) -> None:
    """Item 11: a password pasted where the variable's name belongs."""
    node = desired / "nodes" / "expe1.yaml"
    text = node.read_text()
    start = text.index(f"{field}: ")
    end = text.index("\n", start) if "\n" in text[start:] else len(text)
    tail = text[start:end]
    closer = "}" if tail.rstrip().endswith("}") else ""
    value = tail.split(": ", 1)[1].split(",")[0].rstrip("}")
    node.write_text(text.replace(f"{field}: {value}", f'{field}: "{SECRET}"', 1))
    rendered = [f.render() for f in findings(desired)]
    assert any("input.schema" in r and "not shown" in r for r in rendered), (rendered, closer)
    assert not any(SECRET in r for r in rendered)


@pytest.mark.parametrize("where", ["cas/linked.pem", "nodes/extra.yaml"])
def test_a_link_out_of_the_tree_is_not_followed(
    desired: Path, tmp_path: Path, where: str
) -> None:
    """Item 12: an outside CA would be accepted, an outside YAML's values quoted."""
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim"
    if where.startswith("cas"):
        victim.write_text(cert_pem(load_or_create_pki(tmp_path / "ca").root.cert))
    else:
        victim.write_text("name: [SECRET-ish]\n")
    (desired / where).symlink_to(victim)
    found = findings(desired)
    outside_errors = [f for f in found if f.code == "input.file_outside"]
    assert outside_errors and outside_errors[0].location is not None
    assert outside_errors[0].location.file.endswith(where)
    assert not any("SECRET-ish" in f.message for f in found)


def test_odd_file_names_are_findings_not_crashes(desired: Path) -> None:
    """Item 14: a name that is not UTF-8, a newline in a name (a fake log line), a NUL in a
    reference, and a node file in a subfolder (silently ignored before)."""
    (desired / os.fsdecode(b"cas/bad\xff.pem")).write_text("x")
    (desired / "certs" / "x\nerror[fake]: all good.pem").write_text("x")
    (desired / "nodes" / "sub").mkdir()
    (desired / "nodes" / "sub" / "expe9.yaml").write_text(NODE_PREFIX)
    node = desired / "nodes" / "expc1.yaml"
    node.write_text(node.read_text().replace(
        "server_certificate:", 'server_certificate:\n  file: "../certs/a\\0b.pem"', 1))
    rendered = [f.render() for f in findings(desired)]
    assert all("\n" not in r for r in rendered)
    codes = {f.code for f in findings(desired)}
    assert {"input.read", "input.pem", "input.ignored", "input.file_missing"} <= codes
    assert any("bad\\xff.pem" in r for r in rendered)
    assert any("x\\x0aerror[fake]" in r for r in rendered)


def _key_der() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.mark.parametrize(
    "blob",
    [
        pytest.param(lambda k: base64.b64encode(k), id="bare-base64-der"),
        pytest.param(lambda k: base64.encodebytes(k), id="bare-base64-der-lines"),
        pytest.param(lambda k: b"\0" * (2 << 20) + k + b"\0" * 100, id="inside-2MB-binary"),
    ],
)
def test_private_keys_in_disguise_are_found(desired: Path, blob: object) -> None:
    """Item 14: keys as bare base64 DER, or inside binaries over 1 MB."""
    (desired / "notes.bin").write_bytes(blob(_key_der()))  # type: ignore[operator]
    assert [f.code for f in findings(desired)] == ["repo.private_key"]
