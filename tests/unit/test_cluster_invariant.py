"""The cluster invariant, at every instant of an apply on a clustered fleet (issue 12).

"Each cluster has at least members - max_unavailable members up, and every member that is
up serves a certificate that every member of every linked cluster trusts." The lab records
each node's availability, served certificate and trust over time
(``reconciler.lab.availability``); these tests replay that timeline during the seed's
new-CA renewal on the clustered topology (an E pair, a C pair, a Unified CM publisher with
two subscribers) and check the invariant after every change, so at every instant. With a
fault injected at each phase (a 503 during a trust upload, a restart that never comes back,
replication that does not arrive in time) the invariant still holds, the apply stops (no
action starts after the first failure) and a second run converges.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from unitkit import (
    REPO,
    Events,
    allow_csr_replacement,
    apply,
    plan,
    session_of,
    use_certificate,
)

from reconciler.lab.availability import Sample, violations
from reconciler.lab.ca import reuse_rsa_keys
from reconciler.lab.faults import Fault
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.topology import DEMO_CALLS, clustered_topology
from reconciler.model import Action, ApplyResult
from reconciler.model.common import CertSummary
from reconciler.planning.graph import Draft, action_id, restart_waves
from reconciler.planning.replication import await_replication, publisher_of
from reconciler.usecases.loading import load_fleet

EXPE, EXPC = ("expe1", "expe2"), ("expc1", "expc2")
CUCM = ("cucm-pub", "cucm-sub1", "cucm-sub2")
NODES = (*EXPE, *EXPC, *CUCM)
NEW_CA = "CN=certops Lab Issuing CA New"



@pytest.fixture
def cdesired(tmp_path: Path) -> Path:
    root = tmp_path / "desired-state-clusters"
    shutil.copytree(REPO / "desired-state-clusters", root)
    for node in CUCM:  # the lab's Unified CM nodes have no pending CSR (see unitkit)
        allow_csr_replacement(root, node)
    return root


async def renewal_ready(lab: InProcessLab, root: Path) -> None:
    """CSRs generated on every member, each signed by the NEW CA: the seed's renewal."""
    _, result = await apply(lab, root)
    assert result is not None and result.ok, result
    for node in NODES:
        csr = (root / "csrs" / f"{node}.csr.pem").read_text()
        use_certificate(root, node, lab.sign(csr, "new"))


@dataclass
class Recorded:
    result: ApplyResult | None
    events: Events
    breaches: list[str]
    samples: list[Sample]


async def recorded_apply(lab: InProcessLab, root: Path, events: Events | None = None,
                         ) -> Recorded:
    """An apply with the lab's timeline replayed against the invariant afterwards."""
    timeline = lab.lab.timeline
    start = {n: s for n in NODES if (s := timeline.last(n)) is not None}
    mark = timeline.mark()
    events = events or Events()
    _, result = await apply(lab, root, events)
    samples = timeline.since(mark)
    breaches = violations(samples, lab.lab.clusters, lab.lab.links, start)
    return Recorded(result, events, breaches, samples)


def serves_new(lab: InProcessLab) -> dict[str, bool]:
    """Whether each node serves a certificate of the NEW CA now (its last sample)."""
    last = {n: lab.lab.timeline.last(n) for n in NODES}
    return {n: s is not None and s.served_issuer == NEW_CA for n, s in last.items()}


async def test_clustered_renewal_keeps_the_invariant(clab: InProcessLab, cdesired: Path) -> None:
    await renewal_ready(clab, cdesired)
    run, _ = await plan(clab, cdesired)
    waves = restart_waves(run.plan.actions)
    # Publisher first, then the subscribers one at a time; the pairs in turn.
    trust = [waves[f"{n}/service.restart/trust"] for n in CUCM]
    assert trust == sorted(set(trust))
    assert waves["expe1/node.restart"] != waves["expe2/node.restart"]
    waits = [a for a in run.plan.actions if a.replicated_from]
    assert {(a.node, a.store) for a in waits} == {
        ("cucm-sub1", "callmanager-trust"), ("cucm-sub2", "callmanager-trust")}
    got = await recorded_apply(clab, cdesired)
    assert got.result is not None and got.result.ok, got.result
    assert got.breaches == []
    details = {r.id: r.detail for r in got.result.results}
    # No upload on a subscriber: the publisher's copy arrived (before or during the wait).
    assert all(details[a.id] == "already present" or "replicated from cucm-pub" in details[a.id]
               for a in waits), [details[a.id] for a in waits]
    await clab.wait_idle()
    assert all(serves_new(clab).values()), serves_new(clab)
    # Each member went down once at least, and never two of one cluster at once (above).
    assert {s.node for s in got.samples if not s.up} == set(NODES)


@dataclass(frozen=True)
class Injection:
    """A fault set on ``node`` when the action ``at`` starts (``None``: from the start)."""

    node: str
    fault: Fault
    at: str | None = None


HANG = Fault(restart_hang=True)
FAIL_UPLOAD = Fault(match="trust.add", status=503)
INJECTIONS = {
    "503 on the publisher's trust upload": Injection("cucm-pub", FAIL_UPLOAD),
    "503 on a subscriber's trust upload": Injection("cucm-sub2", FAIL_UPLOAD),
    "503 on an Expressway-E trust upload": Injection("expe2", FAIL_UPLOAD),
    "a subscriber's trust restart hangs": Injection(
        "cucm-sub1", HANG, "cucm-sub1/service.restart/trust"),
    "the publisher's Tomcat restart hangs": Injection(
        "cucm-pub", HANG, "cucm-pub/service.restart/identity"),
    "an Expressway-E restart hangs": Injection("expe2", HANG, "expe2/node.restart"),
    "an Expressway-C restart hangs": Injection("expc1", HANG, "expc1/node.restart"),
}


def injecting(lab: InProcessLab, injection: Injection) -> Events:
    """Events that set the fault when its action starts."""
    if injection.at is None:
        lab.set_fault(injection.node, injection.fault.model_copy())
        return Events()

    @dataclass
    class Injecting(Events):
        def __call__(self, event: str, action: Action, detail: str) -> None:
            if event == "started" and action.id == injection.at:
                lab.set_fault(injection.node, injection.fault.model_copy())
            super().__call__(event, action, detail)

    return Injecting()


async def fail_then_converge(lab: InProcessLab, root: Path, events: Events,
                             node: str) -> None:
    """The apply stops with the invariant held; with the fault gone, a second run converges."""
    got = await recorded_apply(lab, root, events)
    assert got.result is not None and not got.result.ok
    assert got.breaches == []
    assert events.started_after_first_failure() == []
    lab.clear_faults(node)
    await lab.wait_idle()  # a hung restart comes back once its fault is cleared
    again = await recorded_apply(lab, root)
    assert again.result is not None and again.result.ok, again.result
    assert again.breaches == []
    await lab.wait_idle()
    run, _ = await plan(lab, root)
    assert run.plan.actions == ()
    assert all(serves_new(lab).values()), serves_new(lab)


@pytest.mark.parametrize("name", sorted(INJECTIONS))
async def test_a_fault_at_each_phase_keeps_the_invariant(
    clab: InProcessLab, cdesired: Path, name: str
) -> None:
    injection = INJECTIONS[name]
    await renewal_ready(clab, cdesired)
    events = injecting(clab, injection)
    await fail_then_converge(clab, cdesired, events, injection.node)


async def test_replication_late_stops_before_any_install(
    tmp_path: Path, cdesired: Path
) -> None:
    """The subscribers' callmanager-trust does not show the publisher's upload within the
    deadline: their waits fail, nothing that needs that trust is installed or restarted,
    and a later run (replication done) converges."""
    reuse_rsa_keys()
    slow = clustered_topology(replication_seconds=1.5)
    async with InProcessLab.start(tmp_path / "slow", topology=slow) as lab:
        await renewal_ready(lab, cdesired)
        got = await recorded_apply(lab, cdesired)
        assert got.result is not None and not got.result.ok
        failed = {r.id for r in got.result.results if r.outcome == "failed"}
        assert failed and all("/trust.add/callmanager-trust/" in f for f in failed)
        # Nothing linked to the Unified CM cluster was installed or restarted (the E pair's
        # renewal needs no callmanager-trust and may go ahead).
        assert not [r for r in got.result.results if r.node in (*EXPC, *CUCM)
                    and r.kind in ("cert.install", "node.restart") and r.outcome == "done"]
        assert got.breaches == []
        await lab.wait_idle()  # the replication arrives
        again = await recorded_apply(lab, cdesired)
        assert again.result is not None and again.result.ok, again.result
        assert again.breaches == []


async def test_the_check_bites_when_the_desired_budget_exceeds_the_lab_s(
    clab: InProcessLab, cdesired: Path
) -> None:
    """Desired state allowing all three Unified CM nodes down at once (max_unavailable 3)
    against a lab whose cluster tolerates one: the timeline shows the breach."""
    fleet = cdesired / "certops.yaml"
    fleet.write_text(fleet.read_text().replace("max_unavailable: 1", "max_unavailable: 3"))
    await renewal_ready(clab, cdesired)
    got = await recorded_apply(clab, cdesired)
    assert got.result is not None and got.result.ok
    assert any("cluster cucm:" in b and "down at once" in b for b in got.breaches)


def sample(node: str, t: float, *, up: bool = True, chain: str = "new",
           trusts: tuple[str, ...] = ("old", "new")) -> Sample:
    return Sample(t=t, node=node, up=up, served_sha=f"{node}-{chain}", served_subject=node,
                  served_issuer=chain, chain_shas=frozenset({chain}),
                  trusted_shas=frozenset(trusts))


def test_a_member_serving_what_a_linked_node_does_not_trust_is_a_breach() -> None:
    from reconciler.lab.availability import ClusterRule

    start = {"a": sample("a", 0, chain="old"), "b": sample("b", 0, chain="old", trusts=("old",))}
    timeline = [sample("a", 1, up=False), sample("a", 2, chain="new")]
    found = violations(timeline, [ClusterRule("ab", ("a", "b"))], {"a": {"b"}, "b": {"a"}},
                       start)
    assert found == ["t=2.000 a serves 'a' (issuer 'new') which b does not trust"]
    assert violations(timeline[:1], [ClusterRule("ab", ("a", "b"))], {"a": {"b"}}, start) == []


def test_the_yaml_example_is_clustered_topology() -> None:
    from reconciler.lab.topology import load_topology

    yaml = load_topology(REPO / "reconciler" / "lab" / "topologies" / "clusters.yaml")
    assert yaml == clustered_topology(replication_seconds=0.5, calls=DEMO_CALLS)


async def test_a_subscriber_waits_only_where_the_publisher_uploads_the_ca(
    clab: InProcessLab, cdesired: Path
) -> None:
    """``await_replication``: only callmanager-trust of a subscriber, only where the
    plan uploads the CA on the publisher; everything else uploads."""
    await renewal_ready(clab, cdesired)
    fleet = load_fleet(session_of(clab, cdesired), datetime.now(UTC)).fleet
    store = "callmanager-trust"
    _, entry = sorted(fleet.nodes["cucm-pub"].trust[store].items())[0]

    def add(node: str, where: str = store, summary: CertSummary | None = None) -> Draft:
        cert = summary or entry.cert.summary()
        return Draft(id=action_id(node, "trust.add", where, cert.sha256[:16]), kind="trust.add",
                     node=node, store=where, certificate=cert, reason="planned")

    stranger = entry.cert.summary().model_copy(update={"sha256": "f" * 64})
    drafts = {d.id: d for d in (add("cucm-pub"), add("cucm-sub1"), add("cucm-sub2"),
                                add("cucm-sub1", "tomcat-trust"), add("expc1", "trusted-ca-list"),
                                add("cucm-sub2", summary=stranger))}
    out = await_replication(fleet, frozenset(NODES), drafts)
    waits = {d.id for d in out.values() if d.replicated_from == "cucm-pub"}
    assert waits == {add("cucm-sub1").id, add("cucm-sub2").id}
    assert all(add("cucm-pub").id in out[w].depends_on for w in waits)
    # The publisher not read (unreachable, outside the shard): every member uploads.
    unread = await_replication(fleet, frozenset(NODES) - {"cucm-pub"}, drafts)
    assert not [d for d in unread.values() if d.replicated_from]
    # The publisher already has the CA (no upload planned there): the subscribers upload.
    without = {k: d for k, d in drafts.items() if d.node != "cucm-pub"}
    assert not [d for d in await_replication(fleet, frozenset(NODES), without).values()
                if d.replicated_from]
    assert publisher_of(fleet, "cucm-pub", store) is None
    assert publisher_of(fleet, "cucm-sub1", "tomcat-trust") is None
    assert publisher_of(fleet, "expc2", "trusted-ca-list") is None
