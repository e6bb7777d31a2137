"""The ``certops`` command: the only layer that prints.

Imports stay lazy so that ``certops --help`` and ``certops validate`` do not pay for httpx or
the lab: a command's module is imported, and its click objects built, only when the command
is named (``reconciler.cli.app.COMMANDS``). Production code never imports the lab: ``certops
lab`` mounts the lab's own typer app only when that command is asked for.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of ``python -m reconciler``."""
    # httpx imports its own command-line client with itself (click, rich and pygments: ~90
    # modules, ~50 ms of CPU at every start here), which certops never runs. A None entry
    # makes that one import fail, and httpx falls back to a stub ``httpx.main`` (its own
    # ``except ImportError``). Set before anything imports httpx; the CLI owns the process.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from reconciler.cli.app import build_app

    args = sys.argv[1:] if argv is None else argv
    try:
        build_app()(args=args, prog_name="certops")
    except BrokenPipeError:
        # `certops inspect ... | head`: the reader went away; that is not an error.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
