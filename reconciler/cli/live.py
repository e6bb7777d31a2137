"""Commands that read nodes: plan (and, in later issues, apply and drift)."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path

import typer

from reconciler.cli.app import default_dir
from reconciler.cli.errors import EXIT_CHANGES, EXIT_ERROR, friendly
from reconciler.cli.offline import parse_at


class PlanFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


def _inventory(path: Path | None) -> object:
    from reconciler.drivers import Inventory, load_inventory

    return load_inventory(path) if path is not None else Inventory()


@friendly
def plan_cmd(
    directory: Path | None = typer.Argument(None, help="Desired-state directory (default: ./desired-state)."),
    out: Path | None = typer.Option(None, "--out", help="Write the plan as JSON to this file (for apply)."),
    fmt: PlanFormat = typer.Option(PlanFormat.text, "--format", help="text, json or markdown."),
    detailed_exitcode: bool = typer.Option(False, "--detailed-exitcode",
                                           help="Exit 2 when the plan has changes (0 none, 1 error)."),
    node: list[str] = typer.Option([], "--node", help="Plan only these nodes (and the peer trust they need)."),
    inventory: Path | None = typer.Option(None, "--inventory", help="Point node names at other URLs (e.g. the lab's inventory.yaml)."),
    parallelism: int = typer.Option(16, "--parallelism", min=1, help="Nodes read at once."),
    at: str | None = typer.Option(None, "--at", help="Plan as of this time (ISO 8601)."),
) -> None:
    """Read every node's live state and print the ordered plan. Never changes a node."""
    from reconciler.apply.planrun import InputError, run_plan
    from reconciler.drivers import ConfigError
    from reconciler.report.findings import render_findings
    from reconciler.report.plan import plan_json, plan_markdown, plan_text

    root = directory or default_dir()
    try:
        result = run_plan(root, now=parse_at(at), inventory=_inventory(inventory), env=os.environ,
                          parallelism=parallelism, targets=node or None)
    except InputError as exc:
        for line in render_findings(exc.findings):
            typer.echo(line, err=True)
        typer.echo(f"certops: error: {exc}", err=True)
        raise typer.Exit(EXIT_ERROR) from None
    except ConfigError as exc:
        typer.echo(f"certops: error: {exc}", err=True)
        raise typer.Exit(EXIT_ERROR) from None
    plan = result.plan
    if out is not None:
        out.write_text(plan_json(plan))
    if fmt is PlanFormat.json:
        typer.echo(plan_json(plan), nl=False)
    elif fmt is PlanFormat.markdown:
        typer.echo(plan_markdown(plan), nl=False)
    else:
        for line in plan_text(plan):
            typer.echo(line)
        if out is not None:
            typer.echo(f"Saved the plan to {out}: apply it with `certops apply {out}`.")
    if plan.blocked:
        raise typer.Exit(EXIT_ERROR)
    if detailed_exitcode and plan.has_changes:
        raise typer.Exit(EXIT_CHANGES)
