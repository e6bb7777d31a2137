"""verify(): chain building, the Web PKI verifier, the lenient check and the policy, together."""

from __future__ import annotations

import pytest
from cryptography import x509
from pkifactory import (
    NOW,
    SERVER,
    Factory,
    Issued,
    Pki,
    fake_rsa_public,
    utc,
    vector,
)

from reconciler.kinds import kind_of
from reconciler.model import Policy, Severity
from reconciler.pki import VerifyResult, covers, parse_certificates, verify


def run(leaf: Issued, *inters: Issued, roots: tuple[Issued, ...], **kw: object) -> VerifyResult:
    kw.setdefault("at", NOW)
    return verify(leaf.info, intermediates=[i.info for i in inters],
                  roots=[r.info for r in roots], **kw)  # type: ignore[arg-type]


def codes(result: VerifyResult) -> list[str]:
    return [f.code for f in result.findings]


def test_good_chain(pki: Pki) -> None:
    result = run(pki.leaf, pki.inter, roots=(pki.root,),
                 names=["expe.example.com", "JOIN.example.com.", "10.0.0.5"])
    assert result.valid and result.findings == ()
    assert [c.sha256 for c in result.chain] == [
        pki.leaf.info.sha256, pki.inter.info.sha256, pki.root.info.sha256]
    assert result.chain[0] is pki.leaf.info  # our objects, not copies


def test_name_mismatch(pki: Pki) -> None:
    result = run(pki.leaf, pki.inter, roots=(pki.root,),
                 names=["expe.example.com", "other.example.com", "10.0.0.6"])
    assert not result.valid
    mismatches = [f for f in result.findings if f.code == "san.name_mismatch"]
    assert len(mismatches) == 2
    assert {"'other.example.com'", "'10.0.0.6'"} == {
        m for f in mismatches for m in ("'other.example.com'", "'10.0.0.6'") if m in f.message}
    assert all("expe.example.com, join.example.com, 10.0.0.5" in f.message for f in mismatches)


def test_wildcard_names(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, "*.example.com")  # CN one of the SANs (CA/B BR 7.1.4.3)
    info = leaf.info
    assert covers(info, "a.example.com") and covers(info, "A.Example.COM")
    assert not covers(info, "example.com")  # never the bare domain
    assert not covers(info, "a.b.example.com")  # exactly one label
    result = run(leaf, pki.inter, roots=(pki.root,), names=["a.example.com"])
    assert result.valid
    on_expressway = run(leaf, pki.inter, roots=(pki.root,), names=["a.example.com"],
                        kind_rules=kind_of("expressway-e").leaf_findings)
    assert codes(on_expressway) == ["san.wildcard"]


def test_expired_leaf(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, not_before=utc(2024, 1, 1), not_after=utc(2025, 1, 1))
    result = run(leaf, pki.inter, roots=(pki.root,))
    assert not result.valid
    assert codes(result) == ["cert.expired"]  # not also chain.invalid: one cause, one finding
    assert "expired on 2025-01-01 00:00 UTC" in result.findings[0].message


def test_expired_intermediate(factory: Factory, pki: Pki) -> None:
    inter = factory.intermediate(pki.root, "Expired CA", not_after=utc(2026, 1, 1))
    leaf = factory.leaf(inter)
    result = run(leaf, inter, roots=(pki.root,))
    assert codes(result) == ["cert.expired"] and "CN=Expired CA" in result.findings[0].message


def test_missing_intermediate(pki: Pki) -> None:
    result = run(pki.leaf, roots=(pki.root,))
    assert not result.valid and codes(result) == ["chain.incomplete"]
    message = result.findings[0].message
    assert "'CN=Test Issuing CA,O=certops tests'" in message
    assert pki.inter.info.subject_key_id is not None
    assert pki.inter.info.subject_key_id in message
    assert "under cas/" in message and "certificate file" in message
    assert result.chain == (pki.leaf.info,)


def test_untrusted_root(factory: Factory, pki: Pki) -> None:
    other = factory.root("Other Root")
    result = run(pki.leaf, pki.inter, pki.root, roots=(other,))
    assert codes(result) == ["chain.incomplete"]
    assert "self-signed 'CN=Test Root CA,O=certops tests'" in result.findings[0].message
    assert "not a trusted root" in result.findings[0].message


def test_eku_against_usages(factory: Factory, pki: Pki) -> None:
    server_only = factory.leaf(pki.inter, eku=[SERVER])
    result = run(server_only, pki.inter, roots=(pki.root,))
    assert codes(result) == ["eku.missing"]  # no chain.webpki_stricter next to an error
    assert run(server_only, pki.inter, roots=(pki.root,), usages=("serverAuth",)).valid
    assert run(server_only, pki.inter, roots=(pki.root,), names=["expe.example.com"],
               usages=("serverAuth",)).valid


def test_ca_eku_must_allow_the_usages(factory: Factory, pki: Pki) -> None:
    eku = x509.ExtendedKeyUsage([SERVER])
    inter = factory.intermediate(pki.root, "Server-only CA", extra=[(eku, False)])
    leaf = factory.leaf(inter)
    result = run(leaf, inter, roots=(pki.root,))
    assert codes(result) == ["chain.invalid"]
    assert "restricts its Extended Key Usage to serverAuth, without clientAuth" in (
        result.findings[0].message)
    assert run(leaf, inter, roots=(pki.root,), usages=("serverAuth",)).valid


def test_ca_as_leaf(pki: Pki) -> None:
    result = run(pki.inter, roots=(pki.root,), usages=())
    assert "cert.is_ca" in codes(result) and not result.valid


def test_critical_san_is_only_a_warning(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, san_critical=True)
    result = run(leaf, pki.inter, roots=(pki.root,), names=["expe.example.com"])
    assert result.valid
    (finding,) = result.findings
    assert (finding.code, finding.severity) == ("chain.webpki_stricter", Severity.WARNING)
    assert "subjectAltName MUST NOT be critical" in finding.message
    assert "(at 'CN=expe.example.com,O=certops tests')" in finding.message


def test_missing_aki_is_only_a_warning(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, aki=False)
    result = run(leaf, pki.inter, roots=(pki.root,))
    assert result.valid and codes(result) == ["chain.webpki_stricter"]
    assert "2.5.29.35" in result.findings[0].message


@pytest.mark.parametrize(
    ("build", "reason", "webpki"),
    [
        ("no_cert_sign", "keyUsage lacks keyCertSign", "keyCertSign must be asserted"),
        ("path_length", "allows 0 intermediate CA(s) below it, the chain has 1",
         "path length constraint violated"),
        ("name_constraints", "'expe.example.com' is outside the permitted name constraints",
         "no permitted name constraints matched SAN"),
        ("critical_extension", "unsupported critical extension 1.2.3.4",
         "unaccounted-for critical extensions"),
        ("not_ca", "its basicConstraints say CA:FALSE", ""),
    ],
)
def test_chain_invalid(factory: Factory, build: str, reason: str, webpki: str) -> None:
    root = factory.root(f"Root {build}")
    inters: list[Issued] = []
    extra: list[tuple[x509.ExtensionType, bool]] = []
    if build == "no_cert_sign":
        inters = [factory.intermediate(root, cert_sign=False)]
    elif build == "path_length":
        first = factory.intermediate(root, "I0", path_length=0)
        inters = [first, factory.intermediate(first, "I1", path_length=None)]
    elif build == "name_constraints":
        nc = x509.NameConstraints(permitted_subtrees=[x509.DNSName("corp.example")],
                                  excluded_subtrees=None)
        inters = [factory.intermediate(root, extra=[(nc, True)])]
    elif build == "critical_extension":
        inters = [factory.intermediate(root)]
        extra = [(x509.UnrecognizedExtension(x509.ObjectIdentifier("1.2.3.4"), b"\x05\x00"),
                  True)]
    elif build == "not_ca":
        inters = [factory.issue("Not A CA", root, ca=False, eku=None, cert_sign=True)]
    leaf = factory.leaf(inters[-1], extra=extra)
    result = run(leaf, *inters, roots=(root,))
    assert not result.valid
    invalid = [f for f in result.findings if f.code == "chain.invalid"]
    assert len(invalid) == 1, result.findings
    assert reason in invalid[0].message and webpki in invalid[0].message


def test_sha1_intermediate(factory: Factory, pki: Pki) -> None:
    inter = factory.intermediate(pki.root, "SHA1 CA", hash_name="sha1")
    leaf = factory.leaf(inter)
    result = run(leaf, inter, roots=(pki.root,))
    assert codes(result) == ["signature.weak"]
    assert len(result.chain) == 3  # the chain is built; the weak link is named


def test_sha1_root_is_fine(factory: Factory) -> None:
    root = factory.root("Legacy Root", key="rsa2048", hash_name="sha1")
    inter = factory.intermediate(root, "Modern CA")
    leaf = factory.leaf(inter)
    result = run(leaf, inter, roots=(root,))
    assert result.valid and result.findings == ()


def test_weak_keys(factory: Factory, pki: Pki) -> None:
    weak_leaf = factory.leaf(pki.inter, public_key=fake_rsa_public(1024))
    assert codes(run(weak_leaf, pki.inter, roots=(pki.root,))) == ["key.weak"]
    big_leaf = factory.leaf(pki.inter, public_key=fake_rsa_public(8192))
    result = run(big_leaf, pki.inter, roots=(pki.root,))
    assert result.valid and codes(result) == ["key.too_large"]
    policy = Policy(min_rsa_bits=4096)  # type: ignore[call-arg]
    rsa2048 = factory.leaf(pki.inter, public_key=fake_rsa_public(2048))
    assert codes(run(rsa2048, pki.inter, roots=(pki.root,), policy=policy)) == ["key.weak"]


def test_real_chain_with_intermediate_as_anchor() -> None:
    leaf, ca = parse_certificates(vector("x509/cryptography.io.chain.pem"))
    good = verify(leaf, roots=[ca], at=utc(2016, 1, 1), names=["cryptography.io"])
    assert good.valid and good.findings == ()
    assert [c.sha256 for c in good.chain] == [leaf.sha256, ca.sha256]
    late = verify(leaf, roots=[ca], at=utc(2019, 1, 1))
    assert [f.code for f in late.findings] == ["cert.expired"]
    wrong = verify(leaf, roots=[ca], at=utc(2016, 1, 1), names=["example.com"])
    assert [f.code for f in wrong.findings] == ["san.name_mismatch"]
    unknown = verify(leaf, intermediates=[ca], roots=[], at=utc(2016, 1, 1))
    assert [f.code for f in unknown.findings] == ["chain.incomplete"]
    assert "'CN=GeoTrust Global CA,O=GeoTrust Inc.,C=US'" in unknown.findings[0].message
    assert "c07a98688d89fbab05640c117daa7d65b8cacc4e" in unknown.findings[0].message


def test_findings_are_sorted_and_bare(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, eku=[SERVER], san_critical=True,
                        public_key=fake_rsa_public(8192))
    result = run(leaf, pki.inter, roots=(pki.root,), names=["nope.example.com"])
    assert codes(result) == ["eku.missing", "san.name_mismatch", "key.too_large"]
    assert all(f.node is None and f.location is None for f in result.findings)


def test_naive_time_is_utc(pki: Pki) -> None:
    result = run(pki.leaf, pki.inter, roots=(pki.root,), at=NOW.replace(tzinfo=None))
    assert result.valid
