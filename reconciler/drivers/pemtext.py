"""PEM blocks in text that nodes return: certificates and CSRs, as the drivers split them."""

from __future__ import annotations

import re

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
CSR_BLOCK = re.compile(
    r"-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----.+?"
    r"-----END (?:NEW )?CERTIFICATE REQUEST-----",
    re.S,
)


# Each distinct PEM text once per process: a fleet's trust stores repeat the same CAs on
# every node, so keeping one string for them all saves memory and re-hashing downstream.
_PEMS: dict[str, str] = {}


def _one(pem: str) -> str:
    if len(_PEMS) > 200_000:
        _PEMS.clear()
    return _PEMS.setdefault(pem, pem)


def split_pems(text: str) -> tuple[str, ...]:
    """Each certificate block of a concatenated PEM bundle, normalised to end with a newline."""
    return tuple(_one(m.group(0) + "\n") for m in _PEM.finditer(text))
