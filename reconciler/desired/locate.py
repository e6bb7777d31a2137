"""Map a pydantic error location onto the place in the YAML file where the user must look.

A pydantic ``loc`` follows the model (``("trust", "cas", 1)``); the YAML may be shaped
differently (``trust:`` written as a bare list, which a before-validator turns into
``{"cas": [...]}``). So the loc is walked against the actual YAML tree, skipping segments
that the file does not have, and the walk ends at the deepest node that exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.desired.yamlsource import KEY_SUFFIX, join
from reconciler.model import SourcePos

KEY_SEGMENT = "[key]"  # pydantic's marker for an error in a dict key rather than its value


@dataclass(frozen=True)
class Located:
    """Where a loc lands in the file: the dotted path of the deepest existing node, whether
    every segment was found, and whether the error is about a mapping key."""

    path: str
    complete: bool
    at_key: bool


def walk(tree: Any, loc: Sequence[str | int]) -> Located:
    """Follow ``loc`` through ``tree`` (plain or ruamel data) as far as the file goes."""
    node, path, complete = tree, "", True
    segments = list(loc)
    at_key = bool(segments) and segments[-1] == KEY_SEGMENT
    if at_key:
        segments.pop()
    for segment in segments:
        found, key = _child(node, segment)
        if not found:
            complete = False
            continue
        node = node[key]
        path = join(path, key)
    return Located(path=path, complete=complete, at_key=at_key)


def position(positions: Mapping[str, SourcePos], path: str, *, key: bool) -> SourcePos:
    """The recorded position of ``path``: its key where asked for and written, else its value."""
    if key and path:
        found = positions.get(path + KEY_SUFFIX)
        if found is not None:
            return found
    # Paths from walk() are always recorded; the parents are a fallback that keeps this total.
    while path:
        found = positions.get(path)
        if found is not None:
            return found
        path = path.rpartition(".")[0]
    return positions[""]


def _child(node: Any, segment: str | int) -> tuple[bool, Any]:
    if isinstance(node, Mapping):
        if segment in node:
            return True, segment
        # pydantic reports dict keys as it saw them; YAML keys may be ints or bools.
        for key in node:
            if str(key) == str(segment):
                return True, key
        return False, None
    if isinstance(node, Sequence) and not isinstance(node, str) and isinstance(segment, int):
        return (True, segment) if 0 <= segment < len(node) else (False, None)
    return False, None
