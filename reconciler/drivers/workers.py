"""Reading nodes in worker processes, so that a second core works (issue 14, "both cores").

Reading is CPU-bound in one process (TLS, HTTP parsing, JSON and PEM decoding), and so is
loading the desired state. A ``ReadPool`` spawns its worker processes *before* the desired
state is loaded: their start-up (importing httpx, cryptography, the drivers: ~0.4 s) runs on
another core while this process loads and checks the desired state. Only then are the
drivers made (every configuration problem is still raised before any request) and each
worker is sent the recipes of its share of the nodes: endpoint, CA bundle, HTTP settings.
Nothing leaves this process before the desired state has been loaded and checked. When the
audit trail is on (``-v``, ``--log-file``), each worker sends its request records back and
they are written here, with the time the worker made them.

Opt-in, with ``CERTOPS_READ_WORKERS``: a number of workers, or ``auto`` for one per spare
core (at most ``MAX_WORKERS``), and only once there are ``WORKERS_FROM`` nodes per worker.
Unset means none: on the 2-core benchmark machine, where the emulated fleet shares the cores,
a worker cost more than it gave (benchmarks/README.md); where the nodes are remote and cores
are spare, measure with ``benchmarks/bench_plan.py --workers`` before turning it on.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from reconciler.drivers.base import Driver, gather_or_cancel
from reconciler.drivers.errors import ConfigError
from reconciler.drivers.http import AUDIT
from reconciler.model import LiveNode

if TYPE_CHECKING:
    from reconciler.drivers.fleet import Recipe

SETTING = "CERTOPS_READ_WORKERS"
WORKERS_FROM = 64  # nodes per worker at least: below that, a worker's start-up costs more
MAX_WORKERS = 7


def read_workers(count: int, setting: str | None, cores: int | None = None) -> int:
    """How many worker processes should read beside this one, for ``count`` nodes."""
    if cores is None:
        cores = os.cpu_count() or 1
    setting = (setting or "").strip().lower()
    if not setting:
        return 0
    if setting == "auto":
        wanted = cores - 1
    elif setting.isdigit():
        wanted = int(setting)
    else:
        raise ConfigError(f"{SETTING} is {setting!r}: set a number of worker processes "
                          "(0 for none) or auto (one per spare core), or unset it")
    return max(0, min(wanted, MAX_WORKERS, count // WORKERS_FROM))


def _warm_up() -> None:
    """In a worker, at spawn: import what reading needs, while the parent loads."""
    import reconciler.drivers.fleet  # noqa: F401  (httpx, ssl, the drivers)


class ReadPool:
    """Worker processes started early, each to read a share of the nodes."""

    def __init__(self, workers: int, min_share: int = WORKERS_FROM) -> None:
        import multiprocessing  # here: a plan without workers does not pay for the import
        from concurrent.futures import Future, ProcessPoolExecutor

        spawn = multiprocessing.get_context("spawn")  # no fork of a running event loop
        self.workers, self.min_share = workers, min_share
        self.moved = 0  # nodes the workers read in the last ``read`` (for tests, benchmarks)
        self._pool = ProcessPoolExecutor(workers, mp_context=spawn)
        # Submitting starts the processes now; each warms up while this process loads.
        self._warm: list[Future[None]] = [self._pool.submit(_warm_up) for _ in range(workers)]

    @classmethod
    def start(cls, count: int, env: Mapping[str, str]) -> ReadPool | None:
        """A pool for ``count`` nodes, or None when no worker would pay for itself."""
        workers = read_workers(count, env.get(SETTING))
        return cls(workers) if workers else None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ReadPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    async def read(self, drivers: Mapping[str, Driver], parallelism: int) -> dict[str, LiveNode]:
        """Read ``drivers``: a share here, a share in each worker; ``parallelism`` in all."""
        from reconciler.drivers.fleet import RECIPES, read_here

        names = sorted(drivers)
        movable = [n for n in names if drivers[n] in RECIPES]
        workers = min(self.workers, len(movable) // self.min_share, max(0, parallelism - 1))
        if not workers:
            self.moved = 0
            return await read_here(drivers, parallelism)
        shares = [movable[i::workers + 1] for i in range(1, workers + 1)]
        moved = {n for share in shares for n in share}
        self.moved = len(moved)
        here = {n: d for n, d in drivers.items() if n not in moved}
        gates = split(parallelism, [len(here), *(len(s) for s in shares)])
        loop, audit = asyncio.get_running_loop(), audit_on()
        remote = [loop.run_in_executor(self._pool, read_in_worker,
                                       [RECIPES[drivers[n]] for n in share], gate, audit)
                  for share, gate in zip(shares, gates[1:], strict=True)]
        mine, *theirs = await gather_or_cancel(read_here(here, gates[0]), *remote)
        merged = dict(mine)
        for part, records in theirs:
            merged.update(part)
            for record in records:
                AUDIT.handle(logging.makeLogRecord(record))
        return dict(sorted(merged.items()))


def split(parallelism: int, sizes: list[int]) -> list[int]:
    """``parallelism`` shared out in proportion to ``sizes`` (at least one each)."""
    total = max(1, sum(sizes))
    gates = [max(1, parallelism * size // total) for size in sizes]
    gates[0] += max(0, parallelism - sum(gates))
    return gates


def audit_on() -> bool:
    """The audit trail is written somewhere (reconciler.cli.logs attached a real handler)."""
    return any(not isinstance(h, logging.NullHandler) for h in AUDIT.handlers)


class _Collect(logging.Handler):
    """In a worker: keep each audit record's fields, to be written by the parent."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({k: v for k, v in vars(record).items()
                             if isinstance(v, str | int | float | type(None))})


def read_in_worker(recipes: list[Recipe], parallelism: int,
                   audit: bool = False) -> tuple[dict[str, LiveNode], list[dict[str, object]]]:
    """In a worker process: build the drivers again, read them, close them; with ``audit``,
    also the audit records of the requests made."""
    from reconciler.drivers.fleet import close_all, make_driver, read_here

    collect = _Collect()
    if audit:
        AUDIT.setLevel(logging.INFO)
        AUDIT.propagate = False
        AUDIT.addHandler(collect)
    drivers = {e.name: make_driver(e, cas, settings) for e, cas, settings in recipes}

    async def go() -> dict[str, LiveNode]:
        try:
            return await read_here(drivers, parallelism)
        finally:
            await close_all(drivers)

    try:
        return asyncio.run(go()), collect.records
    finally:
        AUDIT.removeHandler(collect)
