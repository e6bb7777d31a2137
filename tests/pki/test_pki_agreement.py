"""verify() agrees with an independent verifier: ``openssl verify`` (OpenSSL 3).

OpenSSL runs with ``-x509_strict -purpose sslserver -auth_level 2 -partial_chain``: strict
RFC 5280 checks, the TLS server purpose, security level 2 (RSA >= 2048 bits, no SHA-1 below
the root, which is certops' default policy), and any certificate in ``-CAfile`` may anchor
the chain (as any certificate in ``roots`` does for verify()). Only public certificates are
written to ``tmp_path``.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from pkifactory import NOW, Factory, Issued, fake_rsa_public, utc, vector

from reconciler.pki import CertInfo, parse_certificates, verify

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")


@dataclass
class Case:
    leaf: CertInfo
    intermediates: list[CertInfo]
    roots: list[CertInfo]
    at: datetime = NOW
    names: list[str] = field(default_factory=list)
    expected: bool = True  # what both verifiers must say


def openssl_verify(case: Case, tmp: Path) -> tuple[bool, str]:
    def write(name: str, certs: list[CertInfo]) -> Path:
        path = tmp / name
        path.write_text("".join(c.pem for c in certs))
        return path

    assert OPENSSL is not None
    cmd = [OPENSSL, "verify", "-x509_strict", "-purpose", "sslserver", "-auth_level", "2",
           "-partial_chain", "-attime", str(int(case.at.timestamp())),
           "-CAfile", str(write("roots.pem", case.roots))]
    if case.intermediates:
        cmd += ["-untrusted", str(write("untrusted.pem", case.intermediates))]
    for name in case.names:
        cmd += ["-verify_hostname", name]
    cmd.append(str(write("leaf.pem", [case.leaf])))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    return proc.returncode == 0, proc.stdout + proc.stderr


def _generated(f: Factory) -> dict[str, Case]:
    root = f.root("Agree Root")
    inter = f.intermediate(root, "Agree CA")

    def case(leaf: Issued, *inters: Issued, roots: tuple[Issued, ...] = (root,),
             **kw: object) -> Case:
        return Case(leaf.info, [i.info for i in inters], [r.info for r in roots],
                    **kw)  # type: ignore[arg-type]

    sha1_inter = f.intermediate(root, "SHA1 CA", hash_name="sha1")
    sha1_root = f.root("SHA1 Root", key="rsa2048", hash_name="sha1")
    modern = f.intermediate(sha1_root, "Under SHA1 Root")
    no_sign = f.intermediate(root, "No keyCertSign CA", cert_sign=False)
    i0 = f.intermediate(root, "Pathlen0 CA", path_length=0)
    i1 = f.intermediate(i0, "Below Pathlen0 CA", path_length=None)
    nc = x509.NameConstraints(permitted_subtrees=[x509.DNSName("corp.example")],
                              excluded_subtrees=None)
    constrained = f.intermediate(root, "Constrained CA", extra=[(nc, True)])
    other_root = f.root("Other Root")
    return {
        "good": case(f.leaf(inter), inter, names=["expe.example.com"]),
        "good-no-name": case(f.leaf(inter), inter),
        "expired": case(f.leaf(inter, not_after=utc(2026, 1, 1)), inter, expected=False),
        "not-yet-valid": case(f.leaf(inter, not_before=utc(2027, 1, 1)), inter, expected=False),
        "missing-intermediate": case(f.leaf(inter), expected=False),
        "wrong-eku": case(f.leaf(inter, eku=[ExtendedKeyUsageOID.CODE_SIGNING]), inter,
                          expected=False),
        "sha1-intermediate": case(f.leaf(sha1_inter), sha1_inter, expected=False),
        "sha1-root": case(f.leaf(modern), modern, roots=(sha1_root,)),
        "untrusted-root": case(f.leaf(inter), inter, root, roots=(other_root,), expected=False),
        "rsa-1024-leaf": case(f.leaf(inter, public_key=fake_rsa_public(1024)), inter,
                              expected=False),
        "name-mismatch": case(f.leaf(inter), inter, names=["other.example.com"],
                              expected=False),
        "no-keycertsign": case(f.leaf(no_sign), no_sign, expected=False),
        "path-length": case(f.leaf(i1), i0, i1, expected=False),
        "name-constraints": case(f.leaf(constrained), constrained, expected=False),
        # Web PKI refuses it, OpenSSL (Expressway) does not: verify() warns, stays valid.
        "critical-san": case(f.leaf(inter, san_critical=True), inter),
    }


def _real() -> dict[str, Case]:
    leaf, ca = parse_certificates(vector("x509/cryptography.io.chain.pem"))
    return {
        "cryptography.io-2016": Case(leaf, [], [ca], utc(2016, 1, 1), ["cryptography.io"]),
        "cryptography.io-2019": Case(leaf, [], [ca], utc(2019, 1, 1), expected=False),
        "cryptography.io-no-anchor": Case(leaf, [ca], [parse_certificates(
            vector("x509/ecdsa_root.pem"))[0]], utc(2016, 1, 1), expected=False),
    }


GENERATED = [
    "good", "good-no-name", "expired", "not-yet-valid", "missing-intermediate", "wrong-eku",
    "sha1-intermediate", "sha1-root", "untrusted-root", "rsa-1024-leaf", "name-mismatch",
    "no-keycertsign", "path-length", "name-constraints", "critical-san",
]
REAL = ["cryptography.io-2016", "cryptography.io-2019", "cryptography.io-no-anchor"]


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    return {**_generated(Factory()), **_real()}


@pytest.mark.parametrize("name", GENERATED + REAL)
def test_same_verdict_as_openssl(cases: dict[str, Case], name: str, tmp_path: Path) -> None:
    case = cases[name]
    ours = verify(case.leaf, intermediates=case.intermediates, roots=case.roots, at=case.at,
                  names=case.names)
    theirs, output = openssl_verify(case, tmp_path)
    assert theirs is case.expected, output
    assert ours.valid is case.expected, [f.render() for f in ours.findings]


def test_generated_case_list_is_complete(cases: dict[str, Case]) -> None:
    assert sorted(cases) == sorted(GENERATED + REAL)
