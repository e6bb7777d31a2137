"""The command table: ``certops --help`` builds and imports no command, and what it lists, a
command's own ``--help``, errors and completion are what an eager typer app would give."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
import typer
import typer.main
from typer import _click
from typer._completion_classes import BashComplete
from typer.testing import CliRunner

from reconciler.cli.app import (
    COMMANDS,
    HELP,
    Entry,
    build_app,
    command_function,
    global_options,
    new_typer,
)
from reconciler.cli.lazy import LazyCommands

runner = CliRunner()


def eager_app() -> typer.Typer:
    """The same app registered the usual way: every command built up front."""
    from reconciler.lab.cli import app as lab_app

    app = new_typer(help=HELP)
    app.callback()(global_options)
    for entry in COMMANDS:
        if entry.function is None:
            app.add_typer(lab_app, name=entry.name, help=entry.help)
        else:
            app.command(entry.name, help=entry.help)(command_function(entry))
    return app


def root_group() -> tuple[typer.core.TyperGroup, LazyCommands]:
    group = typer.main.get_command(build_app())
    assert isinstance(group, typer.core.TyperGroup)
    assert isinstance(group.commands, LazyCommands)
    return group, group.commands


@pytest.mark.parametrize(
    "args",
    [[], ["--help"], ["plna"], ["--bogus"], ["--debug"], ["--version"], ["lab", "--help"],
     ["lab", "sign", "--help"], ["plan", "--parallelism", "0"], ["inspect"],
     *[[entry.name, "--help"] for entry in COMMANDS]],
)
def test_same_output_and_exit_as_an_eager_app(args: list[str]) -> None:
    lazy, eager = runner.invoke(build_app(), args), runner.invoke(eager_app(), args)
    assert (lazy.exit_code, lazy.output) == (eager.exit_code, eager.output)


def test_help_builds_no_command() -> None:
    group, commands = root_group()
    with _click.Context(group, info_name="certops") as ctx:
        text = group.get_help(ctx)
    assert not commands.built
    for entry in COMMANDS:
        assert f"  {entry.name} " in text


def test_help_imports_no_command_module() -> None:
    code = (
        "import sys\nfrom reconciler.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('reconciler'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    loaded = out.splitlines()[-1].split()
    assert loaded == ["reconciler", "reconciler.cli", "reconciler.cli.app", "reconciler.cli.lazy"]


def test_naming_a_command_builds_only_that_one() -> None:
    group, commands = root_group()
    with _click.Context(group, info_name="certops") as ctx:
        command = group.get_command(ctx, "schema")
        assert group.get_command(ctx, "nope") is None
    assert command is not None and command.name == "schema"
    assert set(commands.built) == {"schema"}
    assert list(commands) == [entry.name for entry in COMMANDS]


@pytest.mark.parametrize("entry", COMMANDS, ids=lambda entry: entry.name)
def test_one_line_help_is_the_built_commands(entry: Entry) -> None:
    _, commands = root_group()
    listed = {limit: commands.short_help(entry.name, limit) for limit in (20, 45, 66, 200)}
    built = commands[entry.name]
    assert built.help == inspect.cleandoc(entry.help)
    assert listed == {limit: built.get_short_help_str(limit) for limit in listed}


@pytest.mark.parametrize("entry", [e for e in COMMANDS if e.function], ids=lambda e: e.name)
def test_help_text_is_only_in_the_table(entry: Entry) -> None:
    """A command function's docstring does not repeat its help (one copy, in COMMANDS)."""
    doc = inspect.getdoc(command_function(entry)) or ""
    first = inspect.cleandoc(entry.help).split(".")[0]
    assert first not in doc


def test_completion_of_command_names() -> None:
    group, commands = root_group()
    complete = BashComplete(group, {}, "certops", "_CERTOPS_COMPLETE")
    items = complete.get_completions([], "i")
    assert [item.value for item in items] == ["inspect", "import"]
    assert [item.help for item in items] == [commands.short_help(name, 45)
                                             for name in ("inspect", "import")]
    assert [item.value for item in complete.get_completions(["lab"], "u")] == ["up"]


def test_httpx_comes_without_its_command_line_client() -> None:
    """certops' entry point keeps httpx from importing its own CLI client (click, rich,
    pygments) at start-up; httpx itself still works, with its stub ``main``."""
    code = (
        "import sys\n"
        "from reconciler.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "import httpx\n"
        "assert httpx.Client is not None\n"
        "print(sorted(m for m in ('click', 'pygments', 'rich.console', 'httpx._main')\n"
        "             if sys.modules.get(m) is not None))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.splitlines()[-1] == "[]", done.stderr
