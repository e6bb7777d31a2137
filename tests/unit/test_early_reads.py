"""Reads started while the desired state loads (``drivers/early.py``, ``plan`` of a whole fleet
or a shard): every node read once and the same plan as when the fleet loads first; an early
read kept only where the loaded state gives the same endpoint and CAs; a missing credential
still fails the plan with every problem named."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from unitkit import plan as plan_loading_first
from unitkit import session_of

from reconciler.drivers import ConfigError
from reconciler.drivers.early import EarlyReads
from reconciler.drivers.fleet import Inventory, close_all
from reconciler.lab import synthetic_topology
from reconciler.lab.inprocess import FAST_HTTP, InProcessLab
from reconciler.usecases.importing import import_fleet
from reconciler.usecases.loading import load_fleet
from reconciler.usecases.plan import PlanRequest, plan


async def _imported(tmp_path: Path, lab: InProcessLab) -> Path:
    root = tmp_path / "desired"
    await import_fleet(session_of(lab, root))
    for name in ("expe-001", "expc-001"):  # renewal due: each gets a CSR action
        path = root / "nodes" / f"{name}.yaml"
        path.write_text(re.sub(r"\n  file: \.\./certs/[^\n]+", "", path.read_text()))
    return root


async def test_plan_reads_each_node_once_and_plans_as_loading_first(tmp_path: Path) -> None:
    async with InProcessLab.start(tmp_path / "lab", topology=synthetic_topology(9)) as lab:
        root = await _imported(tmp_path, lab)
        lab.reset_counters()
        early = await plan(session_of(lab, root))
        read_early = {n: lab.counters(n)["total"] for n in sorted(lab.nodes)}
        lab.reset_counters()
        first, _ = await plan_loading_first(lab, root)
        assert read_early == {n: lab.counters(n)["total"] for n in sorted(lab.nodes)}
        assert all(read_early.values())
        assert early.plan.actions and early.plan.actions == first.plan.actions
        assert early.plan.findings == first.plan.findings
        assert early.live == first.live


async def test_a_shard_reads_its_nodes_and_their_peers(tmp_path: Path) -> None:
    async with InProcessLab.start(tmp_path / "lab", topology=synthetic_topology(9)) as lab:
        root = await _imported(tmp_path, lab)
        path = root / "nodes" / "expc-001.yaml"
        path.write_text(path.read_text().replace("name: expc-001\n",
                                                 "name: expc-001\nlabels:\n  site: one\n"))
        lab.reset_counters()
        run = await plan(session_of(lab, root), PlanRequest(selectors=("site=one",)))
        read = {n for n in lab.nodes if lab.counters(n)["total"]}
        assert read == {"expc-001", "expe-001", "cucm-001"}  # the shard and its linked peers
        assert {a.node for a in run.plan.actions} == {"expc-001"}


async def test_an_early_read_is_kept_only_for_the_same_endpoint_and_cas(tmp_path: Path) -> None:
    async with InProcessLab.start(tmp_path / "lab", topology=synthetic_topology(9)) as lab:
        root = await _imported(tmp_path, lab)
        desired = load_fleet(session_of(lab, root), datetime.now(UTC)).fleet.desired
        early = EarlyReads(lab.inventory, {}, FAST_HTTP, lab.factory, parallelism=4)
        kept, again, dropped = "expc-001", "expc-002", "expc-003"
        for name in (kept, dropped):
            node = desired.node(name)
            assert node is not None
            early.start(node, desired.files)
        node = desired.node(again)
        assert node is not None
        early.start(node, {})  # without cas/: not the CAs the loaded state gives
        lab.reset_counters()
        drivers = early.adopt(desired, [kept, again])
        try:
            live = await early.read(drivers)
        finally:
            await early.close()
            await close_all(drivers)
        assert sorted(live) == sorted([kept, again]) and all(v.reachable for v in live.values())
        assert lab.counters(again)["total"] == 2 * lab.counters(kept)["total"] > 0


async def test_a_missing_credential_still_fails_the_plan(tmp_path: Path) -> None:
    async with InProcessLab.start(tmp_path / "lab", topology=synthetic_topology(9)) as lab:
        root = await _imported(tmp_path, lab)
        entries = dict(lab.inventory.nodes)
        entries["expc-003"] = replace(entries["expc-003"], password=None)
        session = replace(session_of(lab, root),
                          inventory=Inventory(nodes=entries, ca_pems=lab.inventory.ca_pems))
        with pytest.raises(ConfigError, match="expc-003: set EXPC_003_USER and EXPC_003_PASS"):
            await plan(session)


def _label_sites(root: Path) -> None:
    """Every node file gets ``labels: {site: <its site's number>}``."""
    for path in sorted((root / "nodes").glob("*.yaml")):
        site = path.stem.rsplit("-", 1)[1]
        path.write_text(path.read_text().replace(
            f"name: {path.stem}\n", f"name: {path.stem}\nlabels:\n  site: '{site}'\n"))


async def test_shards_load_their_part_of_the_fleet_and_together_plan_what_one_run_plans(
        tmp_path: Path) -> None:
    async with InProcessLab.start(tmp_path / "lab", topology=synthetic_topology(9)) as lab:
        root = await _imported(tmp_path, lab)
        _label_sites(root)
        whole = await plan(session_of(lab, root))
        assert len({a.node for a in whole.plan.actions}) > 1
        union = []
        for site in ("001", "002", "003"):
            shard = await plan(session_of(lab, root), PlanRequest(selectors=(f"site={site}",)))
            assert set(shard.fleet.nodes) == {f"{k}-{site}" for k in ("expe", "expc", "cucm")}
            assert shard.plan.desired_digest == whole.plan.desired_digest  # the whole tree's
            union += shard.plan.actions
        assert sorted(union, key=lambda a: a.id) == sorted(whole.plan.actions, key=lambda a: a.id)


async def test_a_broken_node_file_stops_its_shard_and_one_that_hides_its_labels_all(
        tmp_path: Path) -> None:
    from reconciler.usecases.loading import InputError

    async with InProcessLab.start(tmp_path / "lab", topology=synthetic_topology(9)) as lab:
        root = await _imported(tmp_path, lab)
        _label_sites(root)
        broken = root / "nodes" / "cucm-003.yaml"
        broken.write_text(broken.read_text() + "no_such_key: 1\n")
        mine = await plan(session_of(lab, root), PlanRequest(selectors=("site=001",)))
        assert not mine.plan.blocked and {a.node for a in mine.plan.actions} == {"expc-001",
                                                                                 "expe-001"}
        with pytest.raises(InputError) as err:  # its own shard says why
            await plan(session_of(lab, root), PlanRequest(selectors=("site=003",)))
        assert any("no_such_key" in f.message for f in err.value.findings)
        broken.write_text("name: cucm-003\nlabels: {site: '003'\n")  # which shard? unknown
        with pytest.raises(InputError):
            await plan(session_of(lab, root), PlanRequest(selectors=("site=001",)))


async def test_a_shard_plan_made_from_its_part_of_the_fleet_applies(tmp_path: Path) -> None:
    """apply re-derives a saved plan from the whole desired state: a shard's plan, made from
    its part only, is one the planner derives from the whole."""
    from reconciler.report.plan import plan_json
    from reconciler.usecases.apply import ApplyRequest, ApplyUi, apply

    async with InProcessLab.start(tmp_path / "lab", topology=synthetic_topology(9)) as lab:
        root = await _imported(tmp_path, lab)
        _label_sites(root)
        shard = await plan(session_of(lab, root), PlanRequest(selectors=("site=001",)))
        saved = tmp_path / "shard-001.json"
        saved.write_text(plan_json(shard.plan))
        run = await apply(session_of(lab, root), ApplyRequest(saved, directory=root),
                          ApplyUi(prompt=lambda p: True))
        assert run.result is not None and run.result.ok
        assert {r.id for r in run.result.results} == {a.id for a in shard.plan.actions}
