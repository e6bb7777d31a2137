"""Commands that need no node: validate, inspect, verify, schema."""

from __future__ import annotations

import json
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from reconciler.cli.app import OutputFormat, default_dir
from reconciler.cli.errors import EXIT_ERROR, UsageProblem, friendly


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


@friendly
def validate_cmd(
    directory: Path | None = typer.Argument(
        None, help="Desired-state directory (default: ./desired-state)."
    ),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", help="Output format."),
    at: str | None = typer.Option(None, "--at", help="Judge validity at this time (ISO 8601)."),
) -> None:
    """Load the desired state and run every offline check. Exit 0 valid, 1 errors."""
    from reconciler.desired.validate import validate
    from reconciler.report.findings import finding_data, render_findings, summary_line

    root = directory or default_dir()
    result = validate(root, parse_at(at))
    nodes = [n.name for n in result.desired.nodes] if result.desired else []
    if fmt is OutputFormat.json:
        emit_json(
            {
                "valid": result.ok,
                "directory": str(root),
                "nodes": nodes,
                "findings": [finding_data(f) for f in result.findings],
            }
        )
    else:
        for line in render_findings(result.findings):
            typer.echo(line)
        verdict = "valid" if result.ok else "INVALID"
        typer.echo(f"{root}: {verdict}: {len(nodes)} nodes; {summary_line(result.findings)}")
    if not result.ok:
        raise typer.Exit(EXIT_ERROR)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UsageProblem(f"{path}: cannot read: {exc.strerror}") from None


@friendly
def inspect_cmd(
    files: list[Path] = typer.Argument(..., help="Certificate, chain or CSR files (PEM or DER)."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", help="Output format."),
    at: str | None = typer.Option(None, "--at", help="Count days left from this time."),
) -> None:
    """Show the facts of certificates, chains and CSRs, like Expressway's 'Show decoded'."""
    from reconciler.pki import PkiError, build_chain, contains_private_key, default_cache, pem_kinds
    from reconciler.report.certs import cert_data, cert_lines, chain_lines, csr_data, csr_lines

    now = parse_at(at)
    cache = default_cache()
    out: list[dict[str, Any]] = []
    failed = False
    for path in files:
        data = _read(path)
        if contains_private_key(data):
            typer.echo(
                f"{path}: holds a private key: not shown. Keep keys out of files you "
                "share and out of git.",
                err=True,
            )
            failed = True
            continue
        try:
            if any("REQUEST" in k for k in pem_kinds(data)):
                csr = cache.parse_csr(data)
                out.append({"file": str(path), "objects": [csr_data(csr)]})
                if fmt is OutputFormat.text:
                    typer.echo(f"{path}: certificate signing request")
                    for line in csr_lines(csr):
                        typer.echo(line)
                continue
            certs = cache.parse(data)
        except PkiError as exc:
            typer.echo(f"{path}: {exc}", err=True)
            failed = True
            continue
        out.append({"file": str(path), "objects": [cert_data(c, now) for c in certs]})
        if fmt is OutputFormat.text:
            typer.echo(f"{path}: {len(certs)} certificate{'s' if len(certs) > 1 else ''}")
            for i, cert in enumerate(certs):
                if len(certs) > 1:
                    typer.echo(f" [{i + 1}]")
                for line in cert_lines(cert, now):
                    typer.echo(line)
            if len(certs) > 1:
                leafish = [c for c in certs if not c.is_ca] or list(certs)
                chain = build_chain(leafish[0], certs, [c for c in certs if c.self_signed])
                typer.echo(" Chain" + ("" if chain.complete else " (incomplete)") + ":")
                for line in chain_lines(chain.chain):
                    typer.echo(line)
    if fmt is OutputFormat.json:
        emit_json(out)
    if failed:
        raise typer.Exit(EXIT_ERROR)


USAGES = {
    "server": ("serverAuth",),
    "client": ("clientAuth",),
    "both": ("serverAuth", "clientAuth"),
}


def _certs(paths: list[Path]) -> list[Any]:
    from reconciler.pki import PkiError, default_cache

    out: list[Any] = []
    for path in paths:
        try:
            out.extend(default_cache().parse(_read(path)))
        except PkiError as exc:
            raise UsageProblem(f"{path}: {exc}") from None
    return out


@friendly
def verify_cmd(
    leaf: Path = typer.Argument(
        ..., help="The certificate to verify (a leaf, or a chain file: leaf plus intermediates)."
    ),
    ca: list[Path] = typer.Option(
        [], "--ca", help="Trust anchor file(s). Default: the system CA store."
    ),
    intermediate: list[Path] = typer.Option(
        [], "--intermediate", help="Untrusted intermediate file(s)."
    ),
    name: list[str] = typer.Option([], "--name", help="DNS name or IP the certificate must cover."),
    usage: str = typer.Option("both", "--usage", help="Required EKU: server, client or both."),
    at: str | None = typer.Option(None, "--at", help="Verify at this time (ISO 8601)."),
    node_type: str | None = typer.Option(
        None, "--node-type", help="A node type (expressway-c, cucm, ...): adds its kind's rules."
    ),
    min_rsa_bits: int = typer.Option(2048, "--min-rsa-bits", help="Smallest RSA key accepted."),
    fmt: OutputFormat = typer.Option(OutputFormat.text, "--format", help="Output format."),
) -> None:
    """Verify a certificate chain and the policy checks. Exit 0 valid, 1 otherwise."""
    from reconciler.kinds import UnknownKind, kind_of
    from reconciler.model import Policy
    from reconciler.pki import PkiError, split_leaf, verify
    from reconciler.report.certs import chain_lines
    from reconciler.report.findings import finding_data, render_findings

    if usage not in USAGES:
        raise UsageProblem(f"--usage {usage!r}: choose server, client or both")
    try:
        kind = kind_of(node_type) if node_type else None
    except UnknownKind as exc:
        raise UsageProblem(f"--node-type: {exc}") from None
    in_file = _certs([leaf])
    try:
        the_leaf, bundled = split_leaf(in_file)
    except PkiError as exc:
        raise UsageProblem(f"{leaf}: {exc}") from None
    roots = _certs(ca) if ca else _system_roots()
    intermediates = [*bundled, *_certs(intermediate)]
    policy = Policy(min_rsa_bits=min_rsa_bits)
    result = verify(
        the_leaf,
        intermediates=intermediates,
        roots=roots,
        at=parse_at(at),
        names=name,
        usages=USAGES[usage],
        policy=policy,
        kind_rules=kind.leaf_findings if kind else None,
    )
    if fmt is OutputFormat.json:
        emit_json(
            {
                "valid": result.valid,
                "chain": [{"subject": c.subject, "sha256": c.sha256} for c in result.chain],
                "findings": [finding_data(f) for f in result.findings],
            }
        )
    else:
        typer.echo(f"{leaf}: {'valid' if result.valid else 'INVALID'}")
        if result.chain:
            typer.echo(" Chain:")
            for line in chain_lines(result.chain):
                typer.echo(line)
        for line in render_findings(result.findings):
            typer.echo(f" {line}")
    if not result.valid:
        raise typer.Exit(EXIT_ERROR)


def _system_roots() -> list[Any]:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return _certs([Path(candidate)])
    raise UsageProblem("no system CA store found: name the trust anchors with --ca FILE")


@friendly
def schema_cmd(
    kind: str = typer.Argument("all", help="node, fleet, plan or all"),
    out: Path | None = typer.Option(
        None, "--out", help="Write the schema files into this directory."
    ),
) -> None:
    """Print the JSON Schema of the desired-state files (for editors and CI)."""
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
