"""The JSON Schema of certops.yaml and of node files, generated from the ``*Spec`` models.

Editors use it to complete and check the files (``# yaml-language-server: $schema=...``), and
``certops schema`` prints it. The committed copies under ``reconciler/schemas/`` are written by
``python -m reconciler.desired.schema``; a test keeps them equal to what this module generates.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from reconciler.kinds import KINDS, node_spec_union
from reconciler.model import FleetSpec, Plan

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def fleet_schema() -> dict[str, Any]:
    """Schema of ``certops.yaml``."""
    schema = FleetSpec.model_json_schema()
    return _finish(schema, "certops.yaml", "certops fleet settings: policy, links between "
                   "nodes, defaults.")


def node_schema() -> dict[str, Any]:
    """Schema of one ``nodes/*.yaml`` file: one model per device kind, chosen by ``type``."""
    schema = TypeAdapter(node_spec_union()).json_schema()
    kinds = ", ".join(f"{k.title} (type: {k.type})" for k in KINDS.values())
    return _finish(schema, "certops node", f"One node per file: {kinds}.")


def plan_schema() -> dict[str, Any]:
    """Schema of the plan JSON that ``certops plan --out`` writes and ``apply`` reads."""
    schema = Plan.model_json_schema(mode="serialization")
    return _finish(schema, "certops plan", "A certops plan: findings and ordered actions "
                   "(format_version 1).")


# Committed file name -> generator.
FILES: dict[str, Callable[[], dict[str, Any]]] = {
    "certops.schema.json": fleet_schema,
    "node.schema.json": node_schema,
    "plan.schema.json": plan_schema,
}


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into ``directory``; returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in FILES.items():
        path = directory / name
        path.write_text(render(make()), encoding="utf-8")
        written.append(path)
    return written


def render(schema: dict[str, Any]) -> str:
    """The committed text form: stable key order from the models, two-space indent."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def _finish(schema: dict[str, Any], title: str, description: str) -> dict[str, Any]:
    _allow_trust_shorthand(schema.get("$defs", {}))
    return {"$schema": DRAFT, "title": title, "description": description,
            **{k: v for k, v in schema.items() if k not in ("title", "description")}}


def _allow_trust_shorthand(defs: dict[str, Any]) -> None:
    # TrustStoreSpec takes a bare list of CA files through a before-validator, which pydantic
    # cannot see when it writes the schema; without this, editors would flag the common form.
    store = defs.get("TrustStoreSpec")
    if store is None:
        return
    shorthand = {"type": "array", "items": {"type": "string"},
                 "description": "Shorthand for {cas: [...]}: the CA files and CA set files, "
                                "relative to this file."}
    defs["TrustStoreSpec"] = {
        "title": store.get("title", "TrustStoreSpec"),
        "description": store.get("description", ""),
        "anyOf": [{k: v for k, v in store.items() if k not in ("title", "description")},
                  shorthand],
    }


if __name__ == "__main__":
    write_schemas(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_DIR)
