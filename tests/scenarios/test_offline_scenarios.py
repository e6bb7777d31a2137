"""Scenario tests as data: each tests/scenarios/<case>/ holds a desired-state tree and a
case.yaml with the time to judge at and the findings expected, as
``relative/path:line:col severity[code]`` lines (messages are checked by substring)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from reconciler.desired.validate import validate

HERE = Path(__file__).parent
CASES = sorted(p.parent.name for p in HERE.glob("*/case.yaml"))


def load_case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((HERE / name / "case.yaml").read_text())
    return data


@pytest.mark.parametrize("case", CASES)
def test_scenario(case: str) -> None:
    spec = load_case(case)
    root = HERE / case / "desired"
    at = datetime.fromisoformat(spec["at"])
    result = validate(root, at)
    got = []
    for f in result.findings:
        loc = f.location
        where = str(Path(loc.file).relative_to(root)) + f":{loc.line}:{loc.col}" if loc else f.node
        got.append(f"{where} {f.severity.value}[{f.code}]")
    assert sorted(got) == sorted(spec.get("findings", [])), "\n".join(
        f"{g}  {f.message}" for g, f in zip(got, result.findings, strict=True)
    )
    for needle in spec.get("messages", []):
        assert any(needle in f.message for f in result.findings), needle
    assert result.ok is (spec["exit"] == 0)


def test_every_case_has_a_tree() -> None:
    assert len(CASES) >= 10
    for case in CASES:
        assert (HERE / case / "desired" / "certops.yaml").is_file()
