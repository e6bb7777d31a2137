"""``verify()``: is this server certificate good for a node, at a given time, for given names?

Three opinions are combined. ``build_chain`` finds the path (and names a missing CA);
``cryptography``'s Web PKI verifier gives the strict verdict; ``lenient_check`` gives the
verdict of OpenSSL and Java, which is what Expressway and Unified CM apply. A chain both
refuse is ``chain.invalid``; one only the Web PKI verifier refuses is a warning,
``chain.webpki_stricter``. The policy checks (``leaf_findings``, ``chain_findings``) and the
name checks come on top, and ``strictness_findings`` warns (``x509.lenient``) where the chain
breaks a rule that the Web PKI verifier forgives but stricter validators enforce; the
certificate is valid when no finding is an error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.model import Code, Finding, Policy, Severity
from reconciler.pki.certinfo import CertInfo
from reconciler.pki.chain import ChainResult, build_chain
from reconciler.pki.findings import (
    LeafRules,
    chain_findings,
    error,
    leaf_findings,
    utc,
    warning,
)
from reconciler.pki.lenient import COVERED, lenient_check
from reconciler.pki.names import covers
from reconciler.pki.strictness import strictness_findings
from reconciler.pki.webpki import webpki_verify


@dataclass(frozen=True)
class VerifyResult:
    """``valid`` when no finding is an error; ``chain`` leaf first (anchor last when found)."""

    valid: bool
    chain: tuple[CertInfo, ...]
    findings: tuple[Finding, ...]


def _incomplete(built: ChainResult) -> Finding:
    last = built.chain[-1]
    aki = f" (Authority Key Identifier {built.missing_aki})" if built.missing_aki else ""
    if last.self_signed:
        return error(
            Code.CHAIN_INCOMPLETE,
            f"the chain ends at the self-signed '{last.subject}'{aki}, which is not a trusted "
            "root: if it is your root CA, add it under cas/ (trust anchors).",
        )
    return error(
        Code.CHAIN_INCOMPLETE,
        f"the chain stops at '{last.subject}': its issuer '{built.missing_issuer}'{aki} was "
        "not found. Add that CA certificate under cas/ or append it to the certificate file.",
    )


def _name_findings(leaf: CertInfo, names: Sequence[str]) -> list[Finding]:
    have = ", ".join([*leaf.dns_names, *leaf.ip_addresses]) or "no DNS or IP names"
    return [
        error(
            Code.SAN_NAME_MISMATCH,
            f"'{leaf.subject}' does not cover {name!r}: its Subject Alternative Names are "
            f"{have}. Request a certificate that lists it.",
        )
        for name in names
        if not covers(leaf, name)
    ]


def verify(
    leaf: CertInfo,
    *,
    intermediates: Sequence[CertInfo] = (),
    roots: Sequence[CertInfo],
    at: datetime,
    names: Sequence[str] = (),
    usages: Sequence[str] = ("serverAuth", "clientAuth"),
    policy: Policy | None = None,
    kind_rules: LeafRules | None = None,
    max_depth: int | None = None,
) -> VerifyResult:
    """Verify ``leaf`` up to one of ``roots`` at ``at`` (see the module docstring)."""
    policy = policy if policy is not None else Policy()
    at = utc(at)
    built = build_chain(leaf, [*intermediates, *roots], roots)
    strict = webpki_verify(
        leaf.cert,
        intermediates=[c.cert for c in intermediates],
        roots=[c.cert for c in roots],
        at=at, names=names, usages=usages, max_depth=max_depth,
    )
    chain = built.chain
    if strict.ok:
        chain = _as_infos(strict.chain, (leaf, *intermediates, *roots)) or chain

    findings: list[Finding] = leaf_findings(
        leaf, policy=policy, at=at, required_eku=usages, kind_rules=kind_rules
    )
    findings += _name_findings(leaf, names)
    findings += chain_findings(chain, policy=policy, at=at)
    findings += strictness_findings(chain, anchored=strict.ok or built.complete, usages=usages)
    if not strict.ok:
        if not built.complete:
            findings.append(_incomplete(built))
        lenient = lenient_check(chain, complete=built.complete, at=at, usages=usages,
                                max_depth=max_depth)
        if not lenient.ok and lenient.kind not in COVERED:
            findings.append(error(
                Code.CHAIN_INVALID,
                f"the chain of '{leaf.subject}' is invalid: {lenient.reason}. "
                f"(Web PKI verifier: {strict.reason})",
            ))
        elif lenient.ok and not any(f.severity is Severity.ERROR for f in findings):
            findings.append(warning(
                Code.CHAIN_WEBPKI_STRICTER,
                f"the chain of '{leaf.subject}' is accepted by OpenSSL-style verification (as "
                f"on Expressway and Unified CM) but refused by the Web PKI rules: {strict.reason}. "
                "Browsers and strict clients may refuse it.",
            ))
    ordered = sorted(_dedupe(findings), key=Finding.sort_key)
    return VerifyResult(
        valid=not any(f.severity is Severity.ERROR for f in ordered),
        chain=chain,
        findings=tuple(ordered),
    )


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for f in findings:
        if (f.code, f.message) not in seen:
            seen.add((f.code, f.message))
            out.append(f)
    return out


def _as_infos(
    certs: Sequence[x509.Certificate], known: Sequence[CertInfo]
) -> tuple[CertInfo, ...] | None:
    """The verifier's chain as our CertInfo objects (None if one is unknown)."""
    by_sha = {c.sha256: c for c in known}
    out: list[CertInfo] = []
    for cert in certs:
        info = by_sha.get(hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest())
        if info is None:
            return None
        out.append(info)
    return tuple(out)
