"""Owed restarts survive CI: the install runs (window closed) in one checkout, is committed
as the apply workflow commits it, and the window's apply runs in a fresh ``git clone`` of
that repository, where no ``.certops/`` exists: the owed restarts run there."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from unitkit import assert_invariant, copy_desired, issuer_of, snapshot
from unitkit import plan as plan_now
from windowkit import NIGHT, NOON, at, renewal, restarts, run

from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Code
from reconciler.model.layout import OWED_RESTARTS_FILE, STATE_DIR

TRUST_RESTART = "cucm-pub/service.restart/trust"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com",
                           *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def commit_as_the_workflow(repo: Path) -> None:
    """What certops-apply.yml commits back: CSRs, certificates, the record of owed restarts."""
    git(repo, "add", "--", "desired-state/csrs", "desired-state/certs",
        f"desired-state/{OWED_RESTARTS_FILE}")
    git(repo, "commit", "-qm", "certops: CSRs and the record of owed restarts")


async def merged_renewal(lab: InProcessLab, tmp_path: Path) -> Path:
    """A repository whose main holds the signed renewal with a nightly window, and one
    apply of it run at noon (window closed) in its checkout, committed back."""
    repo = tmp_path / "repo"
    repo.mkdir()
    desired = copy_desired(repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "fleet")
    await renewal(lab, desired)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "renewal: signed certificates, nightly window")
    merged = await run(at(lab, desired, NOON), desired)
    assert merged.result is not None and merged.result.ok and merged.result.owed
    record = json.loads((desired / OWED_RESTARTS_FILE).read_text())
    # The trust uploads to cucm-pub's stores are done; the services that read them owe
    # their restart, and nothing on the node says so.
    assert record["cucm-pub"]["services"] and record["cucm-pub"]["stores"]
    commit_as_the_workflow(repo)
    return repo


def fresh_clone(repo: Path, where: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(repo), str(where)], check=True,
                   capture_output=True)
    assert not (where / "desired-state" / STATE_DIR).exists()
    return where / "desired-state"


async def test_the_windows_run_in_a_fresh_clone_runs_the_owed_restarts(
        lab: InProcessLab, tmp_path: Path) -> None:
    repo = await merged_renewal(lab, tmp_path)
    timeline = lab.nodes["cucm-pub"].timeline
    assert timeline is not None and restarts(timeline) == []
    clone = fresh_clone(repo, tmp_path / "ci-run-2")

    window = await run(at(lab, clone, NIGHT), clone)
    plan, result = window.plan, window.result
    ids = [a.id for a in plan.actions]
    assert TRUST_RESTART in ids
    trust_restart = next(a for a in plan.actions if a.id == TRUST_RESTART)
    for install in (a for a in plan.actions if a.kind == "cert.install"
                    and a.node in ("cucm-pub", "expc1")):
        assert TRUST_RESTART in install.depends_on, install.id
    assert "Cisco CallManager" in trust_restart.services
    assert not [f for f in plan.findings if f.code == Code.RESTART_RECORD_MISSING]
    assert result is not None and result.ok and not result.owed
    assert any(r.startswith("cucm-pub: restarting Cisco CallManager")
               for r in restarts(timeline))
    for node in lab.nodes:
        assert "New" in issuer_of(lab, node), node
    assert_invariant(lab)
    assert json.loads((clone / OWED_RESTARTS_FILE).read_text()) == {}


async def test_without_the_record_the_clone_restarts_to_be_safe_and_says_why(
        lab: InProcessLab, tmp_path: Path) -> None:
    repo = await merged_renewal(lab, tmp_path)
    git(repo, "rm", "-q", f"desired-state/{OWED_RESTARTS_FILE}")
    git(repo, "commit", "-qm", "the record is lost")
    clone = fresh_clone(repo, tmp_path / "ci-run-2")

    window = await run(at(lab, clone, NIGHT), clone)
    plan = window.plan
    missing = [f for f in plan.findings if f.code == Code.RESTART_RECORD_MISSING]
    assert {f.node for f in missing} == {"cucm-pub"}
    assert OWED_RESTARTS_FILE in missing[0].message
    assert plan.assumed_owed["cucm-pub"]
    restart = next(a for a in plan.actions if a.id == TRUST_RESTART)
    assert set(plan.assumed_owed["cucm-pub"]) <= set(restart.services)
    for install in (a for a in plan.actions if a.kind == "cert.install"
                    and a.node in ("cucm-pub", "expc1")):
        assert TRUST_RESTART in install.depends_on, install.id
    assert window.result is not None and window.result.ok
    assert_invariant(lab)
    # The apply that finished owes nothing: from now on the record exists (empty).
    assert json.loads((clone / OWED_RESTARTS_FILE).read_text()) == {}


async def test_a_record_that_is_a_link_or_garbage_blocks_with_one_message(
        lab: InProcessLab, tmp_path: Path) -> None:
    from reconciler.desired import load
    from reconciler.pki import CertCache

    desired = copy_desired(tmp_path)
    (desired / OWED_RESTARTS_FILE).write_text("{not json")
    garbage = [f for f in load(desired, CertCache()).findings if f.code == Code.INPUT_READ]
    assert len(garbage) == 1 and "is not JSON" in garbage[0].message
    (desired / OWED_RESTARTS_FILE).write_text('{"cucm-pub": ["Cisco Tomcat"]}')
    shape = [f for f in load(desired, CertCache()).findings if f.code == Code.INPUT_READ]
    assert len(shape) == 1 and "not certops' record" in shape[0].message
    (desired / OWED_RESTARTS_FILE).unlink()
    (tmp_path / "elsewhere.json").write_text("{}")
    (desired / OWED_RESTARTS_FILE).symlink_to(tmp_path / "elsewhere.json")
    link = [f for f in load(desired, CertCache()).findings if f.code == Code.INPUT_READ]
    assert len(link) == 1 and "symbolic link" in link[0].message
    assert str(link[0].location).startswith(str(desired))


async def test_a_saved_plan_keeps_its_assumption_and_an_edited_one_is_refused(
        lab: InProcessLab, tmp_path: Path) -> None:
    """``certops plan --out`` then ``certops apply plan.json`` without a record: apply folds
    in the plan's assumed restarts as the planner did; a plan file that assumes more (to
    make extra restarts look derived) is refused before anything is sent."""
    from reconciler.report.plan import plan_json
    from reconciler.usecases.apply import ApplyRequest, ApplyUi, Refused, apply
    from reconciler.usecases.plan import plan

    repo = await merged_renewal(lab, tmp_path)
    git(repo, "rm", "-q", f"desired-state/{OWED_RESTARTS_FILE}")
    git(repo, "commit", "-qm", "the record is lost")
    clone = fresh_clone(repo, tmp_path / "ci-run-2")
    made = (await plan(at(lab, clone, NIGHT))).plan
    assert made.assumed_owed
    data = json.loads(plan_json(made))
    # Edited with care: the assumption and the fingerprint it gives expe1, so that the
    # freshness check passes and only the assumption itself can be refused.
    _, drivers = await plan_now(lab, clone)
    faked = (await drivers["expe1"].read()).model_copy(
        update={"services_pending": ("Cisco Tomcat",)})
    data["assumed_owed"]["expe1"] = ["Cisco Tomcat"]
    data["node_fingerprints"]["expe1"] = faked.fingerprint()
    data["node_state"]["expe1"] = faked.fingerprint_parts()
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    before = snapshot(lab)
    with pytest.raises(Refused, match="assumed_owed"):
        await apply(at(lab, clone, NIGHT), ApplyRequest(edited, directory=clone),
                    ApplyUi(prompt=lambda p: True))
    assert snapshot(lab) == before
    saved = tmp_path / "plan.json"
    saved.write_text(plan_json(made))
    done = await apply(at(lab, clone, NIGHT), ApplyRequest(saved, directory=clone),
                       ApplyUi(prompt=lambda p: True))
    assert done.result is not None and done.result.ok and not done.result.owed
    assert_invariant(lab)
