"""The certificate files of a desired state: what each holds, and whether it fits where it is.

A file's role comes from its folder (``cas/`` one CA certificate, ``ca-sets/`` a named set of
CA certificates, ``certs/`` a signed certificate or full chain, ``csrs/`` a CSR) or from what
references it (a trust list names one CA, or a set when the file is under ``ca-sets/``;
``server_certificate.file`` a certificate). Problems with a file in one of the folders
are reported at the file; problems that only the reference reveals, at the reference. Only
files without problems reach ``Desired.files``, so later layers can rely on them.

Files under the folders count when they end in a certificate extension
(``.pem .crt .cer .der .csr .req``); other files there (a README) are left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.desired.findings import at_file, error, warning
from reconciler.desired.sourcetree import SourceTree
from reconciler.model import Code, Finding, PemFile, SourcePos
from reconciler.model.layout import CA_SETS_DIR, CAS_DIR, CERTS_DIR, CSRS_DIR, is_ca_set
from reconciler.pki import CertCache, CertInfo, PkiError, split_leaf

Role = Literal["ca", "ca-set", "certificate", "csr"]
FOLDERS: dict[str, Role] = {
    CAS_DIR: "ca", CA_SETS_DIR: "ca-set", CERTS_DIR: "certificate", CSRS_DIR: "csr",
}
SUFFIXES = (".pem", ".crt", ".cer", ".der", ".csr", ".req")
# A set stands for a store's built-in CAs (Unified CM ships about 150 per store); the cap
# keeps a stray file (a whole OS bundle, a concatenated log) from costing minutes to check.
MAX_CA_SET = 2000

_WANTED: dict[Role, str] = {
    "ca": "one CA certificate (PEM or DER)",
    "ca-set": "one or more CA certificates (a PEM bundle)",
    "certificate": "a signed certificate (PEM or DER, the leaf or the full chain)",
    "csr": "a certificate signing request (PEM or DER)",
}


@dataclass(frozen=True)
class Content:
    """What a file holds: certificates, a CSR, or neither (and why)."""

    certs: tuple[CertInfo, ...] = ()
    csr: bool = False
    cert_error: str | None = None
    csr_error: str | None = None
    empty: bool = False


def classify(data: bytes, cache: CertCache) -> Content:
    """Parse ``data`` as certificates, else as a CSR, keeping both reasons when it is neither."""
    if not data.strip():
        return Content(empty=True)
    try:
        return Content(certs=cache.parse(data))
    except PkiError as exc:
        cert_error = str(exc)
    try:
        cache.parse_csr(data)
    except PkiError as exc:
        return Content(cert_error=cert_error, csr_error=str(exc))
    return Content(csr=True)


def problem(content: Content, role: Role) -> str | None:
    """Why ``content`` cannot play ``role``, in words that say what to do; None when it can."""
    wanted = _WANTED[role]
    if content.empty:
        return f"the file is empty; it must hold {wanted}"
    if role == "csr":
        if content.csr:
            return None
        if content.certs:
            return "holds a certificate, not a CSR: signed certificates belong under certs/"
        return f"{content.csr_error}; it must hold {wanted}"
    if content.csr:
        return ("holds a certificate signing request, not a certificate: CSRs belong under "
                "csrs/; commit the certificate the CA signed from it")
    if not content.certs:
        return f"{content.cert_error}; it must hold {wanted}"
    if role == "certificate":
        return _leaf_problem(content.certs)
    if role == "ca-set":
        return _set_problem(content.certs)
    if role == "ca":
        if len(content.certs) > 1:
            return (f"holds {len(content.certs)} certificates where one CA certificate is "
                    "expected (one CA per file): split it into one file per CA certificate, "
                    f"or move it under {CA_SETS_DIR}/ to list it as a set of CAs")
        if not content.certs[0].is_ca:
            return (f"'{content.certs[0].subject}' is not a CA certificate: only CA "
                    "certificates belong in cas/ and trust lists; server certificates go "
                    "under certs/")
    return None


def _set_problem(certs: tuple[CertInfo, ...]) -> str | None:
    """A set file holds CA certificates only, at most ``MAX_CA_SET`` of them."""
    if len(certs) > MAX_CA_SET:
        return (f"holds {len(certs)} certificates, more than {MAX_CA_SET}: a CA set holds "
                "the CAs of one trust store; split it into several set files")
    for number, cert in enumerate(certs, 1):
        if not cert.is_ca:
            return (f"certificate {number} of {len(certs)} ('{cert.subject}') is not a CA "
                    "certificate: a CA set holds CA certificates only; remove it from the "
                    "set (server certificates go under certs/)")
    return None


def reference_role(rel: str, role: Role) -> Role:
    """The role a referenced file plays: a CA reference to a file under ``ca-sets/`` names
    a set (every CA in it), anywhere else one CA."""
    return "ca-set" if role == "ca" and is_ca_set(rel) else role


def set_duplicates(certs: tuple[CertInfo, ...]) -> list[tuple[CertInfo, int]]:
    """The certificates a set holds more than once, with how many times, in file order."""
    counts: dict[str, int] = {}
    for cert in certs:
        counts[cert.sha256] = counts.get(cert.sha256, 0) + 1
    seen: set[str] = set()
    out: list[tuple[CertInfo, int]] = []
    for cert in certs:
        if counts[cert.sha256] > 1 and cert.sha256 not in seen:
            seen.add(cert.sha256)
            out.append((cert, counts[cert.sha256]))
    return out


MAX_CHAIN = 16  # a leaf and its CAs: real chains hold 2 to 4 certificates


def _leaf_problem(certs: tuple[CertInfo, ...]) -> str | None:
    """A certificate file must hold exactly one server certificate (plus its CA chain); the
    count is capped first, since finding the leaf compares every pair of certificates."""
    if len(certs) > MAX_CHAIN:
        return (f"holds {len(certs)} certificates, more than {MAX_CHAIN}: a certificate file "
                "holds one server certificate and its CA chain")
    try:
        leaf, _ = split_leaf(certs)
    except PkiError as exc:
        return str(exc)
    if leaf.is_ca and len(certs) > 1:
        return (f"holds only CA certificates ('{leaf.subject}' and {len(certs) - 1} more): "
                "expected one server certificate plus its CA chain; CAs belong under cas/")
    return None


class PemCatalog:
    """Every certificate file of one desired state, checked once, with the verdict kept."""

    def __init__(self, tree: SourceTree, secret: set[str], cache: CertCache) -> None:
        self.tree = tree
        self.cache = cache
        self.secret = secret  # files holding private keys: reported by the key scan, never used
        self._content: dict[str, Content] = {}
        self._bad: set[str] = set()  # files whose own problem is already reported
        self._good: set[str] = set()
        self._good_as: set[tuple[str, Role]] = set()

    def scan_folders(self) -> list[Finding]:
        """Check every file under cas/, ca-sets/, certs/ and csrs/ against its folder's role
        (each file once, however many nodes name it)."""
        findings: list[Finding] = []
        first_ca: dict[str, str] = {}
        for folder, role in FOLDERS.items():
            for rel in self.tree.files_under(folder, SUFFIXES):
                finding = self._check(rel, role, at_file(self.tree.display(rel)), None)
                if finding is not None or rel in self.secret:
                    findings.extend([finding] if finding else [])
                    self._bad.add(rel)
                    continue
                self._good.add(rel)
                self._good_as.add((rel, role))
                if role == "ca-set":
                    findings += self._set_duplicates(rel)
                if role == "ca":
                    digest = self._content[rel].certs[0].sha256
                    if digest in first_ca:
                        findings.append(self._duplicate_ca(rel, first_ca[digest]))
                    else:
                        first_ca[digest] = rel
        return findings

    def check_reference(
        self, rel: str, role: Role, where: SourcePos, node: str | None
    ) -> tuple[bool, Finding | None]:
        """Whether the existing, in-tree file ``rel`` can serve as ``role``; a finding at the
        reference when it cannot and no finding at the file already says why."""
        if rel in self.secret or rel in self._bad:
            return False, None
        finding = self._check(rel, role, where, node)
        if finding is None:
            self._good.add(rel)
            self._good_as.add((rel, role))
        return finding is None, finding

    def known_good(self, rel: str, role: Role) -> bool:
        """Already checked and fine in this role (the same CA file is named by many nodes)."""
        return (rel, role) in self._good_as

    def files(self) -> dict[str, PemFile]:
        """The files that passed every check, for ``Desired.files``."""
        return {rel: PemFile(path=rel, data=self.tree.read(rel)) for rel in sorted(self._good)}

    def _check(self, rel: str, role: Role, where: SourcePos, node: str | None) -> Finding | None:
        if rel in self.secret:
            return None
        display = self.tree.display(rel)
        try:
            content = self._content.get(rel) or classify(self.tree.read(rel), self.cache)
        except OSError as exc:
            return error(Code.INPUT_READ, f"cannot read {display}: {exc.strerror}", where, node)
        self._content[rel] = content
        why = problem(content, role)
        if why is None:
            return None
        prefix = "" if where.line == 0 else f"{display}: "
        return error(Code.INPUT_PEM, prefix + why, where, node)

    def _set_duplicates(self, rel: str) -> list[Finding]:
        """A warning at a set file for each CA it holds more than once (harmless, but the
        copies are noise in every review of the set)."""
        return [
            warning(
                Code.CA_DUPLICATE,
                f"'{cert.subject}' (SHA-256 {cert.sha256[:16]}…) is {count} times in this "
                "CA set: keep one copy",
                at_file(self.tree.display(rel)),
            )
            for cert, count in set_duplicates(self._content[rel].certs)
        ]

    def _duplicate_ca(self, rel: str, first: str) -> Finding:
        return warning(
            Code.CA_DUPLICATE,
            f"the same CA certificate is also in {self.tree.display(first)}: keep one file "
            "per CA and point every trust list at it",
            at_file(self.tree.display(rel)),
        )
