"""Reads started while the desired state is still loading (``plan`` of a whole fleet).

The loader hands over each node as soon as its file validates; its read starts at once, so
loading the rest of the fleet runs in the network waits of the reads already under way.
Reads are read-only, and nothing read early is trusted blindly: once the whole desired state
has loaded, ``adopt`` makes the endpoints again with every check of ``make_drivers`` (a
missing credential anywhere still fails the plan, before any plan exists) and keeps an
early read only where the endpoint and the fleet's CAs are exactly the ones it used; any
other node is read again, and reads of nodes the loaded state leaves out are cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.drivers.base import Driver, Endpoint, gather_or_cancel
from reconciler.drivers.errors import ConfigError
from reconciler.drivers.fleet import (
    Inventory,
    ca_pems_of,
    endpoint_for,
    endpoints_for,
    fleet_ca_pems,
    make_driver,
    read_one,
)
from reconciler.drivers.http import HttpSettings
from reconciler.drivers.seams import NETWORK, DriverFactory
from reconciler.model import Desired, DesiredNode, LiveNode, PemFile


@dataclass(frozen=True)
class _Started:
    endpoint: Endpoint
    cas: tuple[bytes, ...]
    driver: Driver
    task: asyncio.Task[LiveNode]


class EarlyReads:
    """Node reads started as the loader hands nodes over, ``parallelism`` at a time in all."""

    def __init__(self, inventory: Inventory, env: Mapping[str, str], settings: HttpSettings,
                 factory: DriverFactory = NETWORK, parallelism: int = 16) -> None:
        self._inventory, self._env, self._settings = inventory, env, settings
        self._factory = factory
        self._gate = asyncio.Semaphore(max(1, parallelism))
        self._started: dict[str, _Started] = {}
        self._adopted: set[str] = set()

    def start(self, node: DesiredNode, files: Mapping[str, PemFile]) -> None:
        """Start reading ``node`` (the loader's ``ParsedNode``), unless it cannot be reached
        yet: a configuration problem is raised later by ``adopt``, with every other one."""
        if node.name in self._started:  # a duplicate name: the loader reports it
            return
        try:
            endpoint = endpoint_for(node, self._inventory, self._env, files)
        except ConfigError:
            return
        cas = ca_pems_of(files, self._inventory)
        driver = make_driver(endpoint, cas, self._settings, self._factory)
        task = asyncio.get_running_loop().create_task(read_one(self._gate, node.name, driver))
        self._started[node.name] = _Started(endpoint, tuple(cas), driver, task)

    def adopt(self, desired: Desired, names: list[str]) -> dict[str, Driver]:
        """The drivers of ``names`` as ``make_drivers`` makes them (ConfigError likewise), the
        early ones kept where the loaded state gives the same endpoint and CAs."""
        endpoints = endpoints_for(desired, names, self._inventory, self._env)
        cas = fleet_ca_pems(desired, self._inventory)
        drivers: dict[str, Driver] = {}
        for name, endpoint in endpoints.items():
            early = self._started.get(name)
            if early is not None and early.endpoint == endpoint and early.cas == tuple(cas):
                drivers[name] = early.driver
                self._adopted.add(name)
            else:
                drivers[name] = make_driver(endpoint, cas, self._settings, self._factory)
        return drivers

    async def read(self, drivers: Mapping[str, Driver]) -> dict[str, LiveNode]:
        """Every node of ``drivers``: the early reads awaited, the others read now."""
        names = sorted(drivers)
        reads = [self._started[n].task if n in self._adopted else
                 read_one(self._gate, n, drivers[n]) for n in names]
        results = await gather_or_cancel(*reads)
        return dict(zip(names, results, strict=True))

    async def close(self) -> None:
        """Cancel every read still running (after ``read``, none is; before it, on an error,
        all may be) and close the drivers not adopted (the caller closes the adopted ones)."""
        for started in self._started.values():  # done (awaited by ``read``) unless it failed
            started.task.cancel()
        for started in self._started.values():
            with contextlib.suppress(BaseException):
                await started.task
        left = [s for n, s in self._started.items() if n not in self._adopted]
        await asyncio.gather(*(s.driver.aclose() for s in left), return_exceptions=True)
