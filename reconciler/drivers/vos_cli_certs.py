"""Certificates over the VOS platform CLI (``admin:`` over SSH): the transport of a VOS node
without the Certificate Management REST API (Unified CM, IM and Presence, Unity Connection
12.5), inside the VOS driver (``cucm.CucmDriver`` picks it per node).

``COMMANDS`` is the one table of every command certops types, the prompts it answers, the
line that alone means success and the evidence tag (docs/device-evidence-vos.md, section 8,
gives the sources). Success is judged by the documented success line, never by the absence
of words like "error": the failure texts of ``set cert import`` are not public [U], so any
other answer is a refusal that quotes the node.

The conversation (``CliShell``): one SSH session per read (every command of a read in it),
``set cli pagination off`` first [C], the pager prompts answered all the same [C: Cisco's
pyATS VOS plugin], ``Continue (y/n)?`` answered ``y`` [C], the command's own prompts (paste
the PEM, ``yes``/``no``) answered once each [3P], escape codes stripped [3P], and a deadline
per command: a prompt that never comes back is ``TemporaryError`` naming the command.

Parsing is pure and lives beside it (``vos_cli_parse``): ``show cert list`` in both forms
the evidence shows, the PEM cut out of ``show cert`` and decoded locally; output that fits
no form is ``Unparseable`` naming the command (``live.unparseable``). The operations below
(``read_all``, ``import_trust``, ``generate_csr``...) each run in one session that the
driver opens (``session``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from reconciler.drivers.cucm_cli import (
    PROMPT,
    active_version,
    first_prompt,
    strip_escapes,
)
from reconciler.drivers.errors import (
    DriverError,
    PermanentError,
    TemporaryError,
    Unparseable,
    Unreachable,
)
from reconciler.drivers.http import AUDIT
from reconciler.drivers.pemtext import split_pems
from reconciler.drivers.seams import ShellOpener
from reconciler.drivers.vos_cli_parse import (
    CertFile,
    cut_csr,
    cut_pems,
    parse_cert_list,
    parse_csr_list,
    sha256_of,
)


@dataclass(frozen=True)
class CliCommand:
    """One platform CLI command: its text, its prompts and answers, its success line."""

    template: str  # ``str.format`` fields: {unit}, {file}, {csr}, {kind}
    success: str | None  # regex (spaces normalised) that alone means success; None: any
    prompts: tuple[tuple[str, str], ...] = ()  # (regex, answer); "{pem}" pastes the PEM
    tag: str = "[U]"
    seconds: float = 60.0  # the deadline of one run of the command (READ_SECONDS: a read)


READ_SECONDS = 60.0  # a command without a longer deadline of its own (a show, a list)
PASTE = r"Paste the Certificate and Hit Enter"
COMMANDS: dict[str, CliCommand] = {
    "pagination.off": CliCommand("set cli pagination off", r"Automatic pagination is turned off",
                                 tag="[C]"),
    "version": CliCommand("show version active", None, tag="[C] command, [U] line"),
    "cert.list": CliCommand("show cert list {unit}", None, tag="[C] syntax, [3P] format"),
    "cert.show": CliCommand("show cert {unit} {file}", None, tag="[C]/[3P]"),
    "csr.list": CliCommand("show csr list own", None, tag="[C]"),
    "csr.show": CliCommand("show csr own {csr}", None, tag="[C]"),
    # 14SU2+ asks whether to keep the OU [3P]; certops keeps Cisco's new default (no OU).
    "csr.gen": CliCommand("set csr gen {unit}", r"Successfully Generated CSR for {unit}",
                          prompts=((r"Include OU in CSR \(yes\|no\)\?", "no"),), tag="[C]/[3P]",
                          seconds=120.0),
    "cert.import": CliCommand("set cert import {kind} {unit}",
                              r"Successfully imported certificate for {unit}",
                              prompts=((PASTE, "{pem}"),), tag="[C] syntax and success, "
                              "[3P] paste prompt, [U] failure texts", seconds=120.0),
    # The unit argument is inconsistent in the evidence ("own"/"trust" in the text, a store
    # name in a public script) [U]; no output is documented [U]: the store is read back.
    "cert.delete": CliCommand("set cert delete {unit} {file}", None,
                              prompts=((r"\(yes\|no\)\?", "yes"),
                                       (r"(?<!Continue )\(y/n\)\?", "y")),
                              tag="[C] command, [U] argument and output"),
    "cert.regen": CliCommand("set cert regen {unit}",
                             r"Successfully regenerated certificate for {unit}",
                             prompts=((r"Proceed with regeneration \(yes\|no\)\?", "yes"),),
                             tag="[C]", seconds=300.0),
}
# Answered for every command, as Cisco's pyATS/unicon VOS plugin does [C]: the pagers still
# page after pagination is off (a key, no Enter: a space; "n" for the next page, "q" on the
# last one), and "Continue (y/n)?" gets "y" and Enter.
PAGERS: tuple[tuple[str, str], ...] = (
    (r"Press <enter> for 1 line, <space> for one page, or <q> to quit", " "),
    (r"options: q=quit, n=next, p=prev, b=begin, e=end \(lines \d+ - (\d+) of (\d+)\) :",
     "{page}"),
    (r"Continue \(y/n\)\?", "y\n"),
)
# The CLI's unit of each certops trust store: the service name, not the "-trust" name [C];
# CallManager and CAPF are written as public code does [3P]; the IM&P ones are [U].
STORE_UNIT = {
    "tomcat-trust": "tomcat",
    "callmanager-trust": "CallManager",
    "capf-trust": "CAPF",
    "ipsec-trust": "ipsec",
    "cup-trust": "cup",
    "cup-xmpp-trust": "cup-xmpp",
}
IDENTITY_UNIT = "tomcat"
# The CLI's refusal, for the commands without a success line of their own: the words the
# restart runner already judges by (``cucm_cli.FAILED``) [U: no public sample for these].
REFUSED = re.compile(r"Executed command unsuccessfully", re.IGNORECASE)


def command(name: str, **fields: str) -> str:
    """The text of command ``name`` of ``COMMANDS`` with its fields."""
    return COMMANDS[name].template.format(**fields)


def succeeded(name: str, output: str, **fields: str) -> bool:
    """Whether ``output`` holds the success line of command ``name`` (spaces normalised and
    the final period optional: an older release wrote two spaces before "for" [3P])."""
    pattern = COMMANDS[name].success
    if pattern is None:
        return REFUSED.search(output) is None
    wanted = pattern.format(**{k: re.escape(v) for k, v in fields.items()})
    return re.search(wanted, " ".join(output.split()), re.IGNORECASE) is not None


class CliShell:
    """One logged-in CLI session: commands one after the other, prompts answered."""

    def __init__(self, node: str, process: Any, max_seconds: float | None = None,
                 read_seconds: float | None = None) -> None:
        self.node = node
        self.process = process
        self.max_seconds = max_seconds  # caps every command's deadline (tests, settings)
        # connection.read_timeout: caps the commands without a longer deadline of their own
        # (a hung show or list gives up after it; an import or a regeneration keeps its own)
        self.read_seconds = read_seconds
        self.echoes = False  # whether the CLI echoes typed lines (learnt from the first)
        self.commands: list[str] = []  # every command typed, in order (tests, benchmarks)

    async def start(self, prompt_seconds: float) -> None:
        """Wait for the first prompt, then turn pagination off [C]."""
        try:
            await asyncio.wait_for(first_prompt(self.process), prompt_seconds)
        except EOFError:
            raise Unreachable(self.node, "SSH CLI: the session ended before the prompt",
                              method="SSH", path="login") from None
        except TimeoutError:
            raise TemporaryError(self.node, f"SSH CLI hung: no {PROMPT} prompt "
                                 f"{prompt_seconds:.0f}s after login", method="SSH",
                                 path="login", hint="log in to the node's CLI by hand and "
                                 "look") from None
        await self.run("pagination.off")

    async def run(self, name: str, pem: str = "", **fields: str) -> str:
        """Command ``name`` of ``COMMANDS``; its output (escape codes and pager prompts
        out). The success line, where the table has one, must be in it. Recorded on the
        audit trail (``--log-file``, ``-v``) like an HTTP request: the command, never the
        pasted text."""
        spec = COMMANDS[name]
        text = spec.template.format(**fields)
        start, status = time.monotonic(), "error"
        try:
            output = await self._typed(spec, text, pem)
            if not succeeded(name, output, **fields):
                status = "refused"
                raise PermanentError(self.node, f"SSH CLI refused: {_quoted(output, spec)}",
                                     method="SSH", path=text)
            status = "ok"
            return output
        except DriverError as exc:
            status = status if status == "refused" else type(exc).__name__
            raise
        finally:
            AUDIT.info("request", extra={
                "event": "request", "node": self.node, "operation": f"SSH {text}",
                "status": status, "duration_ms": round((time.monotonic() - start) * 1000, 1)})

    async def _typed(self, spec: CliCommand, text: str, pem: str) -> str:
        """Type ``text`` and read its output within the command's deadline."""
        self.commands.append(text)
        self.process.stdin.write(text + "\n")
        answers = [(re.compile(p), a) for p, a in spec.prompts]
        seconds = min(spec.seconds, self.max_seconds or spec.seconds)
        if self.read_seconds is not None and spec.seconds <= READ_SECONDS:
            seconds = min(seconds, self.read_seconds)
        try:
            output = await asyncio.wait_for(self._until_prompt(answers, pem, text), seconds)
        except TimeoutError:
            raise TemporaryError(self.node, f"SSH CLI hung: no {PROMPT} prompt "
                                 f"{seconds:g}s after '{text}'", method="SSH", path=text,
                                 hint="log in to the node's CLI by hand and look") from None
        except EOFError:
            raise Unreachable(self.node, f"SSH CLI: the session ended during '{text}'",
                              method="SSH", path=text, sent=True) from None
        if len(self.commands) == 1:  # the first command shows whether the CLI echoes
            self.echoes = _without_echo(output, text) != output
        return _without_echo(output, text)

    async def _until_prompt(self, answers: list[tuple[re.Pattern[str], str]],
                            pem: str, typed: str) -> str:
        """Read to the prompt that ends the command, answering pagers every time and the
        command's own prompts once each. The output starts after the echo of ``typed``
        where the CLI echoes (a terminal does [3P]): a stray prompt before it (from a
        newline the CLI did not need) cannot end the command early."""
        buf = ""
        pagers = [(re.compile(p), a) for p, a in PAGERS]
        while True:
            chunk = await self.process.stdout.read(4096)
            if not chunk:
                raise EOFError("the CLI closed the session")
            buf += chunk
            text = self._output(strip_escapes(buf), typed)
            if text is None:
                continue  # the echo has not come yet
            for pattern, answer in list(answers):
                if pattern.search(text):
                    answers.remove((pattern, answer))
                    # The paste ends with an empty line (CR-LF after the PEM [3P]).
                    reply = pem.rstrip("\n") + "\n" if answer == "{pem}" else answer
                    self.process.stdin.write(reply + "\n")
            for pattern, answer in pagers:
                if found := pattern.search(text):
                    buf = pattern.sub("", strip_escapes(buf))
                    if answer == "{page}":  # the last page: quit, else the next one
                        answer = "q" if found[1] == found[2] else "n"
                    self.process.stdin.write(answer)
                    text = self._output(buf, typed) or ""
            stripped = text.rstrip()
            if stripped.endswith(PROMPT):
                return stripped[: -len(PROMPT)]

    def _output(self, text: str, typed: str) -> str | None:
        """What follows the echoed command (None: not echoed yet), or, on a CLI that does
        not echo (the first command tells), the text without the bare prompts that the
        login's newline may have left before the first command."""
        if self.echoes:
            at = text.find(typed + "\n")
            return None if at < 0 else text[at + len(typed) + 1:]
        return _after_bare_prompts(text) if not self.commands[:-1] else text

_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S)


def _quoted(output: str, spec: CliCommand) -> str:
    """The node's answer for an error message: without the pasted (echoed) PEM and the
    prompts certops answered, on one line."""
    text = _BLOCK.sub(" ", output)
    for pattern, _ in spec.prompts:
        text = re.sub(pattern, " ", text)
    return " ".join(text.split())[:300] or "(no output)"


def _without_echo(output: str, typed: str) -> str:
    """The output without the command line a terminal echoes first."""
    head, _, rest = output.lstrip("\n").partition("\n")
    return rest if " ".join(head.split()) == " ".join(typed.split()) else output


def _after_bare_prompts(text: str) -> str:
    """``text`` without the empty prompts at its start (extra newlines answered)."""
    rest = text.lstrip()
    while rest.startswith(PROMPT):
        rest = rest[len(PROMPT):].lstrip()
    return rest


@asynccontextmanager
async def session(node: str, opener: ShellOpener, prompt_seconds: float = 30.0,
                  max_seconds: float | None = None,
                  read_seconds: float | None = None) -> AsyncIterator[CliShell]:
    """A logged-in shell with pagination off; closed at the end."""
    async with opener() as process:
        shell = CliShell(node, process, max_seconds, read_seconds)
        await shell.start(min(prompt_seconds, max_seconds or prompt_seconds))
        yield shell
        process.stdin.write("exit\n")


@dataclass(frozen=True)
class CliRead:
    """What one CLI session read: the identity, the stores, the pending CSR, the version."""

    identity: str | None
    stores: dict[str, tuple[str, ...]]
    pending_csr: str | None
    version: str | None
    roles: dict[str, str] = field(default_factory=dict)  # other identities: role -> PEM
    role_csrs: dict[str, str] = field(default_factory=dict)  # their pending CSRs: role -> PEM


@dataclass(frozen=True)
class CliPending:
    """What the CLI adds to a REST read (release 14+): the version and the pending CSRs,
    which the REST API does not show."""

    version: str | None
    pending_csr: str | None  # tomcat's
    role_csrs: dict[str, str]  # the other identities': role -> PEM


def _named(exc: Unparseable, node: str) -> Unparseable:
    """``exc`` with the node's name (the parsers do not know it)."""
    return Unparseable(node, exc.detail, method=exc.method, path=exc.path)


async def read_all(shell: CliShell, stores: Sequence[str],
                   roles: Mapping[str, str] | None = None) -> CliRead:
    """Every store of ``stores``, the tomcat identity (and the identities whose CLI unit
    ``roles`` maps to a role, lower case), its pending CSR and the version, all in ``shell``
    (one session): ``show cert list own|trust``, then ``show cert`` per file."""
    units = {IDENTITY_UNIT: "", **(roles or {})}
    try:
        version = active_version(await shell.run("version"))
        own = await read_identities(shell, units)
        trust = await read_trust(shell, stores)
        csrs = await read_csrs(shell, units)
    except Unparseable as exc:
        raise _named(exc, shell.node) from None
    identity, pending = own.pop("", None), csrs.pop("", None)
    return CliRead(identity, trust, pending, version, own, csrs)


async def read_pending(shell: CliShell, roles: Mapping[str, str] | None = None) -> CliPending:
    """Beside a REST read (release 14+), in one session and with these commands only:
    ``show version active`` and ``show csr list own`` (then ``show csr own`` of each pending
    CSR of tomcat or of a unit ``roles`` maps), which exist on every VOS release [C]."""
    try:
        version = active_version(await shell.run("version"))
        csrs = await read_csrs(shell, {IDENTITY_UNIT: "", **(roles or {})})
    except Unparseable as exc:
        raise _named(exc, shell.node) from None
    return CliPending(version, csrs.pop("", None), csrs)


async def read_identity(shell: CliShell) -> str | None:
    """The tomcat identity: ``show cert list own``, then ``show cert own`` of its file."""
    return (await read_identities(shell, {IDENTITY_UNIT: ""})).get("")


async def read_identities(shell: CliShell, units: Mapping[str, str]) -> dict[str, str]:
    """The identities of ``units`` (CLI unit, lower case -> the key to return it under):
    ``show cert list own``, then ``show cert own`` of each one's file."""
    out: dict[str, str] = {}
    try:
        own = parse_cert_list(await shell.run("cert.list", unit="own"),
                              command("cert.list", unit="own"))
        for item in own:
            key = units.get(item.unit.lower())
            if key is None or key in out or not item.file.lower().endswith(".pem"):
                continue
            where = command("cert.show", unit="own", file=item.ref)
            try:
                out[key] = cut_pems(await shell.run("cert.show", unit="own", file=item.ref),
                                    where)[0]
            except (Unparseable, PermanentError):
                if not key:
                    raise
                # another identity that the CLI does not show as evidenced (only tomcat's
                # output is recorded [3P]): left unread, as the REST inventory may leave it
    except Unparseable as exc:
        raise _named(exc, shell.node) from None
    return out


async def list_trust(shell: CliShell) -> list[CertFile]:
    where = command("cert.list", unit="trust")
    return parse_cert_list(await shell.run("cert.list", unit="trust"), where)


async def read_trust(shell: CliShell, stores: Sequence[str],
                     listed: list[CertFile] | None = None) -> dict[str, tuple[str, ...]]:
    """The certificates of ``stores`` (certops names, lower case), one ``show cert trust``
    per file listed; files of other stores are not read."""
    wanted = {s.lower(): s for s in stores}
    found: dict[str, list[str]] = {s: [] for s in stores}
    for item in listed if listed is not None else await list_trust(shell):
        store = wanted.get(item.unit.lower())
        if store is None:
            continue
        where = command("cert.show", unit="trust", file=item.ref)
        found[store].extend(cut_pems(await shell.run("cert.show", unit="trust", file=item.ref),
                                     where))
    return {s: tuple(p) for s, p in found.items()}


async def read_csr(shell: CliShell, unit: str = IDENTITY_UNIT) -> str | None:
    """The pending CSR of ``unit`` (tomcat by default), readable on the CLI
    (``show csr list own`` [C])."""
    return (await read_csrs(shell, {unit.lower(): ""})).get("")


async def read_csrs(shell: CliShell, units: Mapping[str, str]) -> dict[str, str]:
    """The pending CSRs of ``units`` (CLI unit, lower case -> the key to return it under):
    ``show csr list own``, then ``show csr own <unit>/<file>`` of each one listed [C]."""
    out: dict[str, str] = {}
    for name in parse_csr_list(await shell.run("csr.list"), command("csr.list")):
        key = units.get(name.split("/", 1)[0].lower())
        if key is None or key in out:
            continue
        out[key] = cut_csr(await shell.run("csr.show", csr=name), command("csr.show", csr=name))
    return out


async def import_trust(shell: CliShell, store: str, pems: Sequence[str]) -> None:
    """``set cert import trust <unit>`` once per certificate, each pasted at the prompt."""
    unit = STORE_UNIT[store]
    for pem in pems:
        for one in split_pems(pem):
            await shell.run("cert.import", pem=one, kind="trust", unit=unit)


async def import_own(shell: CliShell, leaf_pem: str, unit: str = IDENTITY_UNIT) -> None:
    """``set cert import own <unit>`` (tomcat, CallManager, ...: the syntax is the same for
    every unit [C] CLI-125) with the leaf pasted; its issuing CA must already be in the
    unit's trust store (the planner puts it there first). No ``caCert`` argument: what it
    does for ``own`` is not explained [C], so it is not relied on."""
    await shell.run("cert.import", pem=leaf_pem, kind="own", unit=unit)


async def generate_csr(shell: CliShell, unit: str = IDENTITY_UNIT) -> str:
    """``set csr gen <unit>`` [C], then the CSR it made, read back (``show csr own``)."""
    await shell.run("csr.gen", unit=unit)
    pem = await read_csr(shell, unit)
    if pem is None:
        raise Unparseable(shell.node, f"'{command('csr.list')}' lists no {unit} CSR after "
                          f"'{command('csr.gen', unit=unit)}'", method="SSH",
                          path=command("csr.list"))
    return pem


async def delete_trust(shell: CliShell, store: str, sha256: str) -> str:
    """Delete the file of ``store`` whose certificate is ``sha256``; the command typed.

    Refused (``PermanentError``, a manual step) when another file of the store holds a CA
    of the same subject: the evidence knows no way to tell same-name files apart [U]."""
    listed = await list_trust(shell)
    files = [i for i in listed if i.unit.lower() == store.lower()]
    by_file: dict[CertFile, x509.Certificate] = {}
    for item in files:
        where = command("cert.show", unit="trust", file=item.ref)
        pem = cut_pems(await shell.run("cert.show", unit="trust", file=item.ref), where)[0]
        by_file[item] = x509.load_pem_x509_certificate(pem.encode())
    target = next((f for f, c in by_file.items()
                   if c.fingerprint(hashes.SHA256()).hex() == sha256), None)
    if target is None:
        return ""  # already gone
    subject = by_file[target].subject
    twins = [f.ref for f, c in by_file.items() if f != target and c.subject == subject]
    typed = command("cert.delete", unit=target.unit, file=target.file)
    if twins:
        raise PermanentError(shell.node, f"{target.ref} has the subject of {', '.join(twins)}: "
                             "set cert delete cannot tell same-name files apart [U]",
                             method="SSH", path=typed,
                             hint=f"delete it by hand: {typed} (check the file first)")
    await shell.run("cert.delete", unit=target.unit, file=target.file)
    after = await read_trust(shell, [store])
    if any(sha256_of(p) == sha256 for p in after[store]):
        raise PermanentError(shell.node, f"{target.ref} is still in {store} after the delete",
                             method="SSH", path=typed, hint=f"delete it by hand: {typed}")
    return typed


async def regenerate(shell: CliShell, unit: str) -> None:
    """``set cert regen <unit>``: a new self-signed identity (ITLRecovery asks to proceed)."""
    await shell.run("cert.regen", unit=unit)


async def probe(shell: CliShell) -> list[str]:
    """What ``certops doctor`` runs (reads only): each command that certops reads with, and
    what it showed; ``Unparseable`` naming the command whose output does not parse."""
    try:
        lines = [f"show version active: {active_version(await shell.run('version'))}"]
        own = parse_cert_list(await shell.run("cert.list", unit="own"),
                              command("cert.list", unit="own"))
        lines.append(f"show cert list own: {len(own)} files")
        identity = await read_identity(shell)
        lines.append("show cert own: the tomcat certificate " +
                     ("decodes" if identity else "is not listed"))
        trust = await list_trust(shell)
        lines.append(f"show cert list trust: {len(trust)} files")
        csr = await read_csr(shell)
        lines.append("show csr list own: " + ("a tomcat CSR is pending" if csr else "none"))
    except Unparseable as exc:
        raise _named(exc, shell.node) from None
    return lines
