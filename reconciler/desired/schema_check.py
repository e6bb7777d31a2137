"""Validate parsed YAML against the ``*Spec`` models; every error becomes a positioned finding.

Validation is strict: YAML already gives real booleans, numbers and lists, so a quoted
``"true"`` or ``"2048"`` is a mistake to report, not something to coerce. The node union is
resolved here by reading ``type`` first, so an unknown type is one clear error and pydantic's
error locations carry no union tag.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from reconciler.desired.findings import error, quote
from reconciler.desired.locate import position as pos_of
from reconciler.desired.locate import walk
from reconciler.desired.messages import reword
from reconciler.desired.yamlsource import YamlDoc
from reconciler.kinds import KINDS, NODE_TYPES
from reconciler.model import Code, Finding, NodeSpecBase

M = TypeVar("M", bound=BaseModel)


def validate(
    model: type[M], doc: YamlDoc, node: str | None = None
) -> tuple[M | None, list[Finding]]:
    """``model`` built from ``doc``, or None and one ``input.schema`` finding per problem."""
    try:
        return model.model_validate(doc.data, strict=True), []
    except ValidationError as exc:
        findings = [_finding(model, doc, err, node) for err in exc.errors(include_url=False)]
    # Some errors repeat at one place (a link with no items lacks both of its names).
    unique = {(f.location, f.message): f for f in findings}
    return None, list(unique.values())


def validate_node(doc: YamlDoc) -> tuple[NodeSpecBase | None, list[Finding]]:
    """A node spec of the model its ``type`` names, or the findings that say what is wrong."""
    raw_name = doc.data.get("name")
    node = raw_name if isinstance(raw_name, str) else None
    if "type" not in doc.data:
        where = doc.positions[""]
        return None, [error(Code.INPUT_SCHEMA, "missing required key 'type' (one of: "
                            f"{', '.join(NODE_TYPES)})", where, node)]
    kind = doc.data["type"]
    profile = KINDS.get(kind) if isinstance(kind, str) else None
    if profile is None:
        where = doc.positions["type"]
        return None, [error(Code.INPUT_SCHEMA, f"unknown node type {quote(kind)} "
                            f"(valid types: {', '.join(NODE_TYPES)})", where, node)]
    return validate(profile.spec_model, doc, node)


def _finding(model: type[BaseModel], doc: YamlDoc, err: Any, node: str | None) -> Finding:
    located = walk(doc.data, err["loc"])
    kind = err["type"]
    # Unknown keys and bad dict keys point at the key; a missing key at the mapping that
    # lacks it (its key, where it has one); everything else at the offending value.
    at_key = located.at_key or (kind == "extra_forbidden" and located.complete) or kind == "missing"
    where = pos_of(doc.positions, located.path, key=at_key)
    return error(Code.INPUT_SCHEMA, reword(err, model), where, node)
