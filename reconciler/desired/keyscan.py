"""Refuse private keys anywhere in the desired state (docs/architecture.md: secrets never live
in the repo).

Every file is scanned, whatever its name or extension (a key pasted into a YAML file counts).
Findings name the file and at most the line of the key's ``BEGIN`` marker: never a byte of
the key itself.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator

from reconciler.desired.findings import error
from reconciler.desired.sourcetree import SourceTree
from reconciler.model import Code, Finding, SourcePos
from reconciler.pki import contains_private_key

_MARKER = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")

ADVICE = (
    "holds private key material: remove the file (and purge it from git history) and treat "
    "the key as exposed: generate a new CSR on the node. certops needs only public "
    "certificates and CSRs"
)


def scan(tree: SourceTree) -> tuple[set[str], list[Finding]]:
    """Root-relative paths of files holding private keys, and one ``repo.private_key`` each."""
    found: set[str] = set()
    findings: list[Finding] = []
    for rel in tree.files():
        try:
            data = tree.read(rel)
        except OSError:
            continue  # unreadable files are reported where they are needed
        if holds_key(data):
            found.add(rel)
            findings.append(error(Code.REPO_PRIVATE_KEY, ADVICE, _where(tree.display(rel), data)))
    return found, findings


# Where a DER private key may start: SEQUENCE (any length form), then INTEGER 0 (PKCS#8,
# PKCS#1) or INTEGER 1 (SEC1 EC keys).
_DER_KEY = re.compile(rb"\x30(?:[\x00-\x7f]|\x81[\x00-\xff]|\x82[\x00-\xff]{2})\x02\x01[\x00\x01]")
# Bare base64 (no PEM markers) long enough to be a key: what the pattern
#   (?:[A-Za-z0-9+/]{16,}[\r\n]*){6,}[A-Za-z0-9+/]*={0,2}
# finds (lines of 16+ base64 characters, 6 pieces of 16 in all), found by ``_base64_spans`` in
# one pass: the pattern itself backtracks through every way of cutting a long line into
# pieces (a 140-character SSH host key in a node file cost 2 ms, half of loading 200 nodes).
_RUN = re.compile(rb"[A-Za-z0-9+/]+")
_PIECE, _PIECES = 16, 6
# The runs of 16 or more (what a chain is made of), found by the regex engine: a YAML file's
# words are base64 runs too, and a Python step for each word was most of the scan's time. A
# shorter run between two long ones is in the text between them, so it still breaks a chain.
_LONG_RUN = re.compile(rb"[A-Za-z0-9+/]{%d,}" % _PIECE)


def _der_end(data: bytes, start: int) -> int:
    """Where the DER element starting at ``start`` ends (by its length octets)."""
    first = data[start + 1]
    if first < 0x80:
        return start + 2 + first
    size = first & 0x7F
    return start + 2 + size + int.from_bytes(data[start + 2:start + 2 + size], "big")


def holds_key(data: bytes) -> bool:
    """A private key anywhere in ``data``: PEM, PuTTY or whole-file DER (``pki``), DER
    embedded in a larger file (an archive, a binary of any size), or bare base64 DER."""
    if contains_private_key(data):
        return True
    for match in _DER_KEY.finditer(data):
        if contains_private_key(data[match.start():_der_end(data, match.start())]):
            return True
    return any(_decoded_key(data[start:end]) for start, end in _base64_spans(data))


def _base64_spans(data: bytes) -> Iterator[tuple[int, int]]:
    """The spans the pattern above matches, left to right, in linear time.

    A chain is a run of base64 characters and the runs that follow it across line breaks
    only, each 16 characters or more. The pattern matches a chain from its first run when
    its runs hold 6 pieces of 16 in all, through its last run, the line breaks after it, a
    shorter run after those (a key's last line) and up to two ``=``.
    """
    chain: list[tuple[int, int]] = []  # (start, end) of the current chain's runs
    pos = 0  # where the last span ended: the pattern resumes there
    for run in _LONG_RUN.finditer(data):
        start, end = run.span()
        if start < pos:
            continue  # inside the tail of the span just found
        joined = bool(chain) and not data[chain[-1][1]:start].strip(b"\r\n")
        if chain and not joined:
            span = _chain_span(data, chain)
            chain = []
            if span is not None:
                yield span
                pos = span[1]
                if start < pos:
                    continue
        chain.append((start, end))
    if chain and (span := _chain_span(data, chain)) is not None:
        yield span


def _chain_span(data: bytes, chain: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The span the pattern matches on ``chain`` (None: too few pieces of 16)."""
    if sum((end - start) // _PIECE for start, end in chain) < _PIECES:
        return None
    end = chain[-1][1]
    size = len(data)
    while end < size and data[end] in b"\r\n":
        end += 1
    tail = _RUN.match(data, end)
    if tail is not None:
        end = tail.end()
    for _ in range(2):
        if end < size and data[end] == ord("="):
            end += 1
    return chain[0][0], end


def _decoded_key(text: bytes) -> bool:
    try:
        blob = base64.b64decode(b"".join(text.split()), validate=False)
    except ValueError:
        return False
    return blob[:1] == b"\x30" and holds_key(blob)


def _where(display: str, data: bytes) -> SourcePos:
    match = _MARKER.search(data)
    if match is None:  # a DER key: no line to point at
        return SourcePos(file=display)
    before = data[: match.start()]
    return SourcePos(file=display, line=before.count(b"\n") + 1,
                     col=match.start() - (before.rfind(b"\n") + 1) + 1)
