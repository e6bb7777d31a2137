"""Fixtures: a small lab over real HTTPS on loopback, clients that verify its TLS."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The repo may not be pip-installed in the venv: make ``reconciler`` importable.
REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from labhelpers import NodeClient, refused, served_sha256, small_topology  # noqa: E402

from reconciler.lab import LabThread, start_lab  # noqa: E402
from reconciler.lab.ca import reuse_rsa_keys  # noqa: E402


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabThread]:
    reuse_rsa_keys()  # RSA generation is the slow part of a lab's start
    with start_lab(tmp_path / "lab", topology=small_topology()) as running:
        yield running


@pytest.fixture
def client(lab: LabThread) -> Any:
    def make(name: str, **kw: Any) -> NodeClient:
        return NodeClient(lab, name, **kw)

    return make


@pytest.fixture
def served() -> Any:
    return served_sha256


@pytest.fixture
def is_refused() -> Any:
    return refused
