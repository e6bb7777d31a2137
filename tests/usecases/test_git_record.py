"""The plan's record of the desired-state commit, with uncommitted files marked."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.usecases.loading import DIRTY, git_commit

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(root: Path, *args: str) -> str:
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    return subprocess.run(["git", *env_args, *args], cwd=root, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_clean_dirty_and_untracked(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "desired-state").mkdir(parents=True)
    (root / "desired-state" / "certops.yaml").write_text("links: []\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-qm", "seed")
    head = git(root, "rev-parse", "HEAD")
    ds = root / "desired-state"
    assert git_commit(ds) == head
    (root / "elsewhere.txt").write_text("outside the desired state: not its business\n")
    assert git_commit(ds) == head
    (ds / "csrs").mkdir()
    (ds / "csrs" / "expe1.csr.pem").write_text("untracked\n")
    assert git_commit(ds) == head + DIRTY
    (ds / "csrs" / "expe1.csr.pem").unlink()
    (ds / "certops.yaml").write_text("links: [[a, b]]\n")
    assert git_commit(ds) == head + DIRTY


def test_not_a_repository(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
