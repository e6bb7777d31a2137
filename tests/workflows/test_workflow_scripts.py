"""The workflows' scripts, run as GitHub runs them: each ``run:`` step under bash -eo pipefail
with a fake ``certops`` that keeps the CLI contract's exit codes, and each github-script
step under node with a fake GitHub API that records what it is asked to do."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from workflowkit import CERTOPS, node, run_github_script, run_step

PLAN, APPLY, DRIFT = CERTOPS["plan"], CERTOPS["apply"], CERTOPS["drift"]
needs_node = pytest.mark.skipif(node() is None, reason="node is not installed (github-script)")
needs_jq = pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")


# --- plan: exit codes ------------------------------------------------------------------------


@pytest.mark.parametrize("code,passes", [(0, True), (2, True), (1, False), (3, False)])
def test_plan_step_passes_on_0_and_2_fails_on_errors(tmp_path: Path, code: int,
                                                      passes: bool) -> None:
    run = run_step(PLAN, "plan", "plan", tmp_path, fake={"FAKE_RC": str(code)})
    assert (run.returncode == 0) is passes, run.stdout + run.stderr
    assert run.outputs["exitcode"] == str(code)
    assert (tmp_path / "out" / "exitcode").read_text().strip() == str(code)
    assert (tmp_path / "out" / "plan.md").read_text().startswith("<!-- certops-plan -->")
    assert "certops plan" in run.summary
    if not passes:
        assert "::error title=certops plan::" in run.stdout
    if code == 1:
        assert "connection refused" in (tmp_path / "out" / "plan.err").read_text()


def test_plan_step_arguments_and_shard_select(tmp_path: Path) -> None:
    run = run_step(PLAN, "plan", "plan", tmp_path)
    # connection settings from the base branch's checkout (issue 16 item 4)
    assert run.calls == [["plan", "desired-state", "--out", "out/plan.json", "--format",
                          "markdown", "--detailed-exitcode",
                          "--connection-from", "base/desired-state", "--max-chars", "60000"]]
    assert (tmp_path / "out" / "plan.json").is_file()
    sharded = run_step(PLAN, "plan", "plan", tmp_path,
                       expressions={"SELECT": "site=dc1", "SHARDS": "3"})
    assert "--connection-from" in sharded.calls[0]
    assert sharded.calls[0][-4:] == ["--max-chars", "20000", "--select", "site=dc1"], \
        "each of 3 shards gets a third of the comment"


@needs_jq
def test_validate_findings_become_annotations(tmp_path: Path) -> None:
    report = {"valid": False, "findings": [
        {"code": "san.mismatch", "severity": "error", "node": "expe1",
         "message": "lacks vngtp.lab: 100% wrong,\nfix it",
         "location": {"file": "desired-state/nodes/expe1.yaml", "line": 10, "col": 9}},
        {"code": "renewal.due", "severity": "warning", "node": "expc1", "message": "due",
         "location": None},
        {"code": "issuer.changed", "severity": "info", "node": "expe1", "message": "new CA",
         "location": {"file": "desired-state/nodes/expe1.yaml", "line": 3, "col": 1}},
    ]}
    run = run_step(PLAN, "validate", "annotate", tmp_path,
                   fake={"FAKE_RC": "1", "FAKE_VALIDATE_JSON": json.dumps(report)})
    assert run.returncode == 0
    assert run.stdout.splitlines() == [
        "::error file=desired-state/nodes/expe1.yaml,line=10,col=9,title=certops san.mismatch"
        "::lacks vngtp.lab: 100%25 wrong,%0Afix it",
        "::warning file=,line=1,col=1,title=certops renewal.due::due",
        "::notice file=desired-state/nodes/expe1.yaml,line=3,col=1,title=certops issuer.changed"
        "::new CA",
    ]


# --- plan: the one pull-request comment --------------------------------------------------------

PR = {"number": 12, "head": {"sha": "abcdef1234567890"}}
PREFIX = "certops-plan-pr12-abcdef1234567890-"


def shard_dir(root: Path, shard: str, code: int, md: str | None, err: str = "") -> None:
    d = root / "plans" / f"{PREFIX}{shard}"
    d.mkdir(parents=True)
    (d / "exitcode").write_text(f"{code}\n")
    if md is not None:
        (d / "plan.md").write_text(md)
    (d / "plan.err").write_text(err)


def comment(tmp_path: Path, comments: list[dict[str, Any]], validate: str = "success") -> Any:
    return run_github_script(PLAN, "comment", "Post or update the certops plan comment",
                             tmp_path, state={"comments": comments}, payload={"pull_request": PR},
                             env={"PREFIX": PREFIX, "VALIDATE": validate})


@needs_node
def test_comment_is_created_once_with_the_marker(tmp_path: Path) -> None:
    shard_dir(tmp_path, "all", 2, "<!-- certops-plan -->\n## certops plan\n\n3 actions\n")
    run = comment(tmp_path, [{"id": 1, "user": {"type": "User"}, "body": "LGTM"}])
    (created,) = run.named("issues.createComment")
    assert created["issue_number"] == 12
    body = created["body"]
    assert body.startswith("<!-- certops-plan -->\n## certops plan")
    assert body.count("<!-- certops-plan -->") == 1
    assert "abcdef1" in body and "/actions/runs/4242" in body
    assert not run.named("issues.updateComment")


@needs_node
def test_comment_is_updated_never_duplicated(tmp_path: Path) -> None:
    shard_dir(tmp_path, "all", 0, "<!-- certops-plan -->\n## certops plan\n\nNo changes\n")
    comments = [
        {"id": 5, "user": {"type": "User"}, "body": "quoting <!-- certops-plan --> by hand"},
        {"id": 6, "user": {"type": "Bot"}, "body": "<!-- certops-plan -->\nold plan"},
    ]
    run = comment(tmp_path, comments)
    (updated,) = run.named("issues.updateComment")
    assert updated["comment_id"] == 6
    assert "No changes" in updated["body"] and "old plan" not in updated["body"]
    assert not run.named("issues.createComment")


@needs_node
def test_comment_shows_each_shard_and_a_failed_plan(tmp_path: Path) -> None:
    shard_dir(tmp_path, "site-dc1", 2, "<!-- certops-plan -->\n## certops plan\n\ndc1 plan\n")
    shard_dir(tmp_path, "site-dc2", 1, None, err="certops: error: cucm-pub: HTTP 401")
    body = comment(tmp_path, []).named("issues.createComment")[0]["body"]
    assert body.count("<!-- certops-plan -->") == 1
    assert "### Shard `site-dc1`: changes" in body and "dc1 plan" in body
    assert "### Shard `site-dc2`: FAILED" in body and "HTTP 401" in body


@needs_node
def test_comment_after_validate_errors_replaces_the_old_plan(tmp_path: Path) -> None:
    old = [{"id": 6, "user": {"type": "Bot"}, "body": "<!-- certops-plan -->\nold plan"}]
    run = comment(tmp_path, old, validate="failure")
    (updated,) = run.named("issues.updateComment")
    assert "certops validate found errors" in updated["body"]


@needs_node
def test_comment_shows_each_shards_plan_whole(tmp_path: Path) -> None:
    # certops fits each shard's Markdown in its share (--max-chars): nothing is cut here.
    plans = {s: f"<!-- certops-plan -->\n## certops plan\n\n{s}\n" + "x" * 19_000 + "END"
             for s in ("dc1", "dc2", "dc3")}
    for shard, md in plans.items():
        shard_dir(tmp_path, shard, 2, md)
    body = comment(tmp_path, []).named("issues.createComment")[0]["body"]
    assert len(body) < 65_536 and body.count("x" * 19_000 + "END") == 3


@needs_node
def test_a_comment_over_githubs_limit_fails_instead_of_cutting(tmp_path: Path) -> None:
    shard_dir(tmp_path, "all", 2, "<!-- certops-plan -->\n" + "x" * 70_000)
    run = comment(tmp_path, [])
    body = run.named("issues.createComment")[0]["body"]
    assert len(body) < 1000 and "too long for a comment" in body and "x" * 100 not in body
    assert run.failed and "over GitHub's limit" in run.failed


# --- apply: saved plan, stale fallback, failures ------------------------------------------------


def saved(tmp_path: Path, *shards: str) -> list[str]:
    paths = []
    for shard in shards:
        d = tmp_path / "saved-plans" / f"certops-plan-pr12-abc-{shard}"
        d.mkdir(parents=True)
        (d / "plan.json").write_text("{}")
        paths.append(f"saved-plans/{d.name}/plan.json")
    return paths


def apply(tmp_path: Path, saved_run: str, outcomes: dict[str, str] | None = None) -> Any:
    return run_step(APPLY, "apply", "apply", tmp_path, expressions={"SAVED_RUN": saved_run},
                    fake={"FAKE_APPLY": json.dumps(outcomes or {})})


def test_apply_without_a_saved_plan_applies_fresh(tmp_path: Path) -> None:
    run = apply(tmp_path, "")
    assert run.returncode == 0, run.stderr
    assert run.calls == [["apply", "--auto-approve", "desired-state", "--report",
                          "reports/fresh.json", "--report", "reports/fresh.md"]]
    assert run.outputs["mode"] == "fresh"


def test_apply_of_a_fresh_saved_plan_applies_exactly_it(tmp_path: Path) -> None:
    (plan,) = saved(tmp_path, "all")
    run = apply(tmp_path, "777")
    assert run.returncode == 0, run.stderr
    assert run.calls == [["apply", plan, "--dir", "desired-state", "--report",
                          "reports/certops-plan-pr12-abc-all.json", "--report",
                          "reports/certops-plan-pr12-abc-all.md"]]
    assert run.outputs["mode"] == "saved"
    assert (tmp_path / "reports" / "certops-plan-pr12-abc-all.json").is_file()


def test_apply_of_a_stale_plan_falls_back_to_a_fresh_plan(tmp_path: Path) -> None:
    (plan,) = saved(tmp_path, "all")
    run = apply(tmp_path, "777", {plan: "stale"})
    assert run.returncode == 0, run.stderr
    assert [c[:2] for c in run.calls] == [["apply", plan], ["apply", "--auto-approve"]]
    assert run.outputs["mode"] == "fresh-after-stale"
    assert "the saved plan is stale" in run.stdout
    assert "pending CSR changed" in run.stderr, "certops' reason is in the log"


def test_apply_markdown_reports_go_to_the_job_summary(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "a.md").write_text("<!-- certops-apply -->\ntimeline a\n")
    (tmp_path / "reports" / "a.json").write_text("{}")
    (tmp_path / "reports" / "b.md").write_text("<!-- certops-apply -->\ntimeline b\n")
    run = run_step(APPLY, "apply", "summary", tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.summary.index("timeline a") < run.summary.index("timeline b")
    assert "{}" not in run.summary


def test_apply_failure_is_not_retried(tmp_path: Path) -> None:
    (plan,) = saved(tmp_path, "all")
    run = apply(tmp_path, "777", {plan: "fail"})
    assert run.returncode == 1
    assert [c[:2] for c in run.calls] == [["apply", plan]], "no fresh apply after a failure"
    assert "::error title=certops apply::" in run.stdout
    assert (tmp_path / "reports" / "certops-plan-pr12-abc-all.json").is_file()


def test_apply_of_shards_in_turn_then_fresh_when_one_is_stale(tmp_path: Path) -> None:
    dc1, dc2, _dc3 = saved(tmp_path, "site-dc1", "site-dc2", "site-dc3")
    run = apply(tmp_path, "777", {dc2: "stale"})
    assert run.returncode == 0, run.stderr
    # dc3's plan is not applied: the fresh plan covers the whole fleet.
    assert [c[:2] for c in run.calls] == [["apply", dc1], ["apply", dc2],
                                         ["apply", "--auto-approve"]]


def test_apply_with_a_saved_run_but_no_plan_file_applies_fresh(tmp_path: Path) -> None:
    (tmp_path / "saved-plans").mkdir()
    run = apply(tmp_path, "777")
    assert run.returncode == 0 and run.outputs["mode"] == "fresh"


def test_a_failing_fresh_apply_fails_the_job(tmp_path: Path) -> None:
    run = apply(tmp_path, "", {"fresh": "fail"})
    assert run.returncode == 1


# --- apply: finding the merged pull request's plan ----------------------------------------------

MERGE = "9999999999999999999999999999999999999999"
HEAD = "1111111111111111111111111111111111111111"


def find(tmp_path: Path, **state: Any) -> Any:
    return run_github_script(APPLY, "apply", "saved", tmp_path, state=state, sha=MERGE)


def merged_pr() -> dict[str, Any]:
    return {"number": 12, "merged_at": "2026-11-01T00:00:00Z", "merge_commit_sha": MERGE,
            "head": {"sha": HEAD}}


@needs_node
def test_find_the_plan_of_the_merged_pull_request(tmp_path: Path) -> None:
    runs = [{"id": 50, "head_sha": HEAD, "conclusion": "success", "html_url": "u50"},
            {"id": 60, "head_sha": HEAD, "conclusion": "failure", "html_url": "u60"}]
    artifacts = {"50": [{"name": f"certops-plan-pr12-{HEAD}-all", "expired": False},
                        {"name": "something-else", "expired": False}]}
    run = find(tmp_path, prs=[merged_pr()], runs=runs, artifacts=artifacts)
    assert run.outputs == {"run_id": "50", "pattern": f"certops-plan-pr12-{HEAD}-*", "pr": "12"}
    (query,) = run.named("actions.listWorkflowRuns")
    assert query["workflow_id"] == "certops-plan.yml" and query["status"] == "success"


@needs_node
def test_no_saved_plan_without_a_merged_pr_or_with_expired_artifacts(tmp_path: Path) -> None:
    assert find(tmp_path, prs=[]).outputs == {}
    unmerged = {**merged_pr(), "merged_at": None}
    assert find(tmp_path, prs=[unmerged]).outputs == {}
    runs = [{"id": 50, "head_sha": HEAD, "conclusion": "success", "html_url": "u50"}]
    expired = {"50": [{"name": f"certops-plan-pr12-{HEAD}-all", "expired": True}]}
    assert find(tmp_path, prs=[merged_pr()], runs=runs, artifacts=expired).outputs == {}


# --- apply: CSRs to a pull request ---------------------------------------------------------------


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                   check=True, capture_output=True)


def test_new_and_changed_csrs_are_collected_for_a_pull_request(tmp_path: Path) -> None:
    csrs = tmp_path / "desired-state" / "csrs"
    csrs.mkdir(parents=True)
    (csrs / ".gitkeep").write_text("")
    (csrs / "cucm-pub.csr.pem").write_text("old CSR")
    (csrs / "expc1.csr.pem").write_text("unchanged CSR")
    (csrs / "retired.csr.pem").write_text("CSR of a node that left")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "fleet")
    # What certops apply leaves behind: a new CSR, a replaced one, an unrelated file; and a
    # CSR deleted by hand, which is nothing to sign.
    (csrs / "expe1.csr.pem").write_text("new CSR")
    (csrs / "retired.csr.pem").unlink()
    (csrs / "cucm-pub.csr.pem").write_text("new CSR")
    (tmp_path / "plan.json").write_text("{}")
    run = run_step(APPLY, "apply", "csrs", tmp_path)
    assert run.returncode == 0, run.stderr
    assert sorted(run.outputs["nodes"].split()) == ["cucm-pub", "expe1"]
    out = tmp_path / "csr-out" / "csrs"
    assert sorted(p.name for p in out.iterdir()) == ["cucm-pub.csr.pem", "expe1.csr.pem"]
    body = (tmp_path / "csr-out" / "pr-body.md").read_text()
    assert "wait for a signed certificate" in body
    assert "### expe1" in body and "### cucm-pub" in body and "### expc1" not in body
    assert "TLS Web Server Authentication and TLS Web Client Authentication" in body


def test_certificates_written_by_issuance_come_back_in_the_pull_request(tmp_path: Path) -> None:
    """An issuer signed expe1's CSR during apply: its certs/ file and CSR go to the pull
    request as a record; cucm-pub's CSR still waits for a CA and is listed as such."""
    root = tmp_path / "desired-state"
    for folder in ("csrs", "certs"):
        (root / folder).mkdir(parents=True)
        (root / folder / ".gitkeep").write_text("")
    (root / "certs" / "expc1.pem").write_text("unchanged certificate")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "fleet")
    (root / "csrs" / "expe1.csr.pem").write_text("CSR an issuer signed")
    (root / "certs" / "expe1.pem").write_text("issued chain")
    (root / "csrs" / "cucm-pub.csr.pem").write_text("CSR that waits")
    run = run_step(APPLY, "apply", "csrs", tmp_path)
    assert run.returncode == 0, run.stderr
    assert sorted(run.outputs["nodes"].split()) == ["cucm-pub", "expe1"]
    assert [p.name for p in (tmp_path / "csr-out" / "certs").iterdir()] == ["expe1.pem"]
    body = (tmp_path / "csr-out" / "pr-body.md").read_text()
    assert "signed by their issuers" in body and "### expe1 (issued)" in body
    assert "now wait for a signed certificate: cucm-pub." in body
    assert "### cucm-pub" in body and "### expc1" not in body


def test_only_issued_certificates_still_open_a_pull_request(tmp_path: Path) -> None:
    root = tmp_path / "desired-state"
    (root / "certs").mkdir(parents=True)
    (root / "certs" / ".gitkeep").write_text("")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "fleet")
    (root / "certs" / "expe1.pem").write_text("issued chain")
    run = run_step(APPLY, "apply", "csrs", tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.outputs["nodes"] == "expe1"
    body = (tmp_path / "csr-out" / "pr-body.md").read_text()
    assert "wait for a signed certificate" not in body


def test_no_csrs_no_pull_request(tmp_path: Path) -> None:
    (tmp_path / "desired-state" / "csrs").mkdir(parents=True)
    (tmp_path / "desired-state" / "csrs" / ".gitkeep").write_text("")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "fleet")
    run = run_step(APPLY, "apply", "csrs", tmp_path)
    assert run.returncode == 0 and run.outputs == {"nodes": ""}


# --- drift: exit codes and the one issue ---------------------------------------------------------


@pytest.mark.parametrize("code,passes", [(0, True), (2, True), (1, False)])
def test_drift_step_exit_codes(tmp_path: Path, code: int, passes: bool) -> None:
    run = run_step(DRIFT, "drift", "drift", tmp_path, fake={"FAKE_RC": str(code)},
                   expressions={"SELECT": "site=dc2"})
    assert (run.returncode == 0) is passes
    assert run.calls == [["drift", "desired-state", "--format", "markdown", "--metrics-file",
                          "metrics/certops-drift.prom", "--max-chars", "60000", "--select",
                          "site=dc2"]]
    assert (tmp_path / "metrics" / "certops-drift.prom").is_file()
    assert (tmp_path / "out" / "exitcode").read_text().strip() == str(code)


def drift_shard(root: Path, shard: str, code: int, md: str = "") -> None:
    d = root / "drift" / f"certops-drift-{shard}-4242"
    d.mkdir(parents=True)
    (d / "exitcode").write_text(f"{code}\n")
    (d / "drift.md").write_text(md)
    (d / "drift.err").write_text("certops: error: boom" if code == 1 else "")


def issue_run(tmp_path: Path, issues: list[dict[str, Any]], result: str = "success",
              labels: tuple[str, ...] = ("certops-drift",)) -> Any:
    return run_github_script(DRIFT, "issue", "Open, update or close the certops-drift issue",
                             tmp_path, state={"issues": issues, "labels": list(labels)},
                             env={"DRIFT_RESULT": result})


OPEN_ISSUE = {"number": 3, "state": "open", "body": "<!-- certops-drift -->\nold"}
DRIFT_MD = "<!-- certops-drift -->\n## certops drift\n\n**Drift on 1 node(s).**\n"


@needs_node
def test_drift_opens_one_issue_and_creates_the_label(tmp_path: Path) -> None:
    drift_shard(tmp_path, "all", 2, DRIFT_MD)
    run = issue_run(tmp_path, [], labels=())
    (label,) = run.named("issues.createLabel")
    assert label["name"] == "certops-drift"
    (created,) = run.named("issues.create")
    assert created["labels"] == ["certops-drift"]
    assert created["body"].startswith("<!-- certops-drift -->")
    assert created["body"].count("<!-- certops-drift -->") == 1
    assert "Drift on 1 node(s)" in created["body"]
    assert run.failed is None


@needs_node
def test_drift_updates_the_open_issue(tmp_path: Path) -> None:
    drift_shard(tmp_path, "all", 2, DRIFT_MD)
    run = issue_run(tmp_path, [OPEN_ISSUE])
    (update,) = run.named("issues.update")
    assert update["issue_number"] == 3 and "Drift on 1 node(s)" in update["body"]
    assert "state" not in update
    assert not run.named("issues.create")


@needs_node
def test_back_in_sync_closes_the_issue(tmp_path: Path) -> None:
    drift_shard(tmp_path, "all", 0, "<!-- certops-drift -->\n**In sync.**\n")
    run = issue_run(tmp_path, [OPEN_ISSUE])
    (close,) = run.named("issues.update")
    assert close == {"owner": "acme", "repo": "fleet", "issue_number": 3, "state": "closed",
                     "state_reason": "completed"}
    assert "Back in sync" in run.named("issues.createComment")[0]["body"]
    assert not run.named("issues.create")


@needs_node
def test_in_sync_without_an_issue_does_nothing(tmp_path: Path) -> None:
    drift_shard(tmp_path, "all", 0)
    run = issue_run(tmp_path, [])
    assert [c for c, _ in run.calls] == ["issues.listForRepo"]


@needs_node
def test_errors_leave_the_issue_alone_and_fail(tmp_path: Path) -> None:
    drift_shard(tmp_path, "all", 1)
    run = issue_run(tmp_path, [OPEN_ISSUE], result="failure")
    assert [c for c, _ in run.calls] == ["issues.listForRepo"]
    assert run.failed and "all" in run.failed


@needs_node
def test_one_shard_drifting_one_failing_updates_and_fails(tmp_path: Path) -> None:
    drift_shard(tmp_path, "site-dc1", 2, DRIFT_MD)
    drift_shard(tmp_path, "site-dc2", 1)
    run = issue_run(tmp_path, [OPEN_ISSUE], result="failure")
    body = run.named("issues.update")[0]["body"]
    assert "### Shard `site-dc1`" in body and "### Shard `site-dc2`" in body
    assert "certops drift failed" in body and "boom" in body
    assert run.failed and "site-dc2" in run.failed


@needs_node
def test_a_missing_shard_report_is_not_in_sync(tmp_path: Path) -> None:
    # A shard that died before uploading: the drift job failed, so never close the issue.
    drift_shard(tmp_path, "site-dc1", 0)
    run = issue_run(tmp_path, [OPEN_ISSUE], result="failure")
    assert not run.named("issues.update") and run.failed


@needs_jq
@pytest.mark.parametrize("path", [PLAN, APPLY, DRIFT], ids=lambda p: p.name)
def test_each_credential_value_is_masked(tmp_path: Path, path: Path) -> None:
    job = {PLAN: "plan", APPLY: "apply", DRIFT: "drift"}[path]
    secret = json.dumps({"EXPE1_USER": "admin-e", "EXPE1_PASSWORD": "pa ssé", "X": ""})
    run = run_step(path, job, "mask", tmp_path, expressions={"CERTOPS_CREDENTIALS": secret})
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["::add-mask::admin-e", "::add-mask::pa ssé"]


# --- change windows: the scheduled apply and the record of owed restarts ------------------------

WINDOWS = CERTOPS["windows"]


def test_the_window_run_applies_main_and_passes_the_override_with_its_reason(
        tmp_path: Path) -> None:
    run = run_step(WINDOWS, "windows", "apply", tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.calls == [["apply", "--auto-approve", "desired-state", "--report",
                          "reports/windows.json"]]
    assert "certops apply (change windows)" in run.summary
    forced = run_step(WINDOWS, "windows", "apply", tmp_path, expressions={
        "OUTSIDE_WINDOW": "true", "REASON": "CHG-1234; rm -rf / $(reboot)"})
    assert forced.calls[0][-3:] == ["--outside-window", "--reason",
                                    "CHG-1234; rm -rf / $(reboot)"]  # one argument, not code
    failed = run_step(WINDOWS, "windows", "apply", tmp_path,
                      fake={"FAKE_APPLY": json.dumps({"fresh": "fail"})})
    assert failed.returncode == 1


@pytest.mark.parametrize("workflow,job", [(APPLY, "apply"), (WINDOWS, "windows")])
def test_a_changed_record_of_owed_restarts_is_collected_for_the_commit(
        tmp_path: Path, workflow: Path, job: str) -> None:
    root = tmp_path / "desired-state"
    root.mkdir()
    (root / "owed-restarts.json").write_text("{}\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "fleet")
    same = run_step(workflow, job, "record", tmp_path)
    assert same.returncode == 0 and same.outputs["changed"] == ""
    (root / "owed-restarts.json").write_text('{"cucm-pub": {"services": ["Cisco Tomcat"]}}\n')
    changed = run_step(workflow, job, "record", tmp_path)
    assert changed.returncode == 0 and changed.outputs["changed"] == "true"
    assert "cucm-pub" in (tmp_path / "record-out" / "owed-restarts.json").read_text()


def test_the_record_is_pushed_to_the_branch_and_replayed_on_a_moved_one(tmp_path: Path) -> None:
    """The owed-record job's script against a real bare remote: the record lands on main,
    also when another commit moved main since the checkout."""
    remote, work, other = tmp_path / "remote.git", tmp_path / "work", tmp_path / "other"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    subprocess.run(["git", "clone", "-q", str(remote), str(work)], check=True,
                   capture_output=True)
    (work / "desired-state").mkdir()
    (work / "desired-state" / "certops.yaml").write_text("{}\n")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "fleet")
    git(work, "push", "-q", "origin", "HEAD:main")
    subprocess.run(["git", "clone", "-q", str(remote), str(other)], check=True,
                   capture_output=True)
    (other / "desired-state" / "nodes.txt").write_text("a merge meanwhile\n")
    git(other, "add", "-A")
    git(other, "commit", "-qm", "another merge")
    git(other, "push", "-q", "origin", "HEAD:main")
    (work / "record-in").mkdir()
    (work / "record-in" / "owed-restarts.json").write_text('{"cucm-pub": {"services": []}}\n')
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t", "GITHUB_RUN_ID": "99"}
    run = run_step(WINDOWS, "owed-record", "push", work, expressions={"REF": "main"}, fake=env)
    assert run.returncode == 0, run.stdout + run.stderr
    log = subprocess.run(["git", "log", "--format=%s", "main"], cwd=remote, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert log == ["certops: restarts owed after run 99", "another merge", "fleet"]
