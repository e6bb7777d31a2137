"""A node's restart settings, resolved: node file, then its cluster, then ``defaults``
(``model.restart_settings``), and the drain rule that uses them (``planning.drain``)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from reconciler.desired import load
from reconciler.model.restart_settings import restart_settings
from reconciler.pki import CertCache
from reconciler.planning.drain import drain_reason

REPO = Path(__file__).resolve().parents[2]


def clusters(tmp_path: Path) -> Path:
    root = tmp_path / "desired-state-clusters"
    shutil.copytree(REPO / "desired-state-clusters", root)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def test_defaults_apply_where_nothing_else_is_set(tmp_path: Path) -> None:
    desired = load(clusters(tmp_path), CertCache()).desired
    assert desired is not None
    got = restart_settings(desired, "expe1")
    assert (got.drain, got.drain_timeout, got.on_drain_timeout, got.restart_window) == (
        True, timedelta(minutes=30), "stop", None)


def test_the_nearest_level_wins_key_by_key(tmp_path: Path) -> None:
    root = clusters(tmp_path)
    edit(root / "certops.yaml", "defaults:\n",
         "defaults:\n  drain_timeout: 1h\n  on_drain_timeout: restart\n  drain: false\n")
    edit(root / "certops.yaml", "expe: {members: [expe1, expe2], shared_names: [expe.nart.com]}",
         "expe: {members: [expe1, expe2], shared_names: [expe.nart.com], drain: true, "
         "drain_timeout: 10m}")
    (root / "nodes" / "expe2.yaml").write_text(
        (root / "nodes" / "expe2.yaml").read_text() + "drain_timeout: 90s\n")
    loaded = load(root, CertCache())
    assert loaded.desired is not None, [f.render() for f in loaded.findings]
    one, two, c1 = (restart_settings(loaded.desired, n) for n in ("expe1", "expe2", "expc1"))
    assert (one.drain, one.drain_timeout_text, one.on_drain_timeout) == (True, "10m", "restart")
    assert (two.drain, two.drain_timeout, two.on_drain_timeout) == (
        True, timedelta(seconds=90), "restart")
    assert (c1.drain, c1.drain_timeout_text) == (False, "1h")


def test_the_drain_reason_says_what_happens_at_the_timeout(tmp_path: Path) -> None:
    desired = load(clusters(tmp_path), CertCache()).desired
    assert desired is not None
    text = drain_reason("maintenance mode", restart_settings(desired, "expe1"))
    assert "drain_timeout 30m" in text and "nothing restarts" in text
