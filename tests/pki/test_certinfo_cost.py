"""The cheaper ``CertInfo`` gives the same facts (issue 24 §2: certificate facts).

``self_signed`` is computed on first use instead of in ``from_der``; the extensions are
looked up in one pass by their value's class and the SAN names sorted in one pass. Each
shortcut is checked against what it replaced, on real certificates (cryptography_vectors,
malformed ones included) and on hand-made edge cases.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID
from pkifactory import Factory, vector_path

from reconciler.pki import CertInfo, PkiError, certinfo, facts, lookups
from reconciler.pki.der import spki_of_tbs, tbs_names_and_spki

# The GeneralName classes san_facts sorts into its answer, and every other kind.
SAN_KINDS = (x509.DNSName, x509.IPAddress, x509.UniformResourceIdentifier, x509.RFC822Name)
ExtT = TypeVar("ExtT", bound=x509.ExtensionType)
T = TypeVar("T")
OTHER_NAMES = (x509.DirectoryName, x509.RegisteredID, x509.OtherName)


def _vector_certificates() -> list[x509.Certificate]:
    """Every certificate cryptography_vectors holds under x509/ that cryptography loads."""
    out: list[x509.Certificate] = []
    for path in sorted(vector_path("x509").rglob("*")):
        if path.suffix not in (".pem", ".der", ".crt", ".cer") or not path.is_file():
            continue
        out.extend(_load(path))
    return out


def _load(path: Path) -> list[x509.Certificate]:
    data = path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if b"-----BEGIN CERTIFICATE-----" in data:
                return x509.load_pem_x509_certificates(data)
            return [x509.load_der_x509_certificate(data)]
        except Exception:  # a key, a CSR, a CRL or a broken file: not this test's input
            return []


VECTORS = _vector_certificates()


def _readable(read: Callable[[x509.Certificate], T]) -> Iterator[tuple[x509.Certificate, T]]:
    """Each vector with what ``read`` takes from it, warnings silenced; the vectors ``read``
    fails on (absent or malformed parts: CertInfo refuses or skips those) left out."""
    for cert in VECTORS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                value = read(cert)
            except Exception:
                continue
        yield cert, value


def test_the_exact_class_decides_as_isinstance_did() -> None:
    """The shortcuts look classes up by identity; that equals ``isinstance`` only while
    cryptography has no subclass of them. A new cryptography release that adds one fails
    here, not silently in a fact."""
    for kind in (*lookups.READ, *SAN_KINDS, *OTHER_NAMES):
        assert not kind.__subclasses__(), kind


def test_extension_lookup_equals_get_extension_for_class() -> None:
    assert len(VECTORS) > 100
    compared = 0
    for cert, exts in _readable(lambda cert: cert.extensions):
        found = lookups.by_class(exts)
        for kind in lookups.READ:
            try:
                expected: x509.Extension[x509.ExtensionType] | None = (
                    exts.get_extension_for_class(kind))
            except x509.ExtensionNotFound:
                expected = None
            assert lookups.extension(found, kind) is expected, (cert.subject, kind)
            compared += expected is not None
    assert compared > 200


def _old_san_facts(san: x509.SubjectAlternativeName) -> tuple[tuple[str, ...], ...]:
    """What san_facts did before: one ``get_values_for_type`` per kind."""
    return (tuple(san.get_values_for_type(x509.DNSName)),
            tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
            tuple(san.get_values_for_type(x509.UniformResourceIdentifier)),
            tuple(san.get_values_for_type(x509.RFC822Name)))


def test_san_facts_of_every_kind_of_name_in_certificate_order() -> None:
    san = x509.SubjectAlternativeName([
        x509.DNSName("b.example"), x509.RFC822Name("ops@example.com"),
        x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
        x509.DirectoryName(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dir")])),
        x509.DNSName("a.example"), x509.UniformResourceIdentifier("sip:a@example.com"),
        x509.RegisteredID(x509.ObjectIdentifier("1.2.3.4")),
        x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), b"\x0c\x01x"),
        x509.IPAddress(ipaddress.ip_address("10.0.0.5")), x509.RFC822Name("b@example.com"),
    ])
    assert facts.san_facts(san) == (
        ("b.example", "a.example"), ("2001:db8::1", "10.0.0.5"), ("sip:a@example.com",),
        ("ops@example.com", "b@example.com"))
    assert facts.san_facts(san) == _old_san_facts(san)
    assert facts.san_facts(None) == ((), (), (), ())


def test_san_facts_equal_the_old_reading_on_real_certificates() -> None:
    compared = 0
    for cert, san in _readable(
            lambda cert: cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)):
        assert facts.san_facts(san.value) == _old_san_facts(san.value), cert.subject
        compared += 1
    assert compared > 50


def _recorded_signed_by(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = certinfo.signed_by

    def counting(child: x509.Certificate, parent: x509.Certificate) -> bool:
        calls.append(child.subject.rfc4514_string())
        return real(child, parent)

    monkeypatch.setattr(certinfo, "signed_by", counting)
    return calls


def test_self_signed_is_checked_on_first_use_only(factory: Factory,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _recorded_signed_by(monkeypatch)
    root = CertInfo.from_der(factory.root("Lazy Root").der)
    assert calls == []  # building the facts verified no signature
    assert root.self_signed and root.self_signed
    assert calls == ["CN=Lazy Root,O=certops tests"]  # once, then remembered


def test_self_signed_for_a_self_signed_certificate(factory: Factory) -> None:
    for key, hash_name in (("ec", "sha256"), ("p384", "sha384"), ("rsa2048", "sha1"),
                           ("ed25519", "none")):
        root = factory.root(f"Root {key}", key=key, hash_name=hash_name)
        assert CertInfo.from_der(root.der).self_signed, key


def test_not_self_signed_when_the_same_name_is_signed_by_another_key(
        factory: Factory) -> None:
    root = factory.root("Same Name CA")
    twin = factory.issue("Same Name CA", root, ca=True)  # issuer == subject, root's signature
    info = CertInfo.from_der(twin.der)
    assert info.issuer == info.subject == root.info.subject
    assert not info.self_signed
    assert root.info.self_signed


def _with_unloadable_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    """A certificate named after itself and signed by ``key``, whose SubjectPublicKeyInfo
    has an algorithm cryptography does not know (1.2.3.4): its key cannot be loaded."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Unloadable Key")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7)
            .not_valid_before(FROM).not_valid_after(UNTIL)
            .sign(key, hashes.SHA256()))
    tbs = cert.tbs_certificate_bytes
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    odd = _tlv(0x30, _tlv(0x30, bytes.fromhex("06032a0304")) + _tlv(0x03, b"\x00\x01\x02"))
    assert tbs.count(spki) == 1
    body = tbs[_header(tbs):].replace(spki, odd)
    new_tbs = _tlv(0x30, body)
    algorithm = bytes.fromhex("300a06082a8648ce3d040302")  # ecdsa-with-SHA256
    signature = key.sign(new_tbs, ec.ECDSA(hashes.SHA256()))
    return _tlv(0x30, new_tbs + algorithm + _tlv(0x03, b"\x00" + signature))


FROM = datetime(2025, 1, 1, tzinfo=UTC)
UNTIL = datetime(2030, 1, 1, tzinfo=UTC)


def _header(der: bytes) -> int:
    first = der[1]
    return 2 if first < 0x80 else 2 + (first & 0x7F)


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(raw)]) + raw + content


def test_not_self_signed_when_the_key_cannot_be_loaded() -> None:
    der = _with_unloadable_key(ec.generate_private_key(ec.SECP256R1()))
    info = CertInfo.from_der(der)
    assert info.issuer == info.subject == "CN=Unloadable Key"
    assert info.key_type == "unsupported (1.2.3.4)"
    assert not info.self_signed  # not provably self-signed


def test_malformed_extensions_are_still_refused() -> None:
    """One pass over ``cert.extensions`` raises where six lookups did: a duplicate
    extension is a PkiError naming the certificate."""
    der = vector_path("x509/custom/two_basic_constraints.pem").read_bytes()
    with pytest.raises(PkiError, match="malformed extensions"):
        CertInfo.from_der(x509.load_pem_x509_certificate(der).public_bytes(
            serialization.Encoding.DER))


def test_names_and_spki_cut_from_the_tbs_equal_cryptography_s() -> None:
    compared = 0
    for cert, names in _readable(
            lambda cert: (cert.issuer.public_bytes(), cert.subject.public_bytes())):
        tbs = cert.tbs_certificate_bytes
        assert tbs_names_and_spki(tbs) == (*names, spki_of_tbs(tbs)), cert.subject
        compared += 1
    assert compared > 300
    assert tbs_names_and_spki(b"") is None
    assert tbs_names_and_spki(b"\x30\x03\x02\x01\x01") is None  # a serial and nothing else


def test_issuer_spelled_once_per_issuer_and_equal_to_cryptography_s(
        factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lookups, "_ISSUERS", {})
    root = factory.root("Memo Root")
    inter = factory.intermediate(root, "Memo Issuing")
    leaves = [factory.leaf(inter, f"n{i}.example.com") for i in range(3)]
    for issued in (root, inter, *leaves):
        info = CertInfo.from_der(issued.der)
        assert info.issuer == issued.cert.issuer.rfc4514_string()
        assert info.subject == issued.cert.subject.rfc4514_string()
    # The root names itself (its subject's spelling is reused); the others share two issuers.
    assert sorted(lookups._ISSUERS.values()) == [
        "CN=Memo Issuing,O=certops tests", "CN=Memo Root,O=certops tests"]


def test_issuer_memo_starts_again_when_full(factory: Factory,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lookups, "_ISSUERS", {})
    monkeypatch.setattr(lookups, "_ISSUERS_MAX", 2)
    roots = [factory.root(f"Full Root {i}") for i in range(3)]
    for i, root in enumerate(roots):
        info = CertInfo.from_der(factory.leaf(root, f"full{i}.example.com").der)
        assert info.issuer == f"CN=Full Root {i},O=certops tests"
    assert list(lookups._ISSUERS.values()) == ["CN=Full Root 2,O=certops tests"]


def test_one_filter_still_silences_cryptography_s_warnings(factory: Factory) -> None:
    """``quiet`` adds one filter for UserWarning, which covers cryptography's own kind."""
    assert issubclass(CryptographyDeprecationWarning, UserWarning)
    der = factory.root("Zero Serial Root", serial=0).der
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CryptographyDeprecationWarning):
            x509.load_der_x509_certificate(der)  # what quiet() is there for
        info = CertInfo.from_der(der)
    assert info.serial == "0" and info.self_signed



def _reference(cert: x509.Certificate, der: bytes) -> dict[str, object]:
    """The facts the shortcuts touch, read the obvious way (as ``_build`` did before)."""
    exts = cert.extensions

    def get(kind: type[ExtT]) -> x509.Extension[ExtT] | None:
        try:
            return exts.get_extension_for_class(kind)
        except x509.ExtensionNotFound:
            return None

    san, ku = get(x509.SubjectAlternativeName), get(x509.KeyUsage)
    eku, bc = get(x509.ExtendedKeyUsage), get(x509.BasicConstraints)
    aki, ski = get(x509.AuthorityKeyIdentifier), get(x509.SubjectKeyIdentifier)
    dns, ips, uris, emails = _old_san_facts(san.value) if san else ((), (), (), ())
    aki_id = aki.value.key_identifier if aki else None
    return {
        "subject": cert.subject.rfc4514_string(), "issuer": cert.issuer.rfc4514_string(),
        "dns_names": dns, "ip_addresses": ips, "uris": uris, "emails": emails,
        "san_critical": bool(san and san.critical),
        "key_usage": facts.key_usage_names(ku.value) if ku else (), "has_key_usage": bool(ku),
        "eku": tuple(facts.eku_name(o) for o in eku.value) if eku else (), "has_eku": bool(eku),
        "authority_key_id": aki_id.hex() if aki_id is not None else None,
        "subject_key_id": ski.value.digest.hex() if ski else None,
        "is_ca": bool(bc and bc.value.ca), "path_length": bc.value.path_length if bc else None,
        "spki_sha256": hashlib.sha256(spki_of_tbs(cert.tbs_certificate_bytes) or der
                                      ).hexdigest(),
        "self_signed": certinfo._self_signed(cert),
    }


def test_mutated_certificates_give_the_facts_of_the_obvious_reading(
        factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hostile input: bit flips of real certificates. Whenever ``CertInfo`` builds one, its
    facts equal the obvious reading's, with the issuer memo primed by the intact
    certificates (a flipped issuer name must not be spelled as the original)."""
    monkeypatch.setattr(lookups, "_ISSUERS", {})
    root = factory.root("Mutation Root")
    seeds = [root, factory.leaf(root, "m.example.com", sans=("m.example.com", "10.1.2.3")),
             factory.root("Mutation RSA Root", key="rsa2048")]
    rng = random.Random(24)
    built = renamed = 0
    for seed in seeds:
        CertInfo.from_der(seed.der)
        for _ in range(150):
            der = bytearray(seed.der)
            at = rng.randrange(len(der))
            der[at] ^= 1 << rng.randrange(8)
            try:
                info = CertInfo.from_der(bytes(der))
            except PkiError:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = _reference(x509.load_der_x509_certificate(bytes(der)), bytes(der))
            assert {key: getattr(info, key) for key in expected} == expected, at
            renamed += info.issuer != seed.info.issuer
            built += 1
    assert renamed > 0  # and some flipped an issuer name that the memo already held
    assert built > 150  # most flips land where cryptography still loads the certificate
