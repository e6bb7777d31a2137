"""The ``trust.remove`` step, through a driver that offers ``TrustRemover`` (none does yet).

The fake driver keeps one store as a list of PEMs (the lab's CAs); the step must remove the
CA named by its SHA-256, read the store back, and be idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from unitkit import plan, trust_pems

from reconciler.apply.steps import STEPS, StepContext, StepFailed
from reconciler.drivers import Endpoint, TrustRemover
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Action
from reconciler.pki import CertCache

STORE = "trusted-ca-list"


class StoreDriver:
    """Just enough of a driver: one trust store, and removal by SHA-256 when ``honest``."""

    capabilities = frozenset({"trust.remove"})

    def __init__(self, pems: Sequence[str], honest: bool = True) -> None:
        self.endpoint = Endpoint("expe1", "expressway-e", "https://expe1.invalid", "u", "p")
        self.pems, self.honest, self.removed = list(pems), honest, 0
        self.cache = CertCache()

    async def read_store(self, store: str) -> tuple[str, ...]:
        assert store == STORE
        return tuple(self.pems)

    async def trust_remove(self, store: str, sha256: str) -> None:
        self.removed += 1
        if self.honest:
            self.pems = [p for p in self.pems if self.cache.parse(p.encode())[0].sha256 != sha256]


class NoRemoval(StoreDriver):
    trust_remove = None  # type: ignore[assignment]


async def context(lab: InProcessLab, desired: Path, driver: object) -> tuple[StepContext, Action]:
    run, _ = await plan(lab, desired)
    victim = CertCache().parse(trust_pems(lab, "expe1", STORE)[0].encode())[0]
    action = Action(id="expe1/trust.remove", kind="trust.remove", node="expe1", store=STORE,
                    certificate=victim.summary(), reason="not listed and prune: true")
    ctx = StepContext(plan=run.plan, fleet=run.fleet, drivers={"expe1": driver},  # type: ignore[dict-item]
                      desired_root=desired)
    return ctx, action


async def test_removes_the_ca_and_reads_the_store_back(lab: InProcessLab, desired: Path) -> None:
    driver = StoreDriver(trust_pems(lab, "expe1", STORE))
    assert isinstance(driver, TrustRemover)
    ctx, action = await context(lab, desired, driver)
    before = len(driver.pems)
    detail = await STEPS["trust.remove"](ctx, action)
    assert detail.startswith("removed '") and len(driver.pems) == before - 1
    assert await STEPS["trust.remove"](ctx, action) == "already absent"
    assert driver.removed == 1


async def test_a_store_that_still_lists_the_ca_fails(lab: InProcessLab, desired: Path) -> None:
    driver = StoreDriver(trust_pems(lab, "expe1", STORE), honest=False)
    ctx, action = await context(lab, desired, driver)
    with pytest.raises(StepFailed, match="still lists"):
        await STEPS["trust.remove"](ctx, action)


async def test_a_driver_without_the_capability_is_refused(lab: InProcessLab,
                                                           desired: Path) -> None:
    ctx, action = await context(lab, desired, NoRemoval(trust_pems(lab, "expe1", STORE)))
    with pytest.raises(StepFailed, match="cannot remove a trusted CA"):
        await STEPS["trust.remove"](ctx, action)
