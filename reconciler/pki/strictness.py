"""``strictness_findings``: the profile rules certops accepts but stricter validators refuse.

certops judges a chain the way the nodes do (OpenSSL on Expressway, Java's PKIX on Unified
CM), and ``cryptography``'s Web PKI verifier accepts the cases below by documented choice.
Being that lenient is a policy, never a silence: each rule here names the RFC 5280 or CA/B
Forum Baseline Requirements section a certificate of the verified chain breaks, who would
refuse it, and who accepts it, as one ``x509.lenient`` warning. The verdict is unchanged.

What each message claims was checked against x509-limbo's cases with ``openssl verify`` (3.0,
default and ``-x509_strict``) and Java 17's PKIX ``CertPathBuilder``; what they say of Go and
browsers is their documented behaviour (no CN matching; no EKU means any purpose). Not
detected: wildcards over a public suffix (``*.co.uk``), which needs the Public Suffix List, a
dependency certops does not carry. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cryptography import x509

from reconciler.model import Code, Finding
from reconciler.pki.certinfo import CertInfo
from reconciler.pki.findings import warning
from reconciler.pki.subjectcn import cn_problems

NODES_ACCEPT = ("OpenSSL's default verification (as on Expressway) and Java's PKIX "
                "(as on Unified CM) accept it")
STRICT_RFC = "strict RFC 5280 validators refuse it"
BR_PROFILE = ("validators that enforce the CA/B Forum Baseline Requirements (the Web PKI "
              "profile) refuse it and a publicly trusted CA must not issue it")


def _lenient(rule: str, problem: str, refused: str, accepted: str = NODES_ACCEPT) -> Finding:
    """One ``x509.lenient`` warning: the rule, what is wrong, who refuses, who accepts."""
    return warning(Code.X509_LENIENT,
                   f"{rule}: {problem}. {refused[0].upper()}{refused[1:]}; {accepted}.")


def _self_issued(cert: CertInfo) -> bool:
    return cert.cert.subject == cert.cert.issuer


def _ext(
    cert: CertInfo, kind: type[x509.ExtensionType]
) -> x509.Extension[x509.ExtensionType] | None:
    try:
        return cert.cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def _anchor(chain: Sequence[CertInfo], anchored: bool) -> CertInfo | None:
    """The trust anchor when it is a self-issued root (the CA/B Forum's "Root CA")."""
    top = chain[-1] if anchored and len(chain) > 1 else None
    return top if top is not None and _self_issued(top) else None


def _ca_label(chain: Sequence[CertInfo], index: int, anchored: bool) -> str:
    if anchored and index == len(chain) - 1:
        return "the trust anchor"
    return "the CA" if chain[index].self_signed else "the intermediate CA"


def aki_rules(chain: Sequence[CertInfo], anchored: bool) -> list[Finding]:
    """RFC 5280 4.2.1.1: a CA certificate that is not self-signed names its issuer's key (the
    leaf's missing AKI is the Web PKI verifier's ``chain.webpki_stricter``)."""
    out: list[Finding] = []
    for index, ca in enumerate(chain[1:], start=1):
        if ca.self_signed or ca.authority_key_id is not None:
            continue
        label = _ca_label(chain, index, anchored)
        refused = ("OpenSSL in strict mode (-x509_strict) and " if label != "the trust anchor"
                   else "") + STRICT_RFC
        out.append(_lenient(
            "RFC 5280 4.2.1.1", f"{label} '{ca.subject}' is issued by '{ca.issuer}' but has no "
            "Authority Key Identifier (keyIdentifier), which every certificate a conforming CA "
            "issues must carry", refused))
    return out


def ski_rules(chain: Sequence[CertInfo], anchored: bool) -> list[Finding]:
    """RFC 5280 4.2.1.2: every CA certificate carries a Subject Key Identifier."""
    return [
        _lenient(
            "RFC 5280 4.2.1.2", f"{_ca_label(chain, index, anchored)} '{ca.subject}' has no "
            "Subject Key Identifier, which every conforming CA certificate must carry",
            "OpenSSL in strict mode (-x509_strict) and " + STRICT_RFC)
        for index, ca in enumerate(chain[1:], start=1)
        if ca.subject_key_id is None
    ]


def _akid_names_itself(root: CertInfo, aki: x509.AuthorityKeyIdentifier) -> bool:
    """OpenSSL's X509_check_akid of a root against itself: does its AKI describe itself?"""
    if aki.key_identifier is not None and aki.key_identifier.hex() != root.subject_key_id:
        return False
    if aki.authority_cert_serial_number not in (None, root.cert.serial_number):
        return False
    names = [n.value for n in aki.authority_cert_issuer or ()
             if isinstance(n, x509.DirectoryName)]
    return aki.authority_cert_issuer is None or root.cert.issuer in names


def root_aki_rules(chain: Sequence[CertInfo], anchored: bool) -> list[Finding]:
    """CA/B Forum BR 7.1.2.1.3: a root's AKI, if any, is its own SKI and nothing else."""
    root = _anchor(chain, anchored)
    found = _ext(root, x509.AuthorityKeyIdentifier) if root is not None else None
    if root is None or found is None or not isinstance(found.value, x509.AuthorityKeyIdentifier):
        return []
    aki = found.value
    wrong = []
    if aki.authority_cert_issuer is not None or aki.authority_cert_serial_number is not None:
        wrong.append("carries authorityCertIssuer/authorityCertSerialNumber, which must not be "
                     "present")
    if aki.key_identifier is not None and aki.key_identifier.hex() != root.subject_key_id:
        wrong.append(f"has keyIdentifier {aki.key_identifier.hex()}, which must equal its "
                     f"Subject Key Identifier ({root.subject_key_id or 'absent'})")
    if not wrong:
        return []
    accepted = NODES_ACCEPT
    if not _akid_names_itself(root, aki):
        accepted = ("Java's PKIX (as on Unified CM) accepts it; OpenSSL (Expressway) does not "
                    "take it for self-signed because its AKI does not match itself, so it "
                    "accepts the chain only where partial chains are trusted "
                    "(`openssl verify` without -partial_chain refuses it)")
    return [_lenient(
        "CA/B Forum BR 7.1.2.1.3", f"the root CA '{root.subject}' has an Authority Key "
        f"Identifier that {' and '.join(wrong)}", BR_PROFILE, accepted)]


def criticality_rules(chain: Sequence[CertInfo]) -> list[Finding]:
    """RFC 5280 4.2.1.10 and 4.2.1.11: conforming CAs mark these constraints critical."""
    rules = ((x509.NameConstraints, "nameConstraints", "4.2.1.10"),
             (x509.PolicyConstraints, "policyConstraints", "4.2.1.11"))
    out: list[Finding] = []
    for ca in chain[1:]:
        for kind, name, section in rules:
            found = _ext(ca, kind)
            if found is not None and not found.critical:
                out.append(_lenient(
                    f"RFC 5280 {section}", f"the CA '{ca.subject}' has a non-critical {name} "
                    "extension, which conforming CAs must mark critical", STRICT_RFC,
                    "OpenSSL (Expressway) and Java's PKIX (Unified CM) accept it and apply "
                    "the constraints all the same"))
    return out


def serial_rules(chain: Sequence[CertInfo], anchored: bool) -> list[Finding]:
    """RFC 5280 4.1.2.2: a positive serial number (a trust anchor's own is not judged)."""
    judged = chain[:-1] if anchored and len(chain) > 1 else chain
    return [
        _lenient("RFC 5280 4.1.2.2", f"'{cert.subject}' has the serial number "
                 f"{'zero' if cert.serial == '0' else '-0x' + cert.serial[1:]}, and a serial "
                 "number must be a positive integer", STRICT_RFC)
        for cert in judged
        if cert.serial == "0" or cert.serial.startswith("-")
    ]


def leaf_eku_rules(leaf: CertInfo, usages: Sequence[str]) -> list[Finding]:
    """CA/B Forum BR 7.1.2.7.6 and 7.1.2.7.10: a leaf's EKU is present, non-critical and
    specific. Without ``usages`` only: when usages are required, ``eku.missing`` speaks."""
    found = _ext(leaf, x509.ExtendedKeyUsage)
    out: list[Finding] = []
    if found is None:
        if not usages:
            out.append(_lenient(
                "CA/B Forum BR 7.1.2.7.6", f"the certificate '{leaf.subject}' has no Extended "
                "Key Usage extension, which a TLS server certificate must carry (RFC 5280 "
                "4.2.1.12 allows its absence: any purpose)", BR_PROFILE,
                "OpenSSL, Java and Go's crypto/x509 treat it as valid for any purpose"))
        return out
    if found.critical:
        out.append(_lenient(
            "CA/B Forum BR 7.1.2.7.6", f"the certificate '{leaf.subject}' marks its Extended "
            "Key Usage extension critical, which a TLS server certificate must not (RFC 5280 "
            "allows it)", BR_PROFILE))
    if "anyExtendedKeyUsage" in leaf.eku:
        out.append(_lenient(
            "CA/B Forum BR 7.1.2.7.10", f"the certificate '{leaf.subject}' lists "
            "anyExtendedKeyUsage in its Extended Key Usage, which a TLS server certificate "
            "must not", BR_PROFILE))
    return out


def root_eku_rules(chain: Sequence[CertInfo], anchored: bool) -> list[Finding]:
    """CA/B Forum BR 7.1.2.1.2: a root CA certificate has no Extended Key Usage."""
    root = _anchor(chain, anchored)
    if root is None or not root.has_eku:
        return []
    return [_lenient(
        "CA/B Forum BR 7.1.2.1.2", f"the root CA '{root.subject}' has an Extended Key Usage "
        f"extension ({', '.join(root.eku)}), which a root CA certificate must not carry",
        BR_PROFILE)]


def rsa_rules(chain: Sequence[CertInfo]) -> list[Finding]:
    """CA/B Forum BR 6.1.5: an RSA modulus size is a multiple of 8 bits."""
    return [
        _lenient("CA/B Forum BR 6.1.5", f"'{cert.subject}' has a {cert.key_bits}-bit RSA "
                 "key, and an RSA modulus size must be a multiple of 8 bits", BR_PROFILE)
        for cert in chain
        if cert.key_type == "RSA" and cert.key_bits % 8
    ]


CN_ACCEPTED = ("OpenSSL (Expressway) and Java (Unified CM) do not compare the CN with the "
               "SANs, and browsers and Go's crypto/x509 match host names against SANs only")


def cn_rules(leaf: CertInfo) -> list[Finding]:
    """CA/B Forum BR 7.1.4.3: the subject CN, if any, is one of the SANs, verbatim."""
    return [_lenient("CA/B Forum BR 7.1.4.3", problem, BR_PROFILE, CN_ACCEPTED)
            for problem in cn_problems(leaf)]


ChainRule = Callable[[Sequence[CertInfo], bool], list[Finding]]
_CHAIN_RULES: tuple[ChainRule, ...] = (
    aki_rules, ski_rules, root_aki_rules, root_eku_rules, serial_rules,
    lambda chain, _anchored: criticality_rules(chain),
    lambda chain, _anchored: rsa_rules(chain),
)


def strictness_findings(
    chain: Sequence[CertInfo], *, anchored: bool, usages: Sequence[str] = ()
) -> list[Finding]:
    """Every ``x509.lenient`` warning for a verified chain (leaf first).

    ``anchored`` says the last certificate is the trust anchor (a complete chain); the root
    rules judge it only then. ``usages`` are the EKUs verify() demands of the leaf.
    """
    if not chain:
        return []
    out = [*leaf_eku_rules(chain[0], usages), *cn_rules(chain[0])]
    for rule in _CHAIN_RULES:
        out += rule(chain, anchored)
    return out
