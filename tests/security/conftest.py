"""Fixtures of the attack suite: the in-process lab and a private copy of the desired state.

Every test here is one attack from issue 16 (a hostile pull request, a hostile plan file, a
second apply, a misbehaving node) with the refusal certops must give.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from unitkit import copy_desired

from reconciler.lab.ca import reuse_rsa_keys
from reconciler.lab.inprocess import InProcessLab


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    reuse_rsa_keys()
    async with InProcessLab.start(tmp_path / "lab") as running:
        yield running


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    return copy_desired(tmp_path)
