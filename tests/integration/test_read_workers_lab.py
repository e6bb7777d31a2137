"""Reading in a worker process (reconciler.drivers.workers) over real HTTPS on loopback: the
worker, spawned before the drivers exist, reads the same live state as this process."""

from __future__ import annotations

import asyncio
from pathlib import Path

from reconciler.drivers import load_inventory
from reconciler.drivers.fleet import close_all, read_here
from reconciler.drivers.workers import ReadPool
from reconciler.lab import LabThread
from reconciler.usecases.loading import load_fleet
from reconciler.usecases.session import Session


def test_a_worker_reads_what_this_process_reads(lab: LabThread, desired: Path,
                                                 inventory: Path) -> None:
    session = Session(root=desired, inventory=load_inventory(inventory))
    with ReadPool(1, min_share=1) as pool:  # spawned first, as plan does
        loaded = load_fleet(session, session.now())
        names = sorted(loaded.fleet.nodes)

        async def both() -> tuple[dict[str, object], dict[str, object]]:
            drivers = session.connect(loaded.fleet.desired, names)
            try:
                return dict(await pool.read(drivers, 4)), dict(await read_here(drivers, 4))
            finally:
                await close_all(drivers)

        split, here = asyncio.run(both())
    assert pool.moved == 1  # of 3 nodes, one read in the worker (every second of the movable)
    assert list(split) == names
    assert split == here
    assert all(node.reachable for node in here.values())  # type: ignore[attr-defined]


def test_the_audit_trail_holds_the_workers_requests(lab: LabThread, desired: Path,
                                                    inventory: Path, tmp_path: Path) -> None:
    import json

    from reconciler.cli.logs import configure

    log = tmp_path / "audit.jsonl"
    configure(False, log)
    try:
        session = Session(root=desired, inventory=load_inventory(inventory))
        loaded = load_fleet(session, session.now())
        names = sorted(loaded.fleet.nodes)
        with ReadPool(1, min_share=1) as pool:

            async def read() -> None:
                drivers = session.connect(loaded.fleet.desired, names)
                try:
                    await pool.read(drivers, 4)
                finally:
                    await close_all(drivers)

            asyncio.run(read())
    finally:
        configure(False, None)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert {r["node"] for r in records if r.get("event") == "request"} == set(names)
