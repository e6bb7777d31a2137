"""Fixtures: the in-process labs with every Unified CM node at release 12.5 (no REST API)."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from labfixtures import clab, desired, lab

from reconciler.lab.ca import reuse_rsa_keys
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.topology import (
    clustered_topology,
    example_topology,
    with_cucm_version,
)

OLD = "12.5.1.16900-48"

__all__ = ["clab", "clab125", "desired", "lab", "lab125"]


@pytest.fixture
async def lab125(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    """The example fleet with cucm-pub at 12.5."""
    reuse_rsa_keys()
    topology = with_cucm_version(example_topology(), OLD)
    async with InProcessLab.start(tmp_path / "lab", topology=topology) as running:
        yield running


@pytest.fixture
async def clab125(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    """The clustered topology with the Unified CM cluster at 12.5."""
    reuse_rsa_keys()
    topology = with_cucm_version(clustered_topology(replication_seconds=0.02), OLD)
    async with InProcessLab.start(tmp_path / "lab", topology=topology) as running:
        yield running
