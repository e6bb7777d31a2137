"""``certops drift`` (the drift use case) on the in-process lab: each kind of drift, read live."""

from __future__ import annotations

from pathlib import Path

from unitkit import NODES, apply, generate_csrs, ready_to_install, session_of

from reconciler.lab import Fault
from reconciler.lab.inprocess import InProcessLab
from reconciler.planning.drift import DriftReport
from reconciler.usecases.drift import drift as drift_of


async def drift(lab: InProcessLab, root: Path) -> DriftReport:
    """The drift report of the desired state against the lab, through the lab's DriverFactory."""
    return await drift_of(session_of(lab, root))


def codes(report: DriftReport) -> set[tuple[str, str | None]]:
    return {(f.code, f.node) for f in report.findings}


async def test_renewal_due_and_unmanaged_trust(lab: InProcessLab, desired: Path) -> None:
    report = await drift(lab, desired)
    assert not report.in_sync
    assert {("renewal.due", n) for n in NODES} <= codes(report)
    assert ("trust.unmanaged", "cucm-pub") in codes(report)
    assert report.up == {n: True for n in NODES}


async def test_pending_csrs_are_reported(lab: InProcessLab, desired: Path) -> None:
    await generate_csrs(lab, desired)
    report = await drift(lab, desired)
    assert ("csr.pending", "expe1") in codes(report) and not report.in_sync


async def test_an_unreachable_node_is_an_error(lab: InProcessLab, desired: Path) -> None:
    lab.set_fault("expc1", Fault(match="*", drop=True, count=1000))
    report = await drift(lab, desired)
    assert report.has_errors and ("node.unreachable", "expc1") in codes(report)
    assert report.up["expc1"] is False and report.up["expe1"] is True


async def test_in_sync_after_renewal_then_drift_by_hand(lab: InProcessLab, desired: Path) -> None:
    await ready_to_install(lab, desired)
    before = lab.nodes["expe1"].state.served
    _, result = await apply(lab, desired)
    assert result is not None and result.ok
    assert (await drift(lab, desired)).in_sync
    # a restart pending that certops did not cause: installed, the old one still served
    lab.nodes["expe1"].state.served = before
    report = await drift(lab, desired)
    assert not report.in_sync and ("drift.restart_pending", "expe1") in codes(report)
    # a CA removed by hand from a peer's store
    state = lab.nodes["expc1"].state
    state.trusted_cas = state.trusted_cas[:-1]
    assert ("drift.trust", "expc1") in codes(await drift(lab, desired))
