"""How a partial plan reads (issue 16 item 13): the text, the Markdown comment and the JSON
of ``plan-unreachable-partial`` (expe1 unreachable, expc1 held back) say it is partial and
name the nodes left out; ``plan-unreachable-peer`` (the same with --strict) stays blocked."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from test_scenarios import findings_of, load_case

from reconciler.model import Plan
from reconciler.report.plan import plan_json, plan_markdown, plan_text


def plan_of(case: str) -> Plan:
    made = findings_of(case, datetime.fromisoformat(load_case(case)["at"]))[1]
    assert made is not None
    return made


@pytest.fixture(autouse=True)
def _keep_cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(".")  # findings_of changes it


def test_partial_plan_text_markdown_and_json() -> None:
    made = plan_of("plan-unreachable-partial")
    assert not made.blocked and made.partial
    assert made.unread == ("expe1",) and made.held_back == ("expc1",)
    text = "\n".join(plan_text(made))
    assert "PARTIAL PLAN" in text and "not read (nothing planned): expe1" in text
    assert "held back (linked to them, or waiting for them): expc1" in text
    assert "Plan: PARTIAL (2 node(s) left out), changes" in text
    md = plan_markdown(made)
    assert "**Partial plan:**" in md and "> - not read: expe1" in md
    assert "| expc1 | **held back** |" in md and "| expe1 | **not read** |" in md
    data = json.loads(plan_json(made))
    # No new field in the JSON (targets appear only in a --node plan; restart_windows and
    # assumed_owed only with change windows).
    assert set(data) == set(Plan.model_fields) - {"targets", "restart_windows", "assumed_owed"}
    codes = {(f["code"], f["node"], f["severity"]) for f in data["findings"]}
    assert {("node.unreachable", "expe1", "warning"),
            ("node.held_back", "expc1", "warning")} <= codes


def test_strict_plan_is_blocked_not_partial() -> None:
    made = plan_of("plan-unreachable-peer")
    assert made.blocked and not made.partial
    text = "\n".join(plan_text(made))
    assert "PARTIAL" not in text and "BLOCKED" in text
