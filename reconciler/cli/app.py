"""The typer application: global options and the command table."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from reconciler import __version__
from reconciler.cli.errors import State

HELP = (
    "certops: certificates and trust stores of Cisco Expressway, VCS and Unified CM, "
    "reconciled from git (validate → plan → apply → drift)."
)


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"certops {__version__}")
        raise typer.Exit()


def build_app(*, with_lab: bool = False) -> typer.Typer:
    app = typer.Typer(
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def _root(
        debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
        verbose: bool = typer.Option(
            False, "-v", "--verbose", help="Log every request and apply step to stderr."
        ),
        log_file: Path | None = typer.Option(
            None, "--log-file", help="Append the audit trail here: one JSON line per request "
            "and apply step (node, operation, status, duration_ms; no credentials).",
        ),
    ) -> None:
        from reconciler.cli.logs import configure

        State.debug = debug
        configure(verbose, log_file)

    from reconciler.cli import offline

    app.command("validate")(offline.validate_cmd)
    app.command("inspect")(offline.inspect_cmd)
    app.command("verify")(offline.verify_cmd)
    app.command("schema")(offline.schema_cmd)

    from reconciler.cli import live

    app.command("plan")(live.plan_cmd)
    app.command("apply")(live.apply_cmd)
    app.command("drift")(live.drift_cmd)
    app.command("import")(live.import_cmd)
    app.command("doctor")(live.doctor_cmd)

    if with_lab:
        from reconciler.lab.cli import app as lab_app

        app.add_typer(
            lab_app, name="lab", help="Run the emulated lab of Expressway and CUCM nodes."
        )
    else:

        @app.command(
            "lab", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
        )
        def _lab_placeholder() -> None:
            """Run the emulated lab of Expressway and CUCM nodes (certops lab --help)."""

    return app


def default_dir() -> Path:
    """``desired-state`` when it exists here, else the current directory."""
    return Path("desired-state") if Path("desired-state").is_dir() else Path(".")
