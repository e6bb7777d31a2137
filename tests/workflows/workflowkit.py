"""Helpers for the workflow tests: load the GitHub Actions workflows, run one step's shell
script against a fake ``certops``, run one ``actions/github-script`` script under node
against a recorded fake GitHub API.

Running the real scripts (not copies of them) is the point: the exit-code handling, the
stale-plan fallback, the CSR collection and the comment / issue logic are tested as they
will run on GitHub's runners.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = REPO / ".github" / "workflows"
CERTOPS = {
    "plan": WORKFLOW_DIR / "certops-plan.yml",
    "apply": WORKFLOW_DIR / "certops-apply.yml",
    "drift": WORKFLOW_DIR / "certops-drift.yml",
    "windows": WORKFLOW_DIR / "certops-windows.yml",
}
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)


@cache
def load(path: Path) -> dict[str, Any]:
    """A workflow as plain data (YAML 1.2: the key ``on`` stays a string)."""
    data = YAML(typ="safe", pure=True).load(path.read_text())
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def steps(workflow: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


def step(workflow: Mapping[str, Any], job: str, step_id: str) -> dict[str, Any]:
    for candidate in workflow["jobs"][job]["steps"]:
        if candidate.get("id") == step_id:
            return dict(candidate)
    raise KeyError(f"no step id {step_id!r} in job {job!r}")


def scalars(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string in a workflow with the keys leading to it."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from scalars(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from scalars(value, (*path, str(i)))
    elif isinstance(node, str):
        yield path, node


# A stand-in for the certops CLI, per the contract the workflows are written against:
# it logs its arguments and answers with the exit code the test asks for.
FAKE_CERTOPS = r'''
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")

def opt(name):
    return args[args.index(name) + 1] if name in args else None

cmd = args[0] if args else ""
rc = int(os.environ.get("FAKE_RC", "0"))
if cmd == "--version":
    print("certops 0.0 (fake)")
elif cmd == "plan":
    if opt("--out"):
        Path(opt("--out")).write_text('{"format_version": 1}\n')
    print("<!-- certops-plan -->\n## certops plan\n\nfake plan")
    if rc == 1:
        print("certops: error: expe1: connection refused", file=sys.stderr)
    sys.exit(rc)
elif cmd == "drift":
    if opt("--metrics-file"):
        Path(opt("--metrics-file")).write_text("certops_in_sync 0\n")
    print("<!-- certops-drift -->\n## certops drift\n\nfake drift")
    sys.exit(rc)
elif cmd == "validate":
    print(os.environ.get("FAKE_VALIDATE_JSON", "{}"))
    sys.exit(rc)
elif cmd == "inspect":
    print(f"{args[1]}: certificate signing request")
elif cmd == "apply":
    target = args[1]
    # FAKE_APPLY maps a plan file (or "fresh") to ok | stale | fail.
    outcome = json.loads(os.environ.get("FAKE_APPLY", "{}")).get(
        target if target.endswith(".json") else "fresh", "ok")
    if outcome == "stale":
        print("certops: error: the plan is stale: expe1: pending CSR changed since the plan. "
              "Run certops plan again and review the new plan.", file=sys.stderr)
        sys.exit(1)
    for i, arg in enumerate(args):
        if arg == "--report":
            ok = "true" if outcome == "ok" else "false"
            Path(args[i + 1]).write_text(f"<!-- certops-apply -->\nok: {ok}\n"
                                         if args[i + 1].endswith(".md") else f'{{"ok": {ok}}}\n')
    if outcome == "fail":
        print("Apply INCOMPLETE: 1 done, 1 failed in 3.0s.")
        print("Stopped: expe1/node.restart failed: the node did not come back", file=sys.stderr)
        sys.exit(1)
    print("Apply complete: 3 done in 1.0s.")
else:
    print(f"fake certops: unexpected arguments {args}", file=sys.stderr)
    sys.exit(64)
'''


@dataclass
class StepRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    calls: list[list[str]]


def run_step(
    workflow_path: Path,
    job: str,
    step_id: str,
    cwd: Path,
    *,
    expressions: Mapping[str, str] | None = None,
    fake: Mapping[str, str] | None = None,
) -> StepRun:
    """Run a step's ``run:`` script as GitHub would (bash -eo pipefail) in ``cwd``.

    The environment is the workflow's and the job's plain ``env`` plus the step's; a value
    that is a ``${{ }}`` expression takes its value from ``expressions`` (keyed by env
    name), else the empty string, as GitHub gives for a missing output or secret.
    """
    workflow = load(workflow_path)
    spec = step(workflow, job, step_id)
    tools = cwd / ".fake-bin"
    tools.mkdir(exist_ok=True)
    certops = tools / "certops"
    certops.write_text(f"#!{sys.executable}\n{FAKE_CERTOPS}")
    certops.chmod(0o755)
    log, output, summary = cwd / ".fake-log", cwd / ".github-output", cwd / ".step-summary"
    for f in (log, output, summary):
        f.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "FAKE_"))}
    for scope in (workflow.get("env", {}), workflow["jobs"][job].get("env", {}),
                  spec.get("env", {})):
        for key, value in scope.items():
            value = str(value)
            env[key] = (expressions or {}).get(key, "") if EXPRESSION.search(value) else value
    env.update({
        "PATH": f"{tools}{os.pathsep}{env['PATH']}",
        "FAKE_LOG": str(log),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        **(fake or {}),
    })
    script = cwd / ".step.sh"
    script.write_text(spec["run"])
    shell = workflow.get("defaults", {}).get("run", {}).get("shell")
    assert shell == "bash", "the scripts are written for bash -eo pipefail"
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    return StepRun(proc.returncode, proc.stdout, proc.stderr, outputs, summary.read_text(), calls)


# ``actions/github-script`` runs its script as the body of an async function of
# (require, github, context, core, ...). This harness does the same under node with a fake
# ``github`` that records every call and answers from ``state``.
JS_HARNESS = r"""
const fs = require('fs');
const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const state = input.state;
const calls = [];
const outputs = {};
const logs = [];
let failed = null;
const api = (name, answer) => async (params) => {
  calls.push([name, params]);
  return answer ? answer(params) : { data: {} };
};
const notFound = () => { const e = new Error('Not Found'); e.status = 404; throw e; };
const github = {
  // Octokit's paginate returns the items of every page; the fakes answer in one page.
  paginate: async (method, params) => (await method(params)).data,
  rest: {
    issues: {
      listComments: api('issues.listComments', () => ({ data: state.comments || [] })),
      createComment: api('issues.createComment',
        () => ({ data: { id: 900, html_url: 'https://c/900' } })),
      updateComment: api('issues.updateComment'),
      listForRepo: api('issues.listForRepo', (p) => ({
        data: (state.issues || []).filter((i) => i.state === p.state) })),
      update: api('issues.update'),
      create: api('issues.create', () => ({ data: { number: 77 } })),
      getLabel: api('issues.getLabel',
        (p) => (state.labels || []).includes(p.name) ? { data: {} } : notFound()),
      createLabel: api('issues.createLabel'),
    },
    repos: {
      listPullRequestsAssociatedWithCommit: api('repos.listPullRequestsAssociatedWithCommit',
        () => ({ data: state.prs || [] })),
    },
    actions: {
      listWorkflowRuns: api('actions.listWorkflowRuns', (p) => ({
        data: (state.runs || []).filter((r) => r.head_sha === p.head_sha
          && (!p.status || r.conclusion === p.status)) })),
      listWorkflowRunArtifacts: api('actions.listWorkflowRunArtifacts', (p) => ({
        data: (state.artifacts || {})[String(p.run_id)] || [] })),
    },
  },
};
const core = {
  info: (m) => logs.push(['info', m]),
  notice: (m) => logs.push(['notice', m]),
  warning: (m) => logs.push(['warning', m]),
  setOutput: (k, v) => { outputs[k] = v; },
  setFailed: (m) => { failed = m; },
};
const context = {
  repo: { owner: 'acme', repo: 'fleet' },
  runId: 4242,
  serverUrl: 'https://github.com',
  sha: input.sha || 'c0ffee',
  payload: input.payload || {},
};
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const script = new AsyncFunction('require', 'github', 'context', 'core', input.script);
script(require, github, context, core)
  .then(() => console.log(JSON.stringify({ calls, outputs, logs, failed })))
  .catch((e) => { console.error(e.stack || String(e)); process.exit(3); });
"""


@dataclass
class ScriptRun:
    calls: list[tuple[str, dict[str, Any]]]
    outputs: dict[str, str]
    logs: list[tuple[str, str]]
    failed: str | None

    def named(self, name: str) -> list[dict[str, Any]]:
        return [params for call, params in self.calls if call == name]


def node() -> str | None:
    return shutil.which("node")


def run_github_script(
    workflow_path: Path,
    job: str,
    step_name_or_id: str,
    cwd: Path,
    *,
    state: Mapping[str, Any],
    payload: Mapping[str, Any] | None = None,
    sha: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ScriptRun:
    workflow = load(workflow_path)
    found = [s for s in workflow["jobs"][job]["steps"]
             if step_name_or_id in (s.get("id"), s.get("name"))]
    assert len(found) == 1, f"one step {step_name_or_id!r} in {job}"
    spec = found[0]
    assert str(spec["uses"]).startswith("actions/github-script@")
    harness, data = cwd / ".harness.js", cwd / ".harness.json"
    harness.write_text(JS_HARNESS)
    data.write_text(json.dumps({"script": spec["with"]["script"], "state": dict(state),
                                "payload": dict(payload or {}), "sha": sha}))
    run_env = {**os.environ, **(env or {})}
    proc = subprocess.run([node() or "node", str(harness), str(data)], cwd=cwd, env=run_env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    return ScriptRun([tuple(c) for c in result["calls"]], result["outputs"],  # type: ignore[misc]
                     [tuple(x) for x in result["logs"]], result["failed"])  # type: ignore[misc]
