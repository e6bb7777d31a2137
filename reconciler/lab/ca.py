"""The lab PKI: a root, two issuing CAs ("old" and "new"), a pool of "Cisco built-in" CAs.

Created once per lab directory under ``DIR/ca/`` and reused by every later run, so that
certificates signed yesterday still chain today. "old" and "new" have different keys, so
leaves they sign differ in Authority Key Identifier (Cisco's step D). ``sign_csr`` signs
the way an enterprise CA does: it copies the CSR's SANs and sets EKU serverAuth+clientAuth
unless told otherwise; ``--no-client-auth`` and ``--drop-san`` make the bad certificates
that certops must catch. Uses ``cryptography`` directly (never ``reconciler.pki``).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from reconciler.lab.files import atomic_write

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
KeyKind = Literal["rsa2048", "rsa4096", "ec256", "ec384", "ec521"]
CaName = Literal["old", "new"]
CA_NAMES: tuple[CaName, ...] = ("old", "new")

# Names that look like the CAs a real CUCM ships in its trust stores; the lab numbers them.
_BUILTIN_NAMES = (
    "Cisco Root CA 2048",
    "Cisco Root CA M2",
    "Cisco Manufacturing CA SHA2",
    "ACT2 SUDI CA",
    "CAPF-lab",
    "Cisco Basic Assurance Root CA 2099",
    "DigiCert Global Root G2",
    "QuoVadis Root CA 2",
    "IdenTrust Commercial Root CA 1",
    "Cisco Licensing Root CA",
    "Cisco ECC Root CA 2099",
    "HydrantID Server CA O1",
)


# ---------------------------------------------------------------- small helpers


# Tests may turn on a pool of RSA keys: RSA generation costs ~30 ms a key and a lab makes
# dozens. Keys come out in the same order in every lab, each one distinct within a lab.
_RSA_POOL: dict[int, list[rsa.RSAPrivateKey]] | None = None
_RSA_NEXT: dict[int, int] = {}


def reuse_rsa_keys() -> None:
    """Hand out RSA keys from a process-wide pool, restarting it for each new lab (tests)."""
    global _RSA_POOL
    if _RSA_POOL is None:
        _RSA_POOL = {}
    _RSA_NEXT.clear()


def new_key(kind: KeyKind = "ec256") -> PrivateKey:
    """A fresh private key of the given kind (from the pool, when tests turned it on)."""
    if kind.startswith("rsa"):
        bits = int(kind[3:])
        if _RSA_POOL is None:
            return rsa.generate_private_key(public_exponent=65537, key_size=bits)
        pool = _RSA_POOL.setdefault(bits, [])
        index = _RSA_NEXT.get(bits, 0)
        _RSA_NEXT[bits] = index + 1
        while len(pool) <= index:
            pool.append(rsa.generate_private_key(public_exponent=65537, key_size=bits))
        return pool[index]
    curve = {"ec256": ec.SECP256R1(), "ec384": ec.SECP384R1(), "ec521": ec.SECP521R1()}[kind]
    return ec.generate_private_key(curve)


def key_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def load_key(pem: str) -> PrivateKey:
    # The lab wrote every key it reads: the (slow) RSA consistency check adds nothing here.
    key = serialization.load_pem_private_key(
        pem.encode(), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("unsupported key type")
    return key


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def load_certs(text: str | bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM text; ValueError when there is none."""
    data = text.encode() if isinstance(text, str) else text
    return x509.load_pem_x509_certificates(data)


def spki(public: object) -> bytes:
    """The DER SubjectPublicKeyInfo of a public key: equal keys give equal bytes."""
    assert isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
    return public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def sha256_hex(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def dns_sans(obj: x509.Certificate | x509.CertificateSigningRequest) -> list[str]:
    try:
        ext = obj.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    names: list[str] = list(ext.value.get_values_for_type(x509.DNSName))
    names += [str(ip) for ip in ext.value.get_values_for_type(x509.IPAddress)]
    return names


def _general_names(names: Iterable[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def _cn(name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])


def make_csr(
    key: PrivateKey, cn: str, sans: Sequence[str], *, subject_extra: dict[str, str] | None = None,
    digest: str = "sha256",
) -> x509.CertificateSigningRequest:
    """A CSR as a node makes it: CN plus SANs (CN always among them), both TLS EKUs requested."""
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    oids = {"C": NameOID.COUNTRY_NAME, "ST": NameOID.STATE_OR_PROVINCE_NAME,
            "L": NameOID.LOCALITY_NAME, "O": NameOID.ORGANIZATION_NAME,
            "OU": NameOID.ORGANIZATIONAL_UNIT_NAME, "E": NameOID.EMAIL_ADDRESS}
    for short, value in (subject_extra or {}).items():
        if value:
            attrs.append(x509.NameAttribute(oids[short], value))
    names = [cn, *[s for s in sans if s != cn]]
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attrs))
        .add_extension(x509.SubjectAlternativeName(_general_names(names)), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    return builder.sign(key, _hash(digest))


def _hash(name: str) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
    algs: dict[str, hashes.SHA256 | hashes.SHA384 | hashes.SHA512] = {
        "sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512(),
    }
    if name.lower() not in algs:
        raise ValueError(f"unsupported digest {name!r}")
    return algs[name.lower()]


def _ca_cert(
    subject: str, key: PrivateKey, issuer: tuple[x509.Certificate, PrivateKey] | None,
    not_before: datetime, days: int, path_length: int | None,
) -> x509.Certificate:
    issuer_name = issuer[0].subject if issuer else _cn(subject)
    signer = issuer[1] if issuer else key
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    aki = (
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key())
        if issuer else x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key())
    )
    return (
        x509.CertificateBuilder()
        .subject_name(_cn(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
        .sign(signer, hashes.SHA256())
    )


# ---------------------------------------------------------------- the lab PKI


@dataclass(frozen=True)
class Issuer:
    """One CA the lab can sign with: its certificate and key."""

    cert: x509.Certificate
    key: PrivateKey


@dataclass(frozen=True)
class LabPki:
    """The lab root, the "old" and "new" issuing CAs, and where they live."""

    ca_dir: Path
    root: Issuer
    issuing: dict[str, Issuer]

    @property
    def bundle_path(self) -> Path:
        """``DIR/ca/lab-cas.pem``: root + both issuing CAs, for clients to verify TLS."""
        return self.ca_dir / "lab-cas.pem"

    def all_cas(self) -> list[x509.Certificate]:
        return [self.root.cert, *(i.cert for i in self.issuing.values())]

    def chain_for(self, ca: str) -> list[x509.Certificate]:
        """Issuing CA then root: what follows a leaf of ``ca`` in a full-chain file."""
        return [self.issuing[ca].cert, self.root.cert]

    def issue(
        self, ca: str, public_key: object, cn: str, sans: Sequence[str], *,
        not_before: datetime | None = None, not_after: datetime | None = None,
        days: int = 365, client_auth: bool = True,
    ) -> x509.Certificate:
        """Sign a server certificate for ``public_key`` with the issuing CA ``ca``."""
        issuer = self.issuing[ca]
        now = datetime.now(UTC)
        nb = not_before or now - timedelta(minutes=5)
        na = not_after or nb + timedelta(days=days)
        ekus = [ExtendedKeyUsageOID.SERVER_AUTH]
        if client_auth:
            ekus.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        assert isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
        builder = (
            x509.CertificateBuilder()
            .subject_name(_cn(cn))
            .issuer_name(issuer.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(nb)
            .not_valid_after(na)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(True, False, True, False, False, False, False, False, False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(_general_names(sans)), critical=False
            )
        return builder.sign(issuer.key, hashes.SHA256())

    def sign_csr(
        self, csr: x509.CertificateSigningRequest, ca: str, *, days: int = 365,
        client_auth: bool = True, drop_san: Sequence[str] = (),
    ) -> x509.Certificate:
        """Sign a CSR as an enterprise CA would: copy its CN and SANs (minus ``drop_san``)."""
        if not csr.is_signature_valid:
            raise ValueError("the CSR's signature is not valid")
        cns = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        cn = str(cns[0].value) if cns else ""
        dropped = {d.lower() for d in drop_san}
        sans = [s for s in dns_sans(csr) if s.lower() not in dropped]
        if not sans and cn and cn.lower() not in dropped:
            sans = [cn]
        return self.issue(ca, csr.public_key(), cn, sans, days=days, client_auth=client_auth)


def load_or_create_pki(ca_dir: Path) -> LabPki:
    """Load ``ca_dir``'s PKI, creating it (root, old, new, bundle) the first time."""
    ca_dir.mkdir(parents=True, exist_ok=True)
    root_pem, root_key = ca_dir / "root.pem", ca_dir / "root.key"
    if not root_pem.exists():
        now = datetime.now(UTC) - timedelta(days=400)
        rkey = new_key("ec384")
        root_cert = _ca_cert("certops Lab Root CA", rkey, None, now, 7300, 1)
        issuers: dict[str, Issuer] = {}
        for name in CA_NAMES:
            ikey = new_key("ec256")
            title = "Old" if name == "old" else "New"
            icert = _ca_cert(
                f"certops Lab Issuing CA {title}", ikey, (root_cert, rkey), now, 3650, 0
            )
            issuers[name] = Issuer(icert, ikey)
            atomic_write(ca_dir / f"{name}.pem", cert_pem(icert))
            atomic_write(ca_dir / f"{name}.key", key_pem(ikey), private=True)
        bundle = cert_pem(root_cert) + "".join(cert_pem(issuers[n].cert) for n in CA_NAMES)
        atomic_write(ca_dir / "lab-cas.pem", bundle)
        atomic_write(root_key, key_pem(rkey), private=True)
        atomic_write(root_pem, cert_pem(root_cert))  # written last: its presence means "complete"
    root = Issuer(load_certs(root_pem.read_text())[0], load_key(root_key.read_text()))
    issuing: dict[str, Issuer] = {
        n: Issuer(
            load_certs((ca_dir / f"{n}.pem").read_text())[0],
            load_key((ca_dir / f"{n}.key").read_text()),
        )
        for n in CA_NAMES
    }
    return LabPki(ca_dir, root, issuing)


def load_or_create_builtins(ca_dir: Path, count: int) -> list[str]:
    """The shared pool of "Cisco built-in" CAs (PEM), at least ``count`` long.

    Generated once per lab directory and shared by every emulated CUCM, as the real
    built-ins are the same on every cluster; grown when a larger count is asked for.
    """
    path = ca_dir / "builtin-pool.pem"
    pems: list[str] = []
    if path.exists():
        pems = [cert_pem(c) for c in load_certs(path.read_text())]
    if len(pems) >= count:
        return pems[:count]
    key = new_key("ec256")  # one key for the whole pool: cheap, and nobody verifies with it
    start = datetime(2015, 1, 1, tzinfo=UTC)
    for i in range(len(pems), count):
        name = f"{_BUILTIN_NAMES[i % len(_BUILTIN_NAMES)]} (lab {i + 1:03d})"
        ski = x509.SubjectKeyIdentifier(hashlib.sha1(name.encode()).digest())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_cn(name)).issuer_name(_cn(name))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + timedelta(days=9000))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        pems.append(cert_pem(cert))
    atomic_write(path, "".join(pems))
    return pems
