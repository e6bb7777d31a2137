"""A running lab of the example topology (expe1, expc1, cucm-pub) and a copy of the example
desired state, for end-to-end tests of the commands that talk to nodes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.lab import LabThread, start_lab

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabThread]:
    with start_lab(tmp_path / "lab", restart_seconds=0.2, builtin_cas=20) as running:
        yield running


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    dst = tmp_path / "desired-state"
    shutil.copytree(REPO / "desired-state", dst)
    # The lab's cucm-pub has no pending CSR: say so (Unified CM cannot show one).
    node = dst / "nodes" / "cucm-pub.yaml"
    node.write_text(node.read_text().replace(
        "server_certificate:", "server_certificate:\n  replace_pending_csr: true", 1))
    return dst


@pytest.fixture
def inventory(lab: LabThread) -> Path:
    return Path(lab.lab.paths.inventory)
