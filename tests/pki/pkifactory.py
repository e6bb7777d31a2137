"""An in-memory certificate factory for the pki tests, and access to cryptography_vectors.

Keys live in memory only (EC P-256 unless a test needs RSA sizes); nothing is written to disk.
Certificates signed with SHA-1 or MD5, which ``cryptography``'s builders refuse, are made by
re-signing the TBS bytes with the hazmat primitives (see ``_resign``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import cryptography_vectors
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from reconciler.pki import CertInfo, parse_certificates

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
SERVER = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT = ExtendedKeyUsageOID.CLIENT_AUTH
BOTH = (SERVER, CLIENT)
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def utc(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=dt.UTC)


def vector_path(relative: str) -> Path:
    return Path(cryptography_vectors.__file__).parent / relative


def vector(relative: str) -> bytes:
    with cryptography_vectors.open_vector_file(relative, "rb") as f:
        data: bytes = f.read()
    return data


# --- minimal DER encoding, for re-signing with legacy hashes -------------------------------


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(content)) + content


def _elements(der: bytes) -> list[bytes]:
    """The top-level elements inside the outer SEQUENCE of ``der``."""
    def header(pos: int) -> tuple[int, int]:
        first = der[pos + 1]
        if first < 0x80:
            return pos + 2, first
        count = first & 0x7F
        return pos + 2 + count, int.from_bytes(der[pos + 2 : pos + 2 + count], "big")

    start, length = header(0)
    out, pos = [], start
    while pos < start + length:
        content, size = header(pos)
        out.append(der[pos : content + size])
        pos = content + size
    return out


_ALGORITHMS = {  # AlgorithmIdentifier DER per (key kind, hash)
    ("rsa", "sha1"): bytes.fromhex("300d06092a864886f70d0101050500"),
    ("rsa", "md5"): bytes.fromhex("300d06092a864886f70d0101040500"),
    ("ec", "sha1"): bytes.fromhex("300906072a8648ce3d0401"),
}


def _resign(cert: x509.Certificate, key: PrivateKey, hash_name: str) -> x509.Certificate:
    kind = "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ec"
    algorithm = _ALGORITHMS[(kind, hash_name)]
    parts = _elements(cert.tbs_certificate_bytes)
    index = 2 if parts[0][0] == 0xA0 else 1  # skip [0] version and the serial number
    parts[index] = algorithm
    tbs = _tlv(0x30, b"".join(parts))
    digest = hashes.SHA1() if hash_name == "sha1" else hashes.MD5()
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(tbs, padding.PKCS1v15(), digest)
    else:
        signature = key.sign(tbs, ec.ECDSA(digest))
    der = _tlv(0x30, tbs + algorithm + _tlv(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


def _zero_serial(cert: x509.Certificate, key: PrivateKey) -> x509.Certificate:
    """``cert`` with serial number 0 (which cryptography's builder refuses), re-signed with
    SHA-256 by ``key``: the TBS is edited in DER and the same AlgorithmIdentifier kept."""
    parts = _elements(cert.tbs_certificate_bytes)
    parts[1 if parts[0][0] == 0xA0 else 0] = _tlv(0x02, b"\x00")
    tbs = _tlv(0x30, b"".join(parts))
    algorithm = _elements(cert.public_bytes(serialization.Encoding.DER))[1]
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    else:
        signature = key.sign(tbs)
    der = _tlv(0x30, tbs + algorithm + _tlv(0x03, b"\x00" + signature))
    with warnings.catch_warnings():  # cryptography deprecates serial 0, which is the point
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return x509.load_der_x509_certificate(der)


# --- the factory ---------------------------------------------------------------------------


@dataclass
class Issued:
    """A certificate with its (in-memory) key and parsed CertInfo."""

    cert: x509.Certificate
    key: PrivateKey | None

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @cached_property
    def info(self) -> CertInfo:
        return parse_certificates(self.der)[0]


class Factory:
    """Roots, intermediates and leaves with chosen SANs, EKU, key, hash, validity and flags."""

    def __init__(self) -> None:
        self._rsa: dict[int, rsa.RSAPrivateKey] = {}
        self._serial = 1000

    def key(self, kind: str = "ec") -> PrivateKey:
        if kind.startswith("rsa"):
            bits = int(kind[3:] or 2048)
            if bits not in self._rsa:
                self._rsa[bits] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            return self._rsa[bits]
        if kind == "p384":
            return ec.generate_private_key(ec.SECP384R1())
        if kind == "ed25519":
            return ed25519.Ed25519PrivateKey.generate()
        return ec.generate_private_key(ec.SECP256R1())


    def issue(
        self,
        cn: str,
        issuer: Issued | None = None,
        *,
        ca: bool = False,
        path_length: int | None = None,
        sans: Sequence[str] = (),
        eku: Sequence[x509.ObjectIdentifier] | None = BOTH,
        key: PrivateKey | str = "ec",
        public_key: Any = None,
        hash_name: str = "sha256",
        not_before: dt.datetime = utc(2025, 1, 1),
        not_after: dt.datetime = utc(2030, 1, 1),
        san_critical: bool = False,
        key_usage: bool = True,
        cert_sign: bool | None = None,
        aki: bool = True,
        ski: bool | bytes = True,
        subject: x509.Name | None = None,
        serial: int | None = None,
        extra: Sequence[tuple[x509.ExtensionType, bool]] = (),
    ) -> Issued:
        own_key = self.key(key) if isinstance(key, str) else key
        public = public_key if public_key is not None else own_key.public_key()
        name = subject if subject is not None else x509.Name(
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "certops tests"),
             x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        signer = issuer.key if issuer is not None else own_key
        assert signer is not None
        self._serial += 1
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(issuer.cert.subject if issuer is not None else name)
            .public_key(public)
            .serial_number(serial if serial else self._serial)  # 0: see _zero_serial
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        )
        if key_usage:
            sign = ca if cert_sign is None else cert_sign
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=not ca,
                data_encipherment=False, key_agreement=False, key_cert_sign=sign, crl_sign=sign,
                encipher_only=False, decipher_only=False), critical=True)
        if isinstance(ski, bytes):
            builder = builder.add_extension(x509.SubjectKeyIdentifier(ski), critical=False)
        elif ski:
            builder = builder.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        if aki:
            issuer_public = issuer.cert.public_key() if issuer is not None else public
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public), critical=False)
        if sans:
            names: list[x509.GeneralName] = []
            for s in sans:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(s)))
                except ValueError:
                    names.append(x509.DNSName(s))
            builder = builder.add_extension(
                x509.SubjectAlternativeName(names), critical=san_critical)
        if eku and not ca:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
        for extension, critical in extra:
            builder = builder.add_extension(extension, critical=critical)
        if hash_name in ("sha1", "md5"):
            cert = _resign(builder.sign(signer, hashes.SHA256()), signer, hash_name)
        else:
            algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(),
                         "sha512": hashes.SHA512(), "none": None}[hash_name]
            cert = builder.sign(signer, algorithm)
        if serial == 0:
            cert = _zero_serial(cert, signer)
        return Issued(cert, own_key)

    def root(self, cn: str = "Test Root CA", **kw: Any) -> Issued:
        return self.issue(cn, None, ca=True, **kw)

    def intermediate(self, issuer: Issued, cn: str = "Test Issuing CA", **kw: Any) -> Issued:
        kw.setdefault("path_length", 0)
        return self.issue(cn, issuer, ca=True, **kw)

    def leaf(self, issuer: Issued, cn: str = "expe.example.com", **kw: Any) -> Issued:
        kw.setdefault("sans", (cn,))
        return self.issue(cn, issuer, **kw)

    def csr(self, key: PrivateKey, sans: Sequence[str] = ("expe.example.com",),
            eku: Sequence[x509.ObjectIdentifier] = ()) -> bytes:
        builder = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0])]))
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False)
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
        return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@dataclass
class Pki:
    """A standard three-level hierarchy and a good leaf for expe.example.com."""

    root: Issued
    inter: Issued
    leaf: Issued


def fake_rsa_public(bits: int) -> rsa.RSAPublicKey:
    """An RSA public key of ``bits`` bits without generating one (a subject key only)."""
    modulus = (1 << (bits - 1)) | int.from_bytes(bytes(range(256)) * (bits // 2048), "big") | 1
    return rsa.RSAPublicNumbers(65537, modulus).public_key()


def dsa_public() -> Any:
    """The DSA public key of cryptography_vectors (no key generation)."""
    return serialization.load_pem_public_key(
        vector("asymmetric/PEM_Serialization/dsa_public_key.pem"))


def p192_public() -> ec.EllipticCurvePublicKey:
    return ec.generate_private_key(ec.SECP192R1()).public_key()
