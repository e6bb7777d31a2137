"""The ARI certificate identifier of RFC 9773 section 4.1, from a certificate.

``certID = base64url(keyIdentifier of the AKI) "." base64url(DER content octets of the
serial number)``, both without padding. The serial's content octets are its two's-complement
big-endian bytes: a leading zero byte when the top bit is set (RFC 9773's example serial
``0x87654321`` becomes ``AIdlQyE``).
"""

from __future__ import annotations

import base64

from cryptography import x509


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def serial_octets(serial: int) -> bytes:
    """The DER INTEGER content octets of a positive serial number."""
    return serial.to_bytes(serial.bit_length() // 8 + 1, "big")


def cert_id(cert: x509.Certificate) -> str | None:
    """The certificate's ARI certID, or None without an authority key identifier."""
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return None
    if aki.key_identifier is None:
        return None
    return f"{b64url(aki.key_identifier)}.{b64url(serial_octets(cert.serial_number))}"
