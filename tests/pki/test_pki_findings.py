"""leaf_findings and chain_findings: every policy code, with concrete messages."""

from __future__ import annotations

import pytest
from pkifactory import (
    CLIENT,
    NOW,
    SERVER,
    Factory,
    Pki,
    dsa_public,
    fake_rsa_public,
    p192_public,
    utc,
    vector,
)

from reconciler.kinds import kind_of
from reconciler.model import Finding, Policy, Severity
from reconciler.pki import chain_findings, leaf_findings, parse_certificates

POLICY = Policy()  # type: ignore[call-arg]


def codes(findings: list[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


def test_good_leaf_has_no_findings(pki: Pki) -> None:
    rules = kind_of("expressway-e").leaf_findings
    assert leaf_findings(pki.leaf.info, policy=POLICY, at=NOW, kind_rules=rules) == []
    assert chain_findings((pki.leaf.info, pki.inter.info, pki.root.info),
                          policy=POLICY, at=NOW) == []


def test_findings_have_no_node_or_location(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, eku=[SERVER])
    (finding,) = leaf_findings(leaf.info, policy=POLICY, at=None)
    assert finding.node is None and finding.location is None
    assert finding.severity is Severity.ERROR


@pytest.mark.parametrize(
    ("eku", "missing"),
    [
        ([SERVER], "clientAuth (TLS Web Client Authentication)"),
        ([CLIENT], "serverAuth (TLS Web Server Authentication)"),
        (None, "serverAuth (TLS Web Server Authentication) and clientAuth"),
    ],
)
def test_eku_missing(factory: Factory, pki: Pki, eku: list[object] | None, missing: str) -> None:
    leaf = factory.leaf(pki.inter, eku=eku)
    (finding,) = leaf_findings(leaf.info, policy=POLICY, at=NOW)
    assert finding.code == "eku.missing"
    assert missing in finding.message
    assert "TLS Web Server Authentication and TLS Web Client Authentication" in finding.message


def test_eku_requirement_follows_argument(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, eku=[SERVER])
    assert leaf_findings(leaf.info, policy=POLICY, at=NOW,
                         required_eku=("serverAuth",)) == []
    policy = Policy(required_eku=("serverAuth",))  # type: ignore[call-arg]
    assert leaf_findings(leaf.info, policy=policy, at=NOW) == []


def test_ca_certificate_as_server_certificate(pki: Pki) -> None:
    found = leaf_findings(pki.inter.info, policy=POLICY, at=NOW)
    assert codes(found) == ["cert.is_ca", "eku.missing"]
    is_ca = next(f for f in found if f.code == "cert.is_ca")
    assert "CA:TRUE" in is_ca.message and "CN=Test Issuing CA" in is_ca.message


def test_rsa_key_sizes(factory: Factory, pki: Pki) -> None:
    weak = factory.leaf(pki.inter, public_key=fake_rsa_public(1024))
    (finding,) = leaf_findings(weak.info, policy=POLICY, at=NOW)
    assert (finding.code, finding.severity) == ("key.weak", Severity.ERROR)
    assert "1024-bit RSA key" in finding.message and "at least 2048 bits" in finding.message

    ok = factory.leaf(pki.inter, public_key=fake_rsa_public(2048))
    assert leaf_findings(ok.info, policy=POLICY, at=NOW) == []
    strict = Policy(min_rsa_bits=3072)  # type: ignore[call-arg]
    assert codes(leaf_findings(ok.info, policy=strict, at=NOW)) == ["key.weak"]

    big = factory.leaf(pki.inter, public_key=fake_rsa_public(8192))
    (finding,) = leaf_findings(big.info, policy=POLICY, at=NOW)
    assert (finding.code, finding.severity) == ("key.too_large", Severity.WARNING)
    assert "8192-bit keys break SIP TLS on Expressway" in finding.message


def test_small_curve_and_dsa_are_weak(factory: Factory, pki: Pki) -> None:
    p192 = factory.leaf(pki.inter, public_key=p192_public())
    (finding,) = leaf_findings(p192.info, policy=POLICY, at=NOW)
    assert finding.code == "key.weak" and "192-bit EC key (secp192r1)" in finding.message
    dsa = factory.leaf(pki.inter, public_key=dsa_public())
    (finding,) = leaf_findings(dsa.info, policy=POLICY, at=NOW)
    assert finding.code == "key.weak" and "DSA" in finding.message
    p384 = factory.leaf(pki.inter, key="p384")
    assert leaf_findings(p384.info, policy=POLICY, at=NOW) == []


@pytest.mark.parametrize("hash_name", ["sha1", "md5"])
def test_weak_signature_on_leaf(factory: Factory, hash_name: str) -> None:
    issuer = factory.root("RSA Root", key="rsa2048")  # there is no ECDSA with MD5
    leaf = factory.leaf(issuer, hash_name=hash_name)
    (finding,) = leaf_findings(leaf.info, policy=POLICY, at=NOW)
    assert finding.code == "signature.weak"
    assert f"signed with {hash_name.upper()}" in finding.message
    assert "sha256, sha384, sha512" in finding.message


def test_ed25519_signature_has_no_hash(factory: Factory) -> None:
    root = factory.root("Ed Root", key="ed25519", hash_name="none")
    leaf = factory.leaf(root, key="ed25519", hash_name="none")
    assert leaf.info.signature_hash is None
    assert leaf_findings(leaf.info, policy=POLICY, at=NOW) == []


def test_real_sha1_pss_leaf() -> None:
    leaf = parse_certificates(vector("x509/ee-pss-sha1-cert.pem"))[0]
    found = leaf_findings(leaf, policy=POLICY, at=None)
    assert codes(found) == ["eku.missing", "signature.weak"]


def test_validity_window(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, not_before=utc(2026, 1, 1), not_after=utc(2027, 1, 1))
    (expired,) = leaf_findings(leaf.info, policy=POLICY, at=utc(2027, 1, 2))
    assert expired.code == "cert.expired"
    assert "expired on 2027-01-01 00:00 UTC (checked at 2027-01-02 00:00 UTC)" in expired.message
    (early,) = leaf_findings(leaf.info, policy=POLICY, at=utc(2025, 12, 31))
    assert early.code == "cert.not_yet_valid"
    assert "not valid before 2026-01-01 00:00 UTC" in early.message
    assert leaf_findings(leaf.info, policy=POLICY, at=None) == []
    # A naive time is taken as UTC.
    naive = utc(2027, 1, 2).replace(tzinfo=None)
    assert codes(leaf_findings(leaf.info, policy=POLICY, at=naive)) == [
        "cert.expired"]


@pytest.mark.parametrize(
    ("node_type", "expected"),
    [("expressway-e", ["san.wildcard"]), ("expressway-c", ["san.wildcard"]),
     ("vcs", ["san.wildcard"]), ("cucm", []), (None, [])],
)
def test_wildcard_only_refused_on_expressway(
    factory: Factory, pki: Pki, node_type: str | None, expected: list[str]
) -> None:
    leaf = factory.leaf(pki.inter, "example.com", sans=("*.example.com", "example.com"))
    rules = kind_of(node_type).leaf_findings if node_type else None
    found = leaf_findings(leaf.info, policy=POLICY, at=NOW, kind_rules=rules)
    assert codes(found) == expected
    if found:
        assert "*.example.com" in found[0].message
        assert "Expressway does not support wildcard certificates" in found[0].message


def test_chain_weak_signature_on_intermediate_not_on_root(factory: Factory) -> None:
    root = factory.root("SHA1 Root", key="rsa2048", hash_name="sha1")
    inter = factory.intermediate(root, "SHA1 CA", hash_name="sha1")
    leaf = factory.leaf(inter)
    assert root.info.self_signed and root.info.signature_hash == "sha1"
    found = chain_findings((leaf.info, inter.info, root.info), policy=POLICY, at=NOW)
    assert [(f.code, "SHA1 CA" in f.message) for f in found] == [("signature.weak", True)]
    # A leaf's own signature is leaf_findings' business, not chain_findings'.
    sha1_leaf = factory.leaf(inter, hash_name="sha1")
    assert len(chain_findings((sha1_leaf.info, inter.info, root.info),
                              policy=POLICY, at=NOW)) == 1


def test_chain_md2_root_at_top_is_not_judged(pki: Pki) -> None:
    md2 = parse_certificates(vector("x509/verisign_md2_root.pem"))[0]
    found = chain_findings((pki.leaf.info, md2), policy=POLICY, at=None)
    assert codes(found) == ["key.weak"]  # RSA-1024 root key, but no signature.weak


def test_chain_validity_and_weak_ca_keys(factory: Factory) -> None:
    root = factory.root("Old Root", not_after=utc(2026, 1, 1))
    inter = factory.intermediate(root, "Future CA", not_before=utc(2027, 1, 1),
                                 public_key=fake_rsa_public(1024))
    leaf = factory.leaf(root)
    found = chain_findings((leaf.info, inter.info, root.info), policy=POLICY, at=NOW)
    assert codes(found) == ["cert.expired", "cert.not_yet_valid", "key.weak"]
    assert all("the CA certificate" in f.message for f in found)
    assert chain_findings((leaf.info,), policy=POLICY, at=NOW) == []
    assert chain_findings((), policy=POLICY, at=NOW) == []
