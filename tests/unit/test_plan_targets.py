"""``--node``: the targets' actions and the trust they need; never another node's certificate."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from unitkit import installed, ready_to_install, session_of

from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Plan
from reconciler.planning.graph import Draft
from reconciler.planning.targets import narrow_to_targets
from reconciler.report.plan import plan_json
from reconciler.usecases.apply import ApplyRequest, ApplyUi, Refused, apply
from reconciler.usecases.loading import load_fleet
from reconciler.usecases.plan import PlanRequest, plan_with, scope

YES = ApplyUi(prompt=lambda plan: True)
CERT_KINDS = {"csr.generate", "cert.issue", "cert.install", "node.restart"}


async def plan_for(lab: InProcessLab, root: Path, *targets: str) -> Plan:
    session = session_of(lab, root)
    now = datetime.now(UTC)
    loaded = load_fleet(session, now)
    chosen = scope(loaded.fleet, PlanRequest(targets))
    drivers = lab.drivers(loaded.fleet.desired)
    return (await plan_with(session, loaded, drivers, now, chosen)).plan


def prune_expe1(root: Path) -> None:
    node_file = root / "nodes" / "expe1.yaml"
    node_file.write_text(
        node_file.read_text().replace("trust: []", "trust: {cas: [], prune: true}"))


async def test_node_never_changes_another_nodes_certificate(
    lab: InProcessLab, desired: Path
) -> None:
    prune_expe1(desired)
    await ready_to_install(lab, desired)
    whole = await plan_for(lab, desired)
    assert {("cert.install", "expc1"), ("node.restart", "expc1")} <= {
        (a.kind, a.node) for a in whole.actions}
    narrowed = await plan_for(lab, desired, "expe1")
    assert narrowed.targets == ("expe1",)
    others = [(a.kind, a.node) for a in narrowed.actions if a.node != "expe1"]
    assert not [o for o in others if o[0] in CERT_KINDS], others
    assert all(kind in ("trust.add", "service.restart") for kind, _ in others), others
    assert ("cert.install", "expe1") in {(a.kind, a.node) for a in narrowed.actions}
    # a self-contained plan: every dependency is in it
    ids = {a.id for a in narrowed.actions}
    assert all(dep in ids for a in narrowed.actions for dep in a.depends_on)


def draft(aid: str, *deps: str) -> Draft:
    node, kind = aid.split("/")[:2]
    return Draft(id=aid, kind=kind, node=node, reason="t",  # type: ignore[arg-type]
                 depends_on=frozenset(deps))


def test_a_target_action_that_waits_for_a_peers_certificate_is_held() -> None:
    """prune: true on expe1 removes the old CA only once expc1 no longer chains to it."""
    drafts = {d.id: d for d in (
        draft("expe1/trust.add/new"),
        draft("expc1/trust.add/new"),
        draft("expc1/cert.install", "expc1/trust.add/new", "expe1/trust.add/new"),
        draft("expc1/node.restart", "expc1/cert.install"),
        draft("expe1/cert.install", "expe1/trust.add/new", "expc1/trust.add/new"),
        draft("expe1/node.restart", "expe1/cert.install", "expc1/node.restart"),
        draft("expe1/trust.remove/old", "expe1/node.restart", "expc1/node.restart"),
    )}
    kept, notes = narrow_to_targets(drafts, frozenset({"expe1"}))
    assert sorted(kept) == ["expc1/trust.add/new", "expe1/cert.install", "expe1/node.restart",
                            "expe1/trust.add/new"]
    # the wait between the two restarts only ordered them: dropped with expc1's restart
    assert kept["expe1/node.restart"].depends_on == {"expe1/cert.install"}
    [note] = notes
    assert note.code == "target.held" and note.node == "expe1"
    assert "trust.remove" in note.message and "node.restart of expc1" in note.message


async def test_apply_node_changes_only_that_nodes_certificate(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    await ready_to_install(lab, desired)
    before = {n: installed(lab, n) for n in ("expe1", "expc1", "cucm-pub")}
    run = await apply(session_of(lab, desired),
                      ApplyRequest(desired, auto_approve=True, targets=("expe1",)), YES)
    assert run.result is not None and run.result.ok
    assert run.plan.targets == ("expe1",)
    assert installed(lab, "expe1") != before["expe1"]
    assert installed(lab, "expc1") == before["expc1"]
    assert installed(lab, "cucm-pub") == before["cucm-pub"]
    # a saved plan made for every node is not applied as if it were for one
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan_json((await plan_for(lab, desired)).model_copy(
        update={"desired_root": str(desired)})))
    with pytest.raises(Refused, match="made for every node"):
        await apply(session_of(lab, desired),
                    ApplyRequest(plan_file, directory=desired, targets=("expe1",)), YES)
