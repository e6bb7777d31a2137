"""TEMPORARY stand-in for reconciler.pki while it is being written (remove when it lands).

Implements only the slice of its interface that reconciler.desired uses.
"""

from __future__ import annotations

import hashlib
import re
import sys
import types
from dataclasses import dataclass
from functools import lru_cache

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)


class PkiError(Exception):
    pass


@dataclass(frozen=True)
class CertInfo:
    subject: str
    sha256: str
    is_ca: bool


@dataclass(frozen=True)
class CsrInfo:
    subject: str


def _info(cert: x509.Certificate) -> CertInfo:
    try:
        ca = bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        ca = False
    der = cert.public_bytes(Encoding.DER)
    return CertInfo(cert.subject.rfc4514_string(), hashlib.sha256(der).hexdigest(), ca)


class CertCache:
    def parse(self, data: bytes) -> tuple[CertInfo, ...]:
        blocks = _BLOCK.findall(data)
        if b"-----BEGIN" in data:
            certs = [m.group(0) for m in _BLOCK.finditer(data) if m.group(1) == b"CERTIFICATE"]
            if not certs:
                found = ", ".join(b.decode() for b in blocks) or "none"
                raise PkiError(f"no CERTIFICATE block (found {found})")
            try:
                return tuple(_info(x509.load_pem_x509_certificate(c)) for c in certs)
            except ValueError as exc:
                raise PkiError(f"malformed PEM certificate: {exc}") from None
        try:
            return (_info(x509.load_der_x509_certificate(data)),)
        except ValueError:
            raise PkiError("neither PEM nor DER") from None

    def parse_csr(self, data: bytes) -> CsrInfo:
        try:
            if b"-----BEGIN" in data:
                csr = x509.load_pem_x509_csr(data)
            else:
                csr = x509.load_der_x509_csr(data)
        except ValueError:
            raise PkiError("no certificate signing request") from None
        return CsrInfo(csr.subject.rfc4514_string())


@lru_cache(maxsize=1)
def default_cache() -> CertCache:
    return CertCache()


def contains_private_key(data: bytes) -> bool:
    return re.search(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----", data) is not None


def install() -> None:
    """Put this module in place of reconciler.pki when the real one is not there yet."""
    try:
        from reconciler.pki import contains_private_key, default_cache  # noqa: F401
    except ImportError:
        module = types.ModuleType("reconciler.pki")
        names = ("PkiError", "CertInfo", "CsrInfo", "CertCache", "default_cache",
                 "contains_private_key")
        for name in names:
            setattr(module, name, globals()[name])
        sys.modules["reconciler.pki"] = module
