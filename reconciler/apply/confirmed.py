"""``apply --drained NODE``: a drain a person did by hand, confirmed instead of a stop.

Where the node's API cannot switch maintenance mode (its ``/api/raml`` lists no such
resource), the plan's drain is a manual step (Maintenance > Maintenance mode: On). Once the
person has done it and runs ``certops apply --drained NODE``, that step is this one: the
person's word that the node is in maintenance mode counts (certops cannot read the mode
back there), and where the node's active calls can be read (``CallCounter``: the status XML
[3P], which needs no maintenance-mode resource) the step waits for them as the automated
drain does, until none is left or ``drain_timeout`` passes; then per ``on_drain_timeout``:
``restart`` goes on (the calls left drop, the result says how many), ``stop`` owes the drain
and its restart (``StepOwed``) and says to switch maintenance mode off by hand, since certops
cannot. Calls that cannot be read at all: the confirmation alone counts, and the result
says so. Maintenance mode ends with the restart [C, X15.4 and VCS X8]; the restart's result
says to check it on the node (``apply/drain.py``, ``after_restart``).
"""

from __future__ import annotations

from reconciler.apply.drain import GUI_OFF, by_hand, registrations, settled, wait_calls
from reconciler.apply.steps import StepContext, StepFailed, StepOwed
from reconciler.drivers import CallCounter, DriverError
from reconciler.model import Action
from reconciler.model.restart_settings import restart_settings
from reconciler.planning.drain import DRAIN_KIND
from reconciler.planning.graph import action_id


def confirmed(ctx: StepContext, action: Action) -> bool:
    """``action`` is the manual drain of a node the person confirmed drained (--drained)."""
    return action.kind == "manual" and action.id == action_id(action.node, DRAIN_KIND) and \
        by_hand(ctx, action.node)


async def confirmed_drain(ctx: StepContext, action: Action) -> str:
    """Wait for the calls of a node drained by hand (see the module doc)."""
    node = action.node
    said = f"maintenance mode on by hand (confirmed: apply --drained {node})"
    driver = ctx.drivers[node]
    try:
        if not isinstance(driver, CallCounter):
            raise DriverError(node, "its driver reads no calls")
        first = await driver.active_calls()
    except DriverError as exc:
        return (f"{said}; its active calls cannot be read ({exc}): the confirmation "
                "alone counts, no call was waited for")
    settings = restart_settings(ctx.fleet.desired, node)
    still_on = (f"maintenance mode is still on (switched on by hand; certops cannot switch "
                f"it here): switch it off ({GUI_OFF}) so the node takes calls")
    try:
        calls, waited = await wait_calls(ctx, driver, settings.drain_timeout.total_seconds(),
                                         first)
    except DriverError as exc:
        raise StepFailed(f"{exc}; nothing restarted; {still_on}, or run certops apply "
                         f"--drained {node} again") from None
    done = settled(said, calls, waited, settings, await registrations(driver))
    if done is not None:
        return done
    timeout = f"drain_timeout {settings.drain_timeout_text}"
    raise StepOwed(
        f"{node} still has {calls} active call(s) after {timeout}; nothing restarted "
        f"(on_drain_timeout: stop); {still_on}. The drain and the restart are owed: switch "
        f"maintenance mode on again and run certops apply --drained {node} (in the node's "
        "next window, when it has one), or raise drain_timeout")
