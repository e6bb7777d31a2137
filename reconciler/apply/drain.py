"""The ``node.drain`` step, and the check after a drained node's restart.

Drain [C, Expressway Administrator Guide X15.4, Maintenance mode]: switch maintenance mode
on (new calls and registrations go to the other peers, existing calls run to their end),
then read the node's active calls every ``Timing.drain_poll`` seconds until none is left or
the node's ``drain_timeout`` passes. Then, per ``on_drain_timeout``: ``restart`` — the step
succeeds and says how many calls were still up (the restart drops them); ``stop`` —
maintenance mode is switched off again so the node takes calls, nothing restarts, and the
step is owed (``StepOwed``: the drain and the restart wait for the next apply, in the node's
next change window when it has one), saying how many calls were still up. Maintenance mode
switches off by itself when the node restarts [C, X15.4 and VCS X8]; ``after_restart``
checks that it did (and switches it off should the node still report it on); when the
restart does not happen (the request fails, the node never goes down), ``release`` switches
it off so the node takes calls again. A node drained by hand (``apply --drained``,
``apply/confirmed.py``) has no resource to read or switch: both say what to check by hand.
"""

from __future__ import annotations

import asyncio

from reconciler.apply.steps import StepContext, StepFailed, StepOwed
from reconciler.drivers import CallCounter, DriverError, NodeDrainer
from reconciler.model import Action
from reconciler.model.restart_settings import ResolvedRestart, restart_settings
from reconciler.planning.drain import DRAIN_KIND
from reconciler.planning.graph import action_id

GUI_OFF = "Maintenance > Maintenance mode: Off > Save"


async def _drainer(ctx: StepContext, action: Action) -> NodeDrainer:
    driver = ctx.drivers[action.node]
    if not isinstance(driver, NodeDrainer) or not await driver.drain_capable():
        raise StepFailed(f"the driver of {action.node} cannot switch maintenance mode (its "
                         "API description lists no such resource): re-run certops plan")
    return driver


async def node_drain(ctx: StepContext, action: Action) -> str:
    """Maintenance mode on, then wait for the active calls to end (see the module doc)."""
    driver = await _drainer(ctx, action)
    settings = restart_settings(ctx.fleet.desired, action.node)
    try:
        await _maintenance_on(driver, action.node)
        calls, waited = await wait_calls(ctx, driver, settings.drain_timeout.total_seconds())
    except (DriverError, StepFailed) as exc:
        raise StepFailed(f"{exc}; {await _leave(driver)}; nothing restarted") from None
    done = settled("maintenance mode on", calls, waited, settings,
                   await registrations(driver))
    if done is not None:
        return done
    timeout = f"drain_timeout {settings.drain_timeout_text}"
    raise StepOwed(
        f"{action.node} still has {calls} active call(s) after {timeout}; "
        f"{await _leave(driver)}; nothing restarted (on_drain_timeout: stop): the drain and "
        "the restart are owed to the next apply (in the node's next window, when it has one), "
        "or raise drain_timeout")


def settled(said: str, calls: int, waited: float, settings: ResolvedRestart,
            registered: str) -> str | None:
    """The drain's result when its calls let the restart go ahead (``said`` first): none
    left, or some left with ``on_drain_timeout: restart``; None when they outlasted
    ``drain_timeout`` and the setting is ``stop`` (the caller owes the drain)."""
    if calls == 0:
        return f"{said}; no active call left after {waited:.0f}s{registered}"
    if settings.on_drain_timeout == "restart":
        return (f"{said}; {calls} call(s) still up after drain_timeout "
                f"{settings.drain_timeout_text}: restarting anyway (on_drain_timeout: "
                f"restart), so they drop{registered}")
    return None


async def _maintenance_on(driver: NodeDrainer, node: str) -> None:
    if await driver.maintenance_mode():
        return
    await driver.set_maintenance_mode(True)
    if not await driver.maintenance_mode():
        raise StepFailed(f"{node} does not report maintenance mode on after it was switched on")


async def wait_calls(ctx: StepContext, driver: CallCounter, timeout: float,
                     first: int | None = None) -> tuple[int, float]:
    """Active calls until none is left or ``timeout`` seconds pass: (calls, seconds waited);
    ``first``: the count just read, if any."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    deadline = start + timeout
    calls = await driver.active_calls() if first is None else first
    while calls > 0 and loop.time() < deadline:
        await asyncio.sleep(max(0.0, min(ctx.timing.drain_poll, deadline - loop.time())))
        calls = await driver.active_calls()
    return calls, loop.time() - start


async def registrations(driver: CallCounter) -> str:
    """The registrations still on the node, for the report (they re-register elsewhere as
    they expire [C]; the drain does not wait for them). Unreadable: said, not fatal."""
    try:
        return f"; {await driver.registrations()} registration(s) still on it"
    except DriverError as exc:
        return f"; registrations unreadable ({exc.detail})"


async def _leave(driver: NodeDrainer) -> str:
    """Switch maintenance mode off again (the node takes calls): what happened, in words."""
    try:
        if await driver.maintenance_mode():
            await driver.set_maintenance_mode(False)
        if not await driver.maintenance_mode():
            return "maintenance mode is off again"
    except DriverError as exc:
        return f"maintenance mode may still be on ({exc.detail}): switch it off ({GUI_OFF})"
    return f"maintenance mode is still on: switch it off ({GUI_OFF})"


def _drained(action: Action) -> bool:
    """The restart ``action`` comes after a drain of its node."""
    return any(dep.endswith("/node.drain") for dep in action.depends_on)


def by_hand(ctx: StepContext, node: str) -> bool:
    """``node`` was drained by hand (``apply --drained``): its plan's drain is a manual step
    (no maintenance-mode resource), which the person confirmed."""
    drain = action_id(node, DRAIN_KIND)
    return node in ctx.drained and any(
        a.id == drain and a.kind == "manual" for a in ctx.plan.actions)


# Maintenance mode switched on by hand ends with the restart [C, X15.4 and VCS X8:
# "Maintenance mode is automatically disabled if the peer is restarted"]; certops cannot
# read it on such a node (no resource), so the person checks.
CHECK_BY_HAND = ("maintenance mode, switched on by hand, ends with the node's restart: check "
                 "on the node that it is off (Maintenance > Maintenance mode), else switch it "
                 f"off ({GUI_OFF})")


async def release(ctx: StepContext, action: Action) -> str:
    """The restart of a drained node did not happen: switch maintenance mode off again, so
    the node takes calls until the restart is tried again; what happened, for the message."""
    driver = ctx.drivers[action.node]
    if _drained(action) and by_hand(ctx, action.node):
        return (f"; maintenance mode is still on (switched on by hand): switch it off "
                f"({GUI_OFF}) so the node takes calls, or leave it for the next apply --drained")
    if not _drained(action) or not isinstance(driver, NodeDrainer):
        return ""
    try:
        if not await driver.drain_capable():
            return ""
    except DriverError:
        return f"; maintenance mode may still be on: switch it off ({GUI_OFF})"
    return f"; {await _leave(driver)}"


async def release_held(ctx: StepContext, held: list[Action]) -> dict[str, str]:
    """After the walk: the drained nodes whose restart did not run (``held``: owed to a
    window that closed after the drain, or not started after a failure). Maintenance mode
    off again, so each takes calls until its next window drains it again (left on, the
    cluster would run on its other members until then, and a restart of one of them would
    leave no member taking calls). Per drain action id: what happened, for its result."""
    out: dict[str, str] = {}
    for restart in held:
        if _drained(restart):
            out[action_id(restart.node, DRAIN_KIND)] = await release(ctx, restart)
    return out


async def after_restart(ctx: StepContext, action: Action) -> str:
    """After the restart of a drained node: maintenance mode must be off (it does not
    survive a restart [C]); switched off here where the node still reports it on."""
    if not _drained(action):
        return ""
    if by_hand(ctx, action.node):
        return f"; {CHECK_BY_HAND}"
    driver = await _drainer(ctx, action)
    if not await driver.maintenance_mode():
        return "; maintenance mode is off"
    await driver.set_maintenance_mode(False)
    if not await driver.maintenance_mode():
        return "; maintenance mode was still on after the restart: switched it off"
    raise StepFailed(f"{action.node} restarted and serves the new certificate, but still "
                     f"reports maintenance mode on: switch it off ({GUI_OFF})")
