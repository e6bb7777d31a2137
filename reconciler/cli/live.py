"""Commands that read nodes: plan (and, in later issues, apply and drift)."""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from reconciler.cli.app import default_dir
from reconciler.cli.errors import EXIT_CHANGES, EXIT_ERROR, friendly
from reconciler.cli.offline import parse_at

if TYPE_CHECKING:  # the drivers (and httpx) load only for commands that talk to nodes
    from reconciler.drivers import Inventory


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


# Options the node-reading commands share (one definition, one help text).
DIR_ARG = typer.Argument(None, help="Desired-state directory (default: ./desired-state).")
FORMAT_OPT = typer.Option(PlanFormat.text, "--format", help="text, json or markdown.")
SELECT_OPT = typer.Option(
    [], "--select", help="Only nodes whose labels match KEY=VALUE (a shard of a CI matrix)."
)
INVENTORY_OPT = typer.Option(
    None, "--inventory", help="Point node names at other URLs (e.g. the lab's inventory.yaml)."
)
PARALLELISM_OPT = typer.Option(16, "--parallelism", min=1, help="Nodes read (or changed) at once.")


def _emit(
    fmt: PlanFormat,
    as_json: Callable[[], str],
    as_markdown: Callable[[], str],
    as_text: Callable[[], list[str]],
) -> None:
    """Print a report in the chosen format (only what is printed gets rendered)."""
    if fmt is PlanFormat.json:
        typer.echo(as_json(), nl=False)
    elif fmt is PlanFormat.markdown:
        typer.echo(as_markdown(), nl=False)
    else:
        for line in as_text():
            typer.echo(line)


def _inventory(path: Path | None) -> Inventory:
    from reconciler.drivers import Inventory, load_inventory

    return load_inventory(path) if path is not None else Inventory()


@friendly
def plan_cmd(
    directory: Path | None = DIR_ARG,
    out: Path | None = typer.Option(
        None, "--out", help="Write the plan as JSON to this file (for apply)."
    ),
    fmt: PlanFormat = FORMAT_OPT,
    detailed_exitcode: bool = typer.Option(
        False, "--detailed-exitcode", help="Exit 2 when the plan has changes (0 none, 1 error)."
    ),
    node: list[str] = typer.Option(
        [], "--node", help="Plan only these nodes (and the peer trust they need)."
    ),
    select: list[str] = SELECT_OPT,
    inventory: Path | None = INVENTORY_OPT,
    parallelism: int = PARALLELISM_OPT,
    at: str | None = typer.Option(None, "--at", help="Plan as of this time (ISO 8601)."),
) -> None:
    """Read every node's live state and print the ordered plan. Never changes a node."""
    from reconciler.apply.planrun import run_plan
    from reconciler.report.plan import plan_json, plan_markdown, plan_text

    root = directory or default_dir()
    result = run_plan(
        root,
        selectors=select or None,
        now=parse_at(at),
        inventory=_inventory(inventory),
        env=os.environ,
        parallelism=parallelism,
        targets=node or None,
    )
    plan = result.plan
    if out is not None:
        out.write_text(plan_json(plan))
    _emit(fmt, lambda: plan_json(plan), lambda: plan_markdown(plan), lambda: plan_text(plan))
    if fmt is PlanFormat.text and out is not None:
        typer.echo(f"Saved the plan to {out}: apply it with `certops apply {out}`.")
    if plan.blocked:
        raise typer.Exit(EXIT_ERROR)
    if detailed_exitcode and plan.has_changes:
        raise typer.Exit(EXIT_CHANGES)


class _Progress:
    """Plain lines (CI logs), or a rich live display with one line per action in flight."""

    def __init__(self, total: int) -> None:
        import sys

        self.tty = sys.stdout.isatty()
        self.total, self.finished = total, 0
        self.progress: object | None = None
        self.tasks: dict[str, object] = {}
        if self.tty:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                transient=True,
            )
            self.progress.start()

    def __call__(self, event: str, action: object, detail: str) -> None:
        from reconciler.model import Action

        assert isinstance(action, Action)
        label = f"{action.kind} {action.node}" + (f" [{action.store}]" if action.store else "")
        if event == "started" and self.progress is not None:
            self.tasks[action.id] = self.progress.add_task(label, total=None)  # type: ignore[attr-defined]
            return
        if self.progress is not None and action.id in self.tasks:
            self.progress.remove_task(self.tasks.pop(action.id))  # type: ignore[attr-defined]
        if event == "started":
            typer.echo(f"[{self.finished}/{self.total}] start   {label}")
            return
        self.finished += 1
        mark = {"done": "ok     ", "failed": "FAILED ", "skipped": "skipped", "manual": "MANUAL "}
        line = f"[{self.finished}/{self.total}] {mark.get(event, event)} {label}: {detail}"
        if self.progress is not None:
            self.progress.console.print(line, markup=False, highlight=False)  # type: ignore[attr-defined]
        else:
            typer.echo(line)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()  # type: ignore[attr-defined]


@friendly
def apply_cmd(
    source: Path | None = typer.Argument(
        None, help="A plan file from `certops plan --out`, or a desired-state directory."
    ),
    inventory: Path | None = INVENTORY_OPT,
    auto_approve: bool = typer.Option(
        False, "--auto-approve", help="Apply a fresh plan without asking."
    ),
    parallelism: int = typer.Option(16, "--parallelism", min=1, help="Actions run at once."),
    report: Path | None = typer.Option(
        None, "--report", help="Write the apply report (JSON) here."
    ),
    directory: Path | None = typer.Option(
        None,
        "--dir",
        help="Desired-state directory of a plan file (default: the one it was planned from).",
    ),
    restart_timeout: float = typer.Option(
        900.0, "--restart-timeout", help="Seconds to wait for a node to come back."
    ),
    poll_interval: float = typer.Option(
        1.0, "--poll-interval", min=0.05, help="Seconds between checks while waiting for a node."
    ),
) -> None:
    """Execute a plan: trust first, then certificates, then restarts, verifying each step."""
    import asyncio
    import json
    import sys
    from datetime import UTC, datetime

    from reconciler.apply.run import Refused, apply
    from reconciler.apply.steps import Timing
    from reconciler.model import Plan
    from reconciler.report.plan import plan_text

    src = source or default_dir()
    saved = src.is_file()
    progress: _Progress | None = None

    def confirm(plan: Plan) -> bool:
        nonlocal progress
        if not saved:
            for line in plan_text(plan):
                typer.echo(line)
        if not (saved or auto_approve):
            if not sys.stdin.isatty():
                raise Refused(
                    "not a terminal: pass --auto-approve or a plan file to apply without a prompt"
                )
            if not typer.confirm("Apply this plan?", default=False):
                typer.echo("Nothing applied.")
                return False
        progress = _Progress(len(plan.actions))
        return True

    def listener(event: str, action: object, detail: str) -> None:
        if progress is not None:
            progress(event, action, detail)

    timing = Timing(up_timeout=restart_timeout, poll=poll_interval)
    try:
        run = asyncio.run(
            apply(
                src,
                now=datetime.now(UTC),
                inventory=_inventory(inventory),
                env=os.environ,
                parallelism=parallelism,
                confirm=confirm,
                timing=timing,
                listener=listener,
                directory=directory,
            )
        )
    finally:
        if progress is not None:
            progress.close()
    result = run.result
    if result is None:
        if not run.plan.actions:
            typer.echo("No changes: the live state matches the desired state.")
        return
    if report is not None:
        report.write_text(
            json.dumps(result.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
        )
    counts: dict[str, int] = {}
    for r in result.results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    typer.echo(
        f"Apply {'complete' if result.ok else 'INCOMPLETE'}: {summary} in {result.seconds:.1f}s."
    )
    if not result.ok:
        typer.echo(f"Stopped: {result.stopped_because}", err=True)
        typer.echo("Run `certops plan` to see what is left; `certops apply` finishes it.", err=True)
        raise typer.Exit(EXIT_ERROR)


@friendly
def drift_cmd(
    directory: Path | None = DIR_ARG,
    fmt: PlanFormat = FORMAT_OPT,
    metrics_file: Path | None = typer.Option(
        None,
        "--metrics-file",
        help="Write Prometheus text-format metrics here (node-exporter textfile collector).",
    ),
    node: list[str] = typer.Option([], "--node", help="Only these nodes."),
    select: list[str] = SELECT_OPT,
    inventory: Path | None = INVENTORY_OPT,
    parallelism: int = PARALLELISM_OPT,
    at: str | None = typer.Option(None, "--at", help="Judge as of this time (ISO 8601)."),
) -> None:
    """Report drift, expiry and trust-store hygiene (read-only).

    Exit 0 in sync, 2 drift, 1 error.
    """
    import asyncio

    from reconciler.apply.driftrun import compute_drift
    from reconciler.report.drift import drift_json, drift_markdown, drift_metrics, drift_text

    root = directory or default_dir()
    report = asyncio.run(
        compute_drift(
            root,
            now=parse_at(at),
            inventory=_inventory(inventory),
            env=os.environ,
            parallelism=parallelism,
            targets=node or None,
            selectors=select or None,
        )
    )
    if metrics_file is not None:
        tmp = metrics_file.with_name(metrics_file.name + ".tmp")
        tmp.write_text(drift_metrics(report))
        tmp.replace(metrics_file)  # atomic: the collector never reads half a file
    _emit(
        fmt, lambda: drift_json(report), lambda: drift_markdown(report), lambda: drift_text(report)
    )
    if report.has_errors:
        raise typer.Exit(EXIT_ERROR)
    if not report.in_sync:
        raise typer.Exit(EXIT_CHANGES)


@friendly
def import_cmd(
    directory: Path = typer.Argument(
        ..., help="Desired-state directory to write (created if missing)."
    ),
    node: list[str] = typer.Option(
        [], "--node", help="Import only these nodes (default: every node of the inventory)."
    ),
    inventory: Path | None = typer.Option(
        None,
        "--inventory",
        help="Nodes to import: name, type, api (e.g. the lab's inventory.yaml).",
    ),
    parallelism: int = PARALLELISM_OPT,
) -> None:
    """Write the desired state from live nodes, so that the first plan is empty."""
    import asyncio

    from reconciler.apply.importrun import import_fleet

    result = asyncio.run(
        import_fleet(
            directory,
            inventory=_inventory(inventory),
            env=os.environ,
            nodes=node or None,
            parallelism=parallelism,
        )
    )
    typer.echo(
        f"Imported {len(result.nodes)} node(s) into {result.root} "
        f"({result.ca_files} CA files under cas/): {', '.join(result.nodes)}."
    )
    typer.echo(f"Next: certops validate {result.root} && certops plan {result.root}")
