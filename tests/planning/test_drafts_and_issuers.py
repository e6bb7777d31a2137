"""Immutable drafts and graph functions; issuers end to end through loader, checks, planner
and report (on copies of the issuance scenarios)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from reconciler.checks import build_view, offline_findings
from reconciler.desired import load
from reconciler.model import Finding, LiveNode, Plan
from reconciler.pki import CertCache
from reconciler.planning import make_plan
from reconciler.planning.graph import Draft, merge, serialise_restarts
from reconciler.report.plan import plan_json, plan_markdown, plan_text

CACHE = CertCache()  # one parse cache for this module's tests

SCENARIOS = Path(__file__).parent.parent / "scenarios"
AT = datetime.fromisoformat("2026-11-26T00:00:00+00:00")


def test_drafts_are_frozen_and_after_gives_a_new_one() -> None:
    draft = Draft(id="n/node.restart", kind="node.restart", node="n", reason="r")
    with pytest.raises(dataclasses.FrozenInstanceError):
        draft.reason = "other"  # type: ignore[misc]
    later = draft.after(["n/cert.install/x"])
    assert later is not draft and later.depends_on == {"n/cert.install/x"}
    assert draft.depends_on == frozenset()
    assert later.after(["n/cert.install/x"]) is later


def test_merge_and_serialise_return_new_mappings() -> None:
    a = Draft(id="a/node.restart", kind="node.restart", node="a", reason="r")
    b = Draft(id="b/node.restart", kind="node.restart", node="b", reason="r")
    drafts = merge({}, [a, b, Draft(id=a.id, kind="node.restart", node="a", reason="second")])
    assert drafts[a.id].reason == "r"  # first wins
    before = dict(drafts)
    out = serialise_restarts(drafts, {frozenset({"a", "b"})})
    assert drafts == before and out is not drafts
    assert out["b/node.restart"].depends_on == {"a/node.restart"}
    assert serialise_restarts(drafts, set())["b/node.restart"].depends_on == frozenset()


def _copy(case: str, tmp_path: Path) -> Path:
    shutil.copytree(SCENARIOS / case, tmp_path / case)
    return tmp_path / case


def _plan(case_dir: Path) -> tuple[list[Finding], Plan]:
    loaded = load(case_dir / "desired", CACHE)
    assert loaded.desired is not None, [f.render() for f in loaded.findings]
    cache = CACHE
    fleet = build_view(loaded.desired, cache)
    findings = [*loaded.findings, *offline_findings(fleet, cache, AT)]
    live = json.loads((case_dir / "live.json").read_text())
    nodes = {n: LiveNode.model_validate(d) for n, d in live.items()}
    return findings, make_plan(fleet, nodes, AT, cache=cache, findings=tuple(findings))


def test_issued_plan_renders_known_after_apply(tmp_path: Path) -> None:
    _, plan = _plan(_copy("plan-issue-renewal-due", tmp_path))
    issue = next(a for a in plan.actions if a.kind == "cert.issue")
    install = next(a for a in plan.actions if a.kind == "cert.install")
    assert (issue.id, issue.issuer) == ("expe1/cert.issue", "lab-ca")
    # the issue checks the trust gate on live stores: it waits for the trust it checks
    assert issue.depends_on == ("expc1/trust.add/trusted-ca-list/1f2d05f5723346df",
                                "expe1/csr.generate",
                                "expe1/trust.add/trusted-ca-list/1f2d05f5723346df")
    assert install.id == "expe1/cert.install/issued"
    assert install.certificate is None and install.certificate_from == "expe1/cert.issue"
    text = "\n".join(plan_text(plan))
    assert "cert.issue      expe1 (issuer lab-ca)" in text
    assert "cert: (known after apply)" in text
    markdown = plan_markdown(plan)
    assert "(issuer `lab-ca`)" in markdown and "certificate: (known after apply)" in markdown
    data = json.loads(plan_json(plan))
    by_id = {a["id"]: a for a in data["actions"]}
    assert by_id["expe1/cert.issue"]["issuer"] == "lab-ca"
    assert by_id["expe1/cert.install/issued"]["certificate_from"] == "expe1/cert.issue"
    assert "issuer" not in by_id["expe1/csr.generate"]


def test_file_wins_over_issuer(tmp_path: Path) -> None:
    """With both ``file`` and ``issuer``, the file is installed as before; an info says so."""
    case = _copy("plan-renewal-same-ca", tmp_path)
    _, before = _plan(case)
    root = case / "desired"
    with (root / "certops.yaml").open("a") as fleet:
        fleet.write("issuers:\n  lab-ca:\n    type: command\n    run: [sign]\n"
                    "    ca_files: [cas/lab-root.pem, cas/issuing-new.pem]\n")
    node = root / "nodes" / "expe1.yaml"
    node.write_text(node.read_text().replace("server_certificate:\n",
                                             "server_certificate:\n  issuer: lab-ca\n"))
    findings, after = _plan(case)
    assert [a.id for a in after.actions] == [a.id for a in before.actions]
    assert [f.code for f in findings if f.code.startswith("issuer.")] == ["issuer.file_wins"]


def test_loader_checks_issuer_ca_files(tmp_path: Path) -> None:
    case = _copy("plan-issue-renewal-due", tmp_path)
    fleet = case / "desired" / "certops.yaml"
    fleet.write_text(fleet.read_text().replace(
        "ca_files: [cas/lab-root.pem, cas/issuing-new.pem]",
        "ca_files: [cas/lab-root.pem, cas/missing.pem, ../outside.pem, nodes/expe1.yaml]",
    ))
    loaded = load(case / "desired", CACHE)
    got = sorted(
        (f.code, f.location.line, f.location.col) for f in loaded.findings if f.location
    )
    assert got == [
        ("input.file_missing", 16, 34),
        ("input.file_outside", 16, 51),
        ("input.pem", 16, 67),
    ]
    assert all(f.location and f.location.file.endswith("certops.yaml") for f in loaded.findings)


def test_issuer_chain_is_derived_trust_of_node_and_peers(tmp_path: Path) -> None:
    loaded = load(_copy("plan-issue-renewal-due", tmp_path) / "desired", CACHE)
    assert loaded.desired is not None
    fleet = build_view(loaded.desired, CACHE)
    for node in ("expe1", "expc1"):
        reasons = {e.reason for e in fleet.nodes[node].trust["trusted-ca-list"].values()}
        assert "chain of issuer lab-ca for expe1" in reasons, node
    cucm = fleet.nodes["cucm-pub"].trust  # not linked to expe1
    assert not any("issuer" in e.reason for store in cucm.values() for e in store.values())
