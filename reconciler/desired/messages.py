"""Reword pydantic's validation errors for someone editing a YAML file.

pydantic speaks of "inputs", "dictionaries" and "tuples"; the user wrote keys, mappings and
lists. Every message names what was expected, what was found, and for unknown keys the keys
that are allowed at that place (from the model, so it never goes stale).
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from reconciler.desired.findings import Hidden, describe, may_be_secret, quote
from reconciler.desired.locate import KEY_SEGMENT

# The model's regular expressions, in words.
_PATTERNS = {
    r"^[A-Za-z_][A-Za-z0-9_]*$": "the name of an environment variable (letters, digits and "
    "'_', not starting with a digit)",
    r"^[a-z0-9][a-z0-9._-]*$": "a node name (lower-case letters, digits, '.', '_' and '-', "
    "starting with a letter or digit)",
    r"^https?://": "a URL starting with https://",
}

_EXPECTED = {
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "string_type": "a string",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def reword(err: ErrorDetails, model: type[BaseModel]) -> str:
    """One plain message for one pydantic error on ``model``'s input."""
    kind, loc, value = err["type"], err["loc"], err.get("input")
    if may_be_secret(loc) and value is not None and not isinstance(value, dict):
        value = Hidden(value)
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if kind == "extra_forbidden":
        return _unknown_key(model, loc)
    if kind == "missing":
        return _missing(model, loc, value)
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe(value)}"
    if kind == "literal_error":
        what = "key" if loc and loc[-1] == KEY_SEGMENT else "value"
        return f"unknown {what} {quote(value)}: expected one of {ctx.get('expected', '?')}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        wanted = _PATTERNS.get(pattern, f"a string matching {pattern}")
        return f"expected {wanted}, got {describe(value)}"
    if kind in ("too_long", "too_short"):
        return _length(model, loc, ctx)
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "?")
        words = {"greater_than_equal": "at least", "greater_than": "more than",
                 "less_than_equal": "at most", "less_than": "less than"}[kind]
        return f"must be {words} {bound}, got {describe(value)}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    message = err["msg"]
    return f"{message[:1].lower()}{message[1:]}, got {describe(value)}"


def allowed_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys the model accepts in the mapping at ``loc`` (empty when it is not a model)."""
    found = type_at(model, loc)
    if not _is_model(found):
        return []
    # A key spelled differently from its field (``from``, a Python keyword) by its alias.
    return sorted(f.alias or name for name, f in found.model_fields.items())


def type_at(model: type[BaseModel], loc: Sequence[str | int]) -> Any:
    """The annotated type that pydantic validates at ``loc`` below ``model``."""
    current: Any = model
    for segment in loc:
        current = _unwrap(current)
        if _is_model(current):
            fields = current.model_fields
            field = fields.get(str(segment)) or next(
                (f for f in fields.values() if f.alias == str(segment)), None)
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (tuple, list):
            args = get_args(current)
            if len(args) == 2 and args[1] is Ellipsis:
                current = args[0]
            elif isinstance(segment, int) and segment < len(args):
                current = args[segment]
            else:
                return None
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    return _unwrap(current)


def _unknown_key(model: type[BaseModel], loc: Sequence[str | int]) -> str:
    key = str(loc[-1])
    allowed = allowed_keys(model, loc[:-1])
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown key '{key}'{hint} (allowed: {', '.join(allowed)})"


def _missing(model: type[BaseModel], loc: Sequence[str | int], value: Any) -> str:
    if isinstance(loc[-1], int):
        return f"expected exactly {_arity(model, loc[:-1])} items, got {describe(value)}"
    return f"missing required key '{loc[-1]}'"


def _length(model: type[BaseModel], loc: Sequence[str | int], ctx: dict[str, Any]) -> str:
    got = ctx.get("actual_length", "?")
    fixed = _arity(model, loc)
    if fixed != "?":
        return f"expected exactly {fixed} items, got {got}"
    if "min_length" in ctx:
        least = ctx["min_length"]
        return f"expected at least {least} item{'' if least == 1 else 's'}, got {got}"
    return f"expected at most {ctx.get('max_length', '?')} items, got {got}"


def _arity(model: type[BaseModel], loc: Sequence[str | int]) -> str:
    """How many items a fixed-length list (a tuple type like ``tuple[str, str]``) takes."""
    found = type_at(model, loc)
    args = get_args(found) if get_origin(found) is tuple else ()
    return str(len(args)) if args and Ellipsis not in args else "?"


def _unwrap(tp: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the type that carries the structure."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in get_args(tp) if a is not type(None)]
            if len(options) != 1:
                return tp
            tp = options[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)
