"""Apply at the terminal: show a fresh plan, ask, and show progress (plain lines for CI logs,
or a rich live display with one line per action in flight). The text is ``report.apply``'s."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any

import typer

from reconciler.report.apply import action_label, finished_line, started_line

if TYPE_CHECKING:
    from reconciler.apply.executor import Listener
    from reconciler.model import Action, Plan
    from reconciler.usecases.apply import ApplyUi


class Progress:
    """One apply's progress display; ``close`` it when the apply ends."""

    def __init__(self, total: int) -> None:
        self.total, self.finished = total, 0
        self.live: Any = None  # rich.progress.Progress on a terminal
        self.tasks: dict[str, Any] = {}
        if sys.stdout.isatty():
            from rich.progress import Progress as Rich
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            self.live = Rich(SpinnerColumn(), TextColumn("{task.description}"),
                             TimeElapsedColumn(), transient=True)
            self.live.start()

    def __call__(self, event: str, action: Action, detail: str) -> None:
        if event == "started" and self.live is not None:
            self.tasks[action.id] = self.live.add_task(action_label(action), total=None)
            return
        if self.live is not None and action.id in self.tasks:
            self.live.remove_task(self.tasks.pop(action.id))
        if event == "started":
            typer.echo(started_line(self.finished, self.total, action))
            return
        self.finished += 1
        line = finished_line(event, self.finished, self.total, action, detail)
        if self.live is not None:
            self.live.console.print(line, markup=False, highlight=False)
        else:
            typer.echo(line)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()


class Console:
    """The ``ApplyUi`` of the terminal, as a context manager that closes the progress."""

    def __init__(self) -> None:
        self.progress: Progress | None = None

    def ui(self) -> ApplyUi:
        from reconciler.usecases.apply import ApplyUi

        return ApplyUi(prompt=self.prompt, show=self.show, progress=self.start)

    def show(self, plan: Plan) -> None:
        from reconciler.report.plan import plan_text

        for line in plan_text(plan):
            typer.echo(line)

    def prompt(self, plan: Plan) -> bool:
        return typer.confirm("Apply this plan?", default=False)

    def start(self, plan: Plan) -> Listener:
        self.progress = Progress(len(plan.actions))
        return self.progress

    def __enter__(self) -> Console:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.progress is not None:
            self.progress.close()
