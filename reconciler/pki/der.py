"""Just enough DER reading for what ``cryptography`` does not expose.

Used to cut the DER certificate out of an OpenSSL ``TRUSTED CERTIFICATE`` blob, to take the
SubjectPublicKeyInfo bytes out of a TBSCertificate or CertificationRequestInfo (so SPKI
fingerprints work even for key types ``cryptography`` cannot load), and to recognise a
PKCS#12 file without a password. Every function is total: bad input gives ``None``.
"""

from __future__ import annotations

SEQUENCE = 0x30
INTEGER = 0x02
OID = 0x06
CONTEXT_0 = 0xA0

# id-data (1.2.840.113549.1.7.1) and id-signedData (1.2.840.113549.1.7.2), as DER OIDs.
_PKCS7_DATA = bytes.fromhex("06092a864886f70d010701")
_PKCS7_SIGNED = bytes.fromhex("06092a864886f70d010702")


def read_tlv(data: bytes, offset: int = 0) -> tuple[int, int, int] | None:
    """``(tag, content_start, content_end)`` of the element at ``offset``, or None.

    Only single-byte tags and definite lengths (DER); lengths up to 4 bytes.
    """
    if offset + 2 > len(data):
        return None
    tag = data[offset]
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            return None
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        return None
    return tag, pos, end


def children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """The elements inside ``data[start:end]`` as ``(tag, element_start, content_start, end)``."""
    out: list[tuple[int, int, int, int]] = []
    pos = start
    while pos < end:
        tlv = read_tlv(data, pos)
        if tlv is None or tlv[2] > end:
            return out
        out.append((tlv[0], pos, tlv[1], tlv[2]))
        pos = tlv[2]
    return out


def first_element(data: bytes) -> bytes | None:
    """The first complete DER element of ``data`` (dropping anything after it)."""
    tlv = read_tlv(data)
    return data[: tlv[2]] if tlv is not None else None


def _tbs_items(tbs: bytes) -> tuple[list[tuple[int, int, int, int]], int] | None:
    """The elements of a TBSCertificate and the index of its issuer (after [0] version)."""
    outer = read_tlv(tbs)
    if outer is None or outer[0] != SEQUENCE:
        return None
    items = children(tbs, outer[1], outer[2])
    return items, 3 if items and items[0][0] == CONTEXT_0 else 2


def tbs_names_and_spki(tbs: bytes) -> tuple[bytes, bytes, bytes] | None:
    """``(issuer, subject, spki)``: the DER of those elements of a TBSCertificate, or None.

    TBSCertificate: [0] version?, serial, signature, issuer, validity, subject, spki, ...
    """
    found = _tbs_items(tbs)
    if found is None:
        return None
    items, issuer = found
    if len(items) <= issuer + 3:
        return None
    parts = [items[issuer], items[issuer + 2], items[issuer + 3]]
    if any(tag != SEQUENCE for tag, _, _, _ in parts):
        return None
    issuer_der, subject_der, spki_der = (tbs[start:end] for _, start, _, end in parts)
    return issuer_der, subject_der, spki_der


def spki_of_tbs(tbs: bytes, *, csr: bool = False) -> bytes | None:
    """The SubjectPublicKeyInfo element of a TBSCertificate (or a CertificationRequestInfo).

    TBSCertificate: [0] version?, serial, signature, issuer, validity, subject, spki, ...
    CertificationRequestInfo: version, subject, spki, [0] attributes.
    """
    if csr:
        outer = read_tlv(tbs)
        if outer is None or outer[0] != SEQUENCE:
            return None
        items, index = children(tbs, outer[1], outer[2]), 2
    else:
        found = _tbs_items(tbs)
        if found is None:
            return None
        items, index = found[0], found[1] + 3
    if len(items) <= index or items[index][0] != SEQUENCE:
        return None
    _, start, _, end = items[index]
    return tbs[start:end]


_EC_PUBLIC_KEY = bytes.fromhex("06072a8648ce3d0201")  # id-ecPublicKey


def has_explicit_ec_parameters(spki: bytes) -> bool:
    """SPKI with id-ecPublicKey and spelled-out curve parameters instead of a named curve."""
    outer = read_tlv(spki)
    if outer is None:
        return False
    items = children(spki, outer[1], outer[2])
    if not items or items[0][0] != SEQUENCE:
        return False
    algorithm = children(spki, items[0][2], items[0][3])
    if len(algorithm) < 2:
        return False
    oid = spki[algorithm[0][1] : algorithm[0][3]]
    return oid == _EC_PUBLIC_KEY and algorithm[1][0] == SEQUENCE


def looks_like_pkcs12(data: bytes) -> bool:
    """A PFX: SEQUENCE { INTEGER 3, ContentInfo { id-data | id-signedData, ... }, ... }."""
    outer = read_tlv(data)
    if outer is None or outer[0] != SEQUENCE or outer[2] != len(data):
        return False
    items = children(data, outer[1], outer[2])
    if len(items) < 2 or items[0][0] != INTEGER or items[1][0] != SEQUENCE:
        return False
    version = data[items[0][2] : items[0][3]]
    if version != b"\x03":
        return False
    _, _, content_start, content_end = items[1]
    inner = children(data, content_start, content_end)
    if not inner or inner[0][0] != OID:
        return False
    oid = data[inner[0][1] : inner[0][3]]
    return oid in (_PKCS7_DATA, _PKCS7_SIGNED)
