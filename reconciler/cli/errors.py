"""How the CLI turns exceptions into one clear line and an exit code."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer

P = ParamSpec("P")
R = TypeVar("R")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


class UsageProblem(Exception):
    """A problem with what the user asked for; the message says what to do."""


class State:
    debug = False


def friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command; on an unexpected error print one line (a traceback with --debug), exit 1."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit, BrokenPipeError):
            raise
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            # Imported here: the models (pydantic) are not needed to print --help.
            from reconciler.model import CertopsError, Finding

            if isinstance(exc, CertopsError):
                # The user's to fix: each finding on its line (file:line:col), then the verdict.
                if State.debug:
                    traceback.print_exc()
                for finding in sorted(exc.findings, key=Finding.sort_key):
                    print(finding.render(), file=sys.stderr)
                print(f"certops: error: {exc}", file=sys.stderr)
                raise typer.Exit(EXIT_ERROR) from None
            if State.debug:
                traceback.print_exc()
            label = (
                "error"
                if isinstance(exc, UsageProblem | ValueError | OSError)
                else (f"internal error ({type(exc).__name__})")
            )
            hint = "" if State.debug else " (run with --debug for a traceback)"
            print(f"certops: {label}: {exc}{hint if 'internal' in label else ''}", file=sys.stderr)
            raise typer.Exit(EXIT_ERROR) from None

    return wrapper
