"""Chain building: who issued whom, which certificate of a full-chain file is the leaf.

An issuer matches when its subject DN equals the issuer DN, its Subject Key Identifier equals
the Authority Key Identifier (when both are present), and the signature verifies. Building
prefers trust anchors, never loops, and is deterministic (candidates sorted by SHA-256).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reconciler.pki.certinfo import CertInfo
from reconciler.pki.errors import PkiError
from reconciler.pki.signatures import signed_by

MAX_DEPTH = 10  # certificates in a chain; real chains have 2 to 4
_MAX_STEPS = 2000  # issuer checks per build, so cross-signing meshes cannot explode


def names_issuer(child: CertInfo, parent: CertInfo) -> bool:
    """DN and key identifiers say ``parent`` could have issued ``child`` (no signature check)."""
    if child.cert.issuer != parent.cert.subject:
        return False
    aki, ski = child.authority_key_id, parent.subject_key_id
    return aki is None or ski is None or aki == ski


# (child sha256, parent sha256) -> verdict. A pure memo: the same CA signs the leaves of
# hundreds of nodes, and a signature check costs far more than a dictionary lookup.
_SIGNATURES: dict[tuple[str, str], bool] = {}
_SIGNATURES_MAX = 200_000


def signature_ok(child: CertInfo, parent: CertInfo) -> bool:
    """``parent``'s key verifies ``child``'s signature (cryptography, any supported algorithm)."""
    key = (child.sha256, parent.sha256)
    verdict = _SIGNATURES.get(key)
    if verdict is None:
        try:
            verdict = signed_by(child.cert, parent.cert)
        except Exception:  # a key cryptography cannot load
            verdict = False
        if len(_SIGNATURES) >= _SIGNATURES_MAX:
            _SIGNATURES.clear()
        _SIGNATURES[key] = verdict
    return verdict


def issued_by(child: CertInfo, parent: CertInfo) -> bool:
    return names_issuer(child, parent) and signature_ok(child, parent)


def same_subject(certs: Iterable[CertInfo], *, by_key: bool = False) -> dict[str, int]:
    """Subjects held by more than one distinct certificate (or, with ``by_key``, by more
    than one public key) -> how many. Chain building by name can pick the wrong one."""
    groups: dict[str, set[str]] = {}
    for cert in certs:
        groups.setdefault(cert.subject, set()).add(cert.spki_sha256 if by_key else cert.sha256)
    return {subject: len(ids) for subject, ids in sorted(groups.items()) if len(ids) > 1}


@dataclass(frozen=True)
class ChainResult:
    """A built chain: leaf first, the anchor last when ``complete``.

    When incomplete, ``missing_issuer`` is the issuer DN (and ``missing_aki`` the Authority
    Key Identifier) of the certificate where building stopped: the CA to add. For a chain
    that ends in a self-signed certificate that is not a trust anchor, that is its own DN.
    """

    chain: tuple[CertInfo, ...]
    complete: bool
    missing_issuer: str | None = None
    missing_aki: str | None = None

    @property
    def anchor(self) -> CertInfo | None:
        return self.chain[-1] if self.complete else None


def _unique(certs: Iterable[CertInfo]) -> list[CertInfo]:
    seen: dict[str, CertInfo] = {}
    for cert in certs:
        seen.setdefault(cert.sha256, cert)
    return [seen[k] for k in sorted(seen)]


def build_chain(
    leaf: CertInfo, candidates: Iterable[CertInfo], anchors: Iterable[CertInfo]
) -> ChainResult:
    """The path from ``leaf`` up to a trust anchor, or as far as the given certificates go."""
    anchor_list = _unique(anchors)
    anchor_ids = {a.sha256 for a in anchor_list}
    others = [c for c in _unique(candidates) if c.sha256 not in anchor_ids]
    if leaf.sha256 in anchor_ids:
        return ChainResult((leaf,), complete=True)
    steps = 0
    first_dead_end: tuple[CertInfo, ...] | None = None

    def extend(path: tuple[CertInfo, ...]) -> tuple[CertInfo, ...] | None:
        nonlocal steps, first_dead_end
        current = path[-1]
        on_path = {c.sha256 for c in path}
        for anchor in anchor_list:
            steps += 1
            if anchor.sha256 not in on_path and issued_by(current, anchor):
                return (*path, anchor)
        if not current.self_signed and len(path) < MAX_DEPTH:
            for cand in others:
                if steps >= _MAX_STEPS:
                    break
                steps += 1
                if cand.sha256 in on_path or not issued_by(current, cand):
                    continue
                found = extend((*path, cand))
                if found is not None:
                    return found
        if first_dead_end is None:
            first_dead_end = path
        return None

    complete = extend((leaf,))
    if complete is not None:
        return ChainResult(complete, complete=True)
    path = first_dead_end or (leaf,)
    last = path[-1]
    if last.self_signed:
        return ChainResult(path, False, last.subject, last.subject_key_id)
    return ChainResult(path, False, last.issuer, last.authority_key_id)


def split_leaf(certs: Sequence[CertInfo]) -> tuple[CertInfo, tuple[CertInfo, ...]]:
    """The leaf of a full-chain file in any order, and the other certificates in file order.

    The leaf is the end-entity (non-CA) certificate that issues no other certificate of the
    set. A file holding one certificate is that certificate, even a CA (the checks then say
    "a CA certificate given as server certificate"); so is a set whose only bottom is a CA.
    """
    if not certs:
        raise PkiError("no certificates: expected a server certificate, optionally with its chain")
    unique = list({c.sha256: c for c in certs}.values())
    if len(unique) == 1:
        return unique[0], ()
    bottoms = [c for c in unique if not any(o is not c and issued_by(o, c) for o in unique)]
    end_entities = [c for c in bottoms if not c.is_ca]
    pick = end_entities if end_entities else bottoms
    if len(pick) == 1:
        leaf = pick[0]
        return leaf, tuple(c for c in certs if c.sha256 != leaf.sha256)
    if not pick:
        raise PkiError(
            "no leaf certificate: every certificate in the file issues another one; expected "
            "one server certificate plus its CA chain"
        )
    subjects = ", ".join(f"'{c.subject}'" for c in pick)
    if not end_entities:
        raise PkiError(
            f"no server certificate: the file holds only CA certificates ({subjects}); "
            "expected one server certificate plus its CA chain"
        )
    subjects = ", ".join(f"'{c.subject}'" for c in pick)
    raise PkiError(
        f"{len(pick)} server certificates in one file ({subjects}): expected one server "
        "certificate plus its CA chain; put each server certificate in its own file"
    )
