"""Fixtures: the example fleet as an in-process lab (no sockets) and a copy of the desired state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from unitkit import copy_desired

from reconciler.lab.inprocess import InProcessLab


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    async with InProcessLab.start(tmp_path / "lab") as running:
        yield running


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    return copy_desired(tmp_path)
