"""Helpers of the attack suite: save a plan, apply a plan file as certops apply does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from unitkit import plan, session_of, snapshot

from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Plan
from reconciler.report.plan import plan_json
from reconciler.usecases.apply import ApplyRequest, ApplyRun, ApplyUi, Refused, apply


def never(plan: Plan) -> bool:
    return False


async def saved_plan(lab: InProcessLab, root: Path, folder: Path) -> tuple[Plan, Path]:
    """``certops plan --out``: the plan and its file."""
    run, _ = await plan(lab, root)
    path = folder / "plan.json"
    path.write_text(plan_json(run.plan))
    return run.plan, path


def edit(path: Path, **changes: Any) -> None:
    """Rewrite fields of a saved plan file, as a hostile workflow could."""
    data = Plan.model_validate_json(path.read_text()).model_dump(mode="json")
    data.update(changes)
    path.write_text(Plan.model_validate(data).model_dump_json())


async def apply_file(lab: InProcessLab, root: Path, path: Path, **options: Any) -> ApplyRun:
    """``certops apply PLAN --dir ROOT``."""
    request = ApplyRequest(path, directory=root, **options)
    return await apply(session_of(lab, root), request, ApplyUi(prompt=never))


async def refused_unchanged(lab: InProcessLab, root: Path, path: Path, match: str) -> None:
    """``certops apply PLAN`` is refused with ``match``, and no node changed at all."""
    before = snapshot(lab)
    with pytest.raises(Refused, match=match):
        await apply_file(lab, root, path)
    assert snapshot(lab) == before
