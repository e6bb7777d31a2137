"""The typer application: global options and the command table.

``COMMANDS`` is the one place that names each command, the function that runs it and its
help text. ``certops --help`` lists the table without importing a command's module or
building its click objects; a command is built when it is named (``reconciler.cli.lazy``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar

import typer
import typer.main
from typer import _click
from typer.core import TyperGroup

from reconciler import __version__
from reconciler.cli.lazy import LazyGroup

HELP = (
    "certops: certificates and trust stores of Cisco Expressway, VCS and Unified CM, "
    "reconciled from git (validate → plan → apply → drift)."
)


@dataclass(frozen=True)
class Entry:
    """A command of the table: ``function`` is ``module.name`` under ``reconciler.cli``
    (None for ``lab``, the lab's own typer app); ``help`` is its help text."""

    name: str
    function: str | None
    help: str


COMMANDS: tuple[Entry, ...] = (
    Entry("validate", "offline.validate_cmd",
          "Load the desired state and run every offline check. Exit 0 valid, 1 errors."),
    Entry("inspect", "offline.inspect_cmd",
          "Show the facts of certificates, chains and CSRs, like Expressway's 'Show decoded'."),
    Entry("verify", "offline.verify_cmd",
          "Verify a certificate chain and the policy checks. Exit 0 valid, 1 otherwise."),
    Entry("schema", "offline.schema_cmd",
          "Print the JSON Schema of the desired-state files (for editors and CI)."),
    Entry("plan", "live.plan_cmd",
          "Read every node's live state and print the ordered plan. Never changes a node."),
    Entry("apply", "live.apply_cmd",
          "Execute a plan: trust first, then certificates, then restarts, verifying each step.\n\n"
          "Restarts outside their change window are owed (exit 0); a freeze refuses."),
    Entry("drift", "live.drift_cmd",
          "Report drift, expiry and trust-store hygiene (read-only).\n\n"
          "Exit 0 in sync, 2 drift, 1 error."),
    Entry("import", "live.import_cmd",
          "Write the desired state from live nodes. Existing files change only with --write\n"
          "(their diff is shown); exit 2 when a diff was not applied."),
    Entry("doctor", "live.doctor_cmd",
          "Check reachability, TLS trust, each account on each API, reads, SSH host keys and a\n"
          "verdict per capability. Writes nothing (GETs, the SOAP status read, `show version\n"
          "active`); exit 1 when something must be fixed."),
    Entry("lab", None, "Run the emulated lab of Expressway and CUCM nodes."),
)
ENTRIES = {entry.name: entry for entry in COMMANDS}


def new_typer(*, cls: type[TyperGroup] | None = None, help: str | None = None) -> typer.Typer:
    """A typer app with certops' settings: the root, and the holder that builds one command
    (so a command built alone is the one an eager registration on the root would give)."""
    return typer.Typer(
        cls=cls, help=help, no_args_is_help=True, add_completion=False,
        pretty_exceptions_enable=False, rich_markup_mode=None,
    )


def command_function(entry: Entry) -> Any:
    """The function that runs ``entry``: its module is imported now, not for ``--help``."""
    assert entry.function is not None, entry.name
    module, name = entry.function.split(".")
    return getattr(import_module(f"reconciler.cli.{module}"), name)


def build_command(entry: Entry) -> _click.Command:
    """``entry``'s click object, made by typer as if it had been registered on the root."""
    holder = new_typer()
    if entry.function is None:
        from reconciler.lab.cli import app as lab_app

        holder.add_typer(lab_app, name=entry.name, help=entry.help)
    else:
        holder.command(entry.name, help=entry.help)(command_function(entry))
    return typer.main.get_group(holder).commands[entry.name]


class CertopsGroup(LazyGroup):
    """The ``certops`` group: the commands of ``COMMANDS``, each built when named."""

    helps: ClassVar[Mapping[str, str]] = {entry.name: entry.help for entry in COMMANDS}

    @classmethod
    def build_command(cls, name: str) -> _click.Command:
        """The click object of the command ``name`` of ``COMMANDS``."""
        return build_command(ENTRIES[name])


def _version(value: bool) -> None:
    """``--version``: print it and stop (an eager option, before any command runs)."""
    if value:
        typer.echo(f"certops {__version__}")
        raise typer.Exit()


def global_options(
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
    """The global options, applied before the command runs."""
    from reconciler.cli.collector import pace
    from reconciler.cli.errors import State
    from reconciler.cli.logs import configure

    State.debug = debug
    configure(verbose, log_file)
    pace()


def build_app() -> typer.Typer:
    """The ``certops`` typer app: its global options and the lazily built ``COMMANDS``."""
    app = new_typer(cls=CertopsGroup, help=HELP)
    app.callback()(global_options)
    return app


def default_dir() -> Path:
    """``desired-state`` when it exists here, else the current directory."""
    return Path("desired-state") if Path("desired-state").is_dir() else Path(".")
