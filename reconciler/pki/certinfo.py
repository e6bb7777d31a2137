"""``CertInfo`` and ``CsrInfo``: one parsed certificate or CSR with its facts computed once.

Both are frozen and compared by identity (``eq=False``): the cache hands out one object per
DER encoding, so ``is`` and the ``sha256`` field are the ways to compare.
"""

from __future__ import annotations

import base64
import hashlib
import textwrap
import warnings
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.model import CertSummary
from reconciler.pki import facts
from reconciler.pki.der import has_explicit_ec_parameters, spki_of_tbs, tbs_names_and_spki
from reconciler.pki.errors import PkiError
from reconciler.pki.lookups import by_class, extension, issuer_string
from reconciler.pki.signatures import csr_signature_ok, signed_by


def _pem(der: bytes, label: str) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


def quiet() -> warnings.catch_warnings[None]:
    """Silence cryptography's warnings about odd encodings while parsing.

    Zero or negative serial numbers and over-long country names are accepted by OpenSSL and
    Java; the Web PKI verifier and ``strictness`` (``x509.lenient``, RFC 5280 4.1.2.2 for the
    serial) report what matters as findings. A Python warning would only confuse users.
    One filter covers both kinds: ``CryptographyDeprecationWarning`` is a ``UserWarning``
    (a test says so), and each filter added costs time on every certificate.
    """
    return warnings.catch_warnings(action="ignore", category=UserWarning)


def _self_signed(cert: x509.Certificate) -> bool:
    try:
        return signed_by(cert, cert)
    except Exception:  # a key cryptography cannot load: not provably self-signed
        return False


@dataclass(frozen=True, eq=False)
class CertInfo:
    """One X.509 certificate and the facts every check needs (see ``from_der``)."""

    cert: x509.Certificate
    der: bytes
    sha256: str
    spki_sha256: str
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    uris: tuple[str, ...]
    emails: tuple[str, ...]
    san_critical: bool
    key_usage: tuple[str, ...]
    eku: tuple[str, ...]
    authority_key_id: str | None
    subject_key_id: str | None
    is_ca: bool
    path_length: int | None
    key_type: str
    key_bits: int
    curve: str | None
    signature_hash: str | None
    has_key_usage: bool = False  # keyUsage present (an empty key_usage may mean "absent")
    has_eku: bool = False  # extendedKeyUsage present
    explicit_curve: bool = False  # EC key with spelled-out parameters (OpenSSL 3 refuses)

    @cached_property
    def self_signed(self) -> bool:
        """Issuer equals subject and the certificate's own key verifies its signature.

        Computed on first use, not in ``from_der``: a signature check costs more than every
        other fact together, and most certificates are only ever asked as CA candidates.
        (``cached_property`` writes the instance ``__dict__``, past the frozen ``__setattr__``.)
        """
        with quiet():
            return _self_signed(self.cert)

    @classmethod
    def from_der(cls, der: bytes) -> CertInfo:
        """Parse DER and compute every fact. Raises PkiError (never ValueError)."""
        with quiet():  # once per certificate: entering it costs as much as a fact
            try:
                cert = x509.load_der_x509_certificate(der)
            except Exception as exc:  # ValueError, InvalidVersion
                raise PkiError(f"not a valid X.509 certificate ({exc})") from None
            return cls._checked(cert, der)

    @classmethod
    def from_certificate(cls, cert: x509.Certificate, der: bytes | None = None) -> CertInfo:
        """Compute the facts of a loaded certificate. Raises PkiError for malformed content."""
        with quiet():
            return cls._checked(cert, der)

    @classmethod
    def _checked(cls, cert: x509.Certificate, der: bytes | None) -> CertInfo:
        """``_build`` with cryptography's errors as PkiError (the caller holds ``quiet``)."""
        try:
            return cls._build(cert, der if der is not None else cert.public_bytes(Encoding.DER))
        except PkiError:
            raise
        except Exception as exc:  # cryptography parses names and extensions lazily
            raise PkiError(f"the certificate has malformed content ({exc})") from None

    @classmethod
    def _build(cls, cert: x509.Certificate, der: bytes) -> CertInfo:
        subject = cert.subject.rfc4514_string()
        try:
            exts = by_class(cert.extensions)
        except Exception as exc:  # ValueError, TypeError, DuplicateExtension...
            raise PkiError(f"certificate '{subject}' has malformed extensions ({exc})") from None
        san = extension(exts, x509.SubjectAlternativeName)
        dns, ips, uris, emails = facts.san_facts(san.value if san else None)
        ku = extension(exts, x509.KeyUsage)
        eku = extension(exts, x509.ExtendedKeyUsage)
        aki = extension(exts, x509.AuthorityKeyIdentifier)
        ski = extension(exts, x509.SubjectKeyIdentifier)
        bc = extension(exts, x509.BasicConstraints)
        key_type, key_bits, curve = facts.load_key_facts(cert)
        # Never an empty SPKI: two unreadable keys must not "match" each other.
        tbs = cert.tbs_certificate_bytes
        parts = tbs_names_and_spki(tbs)
        spki = (parts[2] if parts else spki_of_tbs(tbs)) or der
        aki_id = aki.value.key_identifier if aki else None
        return cls(
            cert=cert,
            der=der,
            sha256=hashlib.sha256(der).hexdigest(),
            spki_sha256=hashlib.sha256(spki).hexdigest(),
            subject=subject,
            issuer=issuer_string(cert, parts, subject),
            serial=format(cert.serial_number, "x") if cert.serial_number >= 0
            else "-" + format(-cert.serial_number, "x"),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            dns_names=dns,
            ip_addresses=ips,
            uris=uris,
            emails=emails,
            san_critical=bool(san and san.critical),
            key_usage=facts.key_usage_names(ku.value) if ku else (),
            eku=tuple(facts.eku_name(o) for o in eku.value) if eku else (),
            authority_key_id=aki_id.hex() if aki_id is not None else None,
            subject_key_id=ski.value.digest.hex() if ski else None,
            is_ca=bool(bc and bc.value.ca),
            path_length=bc.value.path_length if bc else None,
            key_type=key_type,
            key_bits=key_bits,
            curve=curve,
            signature_hash=facts.signature_hash(cert),
            has_key_usage=ku is not None,
            has_eku=eku is not None,
            explicit_curve=has_explicit_ec_parameters(spki),
        )

    @property
    def pem(self) -> str:
        return _pem(self.der, "CERTIFICATE")

    def san_set(self) -> frozenset[str]:
        """DNS names lowercased plus IP addresses, to compare with desired SANs."""
        return facts.san_set(self.dns_names, self.ip_addresses)

    def summary(self) -> CertSummary:
        return CertSummary(
            subject=self.subject,
            issuer=self.issuer,
            serial=self.serial,
            not_before=self.not_before,
            not_after=self.not_after,
            sha256=self.sha256,
            subject_alt_names=(*self.dns_names, *self.ip_addresses),
            authority_key_id=self.authority_key_id,
            extended_key_usage=self.eku,
        )

    def __repr__(self) -> str:
        return f"CertInfo(subject={self.subject!r}, sha256={self.sha256[:16]}…)"


@dataclass(frozen=True, eq=False)
class CsrInfo:
    """One PKCS#10 certificate signing request and its facts."""

    csr: x509.CertificateSigningRequest
    der: bytes
    sha256: str
    subject: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    requested_eku: tuple[str, ...]
    key_type: str
    key_bits: int
    spki_sha256: str
    signature_hash: str | None
    signature_valid: bool
    curve: str | None = None

    @classmethod
    def from_der(cls, der: bytes) -> CsrInfo:
        with quiet():
            try:
                csr = x509.load_der_x509_csr(der)
                return cls._build(csr, der)
            except PkiError:
                raise
            except Exception as exc:  # ValueError from loading, or lazily parsed content
                raise PkiError(f"not a valid certificate signing request ({exc})") from None

    @classmethod
    def _build(cls, csr: x509.CertificateSigningRequest, der: bytes) -> CsrInfo:
        subject = csr.subject.rfc4514_string()
        try:
            exts = by_class(csr.extensions)
        except Exception as exc:  # ValueError, TypeError, DuplicateExtension...
            raise PkiError(f"the CSR for '{subject}' has malformed extensions ({exc})") from None
        san = extension(exts, x509.SubjectAlternativeName)
        dns, ips, _, _ = facts.san_facts(san.value if san else None)
        eku = extension(exts, x509.ExtendedKeyUsage)
        key_type, key_bits, curve = facts.load_key_facts(csr)
        valid = csr_signature_ok(csr)
        spki = spki_of_tbs(csr.tbs_certrequest_bytes, csr=True) or der
        return cls(
            csr=csr,
            der=der,
            sha256=hashlib.sha256(der).hexdigest(),
            subject=subject,
            dns_names=dns,
            ip_addresses=ips,
            requested_eku=tuple(facts.eku_name(o) for o in eku.value) if eku else (),
            key_type=key_type,
            key_bits=key_bits,
            spki_sha256=hashlib.sha256(spki).hexdigest(),
            signature_hash=facts.signature_hash(csr),
            signature_valid=valid,
            curve=curve,
        )

    @property
    def pem(self) -> str:
        return _pem(self.der, "CERTIFICATE REQUEST")

    def san_set(self) -> frozenset[str]:
        return facts.san_set(self.dns_names, self.ip_addresses)

    def __repr__(self) -> str:
        return f"CsrInfo(subject={self.subject!r}, sha256={self.sha256[:16]}…)"


def key_matches(cert: CertInfo, other: CertInfo | CsrInfo) -> bool:
    """True when both carry the same public key (SubjectPublicKeyInfo equality)."""
    return cert.spki_sha256 == other.spki_sha256
