"""Parsing the VOS platform CLI's certificate output (pure: no I/O): ``show cert list`` in
both forms the evidence shows, the PEM cut out of ``show cert``, ``show csr list``, the CSR.

Forms (docs/device-evidence-vos.md, section 8): one line per file,
``<unit>/<file>.pem: <description>`` [3P], the text before the first ``: `` being what
``show cert`` takes; or ``Unit:``/``Type:``/``Name:`` blocks, which one client reads [3P/U].
The PEM is decoded locally (the validity lines differ by release [3P] and are not read).
Output that fits no form is ``Unparseable`` naming the command (``where``); the node's name
is added by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from reconciler.drivers.errors import Unparseable
from reconciler.drivers.pemtext import CSR_BLOCK, split_pems

_LINE = re.compile(r"^(?P<unit>[A-Za-z0-9._-]+)/(?P<file>[^\s/:]+\.(?:pem|der|crt|cer))\s*:"
                   r"\s*(?P<desc>.*)$")
_BLOCK_KEY = re.compile(r"^(?P<key>Unit|Type|Name|Issuer|Expires|Description)\s*:\s*(?P<v>.*)$",
                        re.IGNORECASE)
_CSR_LINE = re.compile(r"^(?P<unit>[A-Za-z0-9._-]+)/(?P<file>[^\s/:]+\.csr)\b")
_NOTHING = re.compile(r"^(no (certificates?|csrs?|files?)\b.*|.*\bnot found\b.*|)$", re.I)


@dataclass(frozen=True)
class CertFile:
    """One line (or block) of ``show cert list``: the store or unit, the file, its text."""

    unit: str  # "tomcat" (own) or "tomcat-trust" (trust), as the CLI prints it
    file: str  # "tomcat.pem"
    description: str = ""

    @property
    def ref(self) -> str:
        """What ``show cert own|trust`` takes: ``<unit>/<file>`` [3P]."""
        return f"{self.unit}/{self.file}"


def parse_cert_list(text: str, where: str) -> list[CertFile]:
    """``show cert list own|trust`` in either evidenced form; ``Unparseable`` naming the
    command (``where``) and the first line that fits neither."""
    out: list[CertFile] = []
    block: dict[str, str] = {}

    def flush() -> None:
        if not block:
            return
        unit, name = block.get("unit", ""), block.get("name", "")
        if not unit or not name:
            raise Unparseable("", f"{where}: a Unit:/Name: block lacks "
                              f"{'Unit' if not unit else 'Name'}", method="SSH", path=where)
        unit = unit if "/" not in name else name.split("/", 1)[0]
        typ = block.get("type", "").lower()
        if typ == "trust" and not unit.lower().endswith("-trust"):
            unit += "-trust"
        out.append(CertFile(unit, name.rsplit("/", 1)[-1], block.get("description", "")))
        block.clear()

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if found := _LINE.match(line):
            flush()
            out.append(CertFile(found["unit"], found["file"], found["desc"].strip()))
        elif key := _BLOCK_KEY.match(line):
            name = key["key"].lower()
            if name == "unit" and "unit" in block:
                flush()
            block[name] = key["v"].strip()
        elif not line:
            flush()
        elif not _NOTHING.match(line):
            raise Unparseable("", f"{where}: line {number} is neither '<unit>/<file>.pem: "
                              f"<description>' nor a Unit:/Type:/Name: block: {line[:80]!r}",
                              method="SSH", path=where)
    flush()
    return out


def cut_pems(text: str, where: str) -> tuple[str, ...]:
    """The certificates in ``show cert`` output (decoded later, locally); ``Unparseable``
    naming the command when there is none or one does not decode."""
    pems = split_pems(text)
    if not pems:
        raise Unparseable("", f"{where}: no PEM certificate in the output "
                          f"({' '.join(text.split())[:80]!r})", method="SSH", path=where)
    for pem in pems:
        try:
            x509.load_pem_x509_certificate(pem.encode())
        except ValueError as exc:
            raise Unparseable("", f"{where}: the PEM in the output does not decode ({exc})",
                              method="SSH", path=where) from None
    return pems


def parse_csr_list(text: str, where: str) -> list[str]:
    """``show csr list own``: the ``<unit>/<file>.csr`` names [C]."""
    names: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if found := _CSR_LINE.match(line):
            names.append(f"{found['unit']}/{found['file']}")
        elif not _NOTHING.match(line):
            raise Unparseable("", f"{where}: line {number} is not '<unit>/<file>.csr': "
                              f"{line[:80]!r}", method="SSH", path=where)
    return names


def cut_csr(text: str, where: str) -> str:
    """The CSR printed by ``show csr own <name>``, checked locally."""
    found = CSR_BLOCK.search(text)
    if not found:
        raise Unparseable("", f"{where}: no PEM CSR in the output", method="SSH", path=where)
    pem = found.group(0) + "\n"
    try:
        x509.load_pem_x509_csr(pem.encode())
    except ValueError as exc:
        raise Unparseable("", f"{where}: the CSR in the output does not decode ({exc})",
                          method="SSH", path=where) from None
    return pem


def sha256_of(pem: str) -> str:
    return x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA256()).hex()
