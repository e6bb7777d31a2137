"""A CI-sized run of the benchmarks (N = 20) as a functional test: exit codes, request
bounds, the harness's own bookkeeping. No timing assertions (timings are in benchmarks/)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_plan  # noqa: E402
import bench_validate  # noqa: E402
from common import certops  # noqa: E402


@pytest.mark.lab
def test_plan_benchmark_at_n20() -> None:
    both = bench_plan.bench([20], [0, 20], parallelism=16, builtin=20)
    assert [r["exit"] for r in both] == [0, 0, 0, 0]
    # The naive threaded reader runs beside certops, on the same endpoints.
    assert [r["reader"] for r in both] == ["certops", "naive"] * 2
    rows = [r for r in both if r["reader"] == "certops"]
    for row in rows:
        # Expressway: sysinfo, certificate, CSR, trust list; CUCM: the inventory alone.
        assert row["req_per_node_max"] == 4
        assert 3 * 20 <= row["requests"] <= 4 * 20
        assert row["cpu_s"] > 0 and row["peak_mb"] > 0
    # The old chain (5 per CUCM) bounds it: 5 requests × 20 ms × ceil(20 / 16).
    assert rows[1]["net_limit_s"] == pytest.approx(5 * 0.020 * 2)
    assert both[3]["requests"] == rows[1]["requests"]


def test_validate_benchmark_tree_is_valid() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "desired"
        bench_validate.make_tree(root, 50)
        assert len(list((root / "nodes").glob("*.yaml"))) == 50
        result = certops("validate", str(root))
        assert result.code == 0, result.output[-2000:]
        assert "valid: 50 nodes" in result.output
