"""``certops apply``: a saved plan (checked for staleness) or a fresh one (approved first),
through the executor, to an ``ApplyRun``.

The approval policy lives here as data: a saved plan or ``--auto-approve`` needs no prompt;
otherwise the caller's prompt decides, and without a terminal apply refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from reconciler.apply.executor import Listener, check_fresh, execute
from reconciler.apply.steps import StepContext
from reconciler.drivers import Driver
from reconciler.drivers.fleet import close_all
from reconciler.issuers import issuers_of
from reconciler.model import ApplyResult, CertopsError, LiveNode, Plan, Severity
from reconciler.planning import make_plan
from reconciler.usecases.loading import LoadedFleet, load_fleet
from reconciler.usecases.plan import plan_with, select
from reconciler.usecases.session import Session


class Refused(CertopsError):
    """Apply will not start; the message says why and what to do."""


@dataclass(frozen=True)
class ApplyRequest:
    """What to apply (a plan file or a directory) and how it may be approved."""

    source: Path
    directory: Path | None = None  # the desired state of a plan file (default: its own)
    auto_approve: bool = False
    is_tty: bool = False

    @property
    def saved(self) -> bool:
        return self.source.is_file()

    def needs_prompt(self) -> bool:
        """Whether to ask before applying; Refused when asking is impossible."""
        if self.saved or self.auto_approve:
            return False
        if not self.is_tty:
            raise Refused(
                "not a terminal: pass --auto-approve or a plan file to apply without a prompt"
            )
        return True


def _ignore(plan: Plan) -> None:
    return None


def _silent(plan: Plan) -> Listener | None:
    return None


@dataclass(frozen=True)
class ApplyUi:
    """How apply talks to a person: show a fresh plan, ask, and follow the progress."""

    prompt: Callable[[Plan], bool]
    show: Callable[[Plan], None] = _ignore
    progress: Callable[[Plan], Listener | None] = _silent


@dataclass(frozen=True, repr=False)
class ApplyRun:
    """The plan applied and its result (a short repr: see ``PlanRun``)."""

    plan: Plan
    result: ApplyResult | None  # None: nothing to do, or not approved

    @property
    def declined(self) -> bool:
        return self.result is None and bool(self.plan.actions)

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


def check_derived(session: Session, plan: Plan, loaded: LoadedFleet,
                  live: dict[str, LiveNode]) -> None:
    """Every action of a saved plan must be one the planner derives from the same inputs.

    The planner is a pure function of desired state, live state and time, so re-deriving the
    plan at its own ``created_at`` must give the same actions. A plan file edited after
    ``certops plan`` (by hand, or by a pull request that changed the workflow that made it)
    is refused rather than executed.
    """
    expected = make_plan(loaded.fleet, live, plan.created_at, cache=session.cache)
    by_id = {a.id: a for a in expected.actions}
    odd = [a.id for a in plan.actions if by_id.get(a.id) != a]
    if odd:
        raise Refused(f"the plan file holds actions that do not follow from the desired state "
                      f"and the nodes ({', '.join(odd[:5])}): it was edited after certops "
                      "plan. Run certops plan again and apply that plan.")


def check_unblocked(plan: Plan) -> None:
    if plan.blocked:
        errors = [f.render() for f in plan.findings if f.severity is Severity.ERROR]
        raise Refused(
            "the plan has error findings; nothing was changed. Fix them and plan "
            "again:\n  " + "\n  ".join(errors)
        )


async def apply(session: Session, request: ApplyRequest, ui: ApplyUi) -> ApplyRun:
    """Apply a saved plan file, or plan ``request.source`` (a directory) now and approve it."""
    saved = load_plan_file(request.source) if request.saved else None
    root = (request.directory or Path(saved.desired_root or ".")) if saved else request.source
    session = session.at(root)
    now = session.now()
    loaded = load_fleet(session, now)  # once, for the plan and the steps alike
    names = sorted(saved.node_fingerprints) if saved else select(loaded.fleet, None)
    drivers = session.connect(loaded.fleet.desired, names)
    try:
        plan = await _plan(session, loaded, drivers, saved, now)
        check_unblocked(plan)
        if not plan.actions:
            return ApplyRun(plan, None)
        if not saved:
            ui.show(plan)
        if request.needs_prompt() and not ui.prompt(plan):
            return ApplyRun(plan, None)
        return ApplyRun(plan, await _execute(session, loaded, drivers, plan, ui.progress(plan)))
    finally:
        await close_all(drivers)


async def _plan(session: Session, loaded: LoadedFleet, drivers: Mapping[str, Driver],
                saved: Plan | None, now: datetime) -> Plan:
    """The saved plan once it is fresh and derived, or a fresh plan made at ``now``."""
    if saved is None:
        return (await plan_with(session, loaded, drivers, now)).plan
    live = await check_fresh(saved, dict(drivers), loaded.fleet.desired.digest,
                             session.parallelism)
    check_derived(session, saved, loaded, live)
    return saved


async def _execute(session: Session, loaded: LoadedFleet, drivers: Mapping[str, Driver],
                   plan: Plan, listener: Listener | None) -> ApplyResult:
    ctx = StepContext(plan=plan, fleet=loaded.fleet, drivers=dict(drivers),
                      desired_root=session.root, timing=session.the_timing(), cache=session.cache,
                      issuers=issuers_of(loaded.fleet.desired.fleet.issuers, session.env,
                                         session.root),
                      now=session.clock())
    return await execute(plan, ctx, parallelism=session.parallelism, listener=listener)
