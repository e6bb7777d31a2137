"""Facts read from certificates and CSRs: key type and size, usages, names, signature hash.

Shared by ``CertInfo`` and ``CsrInfo``. Names follow OpenSSL's short names (``serverAuth``,
``keyCertSign``) so they match what Expressway's "Show decoded" and ``openssl x509 -text``
show; unknown OIDs are given dotted.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, SignatureAlgorithmOID

EKU_NAMES: dict[x509.ObjectIdentifier, str] = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    ExtendedKeyUsageOID.IPSEC_IKE: "ipsecIKE",
    ExtendedKeyUsageOID.SMARTCARD_LOGON: "msSmartcardLogin",
    ExtendedKeyUsageOID.KERBEROS_PKINIT_KDC: "pkInitKDC",
}
EKU_OIDS: dict[str, x509.ObjectIdentifier] = {name: oid for oid, name in EKU_NAMES.items()}

# Hashes of signature algorithms that cryptography recognises only by OID.
_LEGACY_SIGNATURE_HASHES: dict[str, str] = {
    "1.2.840.113549.1.1.2": "md2",  # md2WithRSAEncryption
    "1.2.840.113549.1.1.3": "md4",  # md4WithRSAEncryption
    "1.2.840.113549.1.1.4": "md5",  # md5WithRSAEncryption
    "1.2.840.113549.1.1.5": "sha1",  # sha1WithRSAEncryption
    "1.3.14.3.2.29": "sha1",  # sha1WithRSA (OIW)
    "1.2.840.10045.4.1": "sha1",  # ecdsa-with-SHA1
    "1.2.840.10040.4.3": "sha1",  # dsa-with-sha1
}
_INTRINSIC = {SignatureAlgorithmOID.ED25519, SignatureAlgorithmOID.ED448}

KeyFacts = tuple[str, int, "str | None"]


def eku_name(oid: x509.ObjectIdentifier) -> str:
    return EKU_NAMES.get(oid, oid.dotted_string)


def eku_oid(name: str) -> x509.ObjectIdentifier:
    """``serverAuth`` (or a dotted OID) as an ObjectIdentifier. ValueError when unknown."""
    if name in EKU_OIDS:
        return EKU_OIDS[name]
    return x509.ObjectIdentifier(name)


def key_facts(public_key: object) -> KeyFacts:
    """``(key_type, key_bits, curve)`` of a public key object."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RSA", public_key.key_size, None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return "EC", public_key.curve.key_size, public_key.curve.name
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256, None
    if isinstance(public_key, ed448.Ed448PublicKey):
        return "Ed448", 456, None
    if isinstance(public_key, dsa.DSAPublicKey):
        return "DSA", public_key.key_size, None
    return type(public_key).__name__, 0, None


def load_key_facts(obj: x509.Certificate | x509.CertificateSigningRequest) -> KeyFacts:
    try:
        return key_facts(obj.public_key())
    except (UnsupportedAlgorithm, ValueError):
        algorithm = getattr(obj, "public_key_algorithm_oid", None)
        label = algorithm.dotted_string if algorithm is not None else "unknown"
        return f"unsupported ({label})", 0, None


def signature_hash(obj: x509.Certificate | x509.CertificateSigningRequest) -> str | None:
    """``sha256``, ``sha1``, ``md5``...; None for Ed25519/Ed448; the dotted OID if unknown."""
    oid = obj.signature_algorithm_oid
    if oid in _INTRINSIC:
        return None
    try:
        algorithm = obj.signature_hash_algorithm
    except UnsupportedAlgorithm:
        algorithm = None
    if algorithm is not None:
        return algorithm.name
    return _LEGACY_SIGNATURE_HASHES.get(oid.dotted_string, oid.dotted_string)


def key_usage_names(ku: x509.KeyUsage) -> tuple[str, ...]:
    names: list[str] = []
    flags = (
        ("digitalSignature", ku.digital_signature),
        ("nonRepudiation", ku.content_commitment),
        ("keyEncipherment", ku.key_encipherment),
        ("dataEncipherment", ku.data_encipherment),
        ("keyAgreement", ku.key_agreement),
        ("keyCertSign", ku.key_cert_sign),
        ("cRLSign", ku.crl_sign),
    )
    names.extend(name for name, on in flags if on)
    if ku.key_agreement:
        if ku.encipher_only:
            names.append("encipherOnly")
        if ku.decipher_only:
            names.append("decipherOnly")
    return tuple(names)


# Where each SAN type goes in ``san_facts``' answer. The classes are disjoint and have no
# subclass in cryptography (a test says so), so the exact class decides as ``isinstance`` did.
_SAN_SLOT: dict[type[x509.GeneralName], int] = {
    x509.DNSName: 0, x509.IPAddress: 1, x509.UniformResourceIdentifier: 2, x509.RFC822Name: 3,
}


def san_facts(
    san: x509.SubjectAlternativeName | None,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """``(dns_names, ip_addresses, uris, emails)`` of a SAN extension, in certificate order.

    One pass over the names: ``get_values_for_type`` per type walked them four times.
    """
    if san is None:
        return (), (), (), ()
    found: tuple[list[str], list[str], list[str], list[str]] = ([], [], [], [])
    for name in san:
        slot = _SAN_SLOT.get(type(name))
        if slot == 1:
            found[1].append(str(name.value))
        elif slot is not None:
            found[slot].append(name.value)
    dns, ips, uris, emails = found
    return tuple(dns), tuple(ips), tuple(uris), tuple(emails)


def san_set(dns_names: tuple[str, ...], ip_addresses: tuple[str, ...]) -> frozenset[str]:
    """DNS names lowercased (without a trailing dot) plus IP addresses."""
    return frozenset(n.lower().rstrip(".") for n in dns_names) | frozenset(ip_addresses)
