"""The published JSON Schema: generated from the models, committed, and in step with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.desired.schema import (
    FILES,
    SCHEMA_DIR,
    fleet_schema,
    node_schema,
    render,
    write_schemas,
)
from reconciler.kinds import KINDS


@pytest.mark.parametrize("name", sorted(FILES))
def test_committed_schema_equals_generated(name: str) -> None:
    generated = render(FILES[name]())
    committed = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert committed == generated, (
        f"reconciler/schemas/{name} is stale: run python -m reconciler.desired.schema")


def test_node_schema_is_the_union_chosen_by_type() -> None:
    schema = node_schema()
    assert schema["title"] and schema["description"]
    assert schema["discriminator"]["propertyName"] == "type"
    assert set(schema["discriminator"]["mapping"]) == set(KINDS)
    expressway = schema["$defs"]["ExpresswayNodeSpec"]
    assert expressway["additionalProperties"] is False
    assert expressway["properties"]["name"]["description"]


def test_trust_store_schema_accepts_the_bare_list() -> None:
    store = node_schema()["$defs"]["TrustStoreSpec"]
    kinds = [option.get("type") for option in store["anyOf"]]
    assert kinds == ["object", "array"]


def test_fleet_schema() -> None:
    schema = fleet_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert set(schema["properties"]) == {"policy", "links", "clusters", "defaults", "issuers",
                                         "windows", "freeze", "emergency"}


def test_write_schemas(tmp_path: Path) -> None:
    written = write_schemas(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(FILES)
    for path in written:
        assert path.read_text(encoding="utf-8") == (SCHEMA_DIR / path.name).read_text("utf-8")


def test_the_freeze_key_is_from_in_the_schema() -> None:
    """``from`` is a Python keyword: the model's field is ``from_`` with the alias ``from``,
    and the JSON Schema (what editors complete) must say ``from``."""
    freeze = fleet_schema()["$defs"]["FreezeSpec"]
    assert set(freeze["properties"]) == {"from", "to", "reason", "timezone"}
    assert set(freeze["required"]) == {"from", "to", "reason"}
