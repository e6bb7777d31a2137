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
_MAX_PEMS = 200_000

# One JSON field of a CUCM trust list (a PEM string, usually one certificate) -> its blocks.
# A Unified CM answers with ~600 CAs, the same built-in ones on every node: after the first
# node each field is one dict lookup (a hash of the fresh string and one compare) instead of
# a regex scan, a string concatenation and an intern look-up per certificate. Only short
# texts are kept (a field, not a whole bundle), so the memo holds no node's full answer.
_ENTRIES: dict[str, tuple[str, ...]] = {}
_MAX_ENTRIES = 200_000
_MAX_ENTRY_CHARS = 16_384


def _one(pem: str) -> str:
    if len(_PEMS) > _MAX_PEMS:
        _PEMS.clear()
    return _PEMS.setdefault(pem, pem)


def split_pems(text: str) -> tuple[str, ...]:
    """Each certificate block of a concatenated PEM bundle, normalised to end with a newline.

    Text before, between and after the blocks is ignored; a text without a block gives ()."""
    return tuple(_one(m.group(0) + "\n") for m in _PEM.finditer(text))


def split_entry(text: str) -> tuple[str, ...]:
    """``split_pems`` of one short PEM field (a trust-list entry), memoised on the text:
    the same result, shared by every node whose answer holds the same field."""
    found = _ENTRIES.get(text)
    if found is None:
        found = split_pems(text)
        if len(text) <= _MAX_ENTRY_CHARS:
            if len(_ENTRIES) >= _MAX_ENTRIES:
                _ENTRIES.clear()
            _ENTRIES[text] = found
    return found
