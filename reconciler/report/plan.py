"""Plans as human text (grouped by node and phase), JSON (docs/architecture.md) and Markdown.

The Markdown, made for a pull-request comment, is ``reconciler.report.plan_markdown``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

from reconciler.model import RESTART_KINDS, Action, CertSummary, Code, Finding, Plan
from reconciler.pki import EKU_LABELS
from reconciler.planning.graph import restart_waves
from reconciler.report.budget import DEFAULT_MAX_CHARS
from reconciler.report.findings import render_findings, summary_line

if TYPE_CHECKING:
    from reconciler.report.facts import FleetFacts
    from reconciler.report.plan_pictures import Window

PHASE_TITLES = {
    "trust.add": "trust",
    "service.restart": "service restarts",
    "csr.generate": "certificate requests",
    "cert.issue": "certificate issuance",
    "cert.install": "certificate install",
    "node.drain": "drain before restart",
    "node.restart": "node restart",
    "trust.remove": "trust removal",
    "manual": "manual steps",
}
MARKER = "<!-- certops-plan -->"


def plan_json(plan: Plan) -> str:
    """Canonical JSON: sorted keys, so equal plans are byte-identical."""
    return json.dumps(plan.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def cert_text(cert: CertSummary) -> str:
    sans = f" SANs {', '.join(cert.subject_alt_names)};" if cert.subject_alt_names else ""
    return (
        f"{cert.subject};{sans} serial {cert.serial}; not after "
        f"{cert.not_after:%Y-%m-%d}; SHA-256 {cert.sha256[:16]}…"
    )


KNOWN_AFTER_APPLY = "(known after apply)"


def certificate_text(action: Action) -> str | None:
    """The certificate an action handles, or "(known after apply)" for an issued one."""
    if action.certificate:
        return cert_text(action.certificate)
    if action.known_after_apply:
        return f"{KNOWN_AFTER_APPLY}: issued by {action.certificate_from}"
    return None


def action_line(index: int, action: Action) -> list[str]:
    head = f"  {index:>3}. {action.kind:<15} {action.node}"
    if action.role:
        head += f" <{action.role}>"
    if action.store:
        head += f" [{action.store}]"
    if action.services:
        head += f" ({', '.join(action.services)})"
    if action.issuer:
        head += f" (issuer {action.issuer})"
    lines = [head, f"       why: {action.reason}"]
    cert = certificate_text(action)
    if cert:
        lines.append(f"       cert: {cert}")
    if action.subject_alt_names and action.kind in ("csr.generate", "cert.issue"):
        lines.append(f"       SANs: {', '.join(action.subject_alt_names)}")
    if action.manual:
        lines.append(f"       by hand: {action.manual}")
    if action.depends_on:
        lines.append(f"       after: {', '.join(action.depends_on)}")
    return lines


def live_lines(plan: Plan) -> list[str]:
    """Each node's live certificate as Cisco's step A reads it: SANs, EKU, AKI, issuer, expiry.

    Small fleets show every node; large ones only the nodes the plan changes.
    """
    out: list[str] = []
    changing = {a.node for a in plan.actions}
    for node, cert in sorted(plan.live_certificates.items()):
        if len(plan.live_certificates) > 10 and node not in changing:
            continue

        short = (
            EKU_LABELS.get(e, e).removesuffix(" Authentication") for e in cert.extended_key_usage
        )
        eku = ", ".join(short) or "none"
        out.append(f"  {node}: {cert.subject}, issuer {cert.issuer}, not after "
                   f"{cert.not_after:%Y-%m-%d}")
        out.append(f"       SANs: {', '.join(cert.subject_alt_names) or 'none'}")
        out.append(f"       EKU: {eku}; AKI: {cert.authority_key_id or 'none'}")
    return out


def plan_text(plan: Plan) -> list[str]:
    """The plan for a terminal: live certificates, findings, then numbered actions in order."""
    out: list[str] = []
    shown = live_lines(plan)
    if shown:
        out.append("Live certificates:")
        out.extend(shown)
    if plan.tls_verify_off:
        out.append(f"WARNING: TLS verification is OFF for {', '.join(plan.tls_verify_off)}")
    for f in security_findings(plan):
        out.append(f"!!! SECURITY-RELEVANT: {f.node}: {f.message}")
    if plan.findings:
        out.append("Findings:")
        out.extend(f"  {line}" for line in render_findings(plan.findings))
    out.extend(partial_lines(plan))
    if not plan.actions and plan.blocked:
        out.append("No actions: the errors above block the plan (fix them and plan again).")
    elif not plan.actions and plan.partial:
        out.append("No actions for the nodes planned; the nodes left out above are not judged.")
    elif not plan.actions:
        out.append("No changes: the live state matches the desired state.")
    else:
        out.append(f"Actions ({len(plan.actions)}, in execution order):")
        for i, action in enumerate(plan.actions, 1):
            out.extend(action_line(i, action))
        waves = wave_lines(plan)
        if waves:
            out.append("Restarts, wave by wave (a wave starts when the one before it is back):")
            out.extend(f"  {line}" for line in waves)
        windows = window_lines(plan)
        if windows:
            out.append("Change windows (apply runs the rest now; the restarts, and what "
                       "waits for them, are owed until the window):")
            out.extend(f"  {line}" for line in windows)
    out.append(plan_summary(plan))
    return out


def partial_lines(plan: Plan) -> list[str]:
    """What a partial plan leaves out: the nodes not read and the nodes held back."""
    if not plan.partial:
        return []
    out = ["PARTIAL PLAN: some nodes could not be read; the rest of the fleet is planned."]
    if plan.unread:
        out.append(f"  not read (nothing planned): {', '.join(plan.unread)}")
    if plan.held_back:
        out.append(f"  held back (linked to them, or waiting for them): "
                   f"{', '.join(plan.held_back)}")
    out.append("  Their actions follow once those nodes can be read; --strict refuses a "
               "partial plan.")
    return out


def wave_lines(plan: Plan) -> list[str]:
    """The disruptive steps grouped in waves: what is down together, and in which order."""
    waves: dict[int, list[str]] = defaultdict(list)
    by_id = {a.id: a for a in plan.actions}
    for aid, wave in restart_waves(plan.actions).items():
        action = by_id[aid]
        what = ", ".join(action.services) if action.services else "the whole node"
        waves[wave].append(f"{action.node} ({what})")
    return [f"wave {w}: {'; '.join(sorted(waves[w]))}" for w in sorted(waves)]


def when_text(plan: Plan, node: str) -> str | None:
    """When a node's changes happen, for a node whose restarts wait for a window:
    ``installs at merge; restarts in window nightly (next: 2026-12-07 22:00 Europe/Zurich =
    21:00 UTC)``; an install that waits for a restart in a closed window (a peer's trust
    restart) happens in the window too. None: the node has no window."""
    window = plan.restart_windows.get(node)
    if window is None:
        return None
    held = held_by_windows(plan)
    mine = [a for a in plan.actions if a.node == node and a.kind not in RESTART_KINDS]
    installs = [a for a in mine if a.kind == "cert.install"]
    if any(a.id not in held for a in installs):
        now = "installs at merge"
    else:
        now = "uploads at merge" if any(a.id not in held for a in mine) else ""
    what = "installs and restarts" if any(a.id in held for a in installs) else "restarts"
    if window.emergency:
        later = f"{what} now, outside window {window.window} ({window.emergency})"
    elif window.open and window.closes_at is not None:
        later = (f"{what} now, in window {window.window} (open until "
                 f"{window.closes_at:%Y-%m-%d %H:%M} UTC; next: {window.next_text()})")
    else:
        later = f"{what} in window {window.window} (next: {window.next_text()})"
    return "; ".join(part for part in (now, later) if part)


def held_by_windows(plan: Plan) -> set[str]:
    """The actions that wait for a window closed at the plan's time: the restarts of nodes
    whose window is closed, and everything that depends on one (one pass: a plan lists
    dependencies first)."""
    held: set[str] = set()
    for action in plan.actions:
        window = plan.restart_windows.get(action.node)
        closed = (action.kind in RESTART_KINDS and window is not None and not window.open
                  and not window.emergency)
        if closed or any(d in held for d in action.depends_on):
            held.add(action.id)
    return held


def window_lines(plan: Plan) -> list[str]:
    """Per node with a change window: when its changes and its restarts run."""
    return [f"{node}: {when_text(plan, node)}" for node in sorted(plan.restart_windows)]


def plan_summary(plan: Plan) -> str:
    """The last line: the state, the actions per kind, the findings counted."""
    counts: dict[str, int] = defaultdict(int)
    for action in plan.actions:
        counts[action.kind] += 1
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no actions"
    state = "BLOCKED by errors" if plan.blocked else ("changes" if plan.actions else "in sync")
    if plan.partial and not plan.blocked:
        state = f"PARTIAL ({len(plan.unread) + len(plan.held_back)} node(s) left out), {state}"
    return f"Plan: {state}: {kinds}; {summary_line(plan.findings)}."


def security_findings(plan: Plan) -> list[Finding]:
    """Findings that a reviewer must see first: connection settings changed by the change."""
    return [f for f in plan.findings if f.code == Code.CONNECTION_CHANGED]


def plan_markdown(plan: Plan, facts: FleetFacts | None = None, *,
                  max_chars: int = DEFAULT_MAX_CHARS, window: Window | None = None) -> str:
    """The pull-request comment (``reconciler.report.plan_markdown``): at most ``max_chars``
    characters (0: no limit), with Mermaid diagrams; ``facts`` (kinds, clusters, sites,
    chains) make the counts, the trust graph and the restart chart per group."""
    from reconciler.report.plan_markdown import plan_markdown as render

    return render(plan, facts, max_chars=max_chars, window=window)
