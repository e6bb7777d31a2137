"""``link.missing``: a forgotten link shows in the live trust stores, and the plan says so."""

from __future__ import annotations

from pathlib import Path

from unitkit import generate_csrs, plan, use_certificate

from reconciler.lab.inprocess import InProcessLab


def forget_link(root: Path) -> None:
    config = root / "certops.yaml"
    text = config.read_text()
    assert "  - [expc1, expe1]" in text
    config.write_text(text.replace("  - [expc1, expe1]", "", 1))


async def renew_expc1_with_the_new_ca(lab: InProcessLab, root: Path) -> None:
    """CSRs generated everywhere; only expc1's is signed, by the lab's new CA."""
    await generate_csrs(lab, root)
    csr = (root / "csrs" / "expc1.csr.pem").read_text()
    use_certificate(root, "expc1", lab.sign(csr, "new"))


async def test_a_forgotten_link_is_reported(lab: InProcessLab, desired: Path) -> None:
    forget_link(desired)
    await renew_expc1_with_the_new_ca(lab, desired)
    run, _ = await plan(lab, desired)
    found = [f for f in run.plan.findings if f.code == "link.missing"]
    assert [f.node for f in found] == ["expe1"], [f.render() for f in run.plan.findings]
    message = found[0].message
    assert "expc1's live certificate" in message and "Add [expc1, expe1] to links" in message
    # the plan installs expc1's certificate without giving expe1 the new CA: the warning is
    # the only thing that stands between the reviewer and a broken traversal zone
    assert not any(a.node == "expe1" for a in run.plan.actions)


async def test_linked_nodes_give_no_warning(lab: InProcessLab, desired: Path) -> None:
    await renew_expc1_with_the_new_ca(lab, desired)
    run, _ = await plan(lab, desired)
    assert not [f for f in run.plan.findings if f.code == "link.missing"]
