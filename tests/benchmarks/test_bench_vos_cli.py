"""The CLI read benchmark (issue 23) at a CI size, as a functional test: one SSH session
per read, one command per trust certificate plus six, the same certificates as the REST
read. No timing assertions (the figures are in benchmarks/README.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import bench_vos_cli  # noqa: E402


@pytest.mark.lab
def test_cli_read_benchmark_is_one_session_per_read() -> None:
    rows = bench_vos_cli.bench(builtin=5, latencies=[0], rounds=2)
    cli, rest = rows
    assert (cli["transport"], rest["transport"]) == ("cli", "rest")
    assert cli["trust_certs"] == rest["trust_certs"] == 4 * 5 + 4  # lab CAs in two stores
    # The lab's inventory declares the CLI of the REST node too: its version and pending
    # CSRs are read over one session of three commands (pagination, version, CSR list).
    assert cli["ssh_sessions_per_read"] == rest["ssh_sessions_per_read"] == 1
    assert rest["cli_cmds_per_read"] == 3
    # + a show per other identity the lab lists (CallManager, CAPF, TVS, ITLRecovery)
    assert cli["cli_cmds_per_read"] == cli["trust_certs"] + 6 + 4
    assert cli["http_per_read"] == rest["http_per_read"] == 1  # the 404, the inventory
    assert cli["cli_÷_rest_wall"] > 0
