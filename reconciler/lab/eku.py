"""The lab's Expressway EKU behaviour by version, written from the evidence on its own (not
from certops' kind tables, so that the lab can catch certops getting them wrong).

- before X15.4: an upload without TLS Web Client Authentication is refused on the C and
  the E (the GUI enforces it [C] TAC 225482; REST is assumed to do the same [U]);
- X15.4: the E takes a serverAuth-only upload only with ``XCP TLS Certificate CVS
  EnableServerEkuUpload`` On; the C still refuses it [C] TAC 225482;
- X15.5: two stores; the server store needs serverAuth; the client store refuses a
  certificate without clientAuth [C] TAC 225693.

Link checks (``handshakes``): the side that connects presents its client certificate (its
only certificate before X15.5); the far end checks clientAuth, except cluster peers from
X15.4 and the C on MRA's SIP SERVICE from X15.4 (TAC 225482), and inbound SIP TLS on X15.5
with ``SIP TLS Certificate ExtendedKeyUsage Checking Mode: Off`` (TAC 225693).
"""

from __future__ import annotations

import re

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

UPLOAD_SWITCH = "XCP TLS Certificate CVS EnableServerEkuUpload"
SIP_CHECKING = "SIP TLS Certificate ExtendedKeyUsage Checking Mode"
SERVER_AUTH, CLIENT_AUTH = "serverAuth", "clientAuth"
_OIDS = {ExtendedKeyUsageOID.SERVER_AUTH: SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH: CLIENT_AUTH}


def version_of(text: str) -> tuple[int, int]:
    major, minor = [*(int(n) for n in re.findall(r"\d+", text)[:2]), 0, 0][:2]
    return major, minor


def has_client_store(version: str) -> bool:
    """X15.5 and later have a client certificate store of their own."""
    return version_of(version) >= (15, 5)


def ekus(cert: x509.Certificate) -> set[str]:
    try:
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return set()
    return {_OIDS[u] for u in usage if u in _OIDS}


def server_upload_refusal(node_type: str, version: str, settings: dict[str, str],
                          cert: x509.Certificate) -> str | None:
    """Why the server store refuses ``cert`` at this version (None: accepted)."""
    have = ekus(cert)
    if SERVER_AUTH not in have:
        return "The server certificate must include TLS Web Server Authentication"
    v = version_of(version)
    if v >= (15, 5) or CLIENT_AUTH in have:
        return None
    if v >= (15, 4) and node_type == "expressway-e" and settings.get(UPLOAD_SWITCH) == "On":
        return None
    return ("The server certificate must include both TLS Web Server Authentication and TLS "
            "Web Client Authentication")


def client_upload_refusal(cert: x509.Certificate) -> str | None:
    """The X15.5 client store refuses a certificate without clientAuth [C]."""
    if CLIENT_AUTH not in ekus(cert):
        return "The client certificate must include TLS Web Client Authentication"
    return None
