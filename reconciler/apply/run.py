"""``certops apply`` as a library call: from a saved plan (checked for staleness) or a fresh
plan (confirmed by the caller), through the executor, to an ApplyResult."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.apply.executor import Listener, check_fresh, execute
from reconciler.apply.planrun import compute_plan, load_fleet, select
from reconciler.apply.steps import StepContext, Timing
from reconciler.checks import FleetView
from reconciler.drivers import Inventory, make_drivers
from reconciler.drivers.fleet import close_all
from reconciler.issuers import issuers_of
from reconciler.model import ApplyResult, CertopsError, LiveNode, Plan, Severity
from reconciler.pki import default_cache
from reconciler.planning import make_plan


class Refused(CertopsError):
    """Apply will not start; the message says why and what to do."""


@dataclass(frozen=True, repr=False)
class ApplyRun:
    """The plan applied and its result (a short repr: see ``PlanRun``)."""

    plan: Plan
    result: ApplyResult | None  # None: nothing to do, or not confirmed

    def __repr__(self) -> str:
        return f"ApplyRun({len(self.plan.actions)} actions, ok={self.result and self.result.ok})"


def load_plan_file(path: Path) -> Plan:
    try:
        return Plan.model_validate_json(path.read_text())
    except OSError as exc:
        raise Refused(f"{path}: cannot read the plan: {exc.strerror}") from None
    except ValueError as exc:
        raise Refused(
            f"{path}: not a certops plan ({str(exc).splitlines()[0]}): write one with "
            "certops plan --out FILE"
        ) from None


def check_derived(plan: Plan, fleet: FleetView, live: dict[str, LiveNode]) -> None:
    """Every action of a saved plan must be one the planner derives from the same inputs.

    The planner is a pure function of desired state, live state and time, so re-deriving the
    plan at its own ``created_at`` must give the same actions. A plan file edited after
    ``certops plan`` (by hand, or by a pull request that changed the workflow that made it)
    is refused rather than executed.
    """
    expected = make_plan(fleet, live, plan.created_at, cache=default_cache())
    by_id = {a.id: a for a in expected.actions}
    odd = [a.id for a in plan.actions if by_id.get(a.id) != a]
    if odd:
        raise Refused(f"the plan file holds actions that do not follow from the desired state "
                      f"and the nodes ({', '.join(odd[:5])}): it was edited after certops "
                      "plan. Run certops plan again and apply that plan.")


async def apply(
    source: Path,
    *,
    now: datetime,
    inventory: Inventory,
    env: Mapping[str, str],
    parallelism: int = 16,
    confirm: Callable[[Plan], bool],
    timing: Timing | None = None,
    listener: Listener | None = None,
    directory: Path | None = None,
) -> ApplyRun:
    """Apply a saved plan file, or plan ``source`` (a directory) now and ask ``confirm``."""
    saved = source.is_file()
    if saved:
        plan = load_plan_file(source)
        root = directory or Path(plan.desired_root or ".")
    else:
        plan, root = None, source
    fleet, _ = load_fleet(root, now)
    names = sorted(plan.node_fingerprints) if plan else select(fleet, None)
    drivers = make_drivers(fleet.desired, names, inventory, env)
    try:
        if plan is None:
            plan = (
                await compute_plan(
                    root,
                    now=now,
                    inventory=inventory,
                    env=env,
                    parallelism=parallelism,
                    drivers=drivers,
                )
            ).plan
        else:
            live = await check_fresh(plan, drivers, fleet.desired.digest, parallelism)
            check_derived(plan, fleet, live)
        if plan.blocked:
            errors = [f.render() for f in plan.findings if f.severity is Severity.ERROR]
            raise Refused(
                "the plan has error findings; nothing was changed. Fix them and plan "
                "again:\n  " + "\n  ".join(errors)
            )
        if not plan.actions:
            return ApplyRun(plan, None)
        if not confirm(plan):
            return ApplyRun(plan, None)
        ctx = StepContext(
            plan=plan,
            fleet=fleet,
            drivers=drivers,
            desired_root=root,
            timing=timing or Timing(),
            issuers=issuers_of(fleet.desired.fleet.issuers, env),
            now=now,
        )
        result = await execute(plan, ctx, parallelism=parallelism, listener=listener)
        return ApplyRun(plan, result)
    finally:
        await close_all(drivers)
