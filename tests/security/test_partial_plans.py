"""Attacks on partial plans (issue 16 item 13): a plan that holds back the nodes linked to
one that cannot be read must not be turned, by editing the file, into one that changes them.

The example fleet: expe1 <-> expc1 <-> cucm-pub, renewed by a new CA, expe1 unreachable.
The partial plan adds cucm-pub's trust (the new chain) and holds back expc1, whose new
certificate expe1 must trust first, and cucm-pub's install, which waits for expc1's trust.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from attack import apply_file, edit, refused_unchanged, saved_plan
from unitkit import plan, ready_to_install, snapshot

from reconciler.lab import Fault
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Code, Plan
from reconciler.usecases.apply import Refused

DOWN = Fault(match="*", drop=True, count=10_000)


async def _partial(lab: InProcessLab, desired: Path, folder: Path) -> tuple[Plan, Plan, Path]:
    """The full plan (everything reachable) and the saved partial plan (expe1 down)."""
    await ready_to_install(lab, desired)
    full, _ = await plan(lab, desired)
    lab.set_fault("expe1", DOWN)
    partial, path = await saved_plan(lab, desired, folder)
    assert partial.partial and partial.held_back == ("cucm-pub", "expc1")
    assert not any(a.node in ("expe1", "expc1") for a in partial.actions)
    assert {a.kind for a in partial.actions} == {"trust.add", "service.restart"}
    return full.plan, partial, path


async def test_a_partial_plan_file_applies_and_changes_only_what_it_holds(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """While expe1 is still down, the saved partial plan is re-derived as partial again and
    applied: cucm-pub gets its trust; expc1 and expe1 are untouched."""
    _, _, path = await _partial(lab, desired, tmp_path)
    before = snapshot(lab)
    run = await apply_file(lab, desired, path)
    assert run.result is not None and run.result.ok
    after = snapshot(lab)
    assert after["expc1"] == before["expc1"] and after["expe1"] == before["expe1"]
    assert after["cucm-pub"] != before["cucm-pub"]
    assert {r.node for r in run.result.results} == {"cucm-pub"}


async def test_held_back_actions_added_to_the_file_are_refused(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """expc1's install and restart (from a full plan) pasted into the partial plan."""
    full, partial, path = await _partial(lab, desired, tmp_path)
    stolen = [a for a in full.actions if a.node == "expc1"]
    assert any(a.kind == "cert.install" for a in stolen)
    edit(path, actions=[a.model_dump(mode="json") for a in (*partial.actions, *stolen)])
    await refused_unchanged(lab, desired, path, "edited after certops plan")


async def test_a_partial_plan_passed_off_as_a_node_plan_is_refused(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """The unreachable and held-back findings deleted (the file now looks like a --node
    plan of expc1 and cucm-pub) and expc1's install added, its dependencies on expe1
    dropped: expc1 is linked to a node the plan did not read, so it is refused."""
    full, partial, path = await _partial(lab, desired, tmp_path)
    trouble = (Code.NODE_UNREACHABLE, Code.NODE_HELD_BACK)
    stolen = [
        a.model_copy(update={"depends_on": tuple(d for d in a.depends_on
                                                 if not d.startswith("expe1/"))})
        for a in full.actions if a.node == "expc1"
    ]
    edit(path, findings=[f.model_dump(mode="json") for f in partial.findings
                         if f.code not in trouble],
         actions=[a.model_dump(mode="json") for a in (*partial.actions, *stolen)])
    await refused_unchanged(lab, desired, path, "linked to expe1, a node the plan did not read")


async def test_a_deleted_held_back_finding_is_refused(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """The file hides that expc1 is held back (a reviewer would think it is in sync)."""
    _, partial, path = await _partial(lab, desired, tmp_path)
    edit(path, findings=[f.model_dump(mode="json") for f in partial.findings
                         if f.code != Code.NODE_HELD_BACK])
    with pytest.raises(Refused, match="does not name every node it holds back"):
        await apply_file(lab, desired, path)


async def test_strict_apply_refuses_a_fresh_partial_plan(
    lab: InProcessLab, desired: Path
) -> None:
    """``certops apply DIR --strict``: a node that cannot be read blocks the whole apply."""
    from unitkit import session_of

    from reconciler.usecases.apply import ApplyRequest, ApplyUi, apply

    await ready_to_install(lab, desired)
    lab.set_fault("expe1", DOWN)
    before = snapshot(lab)
    request = ApplyRequest(desired, auto_approve=True, strict=True)
    with pytest.raises(Refused, match=r"(?s)error findings.*node\.unreachable"):
        await apply(session_of(lab, desired), request, ApplyUi(prompt=lambda _: True))
    assert snapshot(lab) == before
