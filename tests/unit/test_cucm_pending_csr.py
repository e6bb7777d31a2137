"""Cisco's rule: never discard a pending CSR. Unified CM has no documented read of one and
replaces it silently with a new one, so certops plans no csr.generate there unless it has
no reason to suspect a pending CSR or the desired state allows replacing it."""

from __future__ import annotations

from pathlib import Path

from unitkit import allow_csr_replacement, apply, copy_desired, plan

from reconciler.lab.inprocess import InProcessLab


async def test_a_pending_csr_not_yet_on_the_branch_is_not_replaced(lab: InProcessLab,
                                                                   tmp_path: Path) -> None:
    root = copy_desired(tmp_path / "pr", replace_pending_csr=False)
    node = lab.nodes["cucm-pub"]
    # An earlier apply generated cucm-pub's CSR; its pull request is not merged yet.
    drivers = (await plan(lab, root))[1]
    earlier = await drivers["cucm-pub"].csr_generate(["cucm-pub.nart.com", "cucm.nart.com"])
    assert node.state.pending_csrs["tomcat"].csr_pem == earlier

    run, _ = await plan(lab, root)
    assert not [a for a in run.plan.actions if a.node == "cucm-pub" and a.kind == "csr.generate"]
    [finding] = [f for f in run.plan.findings if f.code == "csr.pending_unknown"]
    assert finding.node == "cucm-pub" and finding.severity == "warning"
    assert "no csrs/cucm-pub.csr.pem is committed" in finding.message
    assert "replace_pending_csr: true" in finding.message
    assert {a.node for a in run.plan.actions if a.kind == "csr.generate"} == {"expe1", "expc1"}

    _, result = await apply(lab, root)
    assert result is not None and result.ok
    assert node.state.pending_csrs["tomcat"].csr_pem == earlier  # the node's CSR is kept


async def test_the_flag_allows_a_new_csr_and_the_committed_one_stands_for_it(
        lab: InProcessLab, tmp_path: Path) -> None:
    root = copy_desired(tmp_path / "ok", replace_pending_csr=False)
    allow_csr_replacement(root, "cucm-pub")
    run, _ = await plan(lab, root)
    assert [a.kind for a in run.plan.actions if a.node == "cucm-pub"] == ["csr.generate"]
    assert not [f for f in run.plan.findings if f.code == "csr.pending_unknown"]
    _, result = await apply(lab, root)
    assert result is not None and result.ok and (root / "csrs" / "cucm-pub.csr.pem").is_file()

    allow_csr_replacement(root, "cucm-pub", allow=False)  # as the finding says
    run, _ = await plan(lab, root)
    assert not [a for a in run.plan.actions if a.node == "cucm-pub"]
    assert ("csr.waiting", "cucm-pub") in {(f.code, f.node) for f in run.plan.findings}
