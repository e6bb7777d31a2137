"""Inputs for the report tests: a scenario's plan and drift report (tests/scenarios), an
apply result with real-looking times, and checks that read Mermaid text and SVG."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.checks import FleetView, build_view, offline_findings
from reconciler.desired import load
from reconciler.model import RESTART_KINDS, ActionResult, ApplyResult, LiveNode, Plan
from reconciler.pki import CertCache
from reconciler.planning import make_plan
from reconciler.planning.drift import DriftReport, drift_report

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def scenario(case: str) -> tuple[Plan, FleetView, DriftReport]:
    """A plan case's plan, its fleet and its drift report, at the case's time."""
    spec: dict[str, Any] = YAML(typ="safe").load((SCENARIOS / case / "case.yaml").read_text())
    at = datetime.fromisoformat(spec["at"])
    cache = CertCache()
    loaded = load(SCENARIOS / case / "desired", cache)
    assert loaded.desired is not None
    fleet = build_view(loaded.desired, cache)
    findings = (*loaded.findings, *offline_findings(fleet, cache, at))
    raw = json.loads((SCENARIOS / case / "live.json").read_text())
    live = {n: LiveNode.model_validate(d) for n, d in raw.items()}
    plan = make_plan(fleet, live, at, cache=cache, findings=findings)
    return plan, fleet, drift_report(fleet, live, plan, at, cache)


START = datetime(2026, 12, 6, 22, 0, tzinfo=UTC)


def applied(plan: Plan, fail: str | None = None, restart_s: float = 300.0) -> ApplyResult:
    """What apply reports for ``plan`` run one action after another (restarts ``restart_s``,
    other steps 2 s), ``fail`` failing and whatever comes after it skipped."""
    t, results, stopped = START, [], None
    for action in plan.actions:
        if stopped:
            results.append(ActionResult(id=action.id, kind=action.kind, node=action.node,
                                        outcome="skipped", detail=f"not started: {stopped}"))
            continue
        seconds = restart_s if action.kind in RESTART_KINDS else 2.0
        outcome = "failed" if action.id == fail else "done"
        results.append(ActionResult(id=action.id, kind=action.kind, node=action.node,
                                    outcome=outcome, started_at=t, seconds=seconds,
                                    detail="HTTP 500 from the node" if outcome == "failed"
                                    else "ok"))
        t += timedelta(seconds=seconds)
        if outcome == "failed":
            stopped = f"{action.id} failed: HTTP 500 from the node"
    return ApplyResult(started_at=START, seconds=(t - START).total_seconds(),
                       desired_digest=plan.desired_digest, ok=stopped is None,
                       results=tuple(results), stopped_because=stopped)


_TASK = re.compile(r"^    (.+?) :((?:[a-z]+, )*)t(\d+), ", re.M)


def gantt_tasks(text: str) -> dict[str, tuple[int, tuple[str, ...]]]:
    """A Gantt chart's task labels -> task number and tags (each label must be unique)."""
    found = _TASK.findall(text)
    labels = [label for label, _, _ in found]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    assert not dupes, f"tasks named twice: {dupes}"
    return {label: (int(n), tuple(t for t in tags.split(", ") if t))
            for label, tags, n in found}


def svg_bars(svg: str) -> dict[int, tuple[float, float, str]]:
    """Task number -> (x, width, class) of each bar mermaid drew."""
    out = {}
    for m in re.finditer(r'<rect id="d\d+-t(\d+)"([^>]*)>', svg):
        attrs = dict(re.findall(r'(\w[\w-]*)="([^"]*)"', m[2]))
        out[int(m[1])] = (float(attrs["x"]), float(attrs["width"]), attrs.get("class", ""))
    return out


def svg_labels(svg: str) -> list[str]:
    """The task labels mermaid drew, in drawing order."""
    return [t.strip() for t in re.findall(r'<text id="d\d+-t\d+-text"[^>]*>([^<]*)<', svg)]
