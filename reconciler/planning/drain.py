"""Drain before restart: a ``node.drain`` action before each restart of a node that drains.

A kind that can drain (its profile's ``drain``: Expressway, through maintenance mode) gets,
when its resolved ``drain`` setting is on (``model.restart_settings``), one ``node.drain``
before its ``node.restart``. The drain waits for what the restart waited for (so, in a
cluster, it starts only once the member before it is back: a peer is never drained while
the one that would take its calls is down), and the restart waits for the drain. A node
whose API cannot switch maintenance mode gets the drain as a manual step (the planner's
manual conversion, from the node's capabilities). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.checks.fleet import FleetView
from reconciler.model.restart_settings import ResolvedRestart, restart_settings
from reconciler.planning.graph import Draft, Drafts, action_id

DRAIN_KIND = "node.drain"


def add_drains(fleet: FleetView, drafts: Drafts,
               automated: Callable[[str], bool]) -> dict[str, Draft]:
    """``drafts`` with a drain before every restart that needs one; ``automated(node)``: the
    node's API can drain it (else the manual conversion makes it a step by hand, and the
    reason leaves out the timeout, which is then the person's call)."""
    out = dict(drafts)
    for draft in drafts.values():
        if draft.kind != "node.restart" or draft.node not in fleet.nodes:
            continue
        how = fleet.nodes[draft.node].kind.drain
        settings = restart_settings(fleet.desired, draft.node)
        if how is None or not settings.drain:
            continue
        drain = Draft(
            id=action_id(draft.node, DRAIN_KIND),
            kind="node.drain",
            node=draft.node,
            depends_on=draft.depends_on,
            reason=drain_reason(how, settings) if automated(draft.node)
            else f"drain before the restart: {how}",
        )
        out[drain.id] = drain
        out[draft.id] = draft.after((drain.id,))
    return out


def drain_reason(how: str, settings: ResolvedRestart) -> str:
    """What the drain does and what happens when calls outlast ``drain_timeout``."""
    then = (
        "then restart anyway, dropping the calls left"
        if settings.on_drain_timeout == "restart"
        else "then stop: nothing restarts, drain and restart owed to the next apply"
    )
    return (
        f"drain before the restart ({how}): at most drain_timeout {settings.drain_timeout_text}, "
        f"{then} (on_drain_timeout: {settings.on_drain_timeout})"
    )
