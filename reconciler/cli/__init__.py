"""The ``certops`` command: the only layer that prints.

Imports stay lazy so that ``certops --help`` and ``certops validate`` do not pay for httpx or
the lab. ``certops lab`` is mounted only when asked for: production code never imports the lab.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of ``python -m reconciler``."""
    from reconciler.cli.app import build_app

    args = sys.argv[1:] if argv is None else argv
    app = build_app(with_lab=_wants_lab(args))
    try:
        app(args=args, prog_name="certops")
    except BrokenPipeError:
        # `certops inspect ... | head`: the reader went away; that is not an error.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


def _wants_lab(args: list[str]) -> bool:
    rest = [a for a in args if a not in ("--debug",)]
    return bool(rest) and rest[0] == "lab"
