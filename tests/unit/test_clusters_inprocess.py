"""Clusters on the in-process lab: rolling restarts within the disruption budget.

The case the clusters issue reported: after a trust change, cucm-pub and cucm-sub1 restarted
Cisco CallManager at the same moment, dropping every phone registered to either. With the
two in one cluster (publisher cucm-pub, max_unavailable 1) the plan restarts them one at a
time, publisher first, and the executor's own events show the publisher back before the
subscriber goes down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from unitkit import Events, apply, plan, use_certificate

from reconciler.lab.ca import reuse_rsa_keys
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.topology import Topology, TopologyCluster, TopologyNode, example_topology
from reconciler.model import Plan
from reconciler.planning.graph import restart_waves

SUB = """\
name: cucm-sub1
type: cucm
api: https://cucm-sub1.nart.com:8443
credentials: {username_env: CUCM_SUB1_USER, password_env: CUCM_SUB1_PASSWORD}
server_certificate:
  subject_alt_names: [cucm-sub1.nart.com, cucm.nart.com]
trust:
  tomcat-trust: []
  callmanager-trust: []
"""


def with_subscriber() -> Topology:
    topology = example_topology()
    for node in topology.nodes:
        if node.name == "expc1":
            node.links.append("cucm-sub1")
    topology.nodes.append(TopologyNode(
        name="cucm-sub1", type="cucm", fqdn="cucm-sub1.nart.com",
        sans=["cucm-sub1.nart.com", "cucm.nart.com"], links=["expc1"],
    ))
    # One cluster in the lab too: callmanager-trust uploads on cucm-pub replicate to cucm-sub1.
    topology.clusters["cucm"] = TopologyCluster(members=["cucm-pub", "cucm-sub1"],
                                                publisher="cucm-pub")
    return topology


def clustered(root: Path, budget: int = 1) -> None:
    """cucm-pub and cucm-sub1 as one Unified CM cluster; expc1 linked to the cluster."""
    (root / "nodes" / "cucm-sub1.yaml").write_text(SUB)
    fleet = root / "certops.yaml"
    text = fleet.read_text().replace("  - [expc1, cucm-pub]", "  - [expc1, cucm]")
    text += (f"clusters:\n  cucm:\n    members: [cucm-pub, cucm-sub1]\n"
             f"    publisher: cucm-pub\n    max_unavailable: {budget}\n")
    fleet.write_text(text)


@pytest.fixture
async def lab4(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    reuse_rsa_keys()
    async with InProcessLab.start(tmp_path / "lab4", topology=with_subscriber()) as running:
        yield running


async def renewal_plan(lab: InProcessLab, root: Path) -> Plan:
    """CSRs generated on every node, expc1's signed by the NEW CA: the trust change."""
    _, result = await apply(lab, root)
    assert result is not None and result.ok, result
    csr = (root / "csrs" / "expc1.csr.pem").read_text()
    use_certificate(root, "expc1", lab.sign(csr, "new"))
    run, _ = await plan(lab, root)
    assert not run.plan.blocked, [f.render() for f in run.plan.findings]
    return run.plan


def reaches(plan: Plan, start: str, goal: str) -> bool:
    """Whether ``start`` waits (directly or not) for ``goal``."""
    deps = {a.id: set(a.depends_on) for a in plan.actions}
    todo, seen = [start], set()
    while todo:
        aid = todo.pop()
        if aid == goal:
            return True
        if aid not in seen:
            seen.add(aid)
            todo.extend(deps.get(aid, ()))
    return False


async def test_callmanager_restarts_roll_publisher_first(
    lab4: InProcessLab, desired: Path
) -> None:
    clustered(desired)
    the_plan = await renewal_plan(lab4, desired)
    pub, sub = "cucm-pub/service.restart/trust", "cucm-sub1/service.restart/trust"
    ids = {a.id for a in the_plan.actions}
    assert {pub, sub} <= ids
    assert reaches(the_plan, sub, pub) and not reaches(the_plan, pub, sub)
    waves = restart_waves(the_plan.actions)
    assert waves[pub] < waves[sub]
    events = Events()
    _, result = await apply(lab4, desired, events)
    assert result is not None and result.ok, [r.detail for r in result.results]
    # The executor's own sequence of events: the publisher is back before the subscriber goes.
    assert events.seen.index(("done", pub)) < events.seen.index(("started", sub))


async def test_a_budget_of_two_lets_both_restart_together(
    lab4: InProcessLab, desired: Path
) -> None:
    clustered(desired, budget=2)
    the_plan = await renewal_plan(lab4, desired)
    pub, sub = "cucm-pub/service.restart/trust", "cucm-sub1/service.restart/trust"
    assert not reaches(the_plan, sub, pub) and not reaches(the_plan, pub, sub)
    assert restart_waves(the_plan.actions)[pub] == restart_waves(the_plan.actions)[sub]

