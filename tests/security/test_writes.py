"""Writes that a pull request could redirect through symbolic links (issue 16, item 2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from unitkit import FAST, plan

from reconciler.apply.executor import execute
from reconciler.apply.steps import StepContext
from reconciler.cli import main
from reconciler.desired.safewrite import UnsafeWrite, write_file, write_inside
from reconciler.lab.inprocess import InProcessLab

SECRET = "the runner's own file\n"


def outside_file(tmp_path: Path) -> Path:
    target = tmp_path / "outside" / "victim.txt"
    target.parent.mkdir(exist_ok=True)
    target.write_text(SECRET)
    return target


@pytest.mark.parametrize("link", ["csrs/expc1.csr.pem", "csrs", "certs/expc1.pem", "certs",
                                  "nodes/expc1.yaml", ".certops"])
def test_write_inside_refuses_every_link(desired: Path, tmp_path: Path, link: str) -> None:
    target = outside_file(tmp_path)
    path = desired / link
    if path.is_dir():
        os.rename(path, tmp_path / "moved")
        path.symlink_to(target.parent, target_is_directory=True)
        rel = f"{link}/victim.txt"
    else:
        path.unlink(missing_ok=True)
        path.symlink_to(target)
        rel = link
    with pytest.raises(UnsafeWrite, match="symbolic link"):
        write_inside(desired, rel, "attacker-chosen")
    assert target.read_text() == SECRET


@pytest.mark.parametrize("rel", ["../victim.txt", "/etc/victim", "csrs/../../victim", "a\0b"])
def test_write_inside_refuses_paths_that_leave(desired: Path, rel: str) -> None:
    with pytest.raises(UnsafeWrite):
        write_inside(desired, rel, "x")


def test_the_old_temp_file_name_is_not_followed(desired: Path, tmp_path: Path) -> None:
    """``csrs/expc1.csr.tmp`` -> outside: apply wrote through it; now the temp name is fresh
    and created with O_EXCL | O_NOFOLLOW."""
    target = outside_file(tmp_path)
    (desired / "csrs" / "expc1.csr.tmp").symlink_to(target)
    write_inside(desired, "csrs/expc1.csr.pem", "csr")
    assert target.read_text() == SECRET
    assert (desired / "csrs" / "expc1.csr.pem").read_text() == "csr"


async def test_apply_does_not_write_a_csr_through_a_linked_folder(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """``csrs/`` a link out of the tree: the CSR step refuses; nothing lands outside."""
    target = outside_file(tmp_path)
    run, drivers = await plan(lab, desired)
    assert {a.kind for a in run.plan.actions} == {"csr.generate"}
    os.rename(desired / "csrs", tmp_path / "moved")
    (desired / "csrs").symlink_to(target.parent, target_is_directory=True)
    ctx = StepContext(plan=run.plan, fleet=run.fleet, drivers=drivers, desired_root=desired,
                      timing=FAST)
    result = await execute(run.plan, ctx)
    assert not result.ok and "symbolic link" in (result.stopped_because or "")
    assert sorted(p.name for p in target.parent.iterdir()) == ["victim.txt"]


def test_validate_refuses_a_linked_csrs_folder(desired: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The same link is an input.file_outside error before any plan."""
    os.rename(desired / "csrs", tmp_path / "moved")
    (desired / "csrs").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(SystemExit) as caught:
        main(["validate", str(desired)])
    assert caught.value.code == 1
    assert "csrs: error[input.file_outside]" in capsys.readouterr().out


def test_a_report_inside_the_tree_is_held_to_its_rules(desired: Path, tmp_path: Path) -> None:
    """``--report desired-state/csrs/r.json`` with ``csrs`` a link: refused."""
    target = outside_file(tmp_path)
    os.rename(desired / "csrs", tmp_path / "moved")
    (desired / "csrs").symlink_to(target.parent, target_is_directory=True)
    with pytest.raises(UnsafeWrite):
        write_file(desired / "csrs" / "victim.txt", "report", desired)
    link = tmp_path / "report.json"
    link.symlink_to(target)
    with pytest.raises(UnsafeWrite, match="symbolic link"):
        write_file(link, "report")
    assert target.read_text() == SECRET
