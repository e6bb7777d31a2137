"""What a node's own API description (RAML, ``GET /api/raml`` on Expressway [C]) lists:
resources and their methods, read without executing anything.

Where no public document names a resource, certops uses it only where the node lists it:
the X15.5 client certificate store (``drivers.expressway_roles``) and maintenance mode for
the drain before a restart (``drivers.expressway``). One parse serves both.

RAML is YAML, and a YAML loader on a document from a node is attack surface (tags, anchors,
``!include``, deep nesting) for a few resource names. So this reads it as text: a line
``/segment:`` is a resource nested by indentation, a line ``get:``/``put:``/... directly
under one is a method, and block scalars (``description: |``) are skipped, so an example in
a description is never taken for a resource. Bounded: at most ``MAX_BYTES`` and
``MAX_RESOURCES``; a document that does not start with ``#%RAML`` is refused. The caller
turns a refusal into an error naming the node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_BYTES = 4 * 1024 * 1024  # a full Expressway API description is well below this [U]
MAX_RESOURCES = 20_000
MAX_PATH = 512
METHODS = frozenset({"get", "put", "post", "patch", "delete"})

_RESOURCE = re.compile(r"^(?P<indent> *)(?P<seg>/[A-Za-z0-9_.{}/-]*)\s*:\s*(#.*)?$")
_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_-]*)\s*:\s*(?P<value>.*)$")
_BLOCK = re.compile(r"[|>][-+0-9]*\s*(#.*)?$")


class RamlError(ValueError):
    """The document is not a RAML description certops can read (the message says why)."""


@dataclass
class Raml:
    """Resources (full path, base path included) and the methods each one declares."""

    base_path: str = ""
    resources: dict[str, set[str]] = field(default_factory=dict)

    def find(self, last_segment: re.Pattern[str]) -> list[tuple[str, frozenset[str]]]:
        """Resources whose last path segment matches, with their methods, sorted."""
        return sorted(
            (path, frozenset(methods))
            for path, methods in self.resources.items()
            if last_segment.fullmatch(path.rstrip("/").rsplit("/", 1)[-1])
        )


def parse_raml(data: bytes) -> Raml:
    """The resources of a RAML document; ``RamlError`` when it is not one or too big."""
    if len(data) > MAX_BYTES:
        raise RamlError(f"the API description is {len(data)} bytes, over {MAX_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RamlError("the API description is not UTF-8 text") from None
    if not text.lstrip("\ufeff").startswith("#%RAML"):
        raise RamlError("the API description does not start with '#%RAML': "
                        + " ".join(text[:60].split()))
    raml = Raml()
    stack: list[tuple[int, str]] = []  # (indent, full path) of the open resources
    block_indent: int | None = None  # inside a block scalar opened at this indent
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if block_indent is not None:
            if indent > block_indent:
                continue
            block_indent = None
        while stack and stack[-1][0] >= indent:
            stack.pop()
        _read_line(raml, line, indent, stack)
        if _BLOCK.search(stripped) and ":" in stripped:
            block_indent = indent
    return raml


def _read_line(raml: Raml, line: str, indent: int, stack: list[tuple[int, str]]) -> None:
    """One significant line: a resource, a method of the innermost resource, or baseUri."""
    if (m := _RESOURCE.match(line)) is not None:
        parent = stack[-1][1] if stack else raml.base_path
        path = parent.rstrip("/") + m["seg"]
        if len(path) > MAX_PATH:
            raise RamlError(f"a resource path is over {MAX_PATH} characters")
        if path not in raml.resources and len(raml.resources) >= MAX_RESOURCES:
            raise RamlError(f"the API description lists over {MAX_RESOURCES} resources")
        raml.resources.setdefault(path, set())
        stack.append((indent, path))
        return
    if (k := _KEY.match(line)) is None:
        return
    if not stack and indent == 0 and k["key"] == "baseUri":
        raml.base_path = _base_path(k["value"])
    elif stack and k["key"].lower() in METHODS:
        raml.resources[stack[-1][1]].add(k["key"].lower())


def _base_path(value: str) -> str:
    """The path part of ``baseUri`` (``https://{host}/api`` -> ``/api``)."""
    url = value.strip().strip("'\"").replace("{", "").replace("}", "")
    return urlsplit(url).path.rstrip("/") if "://" in url else ""


def resources(raml: str | Raml) -> set[tuple[str, str]]:
    """Every (METHOD, full path) the RAML describes, e.g. ("POST", "/api/provisioning/certs");
    text is parsed first (``RamlError`` when it is not a RAML document)."""
    parsed = raml if isinstance(raml, Raml) else parse_raml(raml.encode())
    return {(m.upper(), path) for path, methods in parsed.resources.items() for m in methods}


def find(found: set[tuple[str, str]], method: str, suffix: str) -> str | None:
    """The one path of ``method`` that ends with ``suffix`` (None when absent or ambiguous)."""
    paths = sorted(p for m, p in found if m == method and p.endswith(suffix))
    return paths[0] if len(paths) == 1 else None
