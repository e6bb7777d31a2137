"""Drift reports as text, JSON and Markdown, and Prometheus metrics for a textfile collector.

Metrics follow the x509-certificate-exporter's habit: absolute Unix times for not-after, so
alert rules compute "expires within N days" themselves.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from reconciler.planning.drift import DriftReport
from reconciler.planning.lifecycle import RenewalTime
from reconciler.report.budget import DEFAULT_MAX_CHARS
from reconciler.report.findings import finding_data, render_findings, summary_line

if TYPE_CHECKING:
    from reconciler.report.facts import FleetFacts

MARKER = "<!-- certops-drift -->"



def drift_text(report: DriftReport) -> list[str]:
    lines = render_findings([f for f in report.findings])
    soonest = _soonest(report)
    lines += [f"renewal: {node}: {_when(r)}" for node, r in soonest[:RENEWAL_ROWS]]
    if len(soonest) > RENEWAL_ROWS:
        lines.append(f"renewal: {len(soonest) - RENEWAL_ROWS} more, later (--format json: all)")
    state = "in sync" if report.in_sync else ("ERRORS" if report.has_errors else "DRIFT")
    down = [n for n, ok in report.up.items() if not ok]
    lines.append(
        f"Drift: {state}: {len(report.up)} nodes ({len(down)} unreachable); "
        f"{len(report.plan.actions)} planned change(s); {summary_line(report.findings)}."
    )
    return lines


def drift_json(report: DriftReport) -> str:
    nodes: dict[str, list[dict[str, object]]] = defaultdict(list)
    for f in report.findings:
        nodes[f.node or ""].append(finding_data(f))
    data = {
        "format_version": 1,
        "in_sync": report.in_sync,
        "nodes": {
            n: {"up": report.up.get(n, False), "items": nodes.get(n, []),
                **_renewal_data(report, n)}
            for n in sorted(set(report.up) | set(nodes) - {""})
        },
        "findings": [finding_data(f) for f in report.findings],
        "planned_actions": len(report.plan.actions),
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _when(renewal: RenewalTime) -> str:
    return f"renewed from {renewal.at:%Y-%m-%d %H:%M} UTC ({renewal.why})"


def _renewal_data(report: DriftReport, node: str) -> dict[str, object]:
    out: dict[str, object] = {}
    if (renewal := report.renewals.get(node)) is not None:
        out["renewal"] = _one(renewal)
    if roles := report.role_renewals.get(node):
        out["role_renewals"] = {role: _one(r) for role, r in sorted(roles.items())}
    return out


def _one(renewal: RenewalTime) -> dict[str, str]:
    return {"at": renewal.at.isoformat(), "source": renewal.source, "why": renewal.why}


def drift_markdown(report: DriftReport, facts: FleetFacts | None = None, *,
                   max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """The certops-drift issue (``reconciler.report.drift_markdown``): at most ``max_chars``
    characters (0: no limit), with the node states and the expiry timeline as diagrams."""
    from reconciler.report.drift_markdown import drift_markdown as render

    text = render(report, facts, max_chars=max_chars)
    table = "\n".join(["### When each certificate renews", "", *_renewal_table(report)])
    # The renewal table comes last, when the budget has room for it (JSON has every node).
    if report.renewals and (max_chars == 0 or len(text) + len(table) + 1 <= max_chars):
        text += "\n" + table + "\n"
    return text


RENEWAL_ROWS = 20  # the soonest renewals in text and Markdown (a comment stays small)


def _soonest(report: DriftReport) -> list[tuple[str, RenewalTime]]:
    """Every certificate's renewal, soonest first: ``node`` or ``node role``."""
    every = [*report.renewals.items(),
             *((f"{n} {role}", r) for n, roles in report.role_renewals.items()
               for role, r in roles.items())]
    return sorted(every, key=lambda item: (item[1].at, item[0]))


def _renewal_table(report: DriftReport) -> list[str]:
    """The soonest renewals, when and why; how many more there are."""
    if not report.renewals:
        return []
    soonest = _soonest(report)
    out = ["| certificate | renewed from | why |", "|---|---|---|"]
    out += [f"| {n} | {r.at:%Y-%m-%d %H:%M} UTC | {r.why.replace('|', '/')} |"
            for n, r in soonest[:RENEWAL_ROWS]]
    if len(soonest) > RENEWAL_ROWS:
        out.append(f"| … | {len(soonest) - RENEWAL_ROWS} more, later | |")
    return [*out, ""]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def drift_metrics(report: DriftReport, *, all_cas: bool = False) -> str:
    """Prometheus text exposition format (for node-exporter's textfile collector).

    Not-after series cover the managed certificates (each node's own, and the CAs its node
    file lists); ``all_cas`` adds every other CA of the trust stores (a CUCM's built-in
    CAs: hundreds of series)."""
    out = _not_after_series(report, all_cas)
    out += [
        "# HELP certops_node_up Whether certops could read the node (1) or not (0).",
        "# TYPE certops_node_up gauge",
    ]
    out += [
        f'certops_node_up{{node="{_label(n)}"}} {int(ok)}' for n, ok in sorted(report.up.items())
    ]
    out += _drift_item_series(report)
    out += [
        "# HELP certops_certificate_renewal_timestamp_seconds When a node's certificate is "
        "renewed (Unix time), and by what: ari, fraction or fixed.",
        "# TYPE certops_certificate_renewal_timestamp_seconds gauge",
    ]
    out += [
        f'certops_certificate_renewal_timestamp_seconds{{node="{_label(n)}",'
        f'source="{r.source}"}} {int(r.at.timestamp())}'
        for n, r in sorted(report.renewals.items())
    ]
    out += [  # another role's certificate: the same series with its role
        f'certops_certificate_renewal_timestamp_seconds{{node="{_label(n)}",'
        f'role="{_label(role)}",source="{r.source}"}} {int(r.at.timestamp())}'
        for n, roles in sorted(report.role_renewals.items())
        for role, r in sorted(roles.items())
    ]
    out += [
        "# HELP certops_planned_actions Changes a plan would make now, per node and kind.",
        "# TYPE certops_planned_actions gauge",
    ]
    kinds = Counter((a.node, a.kind) for a in report.plan.actions)
    out += [
        f'certops_planned_actions{{node="{_label(n)}",kind="{k}"}} {c}'
        for (n, k), c in sorted(kinds.items())
    ]
    out += [
        "# HELP certops_in_sync 1 when the whole fleet is in sync.",
        "# TYPE certops_in_sync gauge",
        f"certops_in_sync {int(report.in_sync)}",
    ]
    return "\n".join(out) + "\n"


def _not_after_series(report: DriftReport, all_cas: bool) -> list[str]:
    """One not-after gauge per certificate seen on a node (managed ones unless ``all_cas``)."""
    out = [
        "# HELP certops_certificate_not_after_timestamp_seconds Not-after time of a certificate "
        "seen on a node (Unix time).",
        "# TYPE certops_certificate_not_after_timestamp_seconds gauge",
    ]
    seen: set[tuple[str, str, str]] = set()
    for rec in report.certificates:
        key = (rec.node, rec.store, rec.cert.sha256)
        if key in seen or not (rec.managed or all_cas):
            continue
        seen.add(key)
        labels = (
            f'node="{_label(rec.node)}",store="{_label(rec.store)}",'
            f'subject="{_label(rec.cert.subject)}",issuer="{_label(rec.cert.issuer)}",'
            f'serial="{rec.cert.serial}",sha256="{rec.cert.sha256}"'
        )
        out.append(
            f"certops_certificate_not_after_timestamp_seconds{{{labels}}} "
            f"{int(rec.cert.not_after.timestamp())}"
        )
    return out


def _drift_item_series(report: DriftReport) -> list[str]:
    """Drift and hygiene items per node and severity."""
    out = [
        "# HELP certops_drift_items Drift and hygiene items per node and severity.",
        "# TYPE certops_drift_items gauge",
    ]
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for f in report.findings:
        if f.node:
            per[f.node][f.severity.value] += 1
    for node in sorted(report.up):
        for sev in ("error", "warning", "info"):
            out.append(
                f'certops_drift_items{{node="{_label(node)}",severity="{sev}"}} {per[node][sev]}'
            )
    return out
