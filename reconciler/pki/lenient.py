"""An OpenSSL-like path check: what Expressway (OpenSSL) and Unified CM (Java) accept.

``cryptography``'s verifier applies the CA/Browser Forum's Web PKI profile, which is stricter
than the verifiers on the nodes (it refuses a critical SAN beside a non-empty subject, a
missing Authority Key Identifier, odd serial numbers...). When it refuses a chain, this check
decides whether the chain is really broken (``chain.invalid``) or only outside the Web PKI
profile (``chain.webpki_stricter``). It follows OpenSSL's default (non-strict) rules: every
signature, every validity period, issuers are CAs (keyCertSign when keyUsage is present),
path lengths, name constraints, no unknown critical extension, CA EKUs allow the purpose.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from reconciler.pki.certinfo import CertInfo
from reconciler.pki.chain import signature_ok
from reconciler.pki.constraints import violation
from reconciler.pki.findings import utc

# The extensions OpenSSL processes (X509_supported_extension); others may not be critical.
_HANDLED = frozenset({
    ExtensionOID.KEY_USAGE, ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
    ExtensionOID.BASIC_CONSTRAINTS, ExtensionOID.CERTIFICATE_POLICIES,
    ExtensionOID.EXTENDED_KEY_USAGE, ExtensionOID.POLICY_CONSTRAINTS,
    ExtensionOID.NAME_CONSTRAINTS, ExtensionOID.POLICY_MAPPINGS,
    ExtensionOID.INHIBIT_ANY_POLICY, ExtensionOID.TLS_FEATURE,
    x509.ObjectIdentifier("2.16.840.1.113730.1.1"),  # Netscape cert type
    x509.ObjectIdentifier("1.3.6.1.5.5.7.1.14"),  # proxyCertInfo
    x509.ObjectIdentifier("1.3.6.1.5.5.7.1.7"),  # sbgp-ipAddrBlock
    x509.ObjectIdentifier("1.3.6.1.5.5.7.1.8"),  # sbgp-autonomousSysNum
})
# Failure kinds that the policy checks already report with their own codes.
COVERED = frozenset({"incomplete", "validity", "key"})


@dataclass(frozen=True)
class LenientResult:
    """``ok``, or the first problem found: ``kind`` (stable word) and ``reason`` (for people)."""

    ok: bool
    kind: str | None = None
    reason: str | None = None


def _fail(kind: str, reason: str) -> LenientResult:
    return LenientResult(False, kind, reason)


def _self_issued(cert: CertInfo) -> bool:
    return cert.cert.subject == cert.cert.issuer


def _ca_status(cert: CertInfo, *, top: bool) -> str | None:
    """Why ``cert`` cannot issue certificates (OpenSSL's check_ca), or None."""
    if cert.has_key_usage and "keyCertSign" not in cert.key_usage:
        return "its keyUsage lacks keyCertSign"
    try:
        cert.cert.extensions.get_extension_for_oid(ExtensionOID.BASIC_CONSTRAINTS)
    except x509.ExtensionNotFound:
        # OpenSSL tolerates a v1 self-signed root, or a v3 one with keyCertSign, as anchor.
        v1_root = cert.cert.version is x509.Version.v1 and cert.self_signed
        if top and (v1_root or cert.has_key_usage):
            return None
        return "it has no basicConstraints extension"
    return None if cert.is_ca else "its basicConstraints say CA:FALSE"


def _unknown_critical(cert: CertInfo) -> str | None:
    for ext in cert.cert.extensions:
        if ext.critical and ext.oid not in _HANDLED:
            return str(ext.oid.dotted_string)
    return None


def lenient_check(
    chain: Sequence[CertInfo], *, complete: bool, at: datetime, usages: Sequence[str] = (),
    max_depth: int | None = None,
) -> LenientResult:
    """Check a built chain (leaf first, trust anchor last) the way OpenSSL would.

    ``max_depth`` limits the intermediates (self-issued ones not counted), like
    ``openssl verify -verify_depth``.
    """
    if not chain or not complete:
        return _fail("incomplete", "no path to a trusted root")
    at = utc(at)
    middle = [c for c in chain[1:-1] if not _self_issued(c)]
    if max_depth is not None and len(middle) > max_depth:
        return _fail("depth", f"the chain has {len(middle)} intermediate CAs, more than "
                              f"the {max_depth} allowed")
    for cert in chain:
        if cert.explicit_curve:
            return _fail("key", f"'{cert.subject}' has an EC key with explicit parameters")
        if not cert.not_before <= at <= cert.not_after:
            return _fail("validity", f"'{cert.subject}' is not valid at {at:%Y-%m-%d %H:%M} UTC")
        oid = _unknown_critical(cert)
        if oid is not None:
            return _fail("critical_extension",
                         f"'{cert.subject}' has an unsupported critical extension {oid}")
    for child, parent in itertools.pairwise(chain):
        if not signature_ok(child, parent):
            return _fail("signature", f"the signature of '{child.subject}' does not verify "
                                      f"with the key of '{parent.subject}'")
    path = 0  # CAs below the current one, not counting self-issued intermediates
    for index, ca in enumerate(chain[1:], start=1):
        top = index == len(chain) - 1
        why = _ca_status(ca, top=top)
        if why is None and len(ca.cert.subject) == 0:
            why = "its subject name is empty"
        if why is not None:
            return _fail("not_ca", f"'{ca.subject}' issues a certificate but {why}")
        if index > 1 and ca.path_length is not None and path > ca.path_length:
            return _fail("path_length", f"'{ca.subject}' allows {ca.path_length} intermediate "
                                        f"CA(s) below it, the chain has {path}")
        if not _self_issued(ca):
            path += 1
        if ca.has_eku and "anyExtendedKeyUsage" not in ca.eku:
            lacking = [u for u in usages if u not in ca.eku]
            if lacking:
                return _fail("ca_eku", f"the CA '{ca.subject}' restricts its Extended Key Usage "
                                       f"to {', '.join(ca.eku)}, without {', '.join(lacking)}")
    return _name_constraints(chain)


def _name_constraints(chain: Sequence[CertInfo]) -> LenientResult:
    for index in range(len(chain) - 1, -1, -1):
        cert = chain[index]
        if index != 0 and _self_issued(cert):
            continue
        for above in chain[index + 1 :]:
            try:
                nc = above.cert.extensions.get_extension_for_class(x509.NameConstraints).value
            except x509.ExtensionNotFound:
                continue
            why = violation(nc, cert.cert, leaf=index == 0)
            if why is not None:
                return _fail("name_constraints", f"'{cert.subject}': {why} of '{above.subject}'")
    return LenientResult(True)
