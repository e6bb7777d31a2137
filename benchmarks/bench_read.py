"""The read phase alone: CPU per node of ``read_all`` (TLS, HTTP, decoding, PEM splitting),
without start-up, loading or planning. The desired state is loaded once per process; each
round builds fresh drivers (one TLS handshake per node) and reads every node.

    python benchmarks/bench_read.py --desired DIR --inventory LAB/inventory.yaml \
        [--rounds 3] [--pairs 3] [--only expressway|cucm] [--vs ../before]

With ``--vs`` the other checkout reads in turn with this one (A B A B ...), each in its own
process, and the ratio is taken pair by pair. Uses a running lab (``certops lab up
--detach``) and a desired state imported from it (``certops import``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from common import ROOT, save, table

PREFIX = {"expressway": ("expe", "expc", "vcs"), "cucm": ("cucm",)}


def child(desired: Path, inventory: Path, rounds: int, only: str | None) -> list[float]:
    """In the measured checkout: ms of CPU per node for each round of ``read_all``."""
    import asyncio
    import time

    from reconciler.cli.live import session_for
    from reconciler.drivers.fleet import close_all, read_all
    from reconciler.usecases.loading import load_fleet

    session = session_for(desired, inventory, 16)
    loaded = load_fleet(session, session.now())
    names = [n for n in sorted(loaded.fleet.nodes)
             if only is None or n.startswith(PREFIX[only])]
    out: list[float] = []
    for _ in range(rounds):
        drivers = session.connect(loaded.fleet.desired, names)

        async def go(drivers: Any = drivers) -> dict[str, Any]:
            try:
                return await read_all(drivers, 16)
            finally:
                await close_all(drivers)

        start = time.process_time()
        live = asyncio.run(go())
        out.append((time.process_time() - start) * 1000 / len(names))
        failed = sorted(n for n, node in live.items() if node.error)
        if failed:
            raise SystemExit(f"not read: {', '.join(failed[:5])}")
    return out


def measure(checkout: Path, args: argparse.Namespace) -> list[float]:
    """One child process on ``checkout``: its per-round figures."""
    argv = [sys.executable, __file__, "--child", "--desired", str(args.desired),
            "--inventory", str(args.inventory), "--rounds", str(args.rounds)]
    if args.only:
        argv += ["--only", args.only]
    env = {**os.environ, "PYTHONPATH": str(checkout.resolve())}
    done = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--desired", type=Path, required=True)
    ap.add_argument("--inventory", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--only", choices=sorted(PREFIX))
    ap.add_argument("--vs", type=Path, help="another checkout of certops to compare with")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.desired, args.inventory, args.rounds, args.only)))
        return
    sides = {"this": ROOT, **({"vs": args.vs} if args.vs else {})}
    seen: dict[str, list[float]] = {side: [] for side in sides}
    ratios: list[float] = []
    for _ in range(args.pairs):
        medians = {}
        for side, checkout in sides.items():
            rounds = measure(checkout, args)
            seen[side].extend(rounds)
            medians[side] = statistics.median(rounds)
        if args.vs:
            ratios.append(medians["this"] / medians["vs"])
    rows: list[dict[str, Any]] = [
        {"checkout": str(sides[side]), "nodes": args.only or "all",
         "median_cpu_ms_per_node": round(statistics.median(v), 2),
         "min_cpu_ms_per_node": round(min(v), 2)} for side, v in seen.items()]
    if ratios:
        rows[0]["÷vs (pair medians)"] = round(statistics.median(ratios), 3)
    print(table(rows, list(rows[0])))
    save("read", rows)


if __name__ == "__main__":
    main()
