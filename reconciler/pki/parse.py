"""Bytes in, ``CertInfo``/``CsrInfo`` out: PEM (one or many blocks) or DER, with clear errors.

``parse_certificates`` accepts what CAs and nodes hand out: a leaf, a full chain in any
order, OpenSSL's ``X509 CERTIFICATE`` and ``TRUSTED CERTIFICATE`` blocks, PKCS#7 (``.p7b``)
bundles, or one DER certificate. Anything else raises ``PkiError`` saying what the input is.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from reconciler.pki.certinfo import CertInfo, CsrInfo, quiet
from reconciler.pki.der import first_element
from reconciler.pki.errors import PkiError
from reconciler.pki.pem import (
    CERT_LABELS,
    CSR_LABELS,
    PKCS7_LABELS,
    PemBlock,
    contains_private_key,
    looks_like_pem,
    pem_blocks,
)

CertLoader = Callable[[bytes], CertInfo]

_KEY_HINT = (
    "this is a private key, not a certificate. Keep private keys out of files you share "
    "and out of git; certops needs only the certificate"
)
_CSR_AS_CERT = "this is a certificate signing request, not a certificate: have the CA sign it"
_CERT_AS_CSR = "this is a certificate, not a certificate signing request"


def _what_else(blocks: list[PemBlock], data: bytes) -> str:
    """Why PEM input holds no certificate: name what it holds instead."""
    labels = [b.label for b in blocks]
    if any(label in CSR_LABELS for label in labels):
        return _CSR_AS_CERT
    if contains_private_key(data):
        return _KEY_HINT
    if labels:
        return f"no certificate found: the PEM blocks are {', '.join(repr(x) for x in labels)}"
    return "no certificate found: no complete '-----BEGIN CERTIFICATE-----' block"


def _pkcs7(der: bytes) -> list[bytes]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "falling back to parsing as BER"
            certs = pkcs7.load_der_pkcs7_certificates(der)
    except Exception as exc:  # ValueError, UnsupportedAlgorithm (enveloped data)
        raise PkiError(f"not a PKCS#7 certificate bundle ({exc})") from None
    return [c.public_bytes(Encoding.DER) for c in certs]


def certificate_ders(data: bytes) -> list[bytes]:
    """The DER encodings of every certificate in ``data`` (PEM, PKCS#7 or DER)."""
    if not data.strip():
        raise PkiError("empty input: expected a certificate (PEM or DER)")
    if looks_like_pem(data):
        blocks = pem_blocks(data)
        ders: list[bytes] = []
        for block in blocks:
            if block.label == "TRUSTED CERTIFICATE":
                # OpenSSL appends its trust settings after the certificate.
                ders.append(first_element(block.der) or block.der)
            elif block.label in CERT_LABELS:
                ders.append(block.der)
            elif block.label in PKCS7_LABELS:
                ders.extend(_pkcs7(block.der))
        if not ders:
            raise PkiError(_what_else(blocks, data))
        return ders
    return _der_certificates(data)


def _der_certificates(data: bytes) -> list[bytes]:
    """Binary input: one DER certificate, or every certificate of a DER PKCS#7 (``.p7b``)
    bundle, the usual way a CA delivers a chain."""
    try:
        with quiet():  # a zero serial number warns here; strictness.py says it in words
            x509.load_der_x509_certificate(data)
        return [data]
    except Exception:  # ValueError, InvalidVersion: not a usable DER certificate
        pass
    if contains_private_key(data):
        raise PkiError(_KEY_HINT)
    try:
        x509.load_der_x509_csr(data)
    except Exception:  # not a DER CSR either
        pass
    else:
        raise PkiError(_CSR_AS_CERT)
    try:
        bundle = _pkcs7(data)
    except PkiError:
        bundle = []
    if bundle:
        return bundle
    raise PkiError(
        "no certificate found: the input is neither PEM (no '-----BEGIN CERTIFICATE-----' "
        "line) nor a DER certificate"
    )


def parse_certificates(data: bytes, load: CertLoader = CertInfo.from_der) -> tuple[CertInfo, ...]:
    """Every certificate in ``data``, in file order. Raises PkiError for unusable input."""
    ders = certificate_ders(data)
    out: list[CertInfo] = []
    for number, der in enumerate(ders, start=1):
        try:
            out.append(load(der))
        except PkiError as exc:
            where = f"certificate {number} of {len(ders)}" if len(ders) > 1 else "the certificate"
            raise PkiError(f"{where} is unusable: {exc}") from None
    return tuple(out)


def csr_der(data: bytes) -> bytes:
    """The DER of the one CSR in ``data`` (PEM or DER)."""
    if not data.strip():
        raise PkiError("empty input: expected a certificate signing request (PEM or DER)")
    if looks_like_pem(data):
        blocks = pem_blocks(data)
        csrs = [b for b in blocks if b.label in CSR_LABELS]
        if len(csrs) > 1:
            raise PkiError(f"{len(csrs)} certificate signing requests found: expected one")
        if csrs:
            return csrs[0].der
        if any(b.label in CERT_LABELS | PKCS7_LABELS for b in blocks):
            raise PkiError(_CERT_AS_CSR)
        if contains_private_key(data):
            raise PkiError(_KEY_HINT.replace("a certificate", "a certificate signing request"))
        labels = ", ".join(repr(b.label) for b in blocks)
        raise PkiError(
            "no certificate signing request found"
            + (f": the PEM blocks are {labels}" if labels else "")
        )
    try:
        x509.load_der_x509_csr(data)
        return data
    except Exception:  # not a DER CSR
        pass
    if contains_private_key(data):
        raise PkiError(_KEY_HINT.replace("a certificate", "a certificate signing request"))
    try:
        x509.load_der_x509_certificate(data)
    except Exception:  # ValueError, InvalidVersion
        pass
    else:
        raise PkiError(_CERT_AS_CSR)
    raise PkiError(
        "no certificate signing request found: the input is neither PEM (no '-----BEGIN "
        "CERTIFICATE REQUEST-----' line) nor a DER CSR"
    )


def parse_csr(data: bytes) -> CsrInfo:
    """The CSR in ``data``. Raises PkiError for unusable input (a certificate, a key...)."""
    return CsrInfo.from_der(csr_der(data))
