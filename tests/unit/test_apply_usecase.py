"""The apply use case on the in-process lab: approval policy, and one load of the desired state."""

from __future__ import annotations

from pathlib import Path

import pytest
from unitkit import session_of

import reconciler.usecases.loading as loading
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Plan
from reconciler.usecases.apply import ApplyRequest, ApplyUi, Refused, apply


def test_the_approval_policy(tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text("{}")
    assert not ApplyRequest(plan_file).needs_prompt()  # a saved plan was reviewed already
    assert not ApplyRequest(tmp_path, auto_approve=True).needs_prompt()
    assert ApplyRequest(tmp_path, is_tty=True).needs_prompt()
    with pytest.raises(Refused, match="not a terminal"):
        ApplyRequest(tmp_path).needs_prompt()


async def test_a_fresh_apply_loads_once_and_asks(lab: InProcessLab, desired: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[Path] = []
    real = loading.load

    def counting(root: Path, cache: object) -> object:
        loads.append(root)
        return real(root, cache)  # type: ignore[arg-type]

    monkeypatch.setattr(loading, "load", counting)
    asked: list[Plan] = []
    shown: list[Plan] = []

    def decline(plan: Plan) -> bool:
        asked.append(plan)
        return False

    run = await apply(session_of(lab, desired), ApplyRequest(desired, is_tty=True),
                      ApplyUi(prompt=decline, show=shown.append))
    assert loads == [desired]
    assert run.declined and run.result is None and asked == shown == [run.plan]

    run = await apply(session_of(lab, desired), ApplyRequest(desired, auto_approve=True),
                      ApplyUi(prompt=decline))
    assert run.result is not None and run.result.ok and len(asked) == 1
