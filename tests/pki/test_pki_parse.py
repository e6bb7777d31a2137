"""Parsing: PEM/DER/PKCS#7 framing, certificate facts, CSRs, private-key detection, errors.

Expected values for the cryptography_vectors files were read independently with
``openssl x509 -text`` / ``openssl req -text`` (OpenSSL 3) and are asserted literally.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7
from pkifactory import SERVER, Factory, Pki, vector, vector_path

from reconciler.pki import (
    PkiError,
    contains_private_key,
    key_matches,
    parse_certificates,
    parse_csr,
    pem_kinds,
)

LEAF_SHA256 = "dc4f4d1400d4526052b5da693394dc8560b29cc21df90b9e2ec7416261c73888"
RAPIDSSL_SHA256 = "bc3f03a436240edba5f83714f6f677e34b37f9b1f0c08c1e558d981e279e8209"
LEAF_SUBJECT = (
    "CN=www.cryptography.io,OU=Domain Control Validated - RapidSSL(R),"
    "OU=See www.rapidssl.com/resources/cps (c)14,OU=GT48742965"
)


def test_real_chain_facts() -> None:
    leaf, ca = parse_certificates(vector("x509/cryptography.io.chain.pem"))
    assert leaf.sha256 == LEAF_SHA256
    assert leaf.spki_sha256 == "8de1e6291d413be60abd1dd17b6e6455b6c1722ee0dd3139d775348b5a3697c2"
    assert leaf.subject == LEAF_SUBJECT
    assert leaf.issuer == "CN=RapidSSL SHA256 CA - G3,O=GeoTrust Inc.,C=US"
    assert leaf.serial == "3f20"
    assert leaf.not_before == datetime(2014, 10, 15, 12, 9, 32, tzinfo=UTC)
    assert leaf.not_after == datetime(2018, 11, 16, 1, 15, 3, tzinfo=UTC)
    assert leaf.dns_names == ("www.cryptography.io", "cryptography.io")
    assert leaf.eku == ("serverAuth", "clientAuth")
    assert leaf.key_usage == ("digitalSignature", "keyEncipherment")
    assert leaf.authority_key_id == "c39cf3fcd3460834bbce467fa07c5bf3e208cb59"
    assert (leaf.key_type, leaf.key_bits, leaf.curve) == ("RSA", 4096, None)
    assert leaf.signature_hash == "sha256"
    assert not leaf.is_ca and not leaf.self_signed and not leaf.san_critical
    assert leaf.san_set() == frozenset({"www.cryptography.io", "cryptography.io"})

    assert ca.sha256 == RAPIDSSL_SHA256
    assert ca.serial == "23a77"
    assert ca.is_ca and ca.path_length == 0
    assert ca.key_usage == ("keyCertSign", "cRLSign")
    assert ca.subject_key_id == leaf.authority_key_id
    assert ca.authority_key_id == "c07a98688d89fbab05640c117daa7d65b8cacc4e"


def test_summary_carries_public_facts_only() -> None:
    leaf = parse_certificates(vector("x509/cryptography.io.pem"))[0]
    summary = leaf.summary()
    assert summary.sha256 == LEAF_SHA256
    assert summary.subject_alt_names == ("www.cryptography.io", "cryptography.io")
    assert summary.authority_key_id == "c39cf3fcd3460834bbce467fa07c5bf3e208cb59"
    assert summary.serial == "3f20"


def test_garbage_around_blocks_is_tolerated() -> None:
    data = vector("x509/cryptography.io.chain_with_garbage.pem")
    certs = parse_certificates(data)
    assert [c.sha256 for c in certs] == [LEAF_SHA256, RAPIDSSL_SHA256]
    # The file also holds a (fake) PRIVATE KEY block: parsing ignores it, detection sees it.
    assert pem_kinds(data) == ("CERTIFICATE", "CERTIFICATE", "PRIVATE KEY")
    assert contains_private_key(data)


def test_certificate_next_to_encrypted_key_with_pem_headers() -> None:
    data = vector("x509/cryptography.io.with_headers.pem")
    assert [c.sha256 for c in parse_certificates(data)] == [LEAF_SHA256]
    assert pem_kinds(data) == ("CERTIFICATE", "RSA PRIVATE KEY")
    assert contains_private_key(data)


def test_old_x509_certificate_header() -> None:
    data = vector("x509/cryptography.io.old_header.pem")
    assert pem_kinds(data) == ("X509 CERTIFICATE",)
    assert parse_certificates(data)[0].sha256 == LEAF_SHA256


def test_crlf_der_trusted_and_pkcs7_forms(pki: Pki) -> None:
    pem = pki.leaf.pem
    assert parse_certificates(pem.replace(b"\n", b"\r\n"))[0].sha256 == pki.leaf.info.sha256
    indented = b"cert: |\n" + b"".join(b"  " + line for line in pem.splitlines(keepends=True))
    assert parse_certificates(indented)[0].sha256 == pki.leaf.info.sha256
    assert parse_certificates(pki.leaf.der)[0].sha256 == pki.leaf.info.sha256
    # OpenSSL's TRUSTED CERTIFICATE: the DER certificate followed by its trust settings.
    aux = bytes.fromhex("300c300a06082b06010505070301")  # SEQ { trust: SEQ { serverAuth } }
    blob = base64.encodebytes(pki.leaf.der + aux).decode()
    trusted = f"-----BEGIN TRUSTED CERTIFICATE-----\n{blob}-----END TRUSTED CERTIFICATE-----\n"
    assert parse_certificates(trusted.encode())[0].sha256 == pki.leaf.info.sha256
    bundle = pkcs7.serialize_certificates([pki.leaf.cert, pki.inter.cert], Encoding.PEM)
    # PKCS#7 stores certificates as a SET OF: the order is not kept.
    assert {c.sha256 for c in parse_certificates(bundle)} == {
        pki.leaf.info.sha256, pki.inter.info.sha256}
    der_bundle = pkcs7.serialize_certificates([pki.inter.cert], Encoding.DER)
    assert parse_certificates(der_bundle)[0].sha256 == pki.inter.info.sha256


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_der_p7b_chain_from_openssl_holds_every_certificate(pki: Pki, tmp_path: Path) -> None:
    """A CA's usual delivery: a binary .p7b with leaf, intermediate and root (openssl made)."""
    chain = tmp_path / "chain.pem"
    chain.write_bytes(pki.leaf.pem + pki.inter.pem + pki.root.pem)
    p7b = tmp_path / "chain.p7b"
    subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", str(chain), "-outform", "DER",
                    "-out", str(p7b)], check=True, capture_output=True)
    found = {c.sha256 for c in parse_certificates(p7b.read_bytes())}
    assert found == {pki.leaf.info.sha256, pki.inter.info.sha256, pki.root.info.sha256}


def test_pem_property_round_trips(pki: Pki) -> None:
    info = pki.leaf.info
    assert info.pem.startswith("-----BEGIN CERTIFICATE-----\n")
    assert parse_certificates(info.pem.encode())[0].der == info.der


def test_san_extraction_from_vectors() -> None:
    cert = parse_certificates(vector("x509/custom/san_email_dns_ip_dirname_uri.pem"))[0]
    assert cert.dns_names == ("cryptography.io",)
    assert cert.ip_addresses == ("127.0.0.1", "ff::")  # openssl: IP Address:FF:0:0:0:0:0:0:0
    assert cert.emails == ("user@cryptography.io",)
    assert cert.uris == ("https://cryptography.io",)
    assert cert.san_set() == frozenset({"cryptography.io", "127.0.0.1", "ff::"})
    wildcard = parse_certificates(vector("x509/wildcard_san.pem"))[0]
    assert wildcard.dns_names == ("*.langui.sh", "langui.sh", "*.saseliminator.com",
                                  "saseliminator.com")
    assert wildcard.eku == ("clientAuth", "serverAuth")
    assert wildcard.subject_key_id == "48b0fb72d14657798ac65b5e38f63e0323296a03"
    assert wildcard.authority_key_id == "cace1d1803771e1cf37c58b29a70a8088016f4ae"
    assert wildcard.key_bits == 4096


def test_eku_and_key_usage_names() -> None:
    eku = parse_certificates(vector("x509/custom/extended_key_usage.pem"))[0]
    # openssl: Server, Client, Code Signing, E-mail Protection, OCSP Signing, Time Stamping,
    # Any Extended Key Usage, Netscape Server Gated Crypto (2.16.840.1.113730.4.1).
    assert eku.eku == ("serverAuth", "clientAuth", "codeSigning", "emailProtection",
                       "OCSPSigning", "timeStamping", "anyExtendedKeyUsage",
                       "2.16.840.1.113730.4.1")
    assert eku.signature_hash == "sha1" and eku.self_signed
    ku = parse_certificates(vector("x509/custom/all_key_usages.pem"))[0]
    assert ku.key_usage == ("digitalSignature", "nonRepudiation", "keyEncipherment",
                            "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
                            "encipherOnly", "decipherOnly")


def test_authority_key_identifier_with_issuer_and_serial() -> None:
    cert = parse_certificates(vector("x509/custom/authority_key_identifier.pem"))[0]
    assert cert.authority_key_id == "39453eca3d621dea8649f65aab40b7a47098f1ec"
    assert cert.serial == "3"


def test_legacy_signature_hashes_and_keys() -> None:
    md2 = parse_certificates(vector("x509/verisign_md2_root.pem"))[0]
    assert md2.signature_hash == "md2"
    assert (md2.key_type, md2.key_bits) == ("RSA", 1024)
    assert not md2.self_signed  # MD2 cannot be verified, so it is not provably self-signed
    pss = parse_certificates(vector("x509/ee-pss-sha1-cert.pem"))[0]
    assert pss.signature_hash == "sha1" and pss.eku == ("serverAuth",)
    dsa = parse_certificates(vector("x509/custom/dsa_selfsigned_ca.pem"))[0]
    assert (dsa.key_type, dsa.key_bits, dsa.signature_hash) == ("DSA", 2048, "sha1")
    assert dsa.self_signed and dsa.is_ca
    ec = parse_certificates(vector("x509/ecdsa_root.pem"))[0]
    assert (ec.key_type, ec.key_bits, ec.curve, ec.signature_hash) == (
        "EC", 384, "secp384r1", "sha384")
    assert ec.self_signed


def test_spki_hash_matches_openssl_pubkey_der() -> None:
    cert = parse_certificates(vector("x509/cryptography.io.pem"))[0]
    # openssl x509 -pubkey | openssl pkey -pubin -outform DER | sha256sum
    assert cert.spki_sha256 == "8de1e6291d413be60abd1dd17b6e6455b6c1722ee0dd3139d775348b5a3697c2"


@pytest.mark.parametrize(
    ("path", "subject", "key", "hash_name", "valid", "spki"),
    [
        ("x509/requests/rsa_sha256.pem", "CN=cryptography.io,O=PyCA,L=Austin,ST=Texas,C=US",
         ("RSA", 2048), "sha256", True,
         "6cfd8ed4f0b8a068806b00938e2ce8092f1abbdc227c2c43b33ec8072768d9e9"),
        ("x509/requests/ec_sha256.pem", "L=Austin,ST=Texas,C=US,O=PyCA,CN=cryptography.io",
         ("EC", 384), "sha256", True,
         "90eb9af1d7e126a733a074cd4f326e5bed27a10290c047494b88e83f3dd5dbf6"),
        ("x509/requests/dsa_sha1.pem", "L=Austin,ST=Texas,C=US,O=PyCA,CN=cryptography.io",
         ("DSA", 1024), "sha1", True,
         "b5cc705bf2c3838e9d6e17117292423f355ebf20f14fd89e92dcead9b113183f"),
        ("x509/requests/rsa_md4.pem", "L=Austin,ST=Texas,C=US,O=PyCA,CN=cryptography.io",
         ("RSA", 2048), "md4", False,
         "cb7b6b24e52bba25141e6d7ed058ef35895f995cb0627166497225bf22cee6c0"),
        ("x509/requests/invalid_signature.pem", "CN=test", ("RSA", 1024), "sha256", False,
         "967603d635c765b78e51cda9f02797da9c06df605730afcf456c47194621cb40"),
    ],
)
def test_csr_vectors(path: str, subject: str, key: tuple[str, int], hash_name: str,
                     valid: bool, spki: str) -> None:
    csr = parse_csr(vector(path))
    assert csr.subject == subject
    assert (csr.key_type, csr.key_bits) == key
    assert csr.signature_hash == hash_name
    assert csr.signature_valid is valid
    assert csr.spki_sha256 == spki
    assert csr.pem.startswith("-----BEGIN CERTIFICATE REQUEST-----")


def test_csr_sans_der_and_new_header() -> None:
    csr = parse_csr(vector("x509/requests/san_rsa_sha1.der"))
    assert csr.dns_names == ("cryptography.io", "sub.cryptography.io")
    assert csr.san_set() == frozenset({"cryptography.io", "sub.cryptography.io"})
    old = vector("x509/requests/ec_sha256_old_header.pem")
    assert pem_kinds(old) == ("NEW CERTIFICATE REQUEST",)
    assert parse_csr(old).sha256 == parse_csr(vector("x509/requests/ec_sha256.pem")).sha256


def test_csr_requested_eku_and_key_match(factory: Factory) -> None:
    key = factory.key()
    csr = parse_csr(factory.csr(key, ("a.example.com", "b.example.com"), eku=[SERVER]))
    assert csr.requested_eku == ("serverAuth",)
    root = factory.root()
    signed = factory.leaf(root, "a.example.com", key=key)
    other = factory.leaf(root, "a.example.com")
    assert key_matches(signed.info, csr)
    assert not key_matches(other.info, csr)
    assert key_matches(signed.info, signed.info)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "empty input"),
        (b"  \n\t", "empty input"),
        (b"hello: world\n", "no certificate found"),
        (b"\x30\x03\x02\x01\x01", "neither PEM"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB!!!\n-----END CERTIFICATE-----\n",
         "base64 text is broken"),
        (b"-----BEGIN CERTIFICATE-----\nMIIBIjAN\n", "no matching '-----END CERTIFICATE-----'"),
        (b"-----BEGIN CERTIFICATE-----\nMIIBIjAN\n-----END CERTIFICATE-----\n",
         "not a valid X.509 certificate"),
        (b"-----BEGIN PUBLIC KEY-----\nMAo=\n-----END PUBLIC KEY-----\n",
         "the PEM blocks are 'PUBLIC KEY'"),
    ],
)
def test_parse_errors(data: bytes, needle: str) -> None:
    with pytest.raises(PkiError, match=None) as exc:
        parse_certificates(data)
    assert needle in str(exc.value)


def test_csr_given_as_certificate_and_back(pki: Pki) -> None:
    with pytest.raises(PkiError, match="certificate signing request, not a certificate"):
        parse_certificates(vector("x509/requests/rsa_sha256.pem"))
    with pytest.raises(PkiError, match="certificate signing request, not a certificate"):
        parse_certificates(vector("x509/requests/rsa_sha256.der"))
    with pytest.raises(PkiError, match="this is a certificate, not a certificate signing"):
        parse_csr(pki.leaf.pem)
    with pytest.raises(PkiError, match="this is a certificate, not a certificate signing"):
        parse_csr(pki.leaf.der)
    with pytest.raises(PkiError, match="expected one"):
        parse_csr(vector("x509/requests/rsa_sha256.pem") * 2)


@pytest.mark.parametrize(
    "path",
    [
        "asymmetric/PKCS8/unenc-rsa-pkcs8.pem",
        "asymmetric/Traditional_OpenSSL_Serialization/testrsa-encrypted.pem",
        "asymmetric/DER_Serialization/unenc-rsa-pkcs8.der",
        "asymmetric/DER_Serialization/enc-rsa-pkcs8.der",
        "asymmetric/DER_Serialization/ec_private_key.der",
    ],
)
def test_private_key_is_refused_without_echo(path: str) -> None:
    data = vector(path)
    for parse in (parse_certificates, parse_csr):
        with pytest.raises(PkiError) as exc:
            parse(data)  # type: ignore[operator]
        message = str(exc.value)
        assert "private key" in message
        assert "BEGIN" not in message and len(message) < 300
        body = data.decode("latin-1")
        assert not any(line in message for line in body.splitlines() if len(line) > 20)


@pytest.mark.parametrize(
    "path",
    [
        "asymmetric/PKCS8/unenc-rsa-pkcs8.pem",
        "asymmetric/PKCS8/enc-rsa-pkcs8.pem",
        "asymmetric/PKCS8/ec_private_key.pem",
        "asymmetric/PEM_Serialization/dsa_private_key.pem",
        "asymmetric/Traditional_OpenSSL_Serialization/key1.pem",
        "asymmetric/OpenSSH/ed25519-nopsw.key",
        "asymmetric/OpenSSH/rsa-psw.key",
        "asymmetric/DER_Serialization/testrsa.der",
        "asymmetric/DER_Serialization/unenc-rsa-pkcs8.der",
        "asymmetric/DER_Serialization/enc2-rsa-pkcs8.der",
        "asymmetric/DER_Serialization/ec_private_key_encrypted.der",
        "asymmetric/DER_Serialization/dsa.1024.der",
        "asymmetric/PKCS8/unknown-oid.der",
        "pkcs12/cert-key-aes256cbc.p12",
        "pkcs12/no-password.p12",
        "pkcs12/name-all-pwd.p12",
    ],
)
def test_contains_private_key_positive(path: str) -> None:
    assert contains_private_key(vector(path))


def test_contains_private_key_putty_and_ssh2() -> None:
    putty = b"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x\n"
    assert contains_private_key(putty)
    ssh2 = (b"---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nabc\n"
            b"---- END SSH2 ENCRYPTED PRIVATE KEY ----\n")
    assert contains_private_key(ssh2)


@pytest.mark.parametrize(
    "path",
    [
        "x509/cryptography.io.pem",
        "x509/cryptography.io.chain.pem",
        "x509/requests/rsa_sha256.pem",
        "x509/requests/rsa_sha256.der",
        "x509/e-trust.ru.der",
        "asymmetric/DER_Serialization/rsa_public_key.der",
        "asymmetric/PEM_Serialization/rsa_public_key.pem",
        "asymmetric/OpenSSH/rsa-nopsw.key.pub",
    ],
)
def test_contains_private_key_negative(path: str) -> None:
    assert not contains_private_key(vector(path))


def test_contains_private_key_never_raises() -> None:
    for blob in (b"", b"\x30", b"\x30\x82\xff\xff", b"\xff" * 100, "é".encode()):
        assert contains_private_key(blob) is False


FUZZ_DIRS = ("x509", "pkcs7", "pkcs12", "asymmetric/PKCS8", "asymmetric/DER_Serialization",
             "asymmetric/PEM_Serialization", "asymmetric/Traditional_OpenSSL_Serialization",
             "asymmetric/OpenSSH")


@pytest.mark.filterwarnings("error")
def test_every_vector_parses_or_raises_pkierror() -> None:
    """No input makes the parsers raise anything but PkiError, or warn."""
    seen = parsed = 0
    for folder in FUZZ_DIRS:
        for path in sorted(vector_path(folder).glob("**/*")):
            if not path.is_file() or "PKITS" in str(path) or path.stat().st_size > 500_000:
                continue
            data = path.read_bytes()
            seen += 1
            pem_kinds(data)
            contains_private_key(data)
            for parse in (parse_certificates, parse_csr):
                try:
                    parse(data)  # type: ignore[operator]
                    parsed += 1
                except PkiError:
                    pass
    assert seen > 400 and parsed > 100
