"""A hostile plan file: it may say what to do, never where, when, in which format, or that
error findings do not exist (issue 16, items 1, 5 and 6)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from attack import apply_file, edit, refused_unchanged, saved_plan
from unitkit import generate_csrs, use_certificate

from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Severity
from reconciler.usecases.apply import Refused


async def test_deleted_error_findings_do_not_unblock_a_plan(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """Item 1: a blocked plan (eku.missing) with its findings deleted is still refused."""
    await generate_csrs(lab, desired)
    csr = (desired / "csrs" / "expc1.csr.pem").read_text()
    use_certificate(desired, "expc1", lab.sign(csr, "new", client_auth=False))
    plan, path = await saved_plan(lab, desired, tmp_path)
    assert plan.blocked and any(f.code == "eku.missing" for f in plan.findings)
    edit(path, findings=[f.model_dump(mode="json") for f in plan.findings
                         if f.severity is not Severity.ERROR])
    await refused_unchanged(lab, desired, path, r"(?s)error findings.*eku\.missing")


async def test_a_plan_from_another_directory_is_refused(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """Item 5: the plan names the directory it was made from; apply works on --dir only."""
    other = tmp_path / "other"
    shutil.copytree(desired, other)
    _, path = await saved_plan(lab, other, tmp_path)
    await refused_unchanged(lab, desired, path, "made from the desired-state directory")


async def test_the_plan_does_not_choose_the_directory(
    lab: InProcessLab, desired: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 5: without --dir, apply loads ./desired-state, not the plan's desired_root."""
    _, path = await saved_plan(lab, desired, tmp_path)
    work = tmp_path / "checkout"
    work.mkdir()
    monkeypatch.chdir(work)
    with pytest.raises(Refused, match=r"but this apply works on .desired-state."):
        await apply_file(lab, None, path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        pytest.param({"format_version": 99}, "format_version 99", id="format-99"),
        pytest.param({"format_version": 0}, "format_version 0", id="format-0"),
        pytest.param({"created_at": "2001-01-01T00:00:00Z"}, "more than --max-plan-age",
                     id="from-2001"),
        pytest.param({"created_at": "2099-01-01T00:00:00Z"}, "from the future", id="from-2099"),
    ],
)
async def test_unknown_formats_and_times_are_refused(
    lab: InProcessLab, desired: Path, tmp_path: Path, changes: dict[str, object], refusal: str
) -> None:
    """Item 6."""
    _, path = await saved_plan(lab, desired, tmp_path)
    edit(path, **changes)
    with pytest.raises(Refused, match=refusal):
        await apply_file(lab, desired, path)


async def test_max_plan_age_is_configurable(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    """Item 6: a plan an hour old passes the default and fails --max-plan-age 30m."""
    _, path = await saved_plan(lab, desired, tmp_path)
    edit(path, created_at=(datetime.now(UTC) - timedelta(hours=1)).isoformat())
    with pytest.raises(Refused, match="more than --max-plan-age"):
        await apply_file(lab, desired, path, max_plan_age=timedelta(minutes=30))


@pytest.mark.parametrize(
    "content",
    [b"[" * 100_000 + b"]" * 100_000, b'{"format_version": 1, "created_at": ' + b"[" * 5000,
     b"\xff\xfe not json"],
    ids=["deep-json", "deep-broken-json", "binary"],
)
async def test_malformed_plan_files_are_refused(
    lab: InProcessLab, desired: Path, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "plan.json"
    path.write_bytes(content)
    with pytest.raises(Refused, match=r"not a certops plan|format_version"):
        await apply_file(lab, desired, path)
