"""The plan as a pull-request comment: Markdown that fits GitHub's limit by design.

Always there, whatever the fleet's size: the verdict and what a reviewer must see first
(a block, a partial plan, TLS off, connection changes), every blocking finding, the counts of
nodes and actions per kind, site, cluster and label, and every node whose trust changes. Then, in
priority order while they fit in ``max_chars``: the trust links as a Mermaid graph, the
restarts as a Mermaid Gantt chart (each with its text table under it), the other findings,
the per-node detail in collapsed sections (the rest named: "N more nodes, in the
artifact"), the live certificates. Diagrams draw per node while readable
(``reconciler.report.mermaid.MAX_BARS``), else per cluster, site or kind.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from reconciler.model import RESTART_KINDS, Action, Finding, Plan, Severity
from reconciler.report.budget import (
    DEFAULT_MAX_CHARS,
    Parts,
    compact_names,
    fit_blocks,
    size,
)
from reconciler.report.counts import count_table, full_table
from reconciler.report.facts import FleetFacts, group_of, label_keys
from reconciler.report.findings_markdown import blocking_lines, other_lines
from reconciler.report.plan import (
    MARKER,
    certificate_text,
    live_lines,
    plan_summary,
    security_findings,
    when_text,
)
from reconciler.report.plan_pictures import Window, restart_section
from reconciler.report.text import cell, short_subject, trust_change
from reconciler.report.trust_graph import trust_graph

ARTIFACT = "in the artifact (plan.json)"
# A per-node summary table is shown for fleets up to this size (the counts cover larger ones).
NODE_TABLE_MAX = 100


def plan_markdown(plan: Plan, facts: FleetFacts | None = None, *,
                  max_chars: int = DEFAULT_MAX_CHARS, window: Window | None = None) -> str:
    """A pull-request comment of at most ``max_chars`` characters (0: no limit); ``MARKER``
    lets a workflow find and update its own comment."""
    facts = facts or FleetFacts()
    universe = _universe(plan)
    parts = Parts(max_chars)  # parts in display order; the number is the priority (0: always)
    parts.add(0, [MARKER, "## certops plan", "", *_top(plan, universe, max_chars // 20)])
    parts.add(0, blocking_lines(plan.findings, max_chars, "Blocking findings"))
    counts = node_counts(plan)
    parts.add(0, _counts(plan, facts, universe, counts))
    trust = _trust_changes(plan, universe, max_chars // 4)
    if trust:
        parts.add(0, trust[:2])
        parts.add(1, trust_graph(plan, facts))
        parts.add(0, trust[2:])
    parts.add(0, _when(plan, universe, max_chars // 6))
    parts.add(1, restart_section(plan, facts, window))
    parts.add(2, _node_table(plan, universe))
    parts.add(5, lambda left: _every_group(counts, facts, universe, left))
    parts.add(3, other_lines(plan.findings, universe, "Other findings"))
    parts.add(4, lambda left: _details(plan, left))
    parts.add(5, _live(plan))
    parts.add(0, [f"_{plan_summary(plan)}_"])
    return "\n".join(parts.render()) + "\n"


def _universe(plan: Plan) -> list[str]:
    """Every node the plan names, sorted: read, held back or not read."""
    names = set(plan.node_fingerprints) | {a.node for a in plan.actions}
    return sorted(names | set(plan.unread) | set(plan.held_back))


def _top(plan: Plan, universe: Sequence[str], limit: int) -> list[str]:
    """What a reviewer must see first: a block, a partial plan, TLS off, connection changes
    (each list of nodes at most ``limit`` characters; 0: no limit)."""
    out: list[str] = []
    if plan.blocked:
        out += ["**Blocked:** the errors below must be fixed before this can be applied.", ""]
    if plan.partial:
        out += ["> [!WARNING]", "> **Partial plan:** some nodes could not be read; the rest of "
                "the fleet is planned."]
        if plan.unread:
            out.append(f"> - not read: {compact_names(plan.unread, universe, limit)}")
        if plan.held_back:
            out.append(f"> - held back: {compact_names(plan.held_back, universe, limit)}")
        out.append("")
    if plan.tls_verify_off:
        off = compact_names(plan.tls_verify_off, universe, limit)
        out += [f"> ⚠️ TLS verification is **off** for {off}.", ""]
    security = security_findings(plan)
    if security:
        out += ["> [!CAUTION]", "> **Security-relevant: this change edits how certops connects "
                "to nodes** (URL, CAs/pins, credentials, SSH host key). Review it as access "
                "to the phone system:"]
        lines = [f"> - **{f.node}**: {cell(f.message)}" for f in security]
        if limit and size(lines) > 3 * limit:  # too many to quote: every node still named
            nodes = compact_names({f.node or "" for f in security}, universe, 3 * limit)
            lines = [f"> - {len(security)} nodes (each message {ARTIFACT}): {nodes}"]
        out += [*lines, ""]
    return out


COUNT_COLUMNS = ("nodes", "with changes", "actions", "restarts", "trust changes")


def node_counts(plan: Plan) -> dict[str, tuple[int, int, int]]:
    """Per node with actions: its actions, its restarts, whether its trust changes (1/0)."""
    out: dict[str, list[int]] = {}
    for a in plan.actions:
        row = out.setdefault(a.node, [0, 0, 0])
        row[0] += 1
        row[1] += a.kind in RESTART_KINDS
        row[2] |= trust_change(a) is not None
    return {n: (r[0], r[1], r[2]) for n, r in out.items()}


def _count_rows(counts: dict[str, tuple[int, int, int]], facts: FleetFacts,
                universe: Sequence[str], level: str) -> dict[str, list[int]]:
    """Per group of ``level``: nodes, nodes with changes, actions, restarts, trust changes."""
    group = group_of(facts, level)
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    none = (0, 0, 0)
    for node in universe:
        actions, restarts, trust = counts.get(node, none)
        row = rows[group(node)]
        row[0] += 1
        row[1] += actions > 0
        row[2] += actions
        row[3] += restarts
        row[4] += trust
    return rows


def _counts(plan: Plan, facts: FleetFacts, universe: Sequence[str],
            counts: dict[str, tuple[int, int, int]]) -> list[str]:
    """Nodes and actions counted per kind, per site and per cluster (every one of them)."""
    kinds = Counter(a.kind for a in plan.actions)
    changing = len({a.node for a in plan.actions})
    listed = ", ".join(f"{n}× `{k}`" for k, n in sorted(kinds.items())) or "no actions"
    out = ["### Summary", "",
           f"**{len(universe)} node(s)**, {changing} with changes; "
           f"**{len(plan.actions)} action(s)**: {listed}.", ""]
    for level in ("kind", "site", "cluster", *(f"label {k}" for k in label_keys(facts))):
        rows = _count_rows(counts, facts, universe, level)
        if level == "kind" or len(rows) > 1:
            out += count_table(level, COUNT_COLUMNS, rows)
    return out


def _every_group(counts: dict[str, tuple[int, int, int]], facts: FleetFacts,
                 universe: Sequence[str], left: int) -> list[str]:
    """The row per site and cluster that the summary shared out, as far as they fit."""
    out: list[str] = []
    for level in ("site", "cluster"):
        rows = _count_rows(counts, facts, universe, level)
        out += full_table(level, COUNT_COLUMNS, rows, left - size(out),
                          f"| {{n}} more {level}s, {ARTIFACT} | | | | | |")
    return out


def _trust_changes(plan: Plan, universe: Sequence[str], limit: int) -> list[str]:
    """Every node whose trust changes, grouped by the CAs it adds and removes (the lists
    share ``limit`` characters; 0: no limit)."""
    adds: dict[str, set[str]] = defaultdict(set)
    removes: dict[str, set[str]] = defaultdict(set)
    for a in plan.actions:
        change = trust_change(a)
        if change is not None and a.certificate is not None:
            into = adds if change == "trust.add" else removes
            into[a.node].add(short_subject(a.certificate.subject))
    nodes = sorted(set(adds) | set(removes))
    if not nodes:
        return []
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = defaultdict(list)
    for node in nodes:
        key = (tuple(sorted(adds.get(node, ()))), tuple(sorted(removes.get(node, ()))))
        groups[key].append(node)
    out = [f"### Trust changes ({len(nodes)} node(s))", ""]
    lines = []
    for (added, removed), members in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        what = "; ".join(filter(None, [
            ("adds " + ", ".join(f"**{cell(s)}**" for s in added)) if added else "",
            ("removes " + ", ".join(f"**{cell(s)}**" for s in removed)) if removed else "",
        ]))
        share = max(limit // len(groups), 300) if limit else 0
        listed = compact_names(members, universe, share)
        lines.append(f"- {what} on {len(members)} node(s): {listed}")
    return [*out, "", *lines, ""]


def _when(plan: Plan, universe: Sequence[str], limit: int) -> list[str]:
    """When each node's changes run, for the nodes whose restarts wait for a change window:
    a line per node, or per set of nodes alike when they are too many to list."""
    if not plan.restart_windows:
        return []
    texts = {node: when_text(plan, node) or "" for node in sorted(plan.restart_windows)}
    lines = [f"- **{node}**: {cell(text)}" for node, text in texts.items()]
    if limit and size(lines) > limit:
        alike: dict[str, list[str]] = defaultdict(list)
        for node, text in texts.items():
            alike[text].append(node)
        share = max(limit // len(alike), 300)
        lines = [f"- {len(nodes)} node(s), {compact_names(nodes, universe, share)}: {cell(text)}"
                 for text, nodes in sorted(alike.items(), key=lambda x: -len(x[1]))]
    return ["### When (change windows)", "", *lines, ""]


def _node_table(plan: Plan, universe: Sequence[str]) -> list[str]:
    """One row per node (small fleets): its actions by kind, held back or not read."""
    if len(universe) > NODE_TABLE_MAX:
        return []
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for a in plan.actions:
        kinds[a.node][a.kind] += 1
    out = ["### Nodes", "", "| node | actions |", "|---|---|"]
    for node in universe:
        listed = ", ".join(f"{n}× `{k}`" for k, n in sorted(kinds[node].items()))
        if node in plan.held_back:
            listed = "**held back**"
        elif node in plan.unread:
            listed = "**not read**"
        out.append(f"| {node} | {listed or 'in sync'} |")
    return [*out, ""]


def _node_block(node: str, actions: list[tuple[int, Action]],
                findings: list[Finding]) -> list[str]:
    out = [f"<details><summary><b>{node}</b>: {len(actions)} action(s)"
           + (f", {len(findings)} finding(s)" if findings else "") + "</summary>", ""]
    for i, action in actions:
        extra = f" (role `{action.role}`)" if action.role else ""
        extra += f" `{action.store}`" if action.store else ""
        extra += f" ({', '.join(action.services)})" if action.services else ""
        extra += f" (issuer `{action.issuer}`)" if action.issuer else ""
        out.append(f"{i}. `{action.kind}`{extra}: {cell(action.reason)}")
        cert = certificate_text(action)
        if cert:
            out.append(f"   - certificate: {cell(cert)}")
        if action.manual:
            out.append(f"   - **by hand:** {cell(action.manual)}")
    out += [f"- {f.severity.value} `{f.code}`: {cell(f.message)}" for f in findings]
    return [*out, "", "</details>", ""]


def _details(plan: Plan, left: int) -> list[str]:
    """A collapsed section per node with actions or findings, as many as fit in ``left``."""
    actions: dict[str, list[tuple[int, Action]]] = defaultdict(list)
    for i, action in enumerate(plan.actions, 1):
        actions[action.node].append((i, action))
    findings: dict[str, list[Finding]] = defaultdict(list)
    for f in plan.findings:
        if f.node:
            findings[f.node].append(f)
    blocked = {f.node for f in plan.findings if f.severity is Severity.ERROR}
    nodes = sorted(set(actions) | set(findings), key=lambda n: (n not in blocked, n))
    blocks = (_node_block(n, actions.get(n, []), findings.get(n, [])) for n in nodes)
    return fit_blocks(blocks, left, f"**{{n}} more nodes, {ARTIFACT}.**", len(nodes))


def _live(plan: Plan) -> list[str]:
    shown = live_lines(plan)
    if not shown:
        return []
    return ["<details><summary>Live certificates (SANs, EKU, AKI)</summary>", "", "```",
            *shown, "```", "", "</details>", ""]
