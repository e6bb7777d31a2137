"""Scenario tests as data (docs/architecture.md).

Each ``tests/scenarios/<case>/`` holds a desired-state tree (``desired/``) and ``case.yaml``:
the time to judge at, the expected exit (0 valid / 1 blocked), ``strict: true`` to plan as
``certops plan --strict`` does, and the expected findings as
``relative/path:line:col severity[code]`` lines (or ``node severity[code]`` where a finding
has no file position). A case with ``live.json`` (live snapshots per node) is a plan case:
its plan must equal ``expected-plan.json`` byte for byte; ``desired/renewal-info.json`` gives
the planner the CAs' ARI windows, as ``certops plan`` recalls them. Regenerate those with
``CERTOPS_UPDATE_PLANS=1 pytest tests/scenarios`` and review every diff: they are the spec.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from reconciler.checks import build_view, offline_findings
from reconciler.desired import load
from reconciler.issuers.ari import read_cache
from reconciler.model import Finding, LiveNode, Plan, Severity
from reconciler.pki import CertCache
from reconciler.planning import make_plan
from reconciler.report.plan import plan_json

HERE = Path(__file__).parent
@pytest.fixture(autouse=True)
def _keep_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)  # restored after each test; findings_of changes it


CASES = sorted(p.parent.name for p in HERE.glob("*/case.yaml"))
PLAN_CASES = [c for c in CASES if (HERE / c / "live.json").is_file()]


def load_case(name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((HERE / name / "case.yaml").read_text())
    return data


def findings_of(case: str, at: datetime) -> tuple[list[Finding], Plan | None]:
    """Findings (and the plan) of a case, loaded as ``desired`` from inside the case folder:
    file names in findings are then the same on every machine."""
    os.chdir(HERE / case)
    root = Path("desired")
    cache = CertCache()
    loaded = load(root, cache)
    assert loaded.desired is not None, [f.render() for f in loaded.findings]
    fleet = build_view(loaded.desired, cache)
    findings = [*loaded.findings, *offline_findings(fleet, cache, at)]
    live_file = HERE / case / "live.json"
    if not live_file.is_file():
        return findings, None
    live = {n: LiveNode.model_validate(d) for n, d in json.loads(live_file.read_text()).items()}
    strict = bool(load_case(case).get("strict"))  # a node that cannot be read blocks all
    # The CAs' renewal windows (ARI) as renewal-info.json recalls them (usecases.renewal).
    windows = {w.key: w for w in read_cache(root).windows.values()}
    plan = make_plan(fleet, live, at, cache=cache, findings=tuple(findings), strict=strict,
                     renewal=windows)
    return list(plan.findings), plan


def brief(f: Finding, root: Path) -> str:
    if f.location is None:
        return f"{f.node} {f.severity.value}[{f.code}]"
    rel = Path(f.location.file).relative_to(root)
    return f"{rel}:{f.location.line}:{f.location.col} {f.severity.value}[{f.code}]"


@pytest.mark.parametrize("case", CASES)
def test_findings(case: str) -> None:
    spec = load_case(case)
    root = Path("desired")
    findings, _plan = findings_of(case, datetime.fromisoformat(spec["at"]))
    got = sorted(brief(f, root) for f in findings)
    detail = "\n".join(f"{brief(f, root)}  {f.message}" for f in findings)
    assert got == sorted(spec.get("findings") or []), detail
    for needle in spec.get("messages") or []:
        assert any(needle in f.message for f in findings), f"{needle!r} not in\n{detail}"
    blocked = any(f.severity is Severity.ERROR for f in findings)
    assert blocked is (spec["exit"] == 1), detail


@pytest.mark.parametrize("case", PLAN_CASES)
def test_plan(case: str) -> None:
    spec = load_case(case)
    _, plan = findings_of(case, datetime.fromisoformat(spec["at"]))
    assert plan is not None
    text = plan_json(plan)
    expected = HERE / case / "expected-plan.json"
    if os.environ.get("CERTOPS_UPDATE_PLANS") == "1":
        expected.write_text(text)
    assert expected.is_file(), f"{expected} missing: generate it with CERTOPS_UPDATE_PLANS=1"
    assert text == expected.read_text()
    if "actions" in spec:
        assert [
            f"{a.kind} {a.node}{' ' + a.store if a.store else ''}" for a in plan.actions
        ] == spec["actions"]


@pytest.mark.parametrize("case", PLAN_CASES)
def test_plan_is_deterministic(case: str) -> None:
    spec = load_case(case)
    at = datetime.fromisoformat(spec["at"])
    assert plan_json(findings_of(case, at)[1]) == plan_json(findings_of(case, at)[1])  # type: ignore[arg-type]


def test_every_case_has_a_tree() -> None:
    assert len(CASES) >= 20 and len(PLAN_CASES) >= 10
    for case in CASES:
        assert (HERE / case / "desired" / "certops.yaml").is_file()
