"""Apply results as text: the progress line of each event, the summary, and why it stopped.

Plain data in (an ``ApplyResult``, an ``Action``, counts), strings out; the CLI prints them.
"""

from __future__ import annotations

import json

from reconciler.model import Action, ApplyResult

MARKS = {"done": "ok     ", "failed": "FAILED ", "skipped": "skipped", "manual": "MANUAL ",
         "owed": "owed   "}
NO_CHANGES = "No changes: the live state matches the desired state."
DECLINED = "Nothing applied."
HINT = "Run `certops plan` to see what is left; `certops apply` finishes it."


def action_label(action: Action) -> str:
    """``kind node [store]``: how progress names an action."""
    return f"{action.kind} {action.node}" + (f" [{action.store}]" if action.store else "")


def started_line(finished: int, total: int, action: Action) -> str:
    return f"[{finished}/{total}] start   {action_label(action)}"


def finished_line(event: str, finished: int, total: int, action: Action, detail: str) -> str:
    """An action's end (done, failed, skipped, manual); ``finished`` counts it already."""
    return f"[{finished}/{total}] {MARKS.get(event, event)} {action_label(action)}: {detail}"


def apply_text(result: ApplyResult | None, planned: int) -> list[str]:
    """What apply says on stdout at the end; ``planned`` is the number of planned actions."""
    if result is None:
        return [DECLINED] if planned else [NO_CHANGES]
    counts: dict[str, int] = {}
    for r in result.results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    verdict = "complete" if result.ok else "INCOMPLETE"
    if result.ok and result.owed:
        verdict = "complete for now (the owed steps run in their change window)"
    out = [f"Apply {verdict}: {summary} in {result.seconds:.1f}s."]
    if result.outside_window:
        out.append(f"Outside the change windows (--outside-window): {result.outside_window}")
    return out + drained_lines(result) + owed_lines(result)


def drained_lines(result: ApplyResult) -> list[str]:
    """``--drained``: who confirmed which nodes drained by hand; maintenance mode ends with
    the restart [C], to be checked on the node."""
    confirmed = result.drained
    if confirmed is None:
        return []
    why = f": {confirmed.reason}" if confirmed.reason else ""
    return [f"Drained by hand (--drained {','.join(confirmed.nodes)}), confirmed by "
            f"{confirmed.by or 'an unknown user'}{why}. Maintenance mode ends with each "
            "node's restart: check on the node that it is off (Maintenance > Maintenance "
            "mode)."]


def owed_lines(result: ApplyResult) -> list[str]:
    """The steps left for a change window, each with the window and when it next opens;
    ``certops apply`` in that window runs them (the scheduled workflow does)."""
    if not result.owed:
        return []
    out = [f"Owed ({len(result.owed)}): run `certops apply` in the window (the scheduled "
           "workflow does):"]
    out += [f"  {r.kind} {r.node}: {r.detail}" for r in result.owed]
    return out


def apply_errors(result: ApplyResult | None) -> list[str]:
    """What apply says on stderr when it stopped: the reason, then how to finish."""
    if result is None or result.ok:
        return []
    why: dict[str, int] = {}
    for r in result.results:
        if r.outcome == "skipped":
            reason = r.detail.removeprefix("not started: ")
            why[reason] = why.get(reason, 0) + 1
    skipped = [f"  {n} skipped: {reason}" for reason, n in sorted(why.items())]
    return [f"Stopped: {result.stopped_because}", *skipped, HINT]


def apply_json(result: ApplyResult) -> str:
    """The apply report (``--report FILE``): canonical JSON."""
    return json.dumps(result.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
