"""A typer group whose subcommands are built only when one is named.

typer turns every registered command into click objects (parameters, type converters,
callback wrappers) before it parses anything, and imports every command's module to do so.
``certops --help`` needs neither: it lists each command's name and the first sentence of its
help. ``LazyGroup`` lists them from a table of help texts and builds a command (through
typer, exactly as an eager registration would) the first time it is looked up by name:
when it runs, when its own ``--help`` is asked for, or when it is completed.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from gettext import gettext as _
from typing import Any, ClassVar

from typer import _click
from typer.core import TyperCommand, TyperGroup


class LazyCommands(MutableMapping[str, _click.Command]):
    """A group's commands by name: every name known from ``helps``, each built on first use."""

    def __init__(
        self,
        helps: Mapping[str, str],
        build: Callable[[str], _click.Command],
        built: Mapping[str, _click.Command],
    ) -> None:
        self.helps, self.build = helps, build
        self.built: dict[str, _click.Command] = dict(built)

    def __getitem__(self, name: str) -> _click.Command:
        """The command ``name``, built now if it has not been; KeyError for an unknown name."""
        if name not in self.built:
            if name not in self.helps:
                raise KeyError(name)
            self.built[name] = self.build(name)
        return self.built[name]

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self.built[name] = command

    def __delitem__(self, name: str) -> None:
        """Forget ``name`` (built or not); KeyError when it is neither."""
        if name not in self:
            raise KeyError(name)
        self.built.pop(name, None)
        if name in self.helps:
            self.helps = {k: v for k, v in self.helps.items() if k != name}

    def __contains__(self, name: object) -> bool:
        return name in self.helps or name in self.built

    def __iter__(self) -> Iterator[str]:
        """The table's names in its order, then commands added later; builds nothing."""
        yield from self.helps
        yield from (name for name in self.built if name not in self.helps)

    def __len__(self) -> int:
        return sum(1 for _name in self)

    def short_help(self, name: str, limit: int) -> str:
        """The one-line help of ``name`` as click shortens it, without building the command."""
        command = self.built.get(name)
        if command is None:
            command = TyperCommand(name, help=inspect.cleandoc(self.helps[name]))
        return command.get_short_help_str(limit)

    def hidden(self, name: str) -> bool:
        """Whether ``name`` is left out of the listing (only a built command can be hidden)."""
        command = self.built.get(name)
        return command is not None and command.hidden


class LazyGroup(TyperGroup):
    """A ``TyperGroup`` whose commands come from ``helps`` and ``build_command``.

    Subclasses set ``helps`` (name -> help text, in listing order) and ``build_command``.
    Commands registered the usual way (``app.command``, ``add_typer``) are kept as well.
    """

    helps: ClassVar[Mapping[str, str]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.helps, self.build_command, self.commands)

    @classmethod
    def build_command(cls, name: str) -> _click.Command:
        """The click object of the table's command ``name``."""
        raise NotImplementedError(name)

    def list_commands(self, ctx: _click.Context) -> list[str]:
        """Every command's name in the table's order, without building any."""
        return list(self.commands)

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """The "Commands" section of ``--help``, as ``TyperGroup`` writes it, from the table."""
        commands = self.commands
        assert isinstance(commands, LazyCommands)
        names = [name for name in self.list_commands(ctx) if not commands.hidden(name)]
        if not names:
            return
        # allow for 3 times the default spacing (as click and typer do)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, commands.short_help(name, limit)) for name in names]
        with formatter.section(_("Commands")):
            formatter.write_dl(rows)
