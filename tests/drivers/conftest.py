"""Fixtures: a small lab over real HTTPS on loopback, and drivers built from its inventory."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from drvhelpers import FAST, MakeDriver, driver_topology

from reconciler.drivers import Driver, HttpSettings
from reconciler.drivers.fleet import Inventory, endpoint_from_inventory, load_inventory, make_driver
from reconciler.lab import LabThread, start_lab
from reconciler.lab.ca import reuse_rsa_keys


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabThread]:
    reuse_rsa_keys()  # RSA generation is the slow part of a lab's start
    with start_lab(tmp_path / "lab", topology=driver_topology(), restart_seconds=0.2) as running:
        yield running


@pytest.fixture
def inventory(lab: LabThread) -> Inventory:
    return load_inventory(lab.lab.paths.inventory)


@pytest.fixture
def password(inventory: Inventory) -> str:
    secret = inventory.nodes["expe1"].password
    assert secret and len(secret) > 8
    return secret


@pytest.fixture
async def driver(inventory: Inventory) -> AsyncIterator[MakeDriver]:
    """``driver("expe1", password="x", tls_verify=False, cas=False)``: a driver for a lab node.

    Keyword arguments other than ``cas``/``settings`` replace fields of the node's Endpoint.
    """
    made: list[Driver] = []

    def make(name: str, *, cas: bool = True, settings: HttpSettings = FAST,
             **endpoint: Any) -> Any:
        ep = dataclasses.replace(endpoint_from_inventory(name, inventory), **endpoint)
        d = make_driver(ep, list(inventory.ca_pems) if cas else [], settings)
        if hasattr(d, "poll_seconds"):
            d.poll_seconds = 0.05  # CUCM service-status polling
        made.append(d)
        return d

    yield make
    for d in made:
        await d.aclose()
