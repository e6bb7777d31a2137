"""Parse one YAML file with ruamel.yaml into a tree, its positions, and plain Python data.

Syntax problems become one ``input.yaml`` finding at the position ruamel reports, worded for
someone editing the file. Positions are recorded for every key and value under dotted paths
(``""`` is the document start, ``"trust.cas.0"`` a list item); ``"<path>#key"`` holds where
the key itself is written, for errors about the key rather than its value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    Event,
    MappingStartEvent,
    ScalarEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import VersionedResolver

from reconciler.desired.findings import error
from reconciler.model import Code, Finding, SourcePos

KEY_SUFFIX = "#key"


class _Yaml(YAML):
    """ruamel's ``YAML``, with its plug-in directories listed once per process: each instance
    globs ruamel's package folder for ``*/__plug_in__.py`` on creation, and the loader makes
    two instances per file (a tenth of loading a 1,000-node fleet went to that glob)."""

    _plug_ins: ClassVar[list[Any] | None] = None

    def official_plug_ins(self) -> Any:
        if _Yaml._plug_ins is None:
            _Yaml._plug_ins = list(super().official_plug_ins())
        return list(_Yaml._plug_ins)


def _events(text: str) -> Iterator[Event]:
    """libyaml's parsing events of ``text``: its C parser alone where ruamel.yaml.clib is
    installed (what ``YAML(typ="safe", pure=False).parse`` runs, without the loader class
    that call defines for each stream: two thirds of the cost of reading a node file's name
    and labels), else ruamel's pure-Python parser. Raises what they raise."""
    try:
        from ruamel.yaml import cyaml
    except ImportError:
        yield from _Yaml(typ="safe", pure=False).parse(text)
        return
    parser = cyaml.CParser(text)  # type: ignore[attr-defined]  # ruamel.yaml.clib's class
    try:
        while parser.check_event():
            yield parser.get_event()
    finally:
        parser.dispose()


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML mapping: the ruamel tree (for positions) and plain data (for pydantic)."""

    tree: CommentedMap
    data: dict[Any, Any]
    positions: dict[str, SourcePos]


def parse_yaml(display: str, raw: bytes) -> YamlDoc | Finding:
    """The one mapping document in ``raw``, or the ``input.yaml`` finding that says why not."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _line_col(raw[: exc.start].decode("utf-8", "replace"))
        return _syntax(display, line, col, "the file is not UTF-8 text: save it as UTF-8")
    refused = prescan(display, raw, text)
    if refused is not None:
        return refused
    fast = _fast_parse(display, text)
    if fast is not None:
        return fast
    try:
        docs = list(_Yaml(typ="rt").load_all(text))
    except DuplicateKeyError as exc:
        return _duplicate(display, exc)
    except MarkedYAMLError as exc:
        message, at_start = _explain(exc)
        # An unclosed bracket or quote is found far from where it opened; point at the opening.
        mark = (exc.context_mark if at_start else None) or exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return _syntax(display, line, col, message)
    except ReaderError as exc:
        line, col = _line_col(text[: exc.position])
        return _syntax(display, line, col, f"character {exc.character!r} is not allowed in YAML: "
                       "remove it (control characters cannot appear, even in quotes)")
    except YAMLError as exc:  # pragma: no cover - every ruamel error above carries a mark
        return _syntax(display, 1, 1, f"invalid YAML ({type(exc).__name__}): fix the syntax")
    docs = [d for d in docs if d is not None] if len(docs) <= 1 else docs
    if not docs:
        return _syntax(display, 1, 1, "the file has no content (only blank lines or "
                       "comments): it must hold a YAML mapping of 'key: value' lines")
    if len(docs) > 1:
        line, col = _second_document(text)
        return _syntax(display, line, col, "a second YAML document starts here (after '---'): "
                       "a desired-state file holds exactly one document; remove the '---' "
                       "separator or move the rest to its own file")
    tree = docs[0]
    if not isinstance(tree, CommentedMap):
        line, col = _start(tree)
        kind = "a list" if isinstance(tree, CommentedSeq) else "a single value"
        return _syntax(display, line, col, f"the document is {kind}, not a mapping: write "
                       "'key: value' lines at the top level")
    positions: dict[str, SourcePos] = {"": _pos(display, 1, 1)}
    _record(tree, "", display, positions)
    return YamlDoc(tree=tree, data=to_plain(tree), positions=positions)


MAX_YAML_BYTES = 1 << 20  # a CUCM node file naming 600 CA files is about 30 KB
MAX_DEPTH = 32  # the deepest desired-state file nests about 5 levels


def prescan(display: str, raw: bytes, text: str) -> Finding | None:
    """Refuse, before anything is composed, what could exhaust or crash the parser.

    A few hundred bytes of anchors and aliases expand to gigabytes ("billion laughs"), and
    deep nesting overflows the recursive composer (a RecursionError at 1,000 levels, a
    segfault in the C composer at 100,000). The size is checked on the bytes; then the
    parser's event stream, which libyaml produces with an explicit stack (no recursion, no
    expansion), is walked once for anchors, aliases and depth. A syntax error is left to
    the parse below, which explains it.
    """
    if len(raw) > MAX_YAML_BYTES:
        return _syntax(display, 1, 1, f"the file has {len(raw)} bytes, more than "
                       f"{MAX_YAML_BYTES} bytes for a desired-state file: split it")
    depth = 0
    try:
        for event in _events(text):
            mark = event.start_mark
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                return _syntax(display, mark.line + 1, mark.column + 1, ANCHOR_HINT)
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return _syntax(display, mark.line + 1, mark.column + 1,
                                   f"nesting deeper than {MAX_DEPTH} levels: desired-state "
                                   "files nest a few levels; flatten this value")
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    except (YAMLError, ValueError, TypeError):
        return None
    return None


def top_scalars(raw: bytes, keys: frozenset[str]) -> dict[str, list[str]] | None:
    """What a node file says at ``keys`` without composing or constructing it: for each
    top-level key in ``keys`` holding a plain value, that value; holding a mapping, its
    ``key=value`` pairs of plain values (``labels``). From libyaml's events alone, a fraction
    of a parse, stopped at the next top-level key once every one of ``keys`` has been read
    (what follows is the business of whoever loads the file). None where the events do not
    show it plainly (not UTF-8, not one mapping, an anchor or alias, a syntax error, before
    that point): only loading the file can tell."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    if len(raw) > MAX_YAML_BYTES:
        return None
    found: dict[str, list[str]] = {}
    done: set[str] = set()  # the keys whose value has been read whole
    depth, key, inside = 0, None, None  # the top-level key being read; the key within it
    documents = 0
    try:
        for event in _events(text):
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                return None
            if isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    return None
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth == 1 and not isinstance(event, MappingStartEvent):
                    return None
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
                if depth == 1:
                    done.add(key or "")
                    key = None
            elif isinstance(event, ScalarEvent) and depth == 1:
                if key is None:
                    if done >= keys:
                        return found
                    key = event.value
                    continue
                if key in keys:
                    found.setdefault(key, []).append(event.value)
                done.add(key)
                key = None
            elif isinstance(event, ScalarEvent) and depth == 2 and key in keys:
                if inside is None:
                    inside = event.value
                else:
                    found.setdefault(key, []).append(f"{inside}={event.value}")
                    inside = None
            if isinstance(event, CollectionStartEvent):
                if depth == 2 and key is None:
                    return None  # a top-level key that is not a plain value
                if depth == 3 and key in keys:
                    if inside is None:
                        return None  # a key within it that is not a plain value
                    inside = None  # a value that is not plain: it matches no key=value
    except (YAMLError, ValueError, TypeError):
        return None
    return found


ANCHOR_HINT = ("YAML anchors ('&name') and aliases ('*name') are not allowed in desired-state "
               "files: write the value out (a value starting with '*', like '*.example.com', "
               "must be quoted)")


class _SteadyResolver(VersionedResolver):
    """ruamel's resolver, with the YAML version looked up once per document instead of for
    every scalar (ruamel finds it through two failed attribute look-ups each time, a third of
    composing a node file), and each plain scalar's tag remembered across files: an imported
    fleet repeats the same CA file names in every Unified CM node file."""

    _tags: ClassVar[dict[tuple[Any, str, Any], Any]] = {}

    @property
    def processing_version(self) -> Any:
        version = self.__dict__.get("_steady_version")
        if version is None:
            version = self.__dict__["_steady_version"] = super().processing_version
        return version

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not ScalarNode or self.yaml_path_resolvers or len(self._tags) > 100_000:
            return super().resolve(kind, value, implicit)
        key = (self.processing_version, value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = self._tags[key] = super().resolve(kind, value, implicit)
        return tag


def safe_load(text: str) -> Any:
    """The plain data of a YAML text (ruamel's safe loader: no tags, no positions), with
    libyaml's C parser where ruamel.yaml.clib is installed and the steady resolver: a
    1,000-node inventory in 0.12 s instead of 0.21. Raises ruamel's ``YAMLError``."""
    yaml = _Yaml(typ="safe", pure=False)
    yaml.Resolver = _SteadyResolver
    return yaml.load(text)


def _fast_parse(display: str, text: str) -> YamlDoc | None:
    """The common case, fast: libyaml's C parser (ruamel.yaml.clib) composes the node graph,
    whose marks give the same positions as the round-trip loader at a tenth of the cost.

    Anything unusual (a syntax error, several documents, not a mapping, no C parser) returns
    None, and the round-trip path below explains it precisely.
    """
    try:
        yaml = _Yaml(typ="safe", pure=False)  # C parser when ruamel.yaml.clib is installed
        yaml.Resolver = _SteadyResolver
        node = yaml.compose(text)
        if not isinstance(node, MappingNode):
            return None
        data = yaml.constructor.construct_document(node)
    except (YAMLError, ValueError, TypeError, AttributeError):
        return None
    if not isinstance(data, dict):
        return None
    positions: dict[str, SourcePos] = {"": _pos(display, 1, 1)}
    _record_nodes(node, "", display, positions)
    return YamlDoc(tree=CommentedMap(), data=to_plain(data), positions=positions)


def _record_nodes(node: Node, path: str, display: str, out: dict[str, SourcePos]) -> None:
    """``_record`` over a composed node graph (same keys, same positions)."""
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or (key_node.tag or "").endswith(":merge"):
                continue
            sub = join(path, key_node.value)
            key_pos = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            value_pos = (value_node.start_mark.line + 1, value_node.start_mark.column + 1)
            # An empty value (``key:`` alone) has no position of its own: point at the key.
            if (isinstance(value_node, ScalarNode) and (value_node.tag or "").endswith(":null")
                    and (value_pos[0] != key_pos[0] or not value_node.value)):
                value_pos = key_pos
            out[sub + KEY_SUFFIX] = _pos(display, key_pos[0], key_pos[1])
            out[sub] = _pos(display, value_pos[0], value_pos[1])
            _record_nodes(value_node, sub, display, out)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            sub = join(path, index)
            out[sub] = _pos(display, item.start_mark.line + 1, item.start_mark.column + 1)
            _record_nodes(item, sub, display, out)


def _pos(display: str, line: int, col: int) -> SourcePos:
    # Trusted values, tens of thousands per fleet: skip pydantic's validation.
    return SourcePos.model_construct(file=display, line=line, col=col)


def join(path: str, segment: object) -> str:
    """The dotted path of ``segment`` below ``path``."""
    return f"{path}.{segment}" if path else str(segment)


def to_plain(value: Any) -> Any:
    """ruamel's round-trip types as plain Python: dicts, tuples (for pydantic's strict tuples)
    and built-in scalars, so that strict validation judges values and not ruamel classes."""
    if isinstance(value, dict):
        return {to_plain(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return tuple(to_plain(v) for v in value)
    if isinstance(value, bool):
        return bool(value)
    for plain in (str, int, float):
        if isinstance(value, plain):
            return plain(value)
    return value


def _record(node: Any, path: str, display: str, out: dict[str, SourcePos]) -> None:
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            sub = join(path, key)
            key_pos = _lc(node.lc.key, key) or _start(node)
            value_pos = _lc(node.lc.value, key) or key_pos
            # ruamel places an empty value (``key:`` then a newline) at the next token, which is
            # on a later line; the key is then the honest place to point at.
            if value is None and value_pos[0] != key_pos[0]:
                value_pos = key_pos
            out[sub + KEY_SUFFIX] = _pos(display, key_pos[0], key_pos[1])
            out[sub] = _pos(display, value_pos[0], value_pos[1])
            _record(value, sub, display, out)
    elif isinstance(node, CommentedSeq):
        for index, item in enumerate(node):
            sub = join(path, index)
            line, col = _lc(node.lc.item, index) or _start(node)
            out[sub] = _pos(display, line, col)
            _record(item, sub, display, out)


def _lc(getter: Any, key: Any) -> tuple[int, int] | None:
    # Keys brought in by a merge (``<<: *base``) have no position of their own.
    try:
        line, col = getter(key)
    except (KeyError, IndexError, TypeError):
        return None
    return int(line) + 1, int(col) + 1


def _start(node: Any) -> tuple[int, int]:
    lc = getattr(node, "lc", None)
    if lc is None or lc.line is None:
        return 1, 1
    return int(lc.line) + 1, int(lc.col) + 1


def _line_col(prefix: str) -> tuple[int, int]:
    """1-based line and column just after ``prefix``."""
    line = prefix.count("\n") + 1
    return line, len(prefix) - (prefix.rfind("\n") + 1) + 1


def _second_document(text: str) -> tuple[int, int]:
    # Only reached after the text parsed, so parsing it again for events cannot fail.
    starts = [e for e in _Yaml(typ="rt").parse(text) if isinstance(e, DocumentStartEvent)]
    mark = starts[1].start_mark if len(starts) > 1 else None
    return (mark.line + 1, mark.column + 1) if mark else (1, 1)


def _syntax(display: str, line: int, col: int, message: str) -> Finding:
    return error(Code.INPUT_YAML, message, _pos(display, line, col))


def _duplicate(display: str, exc: DuplicateKeyError) -> Finding:
    # ruamel's own text quotes both values; they might be secrets, so only the key is named.
    match = re.search(r'duplicate key "(.*?)" with value', exc.problem or "")
    key = f"'{match[1]}'" if match else "a key"
    mark, ctx = exc.problem_mark, exc.context_mark
    where = f" in the mapping that starts at line {ctx.line + 1}" if ctx else ""
    return _syntax(display, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1,
                   f"duplicate key {key}{where}: a key may appear only once; keep one of them")


# ruamel's wording -> what it means for someone editing the file, and whether to point at
# where the construct started (ruamel's context mark) rather than where parsing failed.
_PLAIN: tuple[tuple[str, str, bool], ...] = (
    ("'\\t'", "a tab character: YAML indents with spaces only; replace the tab with spaces",
     False),
    ("mapping values are not allowed here", "unexpected ':': a value that contains ': ' "
     "must be quoted, and a nested mapping must start on its own, further indented line",
     False),
    ("expected <block end>", "this line's indentation does not match the lines above: "
     "align keys of the same mapping in the same column", False),
    ("could not find expected ':'", "a line in a mapping without 'key: value': add the ':' "
     "or fix the indentation", False),
    ("expected ',' or ']'", "this '[' list is not closed: add the missing ']' (or ',')", True),
    ("expected ',' or '}'", "this '{' mapping is not closed: add the missing '}' (or ',')", True),
    ("while scanning a quoted scalar", "this quoted string is not closed: add the closing "
     "quote", True),
    ("found undefined alias", "a value starting with '*' is read as a YAML alias: quote it "
     "(e.g. '*.example.com'), or define the anchor ('&name') it refers to before it", False),
)


def _explain(exc: MarkedYAMLError) -> tuple[str, bool]:
    problem, context = exc.problem or "", exc.context or ""
    for needle, plain, at_start in _PLAIN:
        if needle in problem or needle in context:
            return plain, at_start
    detail = f"{problem} ({context})" if context else problem
    return f"invalid YAML: {detail}; fix the syntax at this position", False
