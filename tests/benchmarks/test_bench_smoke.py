"""A CI-sized run of the benchmarks (N = 20) as a functional test: exit codes, request
bounds, the harness's own bookkeeping. No timing assertions (timings are in benchmarks/)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_apply  # noqa: E402
import bench_plan  # noqa: E402
import bench_validate  # noqa: E402
import common  # noqa: E402
from common import certops  # noqa: E402


@pytest.mark.lab
def test_plan_benchmark_at_n20() -> None:
    both = bench_plan.bench([20], [0, 20], parallelism=16, builtin=20)
    assert [r["exit"] for r in both] == [0, 0, 0, 0]
    # The naive threaded reader runs beside certops, on the same endpoints.
    assert [r["reader"] for r in both] == ["certops", "naive"] * 2
    rows = [r for r in both if r["reader"] == "certops"]
    for row in rows:
        # Expressway: sysinfo, certificate, CSR, trust list, RAML (the drain's capability);
        # CUCM: the inventory alone.
        assert row["req_per_node_max"] == 5
        assert 3 * 20 <= row["requests"] <= 5 * 20
        assert row["cpu_s"] > 0 and row["peak_mb"] > 0
    # The old chain (5 per CUCM) bounds it: 5 requests × 20 ms × ceil(20 / 16).
    assert rows[1]["net_limit_s"] == pytest.approx(5 * 0.020 * 2)
    assert both[3]["requests"] == rows[1]["requests"]
    # The lab declares each Unified CM's CLI: both read it, with the same commands.
    assert rows[1]["cli_commands"] == both[3]["cli_commands"] > 0


def test_plan_benchmark_strips_the_cli_from_a_copy(tmp_path: Path) -> None:
    """--no-cli: the node files' ssh_host_key (and a connection left empty) and the
    inventory's ssh keys go; everything else stays, the original is untouched."""
    desired = tmp_path / "desired"
    (desired / "nodes").mkdir(parents=True)
    key = "  ssh_host_key: ecdsa-sha2-nistp256 AAAA\n"
    only = "name: a\nconnection:\n" + key + "credentials:\n  username_env: A\n"
    more = "name: b\nconnection:\n  tls_server_name: b.lab\n" + key + "trust: {}\n"
    (desired / "nodes" / "a.yaml").write_text(only)
    (desired / "nodes" / "b.yaml").write_text(more)
    copy = common.without_cli(desired, tmp_path / "copy")
    assert (copy / "nodes" / "a.yaml").read_text() == "name: a\ncredentials:\n  username_env: A\n"
    assert (copy / "nodes" / "b.yaml").read_text() == (
        "name: b\nconnection:\n  tls_server_name: b.lab\ntrust: {}\n")
    assert (desired / "nodes" / "a.yaml").read_text() == only
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("ca_bundle: x\nnodes:\n  a: {type: cucm, ssh: 2222, "
                         "ssh_host_key: k, api: 'https://127.0.0.1:1'}\n")
    stripped = common.inventory_without_cli(inventory, tmp_path / "nocli.yaml")
    from ruamel.yaml import YAML

    data = YAML(typ="safe").load(stripped.read_text())
    assert data["nodes"]["a"] == {"type": "cucm", "api": "https://127.0.0.1:1"}


def test_validate_benchmark_tree_is_valid() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "desired"
        bench_validate.make_tree(root, 50)
        assert len(list((root / "nodes").glob("*.yaml"))) == 50
        result = certops("validate", str(root))
        assert result.code == 0, result.output[-2000:]
        assert "valid: 50 nodes" in result.output


def test_apply_limit_is_the_longest_restart_chain_or_what_the_budgets_force() -> None:
    """The restart-bound limit of bench_apply.py, on hand-made plans (no lab)."""
    site = [
        {"id": "e/cert.install", "kind": "cert.install", "node": "e", "depends_on": []},
        {"id": "c/cert.install", "kind": "cert.install", "node": "c", "depends_on": []},
        {"id": "e/node.restart", "kind": "node.restart", "node": "e",
         "depends_on": ["e/cert.install"]},
        {"id": "c/node.restart", "kind": "node.restart", "node": "c",
         "depends_on": ["c/cert.install", "e/node.restart"]},
    ]
    assert bench_apply.critical_path(site, 60.0) == (120.0, 2)
    unlinked = [{**a, "depends_on": [d for d in a["depends_on"] if "restart" not in d]}
                for a in site]
    assert bench_apply.critical_path(unlinked, 60.0) == (60.0, 1)
    # The budgets alone: linked nodes that both restart, 2R, whatever the plan's edges.
    linked = {frozenset(("e", "c"))}
    assert bench_apply.budget_bound({"e", "c"}, linked, [], 60.0) == 120.0
    assert bench_apply.budget_bound({"e"}, linked, [], 60.0) == 60.0
    assert bench_apply.budget_bound(set(), linked, [], 60.0) == 0.0
    # A cluster of five restarting members, two at a time: three waves.
    members = ("p", "s1", "s2", "s3", "s4")
    assert bench_apply.budget_bound(set(members), set(), [(members, 2)], 60.0) == 180.0


def test_apply_timeline_from_the_report() -> None:
    """At-once counts and start lags, from each action's start and seconds."""
    t0 = "2026-12-01T10:00:00+00:00"
    results = [
        {"id": "i", "kind": "cert.install", "started_at": t0, "seconds": 1.0, "depends_on": []},
        {"id": "r1", "kind": "node.restart", "started_at": "2026-12-01T10:00:01+00:00",
         "seconds": 5.0, "depends_on": ["i"]},
        {"id": "r2", "kind": "node.restart", "started_at": "2026-12-01T10:00:06.500000+00:00",
         "seconds": 5.0, "depends_on": ["r1"]},
        {"id": "r3", "kind": "node.restart", "started_at": "2026-12-01T10:00:02+00:00",
         "seconds": 5.0, "depends_on": []},
    ]
    kinds = bench_apply.RESTART_KINDS
    assert bench_apply.most_at_once(results, kinds, inside=True) == 2
    assert bench_apply.most_at_once(results, kinds, inside=False) == 1
    times = bench_apply.timeline(results, t0)
    assert times["installs_end_s"] == pytest.approx(1.0)
    assert times["restart_lag_max_s"] == pytest.approx(2.0)  # r3: ready at 0, started at 2


@pytest.mark.lab
def test_apply_benchmark_at_n20() -> None:
    """The renewal end to end at N = 20 (7 sites; restarts of 0.5 s): every action done,
    the next plan empty, the limit two restarts (each -E before its linked -C). Each of the
    14 Expressway restarts comes after its drain (no calls in this lab: at once)."""
    row = bench_apply.bench(20, 0.5, parallelism=4, poll=0.2, builtin=20)
    assert row["renewals"] == 14 and row["actions"] == 42 and row["done"] == 42
    assert row["apply_exit"] == 0 and row["apply_ok"] and row["replan_exit"] == 0
    assert row["restart_waves"] == 2
    assert row["critical_path_s"] == row["budget_bound_s"] == row["limit_s"] == 1.0
    assert row["others_at_once"] <= 4  # the installs stay within --parallelism
    assert row["apply_cpu_s"] > 0 and row["apply_peak_mb"] > 0
