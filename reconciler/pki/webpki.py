"""``cryptography.x509.verification`` (the Web PKI profile) configured for certops.

The end-entity EKU rule is replaced by one that demands every requested usage (Expressway
and Unified CM need serverAuth *and* clientAuth on one certificate); a CA that restricts its
EKUs must allow them too. With names, a server verifier runs per name; without, a client
verifier. The result is the verifier's chain, or its reason for refusing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from reconciler.pki.facts import eku_name, eku_oid
from reconciler.pki.names import ip_of, normalize_host

_ANY = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE


@dataclass(frozen=True)
class WebPkiResult:
    """The verifier's chain (leaf first) when it accepts; its reason when it refuses."""

    chain: tuple[x509.Certificate, ...] = ()
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


def _require(oids: Sequence[x509.ObjectIdentifier], *, ca: bool) -> object:
    def check(_policy: Policy, cert: x509.Certificate, eku: x509.ExtendedKeyUsage | None) -> None:
        if eku is None:
            if ca:
                return
            raise ValueError("the Extended Key Usage extension is missing")
        have = list(eku)
        if ca and _ANY in have:
            return
        missing = [eku_name(o) for o in oids if o not in have]
        if missing:
            raise ValueError(f"Extended Key Usage lacks {', '.join(missing)}")

    return check


def _policies(usages: Sequence[str]) -> tuple[ExtensionPolicy, ExtensionPolicy]:
    ca = ExtensionPolicy.webpki_defaults_ca()
    ee = ExtensionPolicy.webpki_defaults_ee()
    if not usages:
        return ca, ee
    oids = [eku_oid(u) for u in usages]
    ee = ee.require_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC,
                            _require(oids, ca=False))  # type: ignore[arg-type]
    ca = ca.may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC,
                           _require(oids, ca=True))  # type: ignore[arg-type]
    return ca, ee


_ENCOUNTERED = re.compile(
    r"\s*\(encountered processing <Certificate\(subject=<Name\((.*?)\)>, \.\.\.\)>\)"
)


def _reason(exc: Exception) -> str:
    """The verifier's message, with its Python repr of the certificate made readable."""
    text = str(exc).removeprefix("validation failed: ").strip()
    return _ENCOUNTERED.sub(lambda m: f" (at '{m.group(1)}')", text)


def _subject(name: str) -> x509.verification.Subject:
    ip = ip_of(name)
    if ip is not None:
        return x509.IPAddress(ip)
    return x509.DNSName(normalize_host(name))


def webpki_verify(
    leaf: x509.Certificate,
    *,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    at: datetime,
    names: Sequence[str] = (),
    usages: Sequence[str] = (),
    max_depth: int | None = None,
) -> WebPkiResult:
    """Run cryptography's verifier; never raises for a bad chain, only returns the reason."""
    if not roots:
        return WebPkiResult(reason="no trust anchors were given")
    try:
        ca_policy, ee_policy = _policies(usages)
        builder = PolicyBuilder().store(Store(list(roots))).time(at)
        builder = builder.extension_policies(ca_policy=ca_policy, ee_policy=ee_policy)
        if max_depth is not None:
            builder = builder.max_chain_depth(max_depth)
        chain: list[x509.Certificate] = []
        if not names:
            chain = builder.build_client_verifier().verify(leaf, list(intermediates)).chain
        for name in names:
            verifier = builder.build_server_verifier(_subject(name))
            chain = verifier.verify(leaf, list(intermediates))
    except VerificationError as exc:
        return WebPkiResult(reason=_reason(exc))
    except (ValueError, TypeError) as exc:
        return WebPkiResult(reason=f"the verifier could not run: {exc}")
    return WebPkiResult(chain=tuple(chain))
