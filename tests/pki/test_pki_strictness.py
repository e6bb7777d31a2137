"""x509.lenient: each rule of strictness.py on certificates built here, through verify().

Every positive case keeps the verdict valid (the rule is a warning) and names its rule; every
negative case shows the rule stays quiet on a well-formed chain: no noise on good certificates.
"""

from __future__ import annotations

import ipaddress

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pkifactory import BOTH, NOW, Factory, Issued, Pki, fake_rsa_public

from reconciler.model import Severity
from reconciler.pki import VerifyResult, verify
from reconciler.pki.strictness import strictness_findings
from reconciler.pki.subjectcn import cn_problem

ANY = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE


def run(leaf: Issued, *inters: Issued, roots: tuple[Issued, ...], **kw: object) -> VerifyResult:
    kw.setdefault("at", NOW)
    return verify(leaf.info, intermediates=[i.info for i in inters],
                  roots=[r.info for r in roots], **kw)  # type: ignore[arg-type]


def lenient(result: VerifyResult) -> list[str]:
    """The x509.lenient messages (each must be a warning)."""
    found = [f for f in result.findings if f.code == "x509.lenient"]
    assert all(f.severity is Severity.WARNING for f in found)
    return [f.message for f in found]


def only_rule(result: VerifyResult, rule: str) -> str:
    """The verdict is valid and the one x509.lenient warning names ``rule``."""
    assert result.valid, [f.render() for f in result.findings]
    messages = lenient(result)
    assert len(messages) == 1, messages
    assert messages[0].startswith(rule + ": "), messages[0]
    return messages[0]


# --- no noise on good certificates -----------------------------------------------------------


def test_a_normal_chain_gets_no_warning(pki: Pki) -> None:
    result = run(pki.leaf, pki.inter, roots=(pki.root,), names=["expe.example.com"])
    assert result.valid and result.findings == ()


def test_good_variants_stay_quiet(factory: Factory) -> None:
    root = factory.root(key="rsa2048", aki=False)  # a self-signed root may omit its AKI
    inter = factory.intermediate(root, key="rsa3072",
                                 extra=[(x509.NameConstraints([x509.DNSName("example.com")],
                                                              None), True)])
    leaf = factory.leaf(inter, "10.0.0.5", sans=("expe.example.com", "10.0.0.5"))
    result = run(leaf, inter, roots=(root,), names=["expe.example.com", "10.0.0.5"])
    assert result.valid and result.findings == ()


def test_no_common_name_is_fine(factory: Factory, pki: Pki) -> None:
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certops tests")])
    leaf = factory.leaf(pki.inter, sans=("expe.example.com",), subject=subject)
    assert lenient(run(leaf, pki.inter, roots=(pki.root,))) == []


# --- RFC 5280 4.2.1.1 / 4.2.1.2: key identifiers of CA certificates -------------------------


def test_intermediate_without_aki(factory: Factory, pki: Pki) -> None:
    inter = factory.intermediate(pki.root, aki=False)
    leaf = factory.leaf(inter)
    message = only_rule(run(leaf, inter, roots=(pki.root,)), "RFC 5280 4.2.1.1")
    assert "the intermediate CA 'CN=Test Issuing CA" in message
    assert "-x509_strict" in message and "Java's PKIX" in message


def test_cross_signed_anchor_without_aki(factory: Factory, pki: Pki) -> None:
    cross = factory.intermediate(pki.root, "Cross CA", aki=False)
    leaf = factory.leaf(cross)
    message = only_rule(run(leaf, roots=(cross,)), "RFC 5280 4.2.1.1")
    assert "the trust anchor 'CN=Cross CA" in message
    assert "-x509_strict" not in message  # OpenSSL's strict mode exempts the anchor


@pytest.mark.parametrize("where", ["root", "intermediate"])
def test_ca_without_ski(factory: Factory, where: str) -> None:
    root = factory.root(ski=where != "root", aki=False)
    inter = factory.intermediate(root, ski=where != "intermediate", aki=where == "root")
    leaf = factory.leaf(inter, aki=where == "root")
    result = run(leaf, inter, roots=(root,))
    label = "the trust anchor" if where == "root" else "the intermediate CA"
    messages = [m for m in lenient(result) if m.startswith("RFC 5280 4.2.1.2")]
    assert len(messages) == 1 and label in messages[0], lenient(result)
    assert result.valid


# --- CA/B Forum BR 7.1.2.1.3: a root's AKI ---------------------------------------------------


def _root_with_aki(factory: Factory, aki: x509.AuthorityKeyIdentifier) -> Issued:
    return factory.root(aki=False, extra=[(aki, False)])


def test_root_aki_with_issuer_and_serial(factory: Factory) -> None:
    key = factory.key()
    keyid = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    other = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "myCN")])
    root = _root_with_aki(factory, x509.AuthorityKeyIdentifier(
        keyid, [x509.DirectoryName(other)], 1234))
    root = factory.issue("Test Root CA", None, ca=True, key=key, aki=False,
                         extra=[(root.cert.extensions.get_extension_for_class(
                             x509.AuthorityKeyIdentifier).value, False)])
    leaf = factory.leaf(root)
    message = only_rule(run(leaf, roots=(root,)), "CA/B Forum BR 7.1.2.1.3")
    assert "authorityCertIssuer" in message
    assert "-partial_chain" in message  # OpenSSL does not take it for self-signed


def test_root_aki_keyid_differs_from_ski(factory: Factory) -> None:
    root = _root_with_aki(factory, x509.AuthorityKeyIdentifier(b"\x01" * 20, None, None))
    message = only_rule(run(factory.leaf(root), roots=(root,)), "CA/B Forum BR 7.1.2.1.3")
    assert "keyIdentifier 0101" in message and "must equal its Subject Key Identifier" in message


def test_root_aki_equal_to_ski_is_fine(factory: Factory) -> None:
    root = factory.root()  # the factory's root carries AKI == SKI, as most CAs write it
    assert lenient(run(factory.leaf(root), roots=(root,))) == []


# --- RFC 5280 4.2.1.10 / 4.2.1.11: constraints must be critical ------------------------------


def test_noncritical_name_constraints(factory: Factory, pki: Pki) -> None:
    inter = factory.intermediate(pki.root, extra=[
        (x509.NameConstraints([x509.DNSName("example.com")], None), False)])
    message = only_rule(run(factory.leaf(inter), inter, roots=(pki.root,)), "RFC 5280 4.2.1.10")
    assert "non-critical nameConstraints" in message and "apply the constraints" in message


def test_noncritical_policy_constraints(factory: Factory, pki: Pki) -> None:
    inter = factory.intermediate(pki.root, extra=[(x509.PolicyConstraints(0, None), False)])
    message = only_rule(run(factory.leaf(inter), inter, roots=(pki.root,)), "RFC 5280 4.2.1.11")
    assert "non-critical policyConstraints" in message


def test_critical_policy_constraints_are_fine(factory: Factory, pki: Pki) -> None:
    inter = factory.intermediate(pki.root, extra=[(x509.PolicyConstraints(0, None), True)])
    assert lenient(run(factory.leaf(inter), inter, roots=(pki.root,))) == []


# --- RFC 5280 4.1.2.2: serial numbers ---------------------------------------------------------


def test_serial_zero(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, serial=0)
    message = only_rule(run(leaf, pki.inter, roots=(pki.root,)), "RFC 5280 4.1.2.2")
    assert "serial number zero" in message


def test_a_trust_anchor_serial_is_not_judged(factory: Factory) -> None:
    root = factory.root(serial=0)  # old roots with serial 0 exist; RFC 5280 6.1 trusts them
    assert lenient(run(factory.leaf(root), roots=(root,))) == []


# --- CA/B Forum BR 7.1.2.7.6 / 7.1.2.7.10 / 7.1.2.1.2: EKU -----------------------------------


def test_leaf_with_any_eku(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, eku=(*BOTH, ANY))
    message = only_rule(run(leaf, pki.inter, roots=(pki.root,)), "CA/B Forum BR 7.1.2.7.10")
    assert "anyExtendedKeyUsage" in message


def test_leaf_with_critical_eku(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, eku=None, extra=[(x509.ExtendedKeyUsage(list(BOTH)), True)])
    message = only_rule(run(leaf, pki.inter, roots=(pki.root,)), "CA/B Forum BR 7.1.2.7.6")
    assert "critical" in message


def test_leaf_without_eku_when_no_usage_is_asked(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, eku=None)
    message = only_rule(run(leaf, pki.inter, roots=(pki.root,), usages=()),
                        "CA/B Forum BR 7.1.2.7.6")
    assert "no Extended Key Usage" in message and "RFC 5280 4.2.1.12 allows" in message


def test_leaf_without_eku_when_usages_are_required_is_eku_missing_only(
    factory: Factory, pki: Pki
) -> None:
    result = run(factory.leaf(pki.inter, eku=None), pki.inter, roots=(pki.root,))
    assert not result.valid
    assert [f.code for f in result.findings] == ["eku.missing"]  # no second, weaker word


def test_root_with_eku(factory: Factory) -> None:
    root = factory.root(extra=[(x509.ExtendedKeyUsage(list(BOTH)), False)])
    message = only_rule(run(factory.leaf(root), roots=(root,)), "CA/B Forum BR 7.1.2.1.2")
    assert "serverAuth, clientAuth" in message


def test_intermediate_with_eku_is_fine(factory: Factory, pki: Pki) -> None:
    inter = factory.intermediate(pki.root, extra=[(x509.ExtendedKeyUsage(list(BOTH)), False)])
    assert lenient(run(factory.leaf(inter), inter, roots=(pki.root,))) == []


# --- CA/B Forum BR 6.1.5: RSA modulus a multiple of 8 bits -----------------------------------


def test_rsa_leaf_not_multiple_of_8(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, public_key=fake_rsa_public(2052))
    message = only_rule(run(leaf, pki.inter, roots=(pki.root,)), "CA/B Forum BR 6.1.5")
    assert "2052-bit RSA key" in message


def test_rsa_root_not_multiple_of_8(factory: Factory) -> None:
    root = factory.root(key="rsa2052")
    message = only_rule(run(factory.leaf(root), roots=(root,)), "CA/B Forum BR 6.1.5")
    assert "'CN=Test Root CA,O=certops tests' has a 2052-bit" in message


# --- CA/B Forum BR 7.1.4.3: the CN is one of the SANs, verbatim ------------------------------


def test_cn_not_in_sans(factory: Factory, pki: Pki) -> None:
    leaf = factory.leaf(pki.inter, "expe1.example.com", sans=("expe.example.com",))
    message = only_rule(run(leaf, pki.inter, roots=(pki.root,)), "CA/B Forum BR 7.1.4.3")
    assert "'expe1.example.com' is not among its Subject Alternative Names" in message
    assert "OpenSSL (Expressway) and Java (Unified CM) do not compare the CN" in message


def test_two_common_names(factory: Factory, pki: Pki) -> None:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expe.example.com"),
                         x509.NameAttribute(NameOID.COMMON_NAME, "join.example.com")])
    leaf = factory.leaf(pki.inter, sans=("expe.example.com", "join.example.com"),
                        subject=subject)
    message = only_rule(run(leaf, pki.inter, roots=(pki.root,)), "CA/B Forum BR 7.1.4.3")
    assert "2 subject common names" in message


@pytest.mark.parametrize(("cn", "dns", "ips", "why"), [
    ("Example.COM", ("example.com",), (), "differs in letter case"),
    ("192.168.001.001", (), ("192.168.1.1",), "dotted decimal"),
    ("0xC0A80101", (), ("192.168.1.1",), "dotted decimal"),
    ("2001:DB8::8A2E:370:7334", (), ("2001:db8::8a2e:370:7334",), "RFC 5952"),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", (), ("2001:db8::1",), "RFC 5952"),
    ("2001:db8:0:0:1:0:0:1", (), ("2001:db8::1:0:0:1",), "RFC 5952"),
    ("test-測試.com", ("xn--test--wg5h0h.com",), (), "Unicode name"),
    ("xn--nxasmq6b.com", ("xn--n3h.com",), (), "not among"),
])
def test_cn_forms_that_break_the_rule(cn: str, dns: tuple[str, ...], ips: tuple[str, ...],
                                      why: str) -> None:
    problem = cn_problem(cn, dns, ips)
    assert problem is not None and why in problem


@pytest.mark.parametrize(("cn", "dns", "ips"), [
    ("expe.example.com", ("join.example.com", "expe.example.com"), ()),
    ("*.example.com", ("*.example.com",), ()),
    ("192.168.1.1", (), ("192.168.1.1",)),
    ("2001:db8::1:0:0:1", (), ("2001:db8::1:0:0:1",)),
])
def test_cn_forms_that_keep_the_rule(cn: str, dns: tuple[str, ...],
                                     ips: tuple[str, ...]) -> None:
    assert cn_problem(cn, dns, ips) is None


def test_ip_common_name_through_verify(factory: Factory, pki: Pki) -> None:
    assert str(ipaddress.ip_address("2001:db8::1")) == "2001:db8::1"  # how SANs are written
    good = factory.leaf(pki.inter, "2001:db8::1", sans=("2001:db8::1",))
    assert lenient(run(good, pki.inter, roots=(pki.root,), names=["2001:db8::1"])) == []
    bad = factory.leaf(pki.inter, "2001:DB8::1", sans=("2001:db8::1",))
    message = only_rule(run(bad, pki.inter, roots=(pki.root,), names=["2001:db8::1"]),
                        "CA/B Forum BR 7.1.4.3")
    assert "written as '2001:DB8::1'" not in message and "'2001:DB8::1'" in message


# --- the lint itself ---------------------------------------------------------------------------


def test_root_rules_wait_for_an_anchor(factory: Factory) -> None:
    root = factory.root(extra=[(x509.ExtendedKeyUsage(list(BOTH)), False)])
    leaf = factory.leaf(root)
    chain = (leaf.info, root.info)
    assert strictness_findings(chain, anchored=False) == []  # not known to be the anchor
    assert len(strictness_findings(chain, anchored=True)) == 1
    assert strictness_findings((), anchored=True) == []


def test_every_message_names_rule_and_both_sides(factory: Factory, pki: Pki) -> None:
    inter = factory.intermediate(pki.root, aki=False, ski=False,
                                 extra=[(x509.PolicyConstraints(0, None), False)])
    leaf = factory.leaf(inter, "cn.example.com", serial=0, aki=False,
                        eku=None, extra=[(x509.ExtendedKeyUsage([*BOTH, ANY]), True)])
    findings = strictness_findings((leaf.info, inter.info, pki.root.info), anchored=True)
    assert len(findings) == 6, [f.message for f in findings]
    for f in findings:
        assert f.message.split(":")[0].startswith(("RFC 5280 ", "CA/B Forum BR ")), f.message
        assert "refuse" in f.message and "accept" in f.message, f.message
