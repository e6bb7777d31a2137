"""Fixtures: the example fleet as an in-process lab (no sockets) and a copy of the desired state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from unitkit import copy_desired

from reconciler.lab.ca import reuse_rsa_keys
from reconciler.lab.inprocess import InProcessLab


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    reuse_rsa_keys()  # the same distinct keys in every lab: RSA generation is the slow part
    async with InProcessLab.start(tmp_path / "lab") as running:
        yield running


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    return copy_desired(tmp_path)
