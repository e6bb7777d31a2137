"""Commands that need no node: validate, inspect, verify, schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from reconciler.cli.app import default_dir
from reconciler.cli.errors import EXIT_ERROR, UsageProblem, friendly

if TYPE_CHECKING:
    from reconciler.pki import CertCache


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def parse_at(value: str | None) -> datetime:
    """``--at`` as an aware UTC datetime (now when omitted)."""
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise UsageProblem(
            f"--at {value!r} is not an ISO 8601 time like 2026-11-26T12:00:00Z"
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, sort_keys=False))


DIR_ARG = typer.Argument(None, help="Desired-state directory (default: ./desired-state).")
FORMAT_OPT = typer.Option(OutputFormat.text, "--format", help="Output format.")
VALIDATE_AT_OPT = typer.Option(None, "--at", help="Judge validity at this time (ISO 8601).")
FILES_ARG = typer.Argument(..., help="Certificate, chain or CSR files (PEM or DER).")
INSPECT_AT_OPT = typer.Option(None, "--at", help="Count days left from this time.")
LEAF_ARG = typer.Argument(
    ..., help="The certificate to verify (a leaf, or a chain file: leaf plus intermediates)."
)
CA_OPT = typer.Option([], "--ca", help="Trust anchor file(s). Default: the system CA store.")
INTERMEDIATE_OPT = typer.Option([], "--intermediate", help="Untrusted intermediate file(s).")
NAME_OPT = typer.Option([], "--name", help="DNS name or IP the certificate must cover.")
USAGE_OPT = typer.Option("both", "--usage", help="Required EKU: server, client or both.")
VERIFY_AT_OPT = typer.Option(None, "--at", help="Verify at this time (ISO 8601).")
NODE_TYPE_OPT = typer.Option(
    None, "--node-type", help="A node type (expressway-c, cucm, ...): adds its kind's rules."
)
MIN_RSA_OPT = typer.Option(2048, "--min-rsa-bits", help="Smallest RSA key accepted.")


@friendly
def validate_cmd(
    directory: Path | None = DIR_ARG, fmt: OutputFormat = FORMAT_OPT,
    at: str | None = VALIDATE_AT_OPT,
) -> None:
    """``certops validate`` (help: ``COMMANDS`` in ``reconciler.cli.app``): load, check, print."""
    from reconciler.report.validate import validate_json, validate_text
    from reconciler.usecases.session import Session, fixed
    from reconciler.usecases.validate import validate

    root = directory or default_dir()
    result = validate(Session(root, clock=fixed(parse_at(at))))
    if fmt is OutputFormat.json:
        typer.echo(validate_json(root, result.ok, result.nodes, result.findings))
    else:
        for line in validate_text(root, result.ok, result.nodes, result.findings,
                                  result.node_files):
            typer.echo(line)
    if not result.ok:
        raise typer.Exit(EXIT_ERROR)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageProblem(f"{path}: cannot read: {exc.strerror}") from None


@friendly
def inspect_cmd(
    files: list[Path] = FILES_ARG, fmt: OutputFormat = FORMAT_OPT,
    at: str | None = INSPECT_AT_OPT,
) -> None:
    """``certops inspect`` (help: ``COMMANDS`` in ``reconciler.cli.app``): each file in turn."""
    from reconciler.pki import CertCache

    now, cache = parse_at(at), CertCache()
    found = [_inspect(path, cache, now, fmt) for path in files]
    if fmt is OutputFormat.json:
        emit_json([data for data in found if data is not None])
    if any(data is None for data in found):
        raise typer.Exit(EXIT_ERROR)


def _inspect(
    path: Path, cache: CertCache, now: datetime, fmt: OutputFormat
) -> dict[str, Any] | None:
    """One file of ``certops inspect``: printed as text, returned as data; None when unreadable."""
    from reconciler.pki import PkiError, contains_private_key, pem_kinds
    from reconciler.report.certs import cert_data, certs_text, csr_data, csr_text

    data = _read(path)
    if contains_private_key(data):
        typer.echo(f"{path}: holds a private key: not shown. Keep keys out of files you "
                   "share and out of git.", err=True)
        return None
    try:
        if any("REQUEST" in k for k in pem_kinds(data)):
            csr = cache.parse_csr(data)
            lines, objects = csr_text(str(path), csr), [csr_data(csr)]
        else:
            certs = cache.parse(data)
            lines, objects = certs_text(str(path), certs, now), [cert_data(c, now) for c in certs]
    except PkiError as exc:
        typer.echo(f"{path}: {exc}", err=True)
        return None
    if fmt is OutputFormat.text:
        for line in lines:
            typer.echo(line)
    return {"file": str(path), "objects": objects}


USAGES = {
    "server": ("serverAuth",),
    "client": ("clientAuth",),
    "both": ("serverAuth", "clientAuth"),
}


def _certs(paths: list[Path], cache: CertCache) -> list[Any]:
    from reconciler.pki import PkiError

    out: list[Any] = []
    for path in paths:
        try:
            out.extend(cache.parse(_read(path)))
        except PkiError as exc:
            raise UsageProblem(f"{path}: {exc}") from None
    return out


@friendly
def verify_cmd(
    leaf: Path = LEAF_ARG, ca: list[Path] = CA_OPT, intermediate: list[Path] = INTERMEDIATE_OPT,
    name: list[str] = NAME_OPT, usage: str = USAGE_OPT, at: str | None = VERIFY_AT_OPT,
    node_type: str | None = NODE_TYPE_OPT, min_rsa_bits: int = MIN_RSA_OPT,
    fmt: OutputFormat = FORMAT_OPT,
) -> None:
    """``certops verify`` (help: ``COMMANDS`` in ``reconciler.cli.app``): chain, then policy."""
    from reconciler.model import Policy
    from reconciler.pki import CertCache, PkiError, split_leaf, verify
    from reconciler.report.certs import verify_data, verify_text

    rules, cache = _kind_rules(usage, node_type), CertCache()
    try:
        the_leaf, bundled = split_leaf(_certs([leaf], cache))
    except PkiError as exc:
        raise UsageProblem(f"{leaf}: {exc}") from None
    result = verify(
        the_leaf, intermediates=[*bundled, *_certs(intermediate, cache)],
        roots=_certs(ca, cache) if ca else _system_roots(cache), at=parse_at(at), names=name,
        usages=USAGES[usage], policy=Policy(min_rsa_bits=min_rsa_bits), kind_rules=rules,
    )
    if fmt is OutputFormat.json:
        emit_json(verify_data(result))
    else:
        for line in verify_text(str(leaf), result):
            typer.echo(line)
    if not result.valid:
        raise typer.Exit(EXIT_ERROR)


def _kind_rules(usage: str, node_type: str | None) -> Any:
    """The node kind's leaf rules for ``--node-type`` (None without); checks ``--usage``."""
    from reconciler.kinds import UnknownKind, kind_of

    if usage not in USAGES:
        raise UsageProblem(f"--usage {usage!r}: choose server, client or both")
    try:
        return kind_of(node_type).leaf_findings if node_type else None
    except UnknownKind as exc:
        raise UsageProblem(f"--node-type: {exc}") from None


def _system_roots(cache: CertCache) -> list[Any]:
    import ssl

    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return _certs([Path(candidate)], cache)
    raise UsageProblem("no system CA store found: name the trust anchors with --ca FILE")


@friendly
def schema_cmd(
    kind: str = typer.Argument("all", help="node, fleet, plan or all"),
    out: Path | None = typer.Option(
        None, "--out", help="Write the schema files into this directory."
    ),
) -> None:
    """``certops schema`` (help: ``COMMANDS`` in ``reconciler.cli.app``): print or write."""
    from reconciler.desired.schema import fleet_schema, node_schema, plan_schema, write_schemas

    if out is not None:
        for path in write_schemas(out):
            typer.echo(f"wrote {path}")
        return
    schemas = {"fleet": fleet_schema(), "node": node_schema(), "plan": plan_schema()}
    if kind == "all":
        emit_json(
            {
                "certops.yaml": schemas["fleet"],
                "nodes/*.yaml": schemas["node"],
                "plan.json": schemas["plan"],
            }
        )
    elif kind in schemas:
        emit_json(schemas[kind])
    else:
        raise UsageProblem(f"schema {kind!r}: choose node, fleet, plan or all")
