"""Every diagram the reports write, drawn by the real renderer (mermaid in headless Chromium).

One Chromium run draws them all (a few seconds). A diagram with a syntax error fails its
test: two broken diagrams prove the renderer reports one. The plan's Gantt charts are read
back from the SVG: every restart of the plan is one bar, and no bar starts before the bars of
the restarts it waits for have ended.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from mermaidkit import Rendered, blocks, missing, render
from reportkit import START, applied, gantt_tasks, scenario, svg_bars, svg_labels
from simfleet import simulated

from reconciler.model import RESTART_KINDS, Plan
from reconciler.report.apply_markdown import apply_markdown
from reconciler.report.drift_markdown import drift_markdown
from reconciler.report.facts import FleetFacts, facts_of
from reconciler.report.mermaid import Bar, Edge, Section, flowchart, gantt
from reconciler.report.plan import plan_markdown
from reconciler.report.plan_pictures import Window, naive_utc

pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))

BROKEN = {
    "broken-gantt": "gantt\n    title x\n    dateFormat YYYY-MM-DD\n"
                    "    a task :t1, 2026-13-45, x\n",
    "broken-flowchart": "flowchart LR\n    n1[\"a\"] -->|\"label| n2[\"b\n",
}


def _hostile() -> str:
    """Names and CA subjects are data from files and nodes: Mermaid syntax in them must stay
    text (a quote, a pipe, brackets, a newline, a colon, a comment mark)."""
    bad = 'x"]; click n1 call alert(1) %% |y| <b>z</b>\n:#;'
    edges = [Edge(bad, "peer", f"CN={bad}", strong=True), Edge("peer", bad, "CA", both=True)]
    bars = (Bar(bad, START.replace(tzinfo=None), START.replace(tzinfo=None) + timedelta(1)),)
    return "\n\n".join([
        "```mermaid", *flowchart(edges, {bad: bad}), "```",
        "```mermaid", *gantt(bad, [Section(bad, bars)]), "```"])


def _windowed() -> tuple[Plan, FleetFacts]:
    plan, fleet, _ = scenario("plan-renewal-window")
    return plan, facts_of(fleet)


def _reports() -> dict[str, str]:
    """Name -> Markdown of every report drawn here."""
    plan, fleet, drift = scenario("plan-renewal-new-ca")
    small, small_facts = simulated(20)
    large, large_facts = simulated(1000)
    window = Window("sat-night", naive_utc(START), naive_utc(START + timedelta(minutes=45)))
    failing = next(a.id for a in plan.actions if a.kind == "node.restart")
    return {
        "plan": plan_markdown(plan, facts_of(fleet)),
        "plan-clusters": plan_markdown(small, small_facts),
        "plan-window": plan_markdown(small, small_facts, window=window),
        "plan-1000": plan_markdown(large, large_facts),
        "apply": apply_markdown(applied(plan, fail=failing), facts_of(fleet)),
        "apply-1000": apply_markdown(applied(large, restart_s=60), large_facts),
        "drift": drift_markdown(drift, facts_of(fleet)),
        "plan-windows": plan_markdown(*_windowed()),
        "hostile": _hostile(),
    }


@pytest.fixture(scope="module")
def drawn() -> Iterator[dict[str, list[tuple[str, Rendered]]]]:
    """Name -> each diagram's text and what mermaid made of it, all in one Chromium run."""
    sources = {name: blocks(md) for name, md in _reports().items()}
    sources |= {name: [text] for name, text in BROKEN.items()}
    flat = [(name, text) for name, texts in sources.items() for text in texts]
    results = render([text for _, text in flat])
    out: dict[str, list[tuple[str, Rendered]]] = {name: [] for name in sources}
    for (name, text), result in zip(flat, results, strict=True):
        out[name].append((text, result))
    yield out


Drawn = dict[str, list[tuple[str, Rendered]]]


def test_a_broken_diagram_is_reported_as_an_error(drawn: Drawn) -> None:
    for name in BROKEN:
        ((_, result),) = drawn[name]
        assert not result.ok and result.error, name


@pytest.mark.parametrize("name", ["plan", "plan-clusters", "plan-window", "plan-windows",
                                  "plan-1000", "apply", "apply-1000", "drift", "hostile"])
def test_every_diagram_renders(drawn: dict[str, list[tuple[str, Rendered]]], name: str) -> None:
    assert drawn[name], f"{name}: no diagram"
    for text, result in drawn[name]:
        assert result.ok, f"{name}: {result.error}\n{text}"
        assert result.width > 100 and result.height > 50


def _gantt(drawn: dict[str, list[tuple[str, Rendered]]], name: str) -> tuple[str, str]:
    return next((t, r.svg) for t, r in drawn[name] if t.startswith("gantt"))


def _restarts_before(plan: Plan) -> dict[str, set[str]]:
    """For each restart, the restarts it waits for, directly or through other actions."""
    before: dict[str, set[str]] = {}
    by_id = {a.id: a for a in plan.actions}
    for action in plan.actions:  # plan order: dependencies first
        seen: set[str] = set()
        for dep in action.depends_on:
            seen |= before.get(dep, set())
            if by_id[dep].kind in RESTART_KINDS:
                seen.add(dep)
        before[action.id] = seen
    return {a.id: before[a.id] for a in plan.actions if a.kind in RESTART_KINDS}


def _check_restarts(plan: Plan, text: str, svg: str, others: tuple[str, ...] = ()) -> None:
    """Every restart is one bar, labelled with its node, drawn once and after what it waits
    for; ``others`` names the bars that are not restarts (the windows)."""
    tasks = {label: n for label, (n, _) in gantt_tasks(text).items() if label not in others}
    bars = svg_bars(svg)
    drawn_labels = svg_labels(svg)
    restarts = [a for a in plan.actions if a.kind in RESTART_KINDS]
    number: dict[str, int] = {}
    for action in restarts:
        what = ", ".join(action.services) if action.services else "node restart"
        label = f"{action.node} {what}"
        assert label in tasks, f"{action.id} has no bar"
        assert drawn_labels.count(label) == 1, f"{label} drawn {drawn_labels.count(label)} times"
        number[action.id] = tasks[label]
    assert len(number) == len(restarts) == len(tasks)
    for aid, earlier in _restarts_before(plan).items():
        x, _, _ = bars[number[aid]]
        for dep in earlier:
            dx, dw, _ = bars[number[dep]]
            assert x >= dx + dw - 0.5, f"{aid} drawn before {dep} ends"


def test_plan_gantt_has_every_restart_once_in_order(
        drawn: dict[str, list[tuple[str, Rendered]]]) -> None:
    plan, _, _ = scenario("plan-renewal-new-ca")
    _check_restarts(plan, *_gantt(drawn, "plan"))
    small, _ = simulated(20)
    _check_restarts(small, *_gantt(drawn, "plan-clusters"))


def test_window_bar_and_restarts_past_it_in_red(
        drawn: dict[str, list[tuple[str, Rendered]]]) -> None:
    text, svg = _gantt(drawn, "plan-window")
    small, _ = simulated(20)
    _check_restarts(small, text, svg, others=("sat-night",))
    tasks, bars = gantt_tasks(text), svg_bars(svg)
    wx, ww, _ = bars[tasks["sat-night"][0]]
    late = [n for n, tags in tasks.values() if "crit" in tags]
    assert late, "the 45-minute window is too short for this plan's restarts"
    for n, _tags in tasks.values():
        x, w, cls = bars[n]
        assert ("crit" in cls) == (n in late) == (x + w > wx + ww + 0.5)


def test_each_restart_waits_for_its_own_change_window(drawn: Drawn) -> None:
    """The plan's windows (expc1: weekend, the rest: nightly, open at the plan's time): each
    window a bar, each restart drawn once, in order, inside its window."""
    plan, _ = _windowed()
    text, svg = _gantt(drawn, "plan-windows")
    _check_restarts(plan, text, svg, others=("nightly", "weekend"))
    tasks, bars = gantt_tasks(text), svg_bars(svg)
    for action in (a for a in plan.actions if a.kind == "node.restart" or a.services):
        window = plan.restart_windows[action.node].window
        what = ", ".join(action.services) if action.services else "node restart"
        x, w, _ = bars[tasks[f"{action.node} {what}"][0]]
        wx, ww, _ = bars[tasks[window][0]]
        assert wx - 0.5 <= x and x + w <= wx + ww + 0.5, f"{action.id} outside {window}"


def test_hostile_text_stays_text(drawn: Drawn) -> None:
    (_, flow), (_, chart) = drawn["hostile"]
    assert "alert(1)" in flow.svg and "<b>" not in flow.svg  # shown as text, not markup
    assert len(svg_bars(chart.svg)) == 1


def test_large_plan_diagrams_summarise(drawn: dict[str, list[tuple[str, Rendered]]]) -> None:
    text, _ = _gantt(drawn, "plan-1000")
    assert "restarts per" in text and len(gantt_tasks(text)) <= 40


def test_apply_failure_is_red(drawn: dict[str, list[tuple[str, Rendered]]]) -> None:
    text, svg = _gantt(drawn, "apply")
    crit = [n for n, (_, _, cls) in svg_bars(svg).items() if "crit" in cls]
    assert len(crit) == 1 and "node.restart" in text


def test_drift_has_states_and_expiry(drawn: dict[str, list[tuple[str, Rendered]]]) -> None:
    texts = [t for t, _ in drawn["drift"]]
    assert any(t.startswith("pie") for t in texts)
    assert any(t.startswith("gantt") and "section 12 months" in t for t in texts)


def test_reports_without_fleet_facts_still_draw() -> None:
    plan, _, _ = scenario("plan-renewal-new-ca")
    md = plan_markdown(plan, FleetFacts())
    assert "```mermaid\ngantt" in md and "Trust links" not in md
