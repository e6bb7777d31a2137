"""Policy checks on certificates (Cisco's step C): key, signature, EKU, validity, wildcard.

``leaf_findings`` judges one server certificate, ``chain_findings`` the CA certificates above
it. Both return ``reconciler.model.Finding`` objects without node or location: callers add
those with ``model_copy``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from reconciler.model import Code, Finding, Policy, Severity
from reconciler.pki.certinfo import CertInfo
from reconciler.pki.names import is_wildcard

# The names OpenSSL, Expressway's "Show decoded" and Cisco's guides use for each EKU.
EKU_LABELS = {
    "serverAuth": "TLS Web Server Authentication",
    "clientAuth": "TLS Web Client Authentication",
    "codeSigning": "Code Signing",
    "emailProtection": "E-mail Protection",
    "timeStamping": "Time Stamping",
    "OCSPSigning": "OCSP Signing",
}


def utc(at: datetime) -> datetime:
    """``at`` as an aware UTC datetime (a naive one is taken to be UTC already)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _when(moment: datetime) -> str:
    return f"{utc(moment):%Y-%m-%d %H:%M} UTC"


def error(code: Code, message: str) -> Finding:
    return Finding(code=code, severity=Severity.ERROR, message=message)


def warning(code: Code, message: str) -> Finding:
    return Finding(code=code, severity=Severity.WARNING, message=message)


def validity_findings(cert: CertInfo, at: datetime, what: str) -> list[Finding]:
    at = utc(at)
    if at > cert.not_after:
        return [error(
            Code.CERT_EXPIRED,
            f"{what} '{cert.subject}' expired on {_when(cert.not_after)} (checked at "
            f"{_when(at)}): replace it with a renewed certificate.",
        )]
    if at < cert.not_before:
        return [error(
            Code.CERT_NOT_YET_VALID,
            f"{what} '{cert.subject}' is not valid before {_when(cert.not_before)} (checked at "
            f"{_when(at)}): wait until then, or check the issuing CA's and the node's clocks.",
        )]
    return []


def eku_findings(cert: CertInfo, required: Sequence[str]) -> list[Finding]:
    missing = [u for u in required if u not in cert.eku]
    if not missing:
        return []
    names = " and ".join(f"{u} ({EKU_LABELS.get(u, u)})" for u in missing)
    has = ", ".join(cert.eku) if cert.eku else "no Extended Key Usage extension"
    return [error(
        Code.EKU_MISSING,
        f"the certificate '{cert.subject}' lacks the Extended Key Usage {names}; it has {has}. "
        "The CA must issue it with both TLS Web Server Authentication and TLS Web Client "
        "Authentication: Expressway and Unified CM use this certificate as TLS server and as "
        "TLS client (zones, trunks, MRA).",
    )]


def key_findings(cert: CertInfo, policy: Policy, what: str) -> list[Finding]:
    who = f"{what} '{cert.subject}'"
    if cert.key_type == "RSA":
        if cert.key_bits < policy.min_rsa_bits:
            return [error(
                Code.KEY_WEAK,
                f"{who} has a {cert.key_bits}-bit RSA key; the policy requires at least "
                f"{policy.min_rsa_bits} bits: generate a new CSR with a {policy.min_rsa_bits}-bit "
                "or larger key.",
            )]
        if cert.key_bits > policy.max_rsa_bits:
            return [warning(
                Code.KEY_TOO_LARGE,
                f"{who} has a {cert.key_bits}-bit RSA key, above the policy's "
                f"{policy.max_rsa_bits} bits: 8192-bit keys break SIP TLS on Expressway; use "
                "2048, 3072 or 4096 bits.",
            )]
        return []
    if cert.key_type == "EC":
        if cert.explicit_curve:
            return [error(
                Code.KEY_WEAK,
                f"{who} has an EC key with explicit curve parameters, which OpenSSL (Expressway) "
                "refuses: use a named curve such as P-256.",
            )]
        if cert.key_bits < policy.min_ec_bits:
            return [error(
                Code.KEY_WEAK,
                f"{who} has a {cert.key_bits}-bit EC key ({cert.curve}); the policy requires at "
                f"least {policy.min_ec_bits} bits: use P-256 or larger.",
            )]
        return []
    if cert.key_type == "DSA":
        return [error(
            Code.KEY_WEAK,
            f"{who} has a DSA key, which TLS on Expressway and Unified CM does not accept: "
            "use RSA (2048 bits or more) or ECDSA.",
        )]
    if cert.key_type in ("Ed25519", "Ed448"):
        return []
    return [error(
        Code.KEY_WEAK,
        f"{who} has a key of an algorithm Expressway and Unified CM do not support "
        f"({cert.key_type}): use RSA (2048 bits or more) or ECDSA.",
    )]


def signature_findings(cert: CertInfo, policy: Policy, what: str) -> list[Finding]:
    algorithm = cert.signature_hash
    if algorithm is None or algorithm in policy.signature_hashes:
        return []
    accepted = ", ".join(policy.signature_hashes)
    return [error(
        Code.SIGNATURE_WEAK,
        f"{what} '{cert.subject}' is signed with {algorithm.upper()}, which the policy does "
        f"not accept ({accepted}): have the CA reissue it with SHA-256 or stronger.",
    )]


LeafRules = Callable[[CertInfo], list[Finding]]
# A certificate checked alone, without a role or a version to judge it by: Cisco's renewal
# procedure's rule, both EKUs (the per-role rules are reconciler.kinds.roles).
DEFAULT_EKU = ("serverAuth", "clientAuth")


def leaf_findings(
    cert: CertInfo, *, policy: Policy, at: datetime | None,
    required_eku: Sequence[str] | None = None, kind_rules: LeafRules | None = None,
) -> list[Finding]:
    """The policy checks on one server certificate (``required_eku`` overrides the policy's).

    ``kind_rules`` adds a device kind's own rules (``NodeKind.leaf_findings``), such as
    Expressway's ban on wildcards."""
    out: list[Finding] = []
    if cert.is_ca:
        out.append(error(
            Code.CERT_IS_CA,
            f"'{cert.subject}' is a CA certificate (basicConstraints CA:TRUE), not a server "
            "certificate: use the server certificate the CA issued for this node's CSR.",
        ))
    usages = required_eku if required_eku is not None else policy.required_eku
    out += eku_findings(cert, DEFAULT_EKU if usages is None else usages)
    out += key_findings(cert, policy, "the certificate")
    out += signature_findings(cert, policy, "the certificate")
    if at is not None:
        out += validity_findings(cert, at, "the certificate")
    if kind_rules is not None:
        out += kind_rules(cert)
    return out


def wildcard_findings(cert: CertInfo, product: str) -> list[Finding]:
    """``san.wildcard`` for a product that does not support wildcard certificates."""
    wild = [n for n in cert.dns_names if is_wildcard(n)]
    if not wild:
        return []
    return [error(
        Code.SAN_WILDCARD,
        f"'{cert.subject}' carries the wildcard name {', '.join(wild)}: {product} does "
        "not support wildcard certificates; request one that lists every name.",
    )]


def chain_findings(
    chain: Sequence[CertInfo], *, policy: Policy, at: datetime | None
) -> list[Finding]:
    """Checks on the CA certificates of a chain (leaf first; the leaf itself is skipped).

    Weak signatures count on intermediates, never on a self-issued root at the top (many
    trusted roots are SHA-1 or even MD2 signed, and nobody relies on a root's own
    signature). Weak keys (RSA below the policy, small or explicit curves, DSA) count on
    every CA, roots included: OpenSSL refuses them at security level 2, and the key signs
    everything below it.
    """
    out: list[Finding] = []
    for position, ca in enumerate(chain[1:], start=1):
        top = position == len(chain) - 1
        if not (top and ca.cert.subject == ca.cert.issuer):
            out += signature_findings(ca, policy, "the CA certificate")
        weak = key_findings(ca, policy, "the CA certificate")
        out += [f for f in weak if f.code == Code.KEY_WEAK]
        if at is not None:
            out += validity_findings(ca, at, "the CA certificate")
    return out
