"""Markdown that fits by design: simulated fleets of 1,000 and 10,000 nodes (in memory).

The plan comment and the drift report stay within --max-chars (the default fits a GitHub
comment), and nothing that must be seen is left out: every blocking finding, every node
that changes trust, every unreachable node, and counts that add up to the whole fleet.
Node lists fold runs of neighbouring names (``a … b (n)``); the checks unfold them against
the sorted node list and compare sets, so a dropped or invented node fails.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from simfleet import AT, simulated

from reconciler.model import Action, Finding, Plan, Severity
from reconciler.pki import CertInfo
from reconciler.planning.drift import CertRecord, DriftReport
from reconciler.report.budget import DEFAULT_MAX_CHARS, compact_names
from reconciler.report.drift_markdown import drift_markdown, node_states
from reconciler.report.plan import plan_markdown

_RUN = re.compile(r"^(\S+) … (\S+) \((\d+)\)$")


def unfold(listing: str, universe: list[str]) -> set[str]:
    """The names a folded list stands for (each run checked against its count)."""
    names: set[str] = set()
    for item in listing.split(", "):
        run = _RUN.match(item)
        if run is None:
            names.add(item)
            continue
        first, last = universe.index(run[1]), universe.index(run[2])
        assert last - first + 1 == int(run[3]), item
        names.update(universe[first:last + 1])
    return names


def section(md: str, title: str) -> str:
    """The text of a ``###`` section."""
    start = md.index(f"### {title}")
    end = md.find("\n### ", start + 4)
    return md[start:end if end > 0 else len(md)]


def blocking_named(md: str, errors: list[Finding]) -> set[tuple[str, str]]:
    """(node, code) of every blocking finding the Markdown shows, rows or grouped lines."""
    text = section(md, "Blocking findings")
    shown = set(re.findall(r"^\| error \| (\S+) \| `([^`]+)` \|", text, re.M))
    universe = sorted({f.node or "" for f in errors})
    for code, listing in re.findall(r"^- `([^`]+)` on \d+ node\(s\): (.+?)\. First:", text, re.M):
        shown |= {(n, code) for n in unfold(listing, universe)}
    return shown


def trust_named(md: str, universe: list[str]) -> set[str]:
    text = section(md, "Trust changes")
    return {n for listing in re.findall(r" on \d+ node\(s\): (.+)$", text, re.M)
            for n in unfold(listing, universe)}


def kind_counts(md: str) -> tuple[int, int]:
    """The per-kind table's totals: nodes and actions."""
    table = section(md, "Summary").split("| kind |", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| [^|]+ \| (\d+) \| \d+ \| (\d+) \|", table, re.M)
    return sum(int(n) for n, _ in rows), sum(int(a) for _, a in rows)


@pytest.mark.parametrize("nodes", [1000, 10_000])
@pytest.mark.parametrize("max_chars", [DEFAULT_MAX_CHARS, 20_000])
def test_plan_fits_and_leaves_nothing_blocking_out(nodes: int, max_chars: int) -> None:
    plan, facts = simulated(nodes)
    md = plan_markdown(plan, facts, max_chars=max_chars)
    assert len(md) <= max_chars
    errors = [f for f in plan.findings if f.severity is Severity.ERROR]
    assert blocking_named(md, errors) == {(f.node, f.code) for f in errors}
    universe = sorted(plan.node_fingerprints)
    changing = {a.node for a in plan.actions if a.kind in ("trust.add", "trust.remove")}
    assert trust_named(md, universe) == changing
    assert kind_counts(md) == (nodes, len(plan.actions))
    shown = md.count("<details><summary><b>")
    more = re.search(r"\*\*(\d+) more nodes, in the artifact", md)
    assert more is not None and shown + int(more[1]) == nodes
    assert "```mermaid\nflowchart" in md and "```mermaid\ngantt" in md


def test_names_scattered_over_a_huge_fleet_are_cut_with_a_count_not_overflowed() -> None:
    """Trust changing on every other node of 10,000 (nothing to fold): the list cannot fit, so
    it stops at a name and says how many more there are; the report still fits."""
    plan, facts = simulated(10_000)
    universe = sorted(plan.node_fingerprints)
    skip = set(universe[::2])
    actions = tuple(a for a in plan.actions if not (a.kind == "trust.add" and a.node in skip))
    scattered = plan.model_copy(update={"actions": actions})
    md = plan_markdown(scattered, facts)
    assert len(md) <= DEFAULT_MAX_CHARS
    line = next(x for x in section(md, "Trust changes").splitlines() if " node(s): " in x)
    named, more = line.split(" node(s): ", 1)[1].split(" … and ")
    shown = [n for n in named.split(", ") if n]
    assert int(more.split(" more")[0]) + len(shown) == len(universe) - len(skip)
    assert set(shown) <= set(universe) - skip


def test_measured_sizes_before_the_budget() -> None:
    """Without a limit the 1,000-node plan is far over a comment: the budget does the work."""
    plan, facts = simulated(1000)
    assert len(plan_markdown(plan, facts, max_chars=0)) > 4 * DEFAULT_MAX_CHARS


def test_a_small_plan_is_whole() -> None:
    plan, facts = simulated(20)
    md = plan_markdown(plan, facts)
    assert "more nodes" not in md and md.count("<details><summary><b>") == 20
    assert "| site000-u0000-cucm1 |" in md  # the per-node table of a small fleet
    assert "| label role | nodes |" in md and "| call-control | 12 |" in md  # per label


def test_lists_fold_only_runs_of_neighbours() -> None:
    universe = [f"n{i:02d}" for i in range(30)]
    picked = [*universe[0:10], universe[12], *universe[20:30]]
    listing = compact_names(picked, universe)
    assert listing == "n00 … n09 (10), n12, n20 … n29 (10)"
    assert unfold(listing, universe) == set(picked)
    assert compact_names(["b", "a"], ["a", "b"]) == "a, b"  # short lists are written out


def _drift(plan: Plan, nodes: list[str]) -> DriftReport:
    """A drift report of the simulated fleet: certificates expiring over the next 400 days,
    every 211th node unreachable, the plan's findings plus one drift item per changing node."""
    template = CertInfo(
        cert=None, der=b"", sha256="", spki_sha256="", subject="", issuer="CN=Sim Issuing",  # type: ignore[arg-type]
        serial="1", not_before=AT - timedelta(days=365), not_after=AT, dns_names=(),
        ip_addresses=(), uris=(), emails=(), san_critical=False, key_usage=(), eku=(),
        authority_key_id=None, subject_key_id=None, is_ca=False, path_length=None,
        key_type="RSA", key_bits=2048, curve=None, signature_hash="sha256")
    # ``self_signed`` is computed on first use; without a certificate (cert=None) it is False.
    ca = replace(template, subject="CN=Sim Root G1", sha256="r" * 64, is_ca=True,
                 not_after=AT + timedelta(days=200))
    records = []
    for i, node in enumerate(nodes):
        leaf = replace(template, subject=f"CN={node}", sha256=f"{i:064d}",
                       not_after=AT + timedelta(days=i % 400))
        records += [CertRecord(node, "server", leaf), CertRecord(node, "trusted-ca-list", ca)]
    findings = [*plan.findings, *(Finding(code="drift.certificate", severity=Severity.WARNING,
                                          node=n, message="a certificate to install")
                                  for n in nodes[::3])]
    up = {n: i % 211 != 5 for i, n in enumerate(nodes)}
    return DriftReport(plan=plan, findings=tuple(findings), certificates=tuple(records), up=up)


@pytest.mark.parametrize("nodes", [1000, 10_000])
def test_drift_fits_and_names_every_unreachable_node_and_error(nodes: int) -> None:
    plan, facts = simulated(nodes)
    names = sorted(plan.node_fingerprints)
    report = _drift(plan, names)
    md = drift_markdown(report, facts)
    assert len(md) <= DEFAULT_MAX_CHARS
    down = {n for n, up in report.up.items() if not up}
    listing = re.search(r"^\*\*Unreachable \(\d+\):\*\* (.+)$", md, re.M)
    assert listing is not None and unfold(listing[1], names) == down
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    shown = set(re.findall(r"^\| error \| (\S+) \| `([^`]+)` \|", section(md, "Errors"), re.M))
    universe = sorted({f.node or "" for f in errors})
    for code, found in re.findall(r"^- `([^`]+)` on \d+ node\(s\): (.+?)\. First:", md, re.M):
        shown |= {(n, code) for n in unfold(found, universe)}
    assert shown == {(f.node, f.code) for f in errors}
    states = node_states(report)
    total = re.search(r"^\| (\d+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", md, re.M)
    assert total is not None and int(total[1]) == nodes == sum(map(int, total.groups()[1:]))
    assert int(total[5]) == len(down) == sum(s == "unreachable" for s in states.values())
    assert "```mermaid\npie" in md and "Renewals and expiries" in md


def test_a_trust_change_done_by_hand_is_a_trust_change() -> None:
    """Deleting a CA on an Expressway is a manual step: the node's trust still changes."""
    plan, facts = simulated(20)
    node = sorted(plan.node_fingerprints)[0]
    ca = next(a.certificate for a in plan.actions if a.certificate is not None)
    manual = Action.model_construct(
        id=f"{node}/trust.remove/trusted-ca-list/old", kind="manual", node=node,
        reason="by hand", store="trusted-ca-list", certificate=ca, services=(),
        subject_alt_names=(), depends_on=(), manual="Maintenance > Security > ...",
        issuer=None, certificate_from=None, replicated_from=None)
    md = plan_markdown(plan.model_copy(update={"actions": (*plan.actions, manual)}), facts)
    assert f"removes **Sim Root G2** on 1 node(s): {node}" in section(md, "Trust changes")


def test_apply_markdown_names_steps_owed_to_a_window() -> None:
    from reportkit import START

    from reconciler.model import ActionResult, ApplyResult
    from reconciler.report.apply_markdown import apply_markdown

    results = (
        ActionResult(id="expe1/trust.add/x", kind="trust.add", node="expe1", outcome="done",
                     started_at=START, seconds=1.0),
        ActionResult(id="expe1/node.restart", kind="node.restart", node="expe1",
                     outcome="owed", detail="window nightly (next: 2026-12-07 22:00 UTC)"),
    )
    md = apply_markdown(ApplyResult(started_at=START, seconds=1.0, desired_digest="0",
                                    ok=True, results=results))
    assert "complete for now" in md and "### Owed to a change window (1)" in md
    assert "- node.restart **expe1**: window nightly (next: 2026-12-07 22:00 UTC)" in md
