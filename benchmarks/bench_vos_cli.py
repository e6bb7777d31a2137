"""Issue 23: reading a Unified CM over the platform CLI (release 12.5, no REST API) beside
reading the same kind of node over the REST API (release 14), side by side.

Two Unified CM nodes in one lab (its own process, real HTTPS and SSH on loopback): one at
14 (REST), one at 12.5 (CLI), each with ``--builtin`` built-in CAs in each of its four trust
stores (150: 600 trust certificates, as the plan benchmarks use). A child process reads
them in turn (CLI, REST, CLI, REST ...) with the driver, ``--rounds`` times, at each
per-answer latency L of ``--latencies`` (the lab delays every HTTP answer and every CLI
command by L). Reported per transport: wall and CPU per read (medians), HTTP requests and
CLI commands per read, SSH sessions per read, and the ratios taken round by round: CLI ÷
REST, and CLI wall ÷ its network bound (commands × L: a CLI answers one command at a
time, so that is the least a read can take).

    python benchmarks/bench_vos_cli.py [--builtin 150] [--latencies 0,2] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import ROOT, certops, save, table

TOPOLOGY = """\
defaults: {{restart_seconds: 1, builtin_cas: {builtin}, key: ec256}}
nodes:
  - {{name: cucm-rest, type: cucm, fqdn: cucm-rest.nart.com, version: 14.0.1.13900-155}}
  - {{name: cucm-cli, type: cucm, fqdn: cucm-cli.nart.com, version: 12.5.1.16900-48}}
"""


def child(inventory: Path, rounds: int) -> list[dict[str, Any]]:
    """In the measured process: one row per read (transport, wall, CPU, sessions)."""
    import asyncio
    import contextlib
    import time

    from reconciler.drivers.fleet import endpoint_from_inventory, load_inventory, make_driver
    from reconciler.drivers.http import HttpSettings

    inv = load_inventory(inventory)
    rows: list[dict[str, Any]] = []

    async def read(name: str) -> dict[str, Any]:
        driver: Any = make_driver(endpoint_from_inventory(name, inv), list(inv.ca_pems),
                                  HttpSettings())
        sessions = 0
        opener = driver.shell

        @contextlib.asynccontextmanager
        async def counted() -> Any:
            nonlocal sessions
            sessions += 1
            async with opener() as process:
                yield process

        driver.shell = counted
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            live = await driver.read()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        finally:
            await driver.aclose()
        if live.error:
            raise SystemExit(f"{name}: {live.error}")
        return {"transport": live.transport, "wall_s": wall, "cpu_s": cpu,
                "trust_certs": sum(len(p) for p in live.stores.values()),
                "sessions": sessions}

    for _ in range(rounds):
        for name in ("cucm-cli", "cucm-rest"):
            rows.append(asyncio.run(read(name)))
    return rows


def bench(builtin: int, latencies: list[int], rounds: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        topo = Path(tmp) / "topology.yaml"
        topo.write_text(TOPOLOGY.format(builtin=builtin))
        lab = Path(tmp) / "lab"
        certops("lab", "up", "--detach", "--dir", str(lab), "--topology", str(topo),
                check=True)
        try:
            for latency in latencies:
                out.extend(_at(lab, latency, rounds))
        finally:
            certops("lab", "down", "--dir", str(lab))
    return out


def _at(lab: Path, latency: int, rounds: int) -> list[dict[str, Any]]:
    from reconciler.lab import Fault
    from reconciler.lab.control import LabClient

    client = LabClient(lab)
    for node in ("cucm-rest", "cucm-cli"):
        client.clear_faults(node)
        if latency:
            client.set_fault(node, Fault(match="*", latency_ms=latency))
    client.reset_counters()
    argv = [sys.executable, __file__, "--child", "--inventory", str(lab / "inventory.yaml"),
            "--rounds", str(rounds)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
    reads = json.loads(done.stdout.strip().splitlines()[-1])
    counters = client.counters()
    per_read = {"cli": counters["cucm-cli"], "rest": counters["cucm-rest"]}
    cli = [r for r in reads if r["transport"] == "cli"]
    rest = [r for r in reads if r["transport"] == "rest"]
    commands = per_read["cli"]["SSH"] / rounds
    bound = commands * latency / 1000
    rows = []
    for name, got in (("cli", cli), ("rest", rest)):
        rows.append({
            "L_ms": latency, "transport": name, "trust_certs": got[0]["trust_certs"],
            "wall_ms": round(statistics.median(r["wall_s"] for r in got) * 1000, 1),
            "cpu_ms": round(statistics.median(r["cpu_s"] for r in got) * 1000, 1),
            "http_per_read": per_read[name]["total"] / rounds,
            "cli_cmds_per_read": per_read[name]["SSH"] / rounds,
            "ssh_sessions_per_read": max(r["sessions"] for r in got),
        })
    ratios = [c["wall_s"] / r["wall_s"] for c, r in zip(cli, rest, strict=True)]
    rows[0]["cli_÷_rest_wall"] = round(statistics.median(ratios), 2)
    rows[0]["cli_÷_rest_cpu"] = round(statistics.median(
        c["cpu_s"] / r["cpu_s"] for c, r in zip(cli, rest, strict=True)), 2)
    if bound:
        rows[0]["cli_÷_bound"] = round(statistics.median(c["wall_s"] for c in cli) / bound, 2)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--builtin", type=int, default=150)
    ap.add_argument("--latencies", default="0,2")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--inventory", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.inventory, args.rounds)))
        return
    rows = bench(args.builtin, [int(x) for x in args.latencies.split(",")], args.rounds)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    print(table(rows, columns))
    save("vos-cli", rows)


if __name__ == "__main__":
    main()
