"""Safe at every instant, even unplanned (issue 21, point 3), on the clustered fleet.

After each action of the seed's new-CA renewal, every Expressway restarts without warning
(``InProcessLab.restart``: one member of each pair at a time, as an outage might). A
restarted node serves what is installed on it, so this is the moment a certificate
installed before its peers trust its chain would be refused. The lab counts a CA in a
Unified CM trust store as in effect only after the restart of the service that reads the
store (tomcat-trust: Cisco Tomcat; callmanager-trust: Cisco CallManager), so trust uploaded
but not yet effective does not count. The invariant (``reconciler.lab.availability``) must
hold over the whole timeline, and the renewal must still converge.

The steps run one at a time here (each holds one lock, and the unplanned restarts take it
after each step), so that an unplanned restart never races a planned one: the budget of a
cluster is the planner's promise, not an outage's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from test_cluster_invariant import NODES, cdesired, recorded_apply, renewal_ready, serves_new
from unitkit import plan

import reconciler.apply.executor as executor
from reconciler.apply.steps import STEPS, StepContext
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Action, Plan

__all__ = ["cdesired"]  # the fixture, shared with the cluster invariant tests
WAVES = (("expe1", "expc1"), ("expe2", "expc2"))  # never both members of a pair at once

Step = Callable[[StepContext, Action], Coroutine[Any, Any, str]]


def trust_issuing_cas_only(lab: InProcessLab) -> None:
    """Take the lab root out of every trust store: each node then trusts its peers through
    the OLD issuing CA alone, so the NEW CA's chain (root included) must be uploaded and in
    effect before a peer may serve a NEW certificate (with the root already trusted, every
    certificate of the lab would be trusted from the start, and the test could not fail)."""
    for node in lab.nodes.values():
        state = node.state
        root_pems = [p for p in state.trusted_cas if _is_root(p)]
        state.trusted_cas = [p for p in state.trusted_cas if p not in root_pems]
        for store, entries in state.trust.items():
            state.trust[store] = [e for e in entries if e.subject != e.issuer]
        node.save()


def _is_root(pem: str) -> bool:
    cert = x509.load_pem_x509_certificate(pem.encode())
    return cert.subject == cert.issuer


async def restart_every_expressway(lab: InProcessLab) -> None:
    for wave in WAVES:
        for node in wave:
            lab.restart(node)
        for node in wave:
            await asyncio.sleep(0)  # let the restart task start
            await lab.nodes[node].wait_idle()
            assert not lab.nodes[node].down


def with_unplanned_restarts(lab: InProcessLab, lock: asyncio.Lock, step: Step,
                            after: list[str]) -> Step:
    async def wrapped(ctx: StepContext, action: Action) -> str:
        async with lock:
            detail = await step(ctx, action)
            await restart_every_expressway(lab)
            after.append(action.id)
            return detail

    return wrapped


async def test_unplanned_restarts_after_every_action_keep_the_invariant(
    clab: InProcessLab, cdesired: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await renewal_ready(clab, cdesired)
    trust_issuing_cas_only(clab)
    lock = asyncio.Lock()
    after: list[str] = []
    for kind, step in list(STEPS.items()):
        monkeypatch.setitem(STEPS, kind, with_unplanned_restarts(clab, lock, step, after))
    checked = executor.still_as_planned

    async def still_as_planned(plan_: Plan, ctx: StepContext, node: str) -> None:
        async with lock:  # the compare-and-swap reads the node: not while it restarts
            await checked(plan_, ctx, node)

    monkeypatch.setattr(executor, "still_as_planned", still_as_planned)
    run, _ = await plan(clab, cdesired)
    roots = [a for a in run.plan.actions if a.kind == "trust.add" and a.certificate
             and a.certificate.subject.startswith("CN=certops Lab Root")]
    assert roots, "the root is uploaded again: the peers' trust is not there from the start"
    got = await recorded_apply(clab, cdesired)
    assert got.result is not None and got.result.ok, [
        (r.id, r.detail) for r in got.result.results if r.outcome != "done"]
    assert got.breaches == []
    assert sorted(after) == sorted(a.id for a in run.plan.actions)
    # Every Expressway went down once per action at least (planned restarts come on top).
    downs = {n: sum(1 for s in got.samples if s.node == n and not s.up) for n in NODES}
    assert all(downs[n] >= len(after) for wave in WAVES for n in wave), downs
    await clab.wait_idle()
    assert all(serves_new(clab).values()), serves_new(clab)
