"""Refuse private keys anywhere in the desired state (docs/architecture.md: secrets never live
in the repo).

Every file is scanned, whatever its name or extension (a key pasted into a YAML file counts).
Findings name the file and at most the line of the key's ``BEGIN`` marker: never a byte of
the key itself.
"""

from __future__ import annotations

import re

from reconciler.desired.findings import error
from reconciler.desired.sourcetree import SourceTree
from reconciler.model import Code, Finding, SourcePos
from reconciler.pki import contains_private_key

LARGE = 1 << 20  # bigger binary files are images or archives, not keys; skip them
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
            if tree.size(rel) > LARGE and b"\0" in tree.head(rel, 8192):
                continue
            data = tree.read(rel)
        except OSError:
            continue  # unreadable files are reported where they are needed
        if contains_private_key(data):
            found.add(rel)
            findings.append(error(Code.REPO_PRIVATE_KEY, ADVICE, _where(tree.display(rel), data)))
    return found, findings


def _where(display: str, data: bytes) -> SourcePos:
    match = _MARKER.search(data)
    if match is None:  # a DER key: no line to point at
        return SourcePos(file=display)
    before = data[: match.start()]
    return SourcePos(file=display, line=before.count(b"\n") + 1,
                     col=match.start() - (before.rfind(b"\n") + 1) + 1)
