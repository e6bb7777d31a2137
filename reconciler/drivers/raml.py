"""The resources a node describes in its own RAML (``GET /api/raml`` on Expressway [C]).

No public document names the REST resources of Expressway X15.5's client certificate store
[U]; every Expressway describes its own API in RAML 1.0 (a YAML dialect) at ``/api/raml``.
certops reads that description at run time and uses a role's resources only where the node
lists them; otherwise the role's steps are manual (the GUI path). Only the resource tree and
its methods are read: nested ``/segment:`` keys and their ``get:``/``post:``... keys.
"""

from __future__ import annotations

import re

_RESOURCE = re.compile(r"^(?P<indent>\s*)(?P<segment>/[^\s:]+)\s*:")
_METHOD = re.compile(r"^(?P<indent>\s*)(?P<method>get|post|put|delete|patch)\s*:")


def resources(raml: str) -> set[tuple[str, str]]:
    """Every (METHOD, full path) the RAML describes, e.g. ("POST", "/api/provisioning/certs")."""
    stack: list[tuple[int, str]] = []  # (indent, path so far)
    out: set[tuple[str, str]] = set()
    for line in raml.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        resource = _RESOURCE.match(line)
        if resource is not None:
            parent = stack[-1][1] if stack else ""
            stack.append((indent, parent + resource["segment"]))
            continue
        method = _METHOD.match(line)
        if method is not None and stack:
            out.add((method["method"].upper(), stack[-1][1]))
    return out


def find(found: set[tuple[str, str]], method: str, suffix: str) -> str | None:
    """The one path of ``method`` that ends with ``suffix`` (None when absent or ambiguous)."""
    paths = sorted(p for m, p in found if m == method and p.endswith(suffix))
    return paths[0] if len(paths) == 1 else None
