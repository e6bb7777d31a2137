"""Certificate builders for committed test material (public certificates only, never keys).

Used by ``make_scenarios.py`` to generate the scenario trees once; the keys live only in memory.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def utc(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d, tzinfo=dt.UTC)


@dataclass
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def new_key(kind: str = "ec") -> PrivateKey:
    if kind.startswith("rsa"):
        bits = int(kind[3:] or 2048)
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return ec.generate_private_key(ec.SECP256R1())


def name(cn: str, org: str = "NART Lab") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_ca(
    cn: str,
    *,
    issuer: Issued | None = None,
    not_before: dt.datetime = utc(2020, 1, 1),
    not_after: dt.datetime = utc(2040, 1, 1),
    key: PrivateKey | None = None,
    hash_alg: hashes.HashAlgorithm | None = None,
) -> Issued:
    key = key or new_key("ec")
    subject = name(cn)
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if issuer is None else 0), True
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    signer_pub = issuer.cert.public_key() if issuer else key.public_key()
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_pub),
        False,  # type: ignore[arg-type]
    )
    cert = builder.sign(signer_key, hash_alg or hashes.SHA256())
    return Issued(cert, key)


def make_leaf(
    cn: str,
    sans: Sequence[str],
    issuer: Issued,
    *,
    not_before: dt.datetime = utc(2026, 11, 20),
    not_after: dt.datetime = utc(2027, 11, 20),
    key: PrivateKey | None = None,
    eku: Sequence[x509.ObjectIdentifier] = (
        ExtendedKeyUsageOID.SERVER_AUTH,
        ExtendedKeyUsageOID.CLIENT_AUTH,
    ),
    hash_alg: hashes.HashAlgorithm | None = None,
    san_critical: bool = False,
    ca: bool = False,
) -> Issued:
    key = key or new_key("ec")
    general: list[x509.GeneralName] = []
    for s in sans:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(s)))
        except ValueError:
            general.append(x509.DNSName(s))
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
        .add_extension(x509.SubjectAlternativeName(general), san_critical)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.cert.public_key()),  # type: ignore[arg-type]
            False,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), False)
    cert = builder.sign(issuer.key, hash_alg or hashes.SHA256())
    return Issued(cert, key)


def make_csr(cn: str, sans: Sequence[str], key: PrivateKey) -> bytes:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(name(cn))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)


def make_leaf_openssl(cn: str, sans: Sequence[str], issuer: Issued, *, digest: str) -> bytes:
    """A leaf signed with a digest that cryptography refuses to sign with (SHA-1, MD5).

    The issuer key goes to a temporary directory that is deleted at once; only the
    certificate is returned.
    """
    import subprocess
    import tempfile
    from pathlib import Path

    key = new_key("ec")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "ca.pem").write_bytes(issuer.pem)
        (d / "ca.key").write_bytes(
            issuer.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        (d / "leaf.csr").write_bytes(make_csr(cn, sans, key))
        (d / "ext.cnf").write_text(
            "basicConstraints=critical,CA:FALSE\n"
            "extendedKeyUsage=serverAuth,clientAuth\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
            "subjectAltName=" + ",".join(f"DNS:{s}" for s in sans) + "\n"
        )
        subprocess.run(
            [
                "openssl",
                "x509",
                "-req",
                "-in",
                str(d / "leaf.csr"),
                "-CA",
                str(d / "ca.pem"),
                "-CAkey",
                str(d / "ca.key"),
                "-CAcreateserial",
                f"-{digest}",
                "-days",
                "730",
                "-extfile",
                str(d / "ext.cnf"),
                "-out",
                str(d / "leaf.pem"),
            ],
            check=True,
            capture_output=True,
        )
        return (d / "leaf.pem").read_bytes()
