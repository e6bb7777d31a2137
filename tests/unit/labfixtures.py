"""The in-process lab fixtures, once: conftests (and test modules outside tests/unit) import
them so pytest sees them where they are needed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from unitkit import copy_desired

from reconciler.lab.ca import reuse_rsa_keys
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.topology import clustered_topology


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    """The example fleet (expe1, expc1, cucm-pub) as an in-process lab."""
    reuse_rsa_keys()  # the same distinct keys in every lab: RSA generation is the slow part
    async with InProcessLab.start(tmp_path / "lab") as running:
        yield running


@pytest.fixture
async def clab(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    """The clustered topology (E pair, C pair, Unified CM publisher and two subscribers)."""
    reuse_rsa_keys()
    topology = clustered_topology(replication_seconds=0.02)
    async with InProcessLab.start(tmp_path / "lab", topology=topology) as running:
        yield running


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    """A private copy of the repository's example desired state."""
    return copy_desired(tmp_path)
