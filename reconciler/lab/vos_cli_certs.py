"""The emulated platform CLI's certificate commands (every VOS node; the only way to reach
the certificates of a release 12.5 node, which answers 404 on ``/platformcom``).

Emulates the command table of ``reconciler.drivers.vos_cli_certs`` and its evidence
(docs/device-evidence-vos.md): ``show cert list own|trust`` (one line per file,
``<unit>/<file>.pem: <description>`` [3P], or the ``Unit:``/``Type:``/``Name:`` blocks with
``cli_list_format: block`` [3P/U]), ``show cert own|trust <unit>/<file>`` (a few header lines
[U] and the PEM), ``show csr list own``, ``show csr own <name>`` [C], ``set csr gen <unit>``
(``Include OU in CSR (yes|no)?`` from 14SU2 [3P]), ``set cert import own|trust <unit>``
(``Paste the Certificate and Hit Enter`` [3P], the paste read up to the line after the END
line [U]), ``set cert delete <unit> <file>`` [C command; U argument and output: the lab takes
the store or the unit], ``set cert regen <unit>`` (``Proceed with regeneration (yes|no)?``
for ITLRecovery [C]). Success lines are Cisco's [C]; every refusal text is [U].

The state changes are the REST emulation's (``reconciler.lab.cucm``): the same-name rule on
trust uploads, replication from the publisher, the install refused while the issuing CA is
not trusted or the key matches no CSR, restart-pending flags.

[U], the lab's own reading: ``set csr gen`` takes no names, so the CSR carries the node's
FQDN as CN and the DNS names of its current identity (else the FQDN) as SANs; trust file
names are the CA's CN with ``_`` for spaces (a serial suffix on a clash); a delete is
cluster-wide on Unified CM [C: from 11.0].

Faults (``Fault.cli_hang``/``cli_garbage``, ``match`` = a command name of ``COMMANDS`` such
as ``cert.import``): a hang stops answering after the command's prompt; garbage answers
lines no parser knows.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from reconciler.lab.ca import (
    KeyKind,
    cert_pem,
    dns_sans,
    key_pem,
    load_certs,
    load_key,
    make_csr,
    new_key,
)
from reconciler.lab.cucm import (
    VosProduct,
    _replicate,
    _store,
    _upload,
    install_certs,
)
from reconciler.lab.expressway import version_tuple
from reconciler.lab.node import Node
from reconciler.lab.state import Identity, PendingCsr, TrustEntry

Write = Callable[[str], object]
ReadLine = Callable[[], Awaitable[str]]

# The CLI's unit for each REST service of the lab [C: tomcat, ipsec; 3P: CallManager, CAPF].
UNIT = {"tomcat": "tomcat", "callmanager": "CallManager", "capf": "CAPF", "ipsec": "ipsec",
        "cup": "cup", "cup-xmpp": "cup-xmpp", "itlrecovery": "ITLRecovery"}
OU_PROMPT_SINCE = (14, 0, 1, 12900)  # 14SU2 drops the OU by default and asks [C]/[3P]
UNSUCCESSFUL = "Executed command unsuccessfully"  # [U] the refusal heading


def _service(product: VosProduct, unit: str) -> str | None:
    """The lab's service for a CLI unit or store name (``tomcat``, ``CallManager-trust``)."""
    name = unit.strip().lower().removesuffix("-trust")
    return name if name in product.services else None


def _file_names(entries: list[TrustEntry]) -> tuple[str, ...]:
    """The file name of each entry: its CN, ``_`` for spaces; a clash gets its serial [U]."""
    return _names(tuple((e.subject, e.serial) for e in entries))


@functools.lru_cache(maxsize=256)
def _names(entries: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """Memoised on the store's (subject, serial) pairs: a 600-CA store is listed once, not
    once per ``show cert`` (the lab's cost, not the client's)."""
    names: list[str] = []
    seen: set[str] = set()
    for subject, serial in entries:
        cn = _cn(subject)
        name = f"{cn}.pem"
        if name in seen:
            name = f"{cn}_{serial[:8]}.pem"
        names.append(name)
        seen.add(name)
    return tuple(names)


@functools.lru_cache(maxsize=4096)
def _cn(subject: str) -> str:
    found = re.search(r"CN=((?:\\,|[^,])+)", subject)
    text = found[1] if found else subject
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "certificate"


def trust_files(product: VosProduct, node: Node) -> list[tuple[str, str, TrustEntry]]:
    """(store as the CLI prints it, file, entry) of every trust certificate."""
    return list(_index(product, node).values())


_INDEX: dict[str, tuple[object, dict[tuple[str, str], tuple[str, str, TrustEntry]]]] = {}


def _index(product: VosProduct,
           node: Node) -> dict[tuple[str, str], tuple[str, str, TrustEntry]]:
    """(store, file) in lower case -> (store, file, entry), rebuilt only when the node's
    own trust entries (or its built-in count) change: a read of 600 CAs asks once per file."""
    pool = node.builtins[0].sha256 if node.builtins else ""
    key = (id(node), pool, node.state.builtin_cas,
           tuple((s, tuple(e.sha256 for e in node.state.trust.get(s, [])))
                 for s in product.services))
    cached = _INDEX.get(node.name)
    if cached is not None and cached[0] == key:
        return cached[1]
    index: dict[tuple[str, str], tuple[str, str, TrustEntry]] = {}
    for service in product.services:
        entries = _store(node, service)
        unit = f"{UNIT.get(service, service)}-trust"
        for name, entry in zip(_file_names(entries), entries, strict=True):
            index[(unit.lower(), name.lower())] = (unit, name, entry)
    _INDEX[node.name] = (key, index)
    return index


def _describe(pem: str) -> str:
    cert = load_certs(pem)[0]
    if cert.subject == cert.issuer:
        return "Self-signed certificate generated by system"  # [3P]
    return f"Certificate Signed by {_cn(cert.issuer.rfc4514_string())}"  # [U]


def _list(node: Node, rows: list[tuple[str, str, str]], write: Write) -> None:
    """``show cert list``: one line per file [3P], or blocks (``cli_list_format``) [3P/U]."""
    block = node.state.cli_list_format == "block"
    for unit, file, desc in rows:
        if block:
            typ = "trust" if unit.lower().endswith("-trust") else "own"
            write(f"Unit: {unit.removesuffix('-trust')}\nType: {typ}\nName: {file}\n"
                  f"Description: {desc}\n\n")
        else:
            write(f"{unit}/{file}: {desc}\n")


def _show(pem: str, write: Write) -> None:
    """``show cert``: header lines [U] (the validity line differs by release [3P]), the PEM."""
    cert = load_certs(pem)[0]
    write(f"[\n  Version: V3\n  Serial Number: {format(cert.serial_number, 'x')}\n"
          f"  Issuer: {cert.issuer.rfc4514_string()}\n"
          f"  Subject: {cert.subject.rfc4514_string()}\n"
          f"  Not After : {cert.not_valid_after_utc:%a %b %d %H:%M:%S UTC %Y}\n]\n")
    write(pem if pem.endswith("\n") else pem + "\n")


async def _paste(read_line: ReadLine) -> str:
    """The pasted text: lines up to the END line, and the (empty) line after it [U]."""
    lines: list[str] = []
    while True:
        line = await read_line()
        if not line:
            break
        lines.append(line)
        if "-----END" in line:
            await read_line()  # the Enter after the PEM [3P]
            break
    return "".join(lines)


def _hang_or_garbage(node: Node, name: str) -> str | None:
    """The CLI fault set on command ``name``, if any: "hang" or "garbage" (count used up)."""
    for fault in list(node.state.faults):
        if not (fault.cli_hang or fault.cli_garbage) or not fault.matches("", name):
            continue
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                node.state.faults.remove(fault)
        return "hang" if fault.cli_hang else "garbage"
    return None


async def _hang() -> None:
    await asyncio.Event().wait()  # never answers: the client's deadline ends it


async def run_cert_command(node: Node, product: VosProduct, cmd: str, write: Write,
                           read_line: ReadLine | None) -> int | None:
    """Run ``cmd`` if it is a certificate command (0 success, 1 refused); None otherwise."""
    words = cmd.split()
    low = [w.lower() for w in words]
    handlers = (_show_cmds, _set_cmds)
    for handler in handlers:
        code = await handler(node, product, words, low, write, read_line)
        if code is not None:
            return code
    return None


async def _show_cmds(node: Node, product: VosProduct, words: list[str], low: list[str],
                     write: Write, read_line: ReadLine | None) -> int | None:
    if low[:3] == ["show", "cert", "list"] and len(low) == 4 and low[3] in ("own", "trust"):
        name = "cert.list"
        if fault := _hang_or_garbage(node, name):
            return await _faulted(fault, write)
        if low[3] == "own":
            rows = [(UNIT.get(s, s), f"{UNIT.get(s, s)}.pem", _describe(i.cert_pem))
                    for s, i in node.state.identities.items()]
        else:
            rows = [(u, f, e.description or _describe(e.pem))
                    for u, f, e in trust_files(product, node)]
        _list(node, rows, write)
        return 0
    if low[:2] == ["show", "cert"] and len(low) == 4 and low[2] in ("own", "trust"):
        if fault := _hang_or_garbage(node, "cert.show"):
            return await _faulted(fault, write)
        pem = _find(product, node, low[2], words[3])
        if pem is None:
            write(f"{UNSUCCESSFUL}\nCertificate {words[3]} not found\n")  # [U]
            return 1
        _show(pem, write)
        return 0
    if low == ["show", "csr", "list", "own"]:
        for pending_of in node.state.pending_csrs:
            unit = UNIT.get(pending_of, pending_of)
            write(f"{unit}/{unit}.csr\n")
        return 0
    if low[:3] == ["show", "csr", "own"] and len(low) == 4:
        pending = node.state.pending_csrs.get(
            _service(product, words[3].split("/", 1)[0]) or "")
        if pending is None:
            write(f"{UNSUCCESSFUL}\nCSR {words[3]} not found\n")  # [U]
            return 1
        write(pending.csr_pem)
        return 0
    return None


def _find(product: VosProduct, node: Node, kind: str, ref: str) -> str | None:
    """The PEM of ``show cert own|trust <ref>`` (``unit/file`` or a bare unit for own)."""
    unit, _, file = ref.partition("/")
    if kind == "own":  # a store's unit, or an identity without a store (TVS, ITLRecovery)
        service = _service(product, unit) or unit.lower()
        ident = node.state.identities.get(service)
        return ident.cert_pem if ident else None
    found = _index(product, node).get((unit.lower(), file.lower()))
    return found[2].pem if found else None


async def _faulted(fault: str, write: Write) -> int:
    if fault == "hang":
        await _hang()
    write("%%%% 0x7f \x07 ?? <cert-table-v9 rows=unknown>\nnot a certificate line\n")
    return 0


async def _set_cmds(node: Node, product: VosProduct, words: list[str], low: list[str],
                    write: Write, read_line: ReadLine | None) -> int | None:
    if low[:3] == ["set", "csr", "gen"] and len(low) == 4:
        return await _csr_gen(node, product, words[3], write, read_line)
    if low[:3] == ["set", "cert", "import"] and len(low) in (5, 6) and low[3] in ("own", "trust"):
        return await _import(node, product, low[3], words[4], write, read_line)
    if low[:3] == ["set", "cert", "delete"] and len(low) == 5:
        return _delete(node, product, words[3], words[4], write)
    if low[:3] == ["set", "cert", "regen"] and len(low) == 4:
        return await _regen(node, product, words[3], write, read_line)
    return None


async def _csr_gen(node: Node, product: VosProduct, unit: str, write: Write,
                   read_line: ReadLine | None) -> int:
    service = _service(product, unit)
    if service is None or read_line is None:
        write(f"{UNSUCCESSFUL}\nInvalid unit: {unit}\n")  # [U]
        return 1
    if version_tuple(node.state.version) >= OU_PROMPT_SINCE[:3]:
        write("Include OU in CSR (yes|no)?")
        if fault := _hang_or_garbage(node, "csr.gen"):
            return await _faulted(fault, write)
        await read_line()
    ident = node.state.identities.get(service)
    names = (dns_sans(load_certs(ident.cert_pem)[0]) if ident else []) or [node.state.fqdn]
    key = new_key("ec256" if ident is None else _key_kind(ident.key_pem))
    csr = make_csr(key, node.state.fqdn, names)
    node.state.pending_csrs[service] = PendingCsr(csr_pem=csr.public_bytes(Encoding.PEM).decode(),
                                                  key_pem=key_pem(key))
    node.save()
    write(f"Successfully Generated CSR for {unit}.\n")  # [C]
    return 0


def _key_kind(pem: str) -> KeyKind:
    """The lab key kind of ``pem``: a new CSR keeps the key type of the identity [U]."""
    key = load_key(pem)
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa4096" if key.key_size >= 4096 else "rsa2048"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == 384:
        return "ec384"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == 521:
        return "ec521"
    return "ec256"


async def _import(node: Node, product: VosProduct, kind: str, unit: str, write: Write,
                  read_line: ReadLine | None) -> int:
    service = _service(product, unit)
    if service is None or read_line is None:
        write(f"{UNSUCCESSFUL}\nInvalid unit: {unit}\n")  # [U]
        return 1
    write("Paste the Certificate and Hit Enter\n")  # [3P]
    if fault := _hang_or_garbage(node, "cert.import"):
        return await _faulted(fault, write)
    text = await _paste(read_line)
    try:
        certs = load_certs(text)
    except ValueError:
        certs = []
    if not certs:
        write(f"{UNSUCCESSFUL}\nError: the pasted text is not a certificate\n")  # [U]
        return 1
    if kind == "trust":
        changed = any([_upload(node, service, c, "imported over the CLI") for c in certs])
        if changed:
            node.mark_restart_pending(product.trust_restarts.get(service, ()))
        node.save()
        if changed and service in ("callmanager",):
            _replicate(product, node, [service], certs, "imported over the CLI")
    else:
        refused = install_certs(product, node, service, certs)
        if refused is not None:
            write(f"{UNSUCCESSFUL}\nError: {refused[1]}\n")  # [U]
            return 1
    write(f"Successfully imported certificate for {unit}.\nPlease restart services related to "
          f"{unit} for the changes to take effect.\n")  # [C]
    return 0


def _delete(node: Node, product: VosProduct, unit: str, file: str, write: Write) -> int:
    """``set cert delete``: the store's file, on every member of the cluster [C from 11.0]."""
    service = _service(product, unit)
    if service is None:
        write(f"{UNSUCCESSFUL}\nInvalid unit: {unit}\n")  # [U]
        return 1
    target = next((e for u, f, e in trust_files(product, node)
                   if f.lower() == file.lower() and _service(product, u) == service), None)
    if target is None or target not in node.state.trust.get(service, []):
        write(f"{UNSUCCESSFUL}\nCertificate {file} not found or not deletable\n")  # [U]
        return 1
    for member in (node, *node.cluster):
        entries = member.state.trust.get(service, [])
        kept = [e for e in entries if e.sha256 != target.sha256]
        if len(kept) != len(entries):
            member.state.trust[service] = kept
            member.mark_restart_pending(product.trust_restarts.get(service, ()))
            member.save()
    write(f"Successfully deleted certificate {file}.\n")  # [U]
    return 0


async def _regen(node: Node, product: VosProduct, unit: str, write: Write,
                 read_line: ReadLine | None) -> int:
    # a store's unit (tomcat, CallManager) or an identity without a store (TVS, ITLRecovery)
    service = _service(product, unit) or (unit.lower() if unit.lower() in product.identities
                                          else None)
    if unit.lower() == "itlrecovery":
        write("WARNING: regenerating ITLRecovery affects phones with a tokenless CTL.\n"
              "Proceed with regeneration (yes|no)?")  # [C] the question; the warning [U]
        if read_line is None or (await read_line()).strip().lower() != "yes":
            write(f"\n{UNSUCCESSFUL}\nRegeneration cancelled\n")
            return 1
        write("\n")
    ident = node.state.identities.get(service or "")
    if service is None or ident is None:
        write(f"{UNSUCCESSFUL}\nInvalid unit: {unit}\n")  # [U]
        return 1
    node.state.identities[service] = _self_signed(node, ident)
    node.mark_restart_pending(product.identity_restarts(service, node.state.version))
    node.save()
    write(f"Successfully regenerated certificate for {unit}.\n")  # [C]
    return 0


def _self_signed(node: Node, ident: Identity) -> Identity:
    """A new key and a self-signed certificate with the identity's CN and names."""
    old = load_certs(ident.cert_pem)[0]
    key = new_key(_key_kind(ident.key_pem))
    cns = old.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         str(cns[0].value) if cns else node.state.fqdn)])
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5))
               .not_valid_after(now + timedelta(days=365 * 5)))
    names = dns_sans(old) or [node.state.fqdn]
    builder = builder.add_extension(
        x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return Identity(cert_pem=cert_pem(cert), key_pem=key_pem(key), chain_pems=[])
