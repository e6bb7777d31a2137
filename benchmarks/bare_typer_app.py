"""The yardstick of ``certops --help``: a bare typer app with the same settings and a command.

    python benchmarks/bare_typer_app.py --help
"""

from __future__ import annotations

import typer

app = typer.Typer(help="A bare typer app.", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command()
def hello(name: str = typer.Argument("world", help="Who to greet.")) -> None:
    """Say hello."""
    typer.echo(f"hello {name}")


@app.command()
def bye() -> None:
    """Say goodbye."""
    typer.echo("bye")


if __name__ == "__main__":
    app()
