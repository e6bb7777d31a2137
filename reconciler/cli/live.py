"""Commands that read nodes: plan, apply, drift and import.

Each wires its options into a ``Session`` and a request, runs the use case, renders the
result with ``reconciler.report`` and picks the exit code.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from reconciler.cli.app import default_dir
from reconciler.cli.errors import EXIT_CHANGES, EXIT_ERROR, UsageProblem, friendly
from reconciler.cli.offline import parse_at
from reconciler.report.budget import DEFAULT_MAX_CHARS

if TYPE_CHECKING:
    from reconciler.apply.steps import Timing
    from reconciler.model import ApplyResult, Plan
    from reconciler.usecases.apply import ApplyRun
    from reconciler.usecases.session import Session


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


# Options the commands share (one definition, one help text).
DIR_ARG = typer.Argument(None, help="Desired-state directory (default: ./desired-state).")
FORMAT_OPT = typer.Option(PlanFormat.text, "--format", help="text, json or markdown.")
SELECT_OPT = typer.Option(
    [], "--select", help="Only nodes whose labels match KEY=VALUE (a shard of a CI matrix)."
)
INVENTORY_OPT = typer.Option(
    None, "--inventory", help="Point node names at other URLs (e.g. the lab's inventory.yaml)."
)
# Nodes read at once, fleet-wide (plan, drift, import). Each node still gets one connection
# and its requests one after the other, so a node sees the same load at 64 as at 16; what the
# larger number buys is the waits of 64 nodes' round trips overlapping the CPU work of
# reading, loading and planning in certops' one thread (benchmarks/README.md, issue 24).
READS_AT_ONCE = 64
PARALLELISM_OPT = typer.Option(
    READS_AT_ONCE, "--parallelism", min=1,
    help="Nodes read at once (each over one connection, its requests in turn).")
OUT_OPT = typer.Option(None, "--out", help="Write the plan as JSON to this file (for apply).")
DETAILED_OPT = typer.Option(
    False, "--detailed-exitcode", help="Exit 2 when the plan has changes (0 none, 1 error)."
)
PLAN_NODE_OPT = typer.Option(
    [], "--node", help="Plan only these nodes and the peer trust they need: never another "
    "node's certificate (an action that waits for one is held, target.held)."
)
APPLY_NODE_OPT = typer.Option(
    [], "--node", help="Apply only these nodes' changes and the peer trust they need (as plan "
    "--node: never another node's certificate); with a plan file, it must have been made so.",
)
PLAN_AT_OPT = typer.Option(None, "--at", help="Plan as of this time (ISO 8601).")
MAX_CHARS_OPT = typer.Option(
    DEFAULT_MAX_CHARS, "--max-chars", min=0,
    help="Markdown: at most this many characters (default: fits a GitHub pull-request "
    "comment); the summary, blocking findings and trust changes always, the per-node detail "
    "as far as it fits. 0: no limit.",
)
CONNECTION_FROM_OPT = typer.Option(
    None, "--connection-from",
    help="Take each node's api, connection, credentials and tls_verify (and cas/) from this "
    "base desired-state directory or git ref; nodes whose settings differ are not contacted.",
)
STRICT_OPT = typer.Option(
    False, "--strict",
    help="A node that cannot be read blocks the whole plan (exit 1) instead of a partial plan "
    "that holds back that node and the nodes linked to it.",
)
KEEP_GOING_OPT = typer.Option(
    False, "--keep-going",
    help="After a failed action, still run the actions that do not depend on it (the "
    "dependent ones are skipped and named).",
)
OUTSIDE_WINDOW_OPT = typer.Option(
    False, "--outside-window",
    help="Run disruptive steps (restarts) now even where their node's change window is "
    "closed; needs --reason. A change freeze still refuses.",
)
REASON_OPT = typer.Option(
    None, "--reason", help="Why --outside-window or --drained (goes into the report and the "
    "audit log)."
)
DRAINED_OPT = typer.Option(
    [], "--drained", metavar="NODE",
    help="You put NODE into maintenance mode by hand (the plan's manual drain): apply waits "
    "for its calls (where readable) and restarts it instead of stopping there. Repeatable, "
    "or NODE1,NODE2.",
)
SOURCE_ARG = typer.Argument(
    None, help="A plan file from `certops plan --out`, or a desired-state directory."
)
AUTO_APPROVE_OPT = typer.Option(False, "--auto-approve", help="Apply a fresh plan without asking.")
APPLY_PARALLELISM_OPT = typer.Option(16, "--parallelism", min=1, help="Actions run at once.")
REPORT_OPT = typer.Option(
    [], "--report",
    help="Write the apply report here: Markdown with the timeline as a Mermaid chart (for "
    "$GITHUB_STEP_SUMMARY) when FILE ends in .md, else JSON. Repeat it for both.",
)
PLAN_DIR_OPT = typer.Option(
    None, "--dir",
    help="Desired-state directory of a plan file (default: ./desired-state); the plan must "
    "have been made from it.",
)
MAX_AGE_OPT = typer.Option(
    "3d", "--max-plan-age", help="Refuse a saved plan older than this (e.g. 3d, 12h, 90m)."
)
LOCK_TIMEOUT_OPT = typer.Option(
    30.0, "--lock-timeout", min=0.0,
    help="Seconds to wait for another apply of the same directory to finish.",
)
RESTART_TIMEOUT_OPT = typer.Option(
    900.0, "--restart-timeout", help="Seconds to wait for a node to come back."
)
POLL_OPT = typer.Option(
    1.0, "--poll-interval", min=0.05,
    help="Seconds between checks while waiting for a node (a drain reads the node's active "
    "calls every ten such intervals, at most every 10 s)."
)
METRICS_OPT = typer.Option(
    None, "--metrics-file",
    help="Write Prometheus text-format metrics here (node-exporter textfile collector).",
)
ALL_CAS_OPT = typer.Option(
    False, "--all-cas", help="Metrics: a not-after series for every CA of the trust stores "
    "too (default: the node certificates and the CAs the node files list).",
)
DRIFT_NODE_OPT = typer.Option([], "--node", help="Only these nodes.")
DRIFT_AT_OPT = typer.Option(None, "--at", help="Judge as of this time (ISO 8601).")
IMPORT_DIR_ARG = typer.Argument(..., help="Desired-state directory to write (created if missing).")
IMPORT_NODE_OPT = typer.Option(
    [], "--node", help="Import only these nodes (default: every node of the inventory)."
)
PIN_OPT = typer.Option(
    False, "--pin-certificates",
    help="Also write certs/<node>.pem and pin it with file: (default: keep the live "
    "certificate until its renewal is due, then plan a CSR).",
)
SKIP_BUILTIN_OPT = typer.Option(
    False, "--skip-builtin",
    help="Write and list only the CAs some live certificate of the fleet chains to; leave the "
    "rest (built-in CAs) unmanaged on the nodes (default: one CA set per store under ca-sets/).",
)
WRITE_OPT = typer.Option(
    False, "--write", help="Change existing files (default: show their diff; new files are "
    "always written).",
)
IMPORT_INVENTORY_OPT = typer.Option(
    None, "--inventory", help="Nodes to import: name, type, api (e.g. the lab's inventory.yaml).",
)


def write_file(path: Path, text: str | bytes, root: Path | None) -> None:
    """``safewrite.write_file``, imported when a command writes (not for ``--help``)."""
    from reconciler.desired.safewrite import write_file as safe_write

    safe_write(path, text, root)


def session_for(root: Path, inventory: Path | None, parallelism: int, *, at: str | None = None,
                timing: Timing | None = None) -> Session:
    """The session of one command: options, the environment, a fresh cache."""
    from reconciler.drivers import load_inventory
    from reconciler.pki import CertCache
    from reconciler.usecases.credentials import with_credentials
    from reconciler.usecases.session import Session, fixed, utc_now

    return Session(
        root=root, env=with_credentials(os.environ), clock=fixed(parse_at(at)) if at else utc_now,
        cache=CertCache(), inventory=load_inventory(inventory) if inventory else None,
        parallelism=parallelism, timing=timing,
    )


def emit(fmt: PlanFormat, as_json: Callable[[], str], as_markdown: Callable[[], str],
         as_text: Callable[[], list[str]]) -> None:
    """Print a report in the chosen format (only what is printed gets rendered)."""
    if fmt is PlanFormat.json:
        typer.echo(as_json(), nl=False)
    elif fmt is PlanFormat.markdown:
        typer.echo(as_markdown(), nl=False)
    else:
        echo_lines(as_text())


def echo_lines(lines: list[str], *, err: bool = False) -> None:
    for line in lines:
        typer.echo(line, err=err)


def exit_with(code: int) -> None:
    if code:
        raise typer.Exit(code)


@friendly
def plan_cmd(
    directory: Path | None = DIR_ARG, out: Path | None = OUT_OPT, fmt: PlanFormat = FORMAT_OPT,
    detailed_exitcode: bool = DETAILED_OPT, node: list[str] = PLAN_NODE_OPT,
    select: list[str] = SELECT_OPT, inventory: Path | None = INVENTORY_OPT,
    parallelism: int = PARALLELISM_OPT, at: str | None = PLAN_AT_OPT,
    connection_from: str | None = CONNECTION_FROM_OPT, strict: bool = STRICT_OPT,
    max_chars: int = MAX_CHARS_OPT,
) -> None:
    """``certops plan`` (help: ``COMMANDS`` in ``reconciler.cli.app``): read, plan, print."""
    import asyncio

    from reconciler.report.facts import facts_of
    from reconciler.report.plan import plan_json, plan_markdown, plan_text
    from reconciler.usecases.plan import PlanRequest, plan

    session = session_for(directory or default_dir(), inventory, parallelism, at=at)
    request = PlanRequest(tuple(node), tuple(select), connection_from, strict)
    run = asyncio.run(plan(session, request))
    made = run.plan
    if out is not None:
        write_file(out, plan_json(made), session.root)
    emit(fmt, lambda: plan_json(made),
         lambda: plan_markdown(made, facts_of(run.fleet), max_chars=max_chars),
         lambda: plan_text(made))
    if fmt is PlanFormat.text and out is not None:
        where = "" if session.root == Path("desired-state") else f" --dir {session.root}"
        typer.echo(f"Saved the plan to {out}: apply it with `certops apply {out}{where}`.")
    changes = EXIT_CHANGES if detailed_exitcode and made.has_changes else 0
    echo_lines(unread_lines(made), err=True)
    exit_with(EXIT_ERROR if made.blocked or made.unread else changes)


def unread_lines(made: Plan) -> list[str]:
    """Why a partial plan (or its apply) exits 1: the managed nodes it could not read."""
    if not made.unread:
        return []
    return [f"Not read: {', '.join(made.unread)} (node.unreachable / live.unparseable above): "
            "certops manages them but could not read them, so nothing was planned for them "
            "(the rest of the fleet was); exit 1 until they are readable again."]


@friendly
def apply_cmd(
    source: Path | None = SOURCE_ARG, inventory: Path | None = INVENTORY_OPT,
    auto_approve: bool = AUTO_APPROVE_OPT, parallelism: int = APPLY_PARALLELISM_OPT,
    report: list[Path] = REPORT_OPT, directory: Path | None = PLAN_DIR_OPT,
    restart_timeout: float = RESTART_TIMEOUT_OPT, poll_interval: float = POLL_OPT,
    max_plan_age: str = MAX_AGE_OPT, lock_timeout: float = LOCK_TIMEOUT_OPT,
    strict: bool = STRICT_OPT, keep_going: bool = KEEP_GOING_OPT,
    node: list[str] = APPLY_NODE_OPT, outside_window: bool = OUTSIDE_WINDOW_OPT,
    reason: str | None = REASON_OPT, drained: list[str] = DRAINED_OPT,
) -> None:
    """``certops apply`` (help: ``COMMANDS`` in ``reconciler.cli.app``): at the terminal."""
    import asyncio

    from reconciler.apply.steps import Timing
    from reconciler.cli.console import Console
    from reconciler.cli.logs import audit_drained, audit_override, audited
    from reconciler.usecases.apply import ApplyRequest, apply

    src = source or default_dir()
    # A drain reads the node's active calls ten times less often than a restart is polled.
    timing = Timing(up_timeout=restart_timeout, poll=poll_interval,
                    drain_poll=min(Timing.drain_poll, poll_interval * 10))
    session = session_for(src, inventory, parallelism, timing=timing)
    request = ApplyRequest(src, directory or default_dir(), auto_approve,
                           is_tty=sys.stdin.isatty(), max_plan_age=parse_age(max_plan_age),
                           lock_timeout=lock_timeout, strict=strict, keep_going=keep_going,
                           targets=tuple(node), outside_window=outside_window, reason=reason,
                           drained=split_names(drained), drained_by=who())
    override = request.override()
    if override is not None:
        audit_override(override)
    confirmation = request.confirmation()
    if confirmation is not None:
        audit_drained(confirmation)
    with Console() as console:
        run = asyncio.run(apply(session, request, audited(console.ui())))
    finish_apply(run, report)


def split_names(values: list[str]) -> tuple[str, ...]:
    """``--drained a --drained b,c``: the names, each once, in order."""
    names = [n.strip() for v in values for n in v.split(",")]
    return tuple(dict.fromkeys(n for n in names if n))


def who() -> str | None:
    """Who runs apply, for the report and the audit log: the GitHub actor in a workflow,
    else the local user (None when neither is known)."""
    import getpass

    actor = os.environ.get("GITHUB_ACTOR")
    if actor:
        return actor
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def parse_age(text: str) -> timedelta:
    """``--max-plan-age``: a duration like 3d, 12h or 90m."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhm])\s*", text)
    if match is None:
        raise UsageProblem(f"--max-plan-age {text!r}: write a duration like 3d, 12h or 90m")
    unit = {"d": "days", "h": "hours", "m": "minutes"}[match[2]]
    return timedelta(**{unit: float(match[1])})


def finish_apply(run: ApplyRun, reports: list[Path]) -> None:
    """Write the reports, print the outcome, exit 1 when the apply stopped."""
    from reconciler.report.apply import apply_errors, apply_text

    if run.result is not None:
        for report in reports:
            write_file(report, report_text(run.result, run, report), run.root)
    echo_lines(apply_text(run.result, len(run.plan.actions)))
    echo_lines(apply_errors(run.result), err=True)
    echo_lines(unread_lines(run.plan), err=True)
    failed = run.result is not None and not run.result.ok
    exit_with(EXIT_ERROR if failed or run.plan.unread else 0)


def report_text(result: ApplyResult, run: ApplyRun, report: Path) -> str:
    """The apply report for ``report``: Markdown for a ``.md`` file, else JSON."""
    from reconciler.report.apply import apply_json
    from reconciler.report.apply_markdown import apply_markdown
    from reconciler.report.facts import FleetFacts, facts_of

    if report.suffix.lower() != ".md":
        return apply_json(result)
    return apply_markdown(result, facts_of(run.fleet) if run.fleet else FleetFacts())


@friendly
def drift_cmd(
    directory: Path | None = DIR_ARG, fmt: PlanFormat = FORMAT_OPT,
    metrics_file: Path | None = METRICS_OPT, node: list[str] = DRIFT_NODE_OPT,
    select: list[str] = SELECT_OPT, inventory: Path | None = INVENTORY_OPT,
    parallelism: int = PARALLELISM_OPT, at: str | None = DRIFT_AT_OPT,
    all_cas: bool = ALL_CAS_OPT, max_chars: int = MAX_CHARS_OPT,
) -> None:
    """``certops drift`` (help: ``COMMANDS`` in ``reconciler.cli.app``): report, metrics."""
    import asyncio

    from reconciler.report.drift import drift_json, drift_markdown, drift_metrics, drift_text
    from reconciler.report.facts import FleetFacts, facts_of
    from reconciler.usecases.drift import drift
    from reconciler.usecases.plan import PlanRequest

    session = session_for(directory or default_dir(), inventory, parallelism, at=at)
    report = asyncio.run(drift(session, PlanRequest(tuple(node), tuple(select))))
    if metrics_file is not None:
        # atomic, never through a link: the collector never reads half a file
        write_file(metrics_file, drift_metrics(report, all_cas=all_cas), session.root)
    emit(fmt, lambda: drift_json(report),
         lambda: drift_markdown(report, facts_of(report.fleet) if report.fleet else FleetFacts(),
                                max_chars=max_chars),
         lambda: drift_text(report))
    exit_with(EXIT_ERROR if report.has_errors else 0 if report.in_sync else EXIT_CHANGES)


@friendly
def import_cmd(
    directory: Path = IMPORT_DIR_ARG, node: list[str] = IMPORT_NODE_OPT,
    inventory: Path | None = IMPORT_INVENTORY_OPT, parallelism: int = PARALLELISM_OPT,
    pin_certificates: bool = PIN_OPT, skip_builtin: bool = SKIP_BUILTIN_OPT,
    write: bool = WRITE_OPT,
) -> None:
    """``certops import`` (help: ``COMMANDS`` in ``reconciler.cli.app``): read, write, diff."""
    import asyncio

    from reconciler.report.importing import import_text
    from reconciler.usecases.importing import ImportRequest, import_fleet

    session = session_for(directory, inventory, parallelism)
    request = ImportRequest(tuple(node), pin_certificates, skip_builtin, write)
    result = asyncio.run(import_fleet(session, request))
    echo_lines(import_text(result))
    exit_with(0 if result.applied else EXIT_CHANGES)


DOCTOR_NODE_OPT = typer.Option([], "--node", help="Only these nodes.")
RECORD_OPT = typer.Option(
    None, "--record",
    help="Save each node's exchanges here (credentials, cookies, tokens removed) to share them.",
)


@friendly
def doctor_cmd(
    directory: Path | None = DIR_ARG, node: list[str] = DOCTOR_NODE_OPT,
    inventory: Path | None = INVENTORY_OPT, record: Path | None = RECORD_OPT,
) -> None:
    """``certops doctor`` (help: ``COMMANDS`` in ``reconciler.cli.app``): check, print."""
    import asyncio

    from reconciler.report.doctor import doctor_text
    from reconciler.usecases.doctor import DoctorRequest, doctor

    session = session_for(directory or default_dir(), inventory, 16)
    report = asyncio.run(doctor(session, DoctorRequest(tuple(node), record)))
    echo_lines(doctor_text(report))
    exit_with(0 if report.ok else EXIT_ERROR)
