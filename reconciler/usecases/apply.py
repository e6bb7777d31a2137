"""``certops apply``: a saved plan (checked for staleness) or a fresh one (approved first),
through the executor, to an ``ApplyRun``.

The approval policy lives here as data: a saved plan or ``--auto-approve`` needs no prompt;
otherwise the caller's prompt decides, and without a terminal apply refuses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from reconciler.apply.executor import Listener, check_fresh, execute
from reconciler.apply.steps import StepContext
from reconciler.checks import FleetView
from reconciler.desired.lock import apply_lock
from reconciler.desired.pending import ensure_record, read_pending, record_exists
from reconciler.drivers import Driver
from reconciler.drivers.fleet import close_all
from reconciler.issuers import issuers_of
from reconciler.model import ApplyResult, DrainConfirmation, LiveNode, Plan, Severity
from reconciler.planning import make_plan
from reconciler.planning.drain import DRAIN_KIND
from reconciler.planning.emergency import emergency_nodes
from reconciler.planning.graph import action_id
from reconciler.planning.owed import assumed_owed
from reconciler.planning.windows import WindowGate, WindowPolicy, disruptive_kinds
from reconciler.usecases.loading import LoadedFleet, load_fleet
from reconciler.usecases.plan import PlanRequest, Scope, plan_with, scope
from reconciler.usecases.planfile import Refused, check_age, check_root, load_plan_file
from reconciler.usecases.renewal import recalled
from reconciler.usecases.session import Session

DEFAULT_DIR = Path("desired-state")
DEFAULT_MAX_AGE = timedelta(days=3)
DEFAULT_LOCK_TIMEOUT = 30.0


@dataclass(frozen=True)
class ApplyRequest:
    """What to apply (a plan file or a directory) and how it may be approved.

    The desired-state directory of a plan file is ``directory`` (default ``desired-state``),
    never the one the plan file names: the file only has to agree with it.
    """

    source: Path
    directory: Path | None = None
    auto_approve: bool = False
    is_tty: bool = False
    max_plan_age: timedelta = DEFAULT_MAX_AGE
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT
    strict: bool = False  # a fresh plan with a node that cannot be read is refused whole
    keep_going: bool = False  # after a failure, run what does not depend on it
    targets: tuple[str, ...] = ()  # --node: as `certops plan --node` (planning/targets.py)
    outside_window: bool = False  # run disruptive steps outside their change windows...
    reason: str | None = None  # ...for this reason (required with outside_window)
    drained: tuple[str, ...] = ()  # --drained: nodes a person put into maintenance mode
    drained_by: str | None = None  # who confirmed them (the user running apply)

    @property
    def saved(self) -> bool:
        return self.source.is_file()

    def root(self) -> Path:
        """The desired-state directory this apply loads and writes."""
        if self.saved:
            return self.directory or DEFAULT_DIR
        return self.source

    def override(self) -> str | None:
        """The reason to run outside the windows (None: the windows decide); Refused when
        --outside-window comes without a reason, or a reason without --outside-window."""
        reason = (self.reason or "").strip()
        if self.outside_window and not reason:
            raise Refused('--outside-window needs --reason "TEXT": why restarts may run '
                          "outside their change windows now (it goes into the report and the "
                          "audit log). Nothing was changed.")
        if reason and not self.outside_window and not self.drained:
            raise Refused("--reason goes with --outside-window (or --drained); without it the "
                          "change windows decide. Nothing was changed.")
        return reason if self.outside_window else None

    def confirmation(self) -> DrainConfirmation | None:
        """``--drained``: the nodes confirmed drained by hand, by whom and why."""
        if not self.drained:
            return None
        return DrainConfirmation(nodes=tuple(sorted(set(self.drained))), by=self.drained_by,
                                 reason=(self.reason or "").strip() or None)

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
    root: Path | None = None  # the desired-state directory applied
    fleet: FleetView | None = None  # the fleet applied (the Markdown report groups by it)

    @property
    def declined(self) -> bool:
        return self.result is None and bool(self.plan.actions)

    def __repr__(self) -> str:
        return f"ApplyRun({len(self.plan.actions)} actions, ok={self.result and self.result.ok})"


def rederive(session: Session, plan: Plan, loaded: LoadedFleet,
             live: dict[str, LiveNode]) -> Plan:
    """The plan the planner makes from the same inputs at the saved plan's ``created_at``,
    findings included: the offline findings of now and the planner's of then. The nodes the
    saved plan could not read (a partial plan) are given as unread again, so the same nodes
    are held back; other nodes it did not read (a shard, ``--node``) are left out on
    purpose."""
    unread = {n: LiveNode(name=n, type=loaded.fleet.nodes[n].node.spec.type,
                          error="could not be read when the plan was made")
              for n in plan.unread if n in loaded.fleet.nodes and n not in live}
    every = {**live, **unread}
    read = frozenset(every)
    partial = read != frozenset(loaded.fleet.nodes)
    targets = frozenset(plan.targets) or (read if partial else None)  # --node, or a shard
    # The CAs' renewal windows and CRLs as the plan saw them: recalled from renewal-info.json,
    # which the plan wrote (no CA is asked again here).
    seen = recalled(session, loaded.fleet, every)
    return make_plan(loaded.fleet, every, plan.created_at, cache=session.cache,
                     findings=loaded.findings, targets=targets, renewal=seen.windows,
                     revoked=seen.revoked)


def check_derived(session: Session, plan: Plan, loaded: LoadedFleet,
                  live: dict[str, LiveNode]) -> None:
    """Every action of a saved plan must be one the planner derives from the same inputs, and
    the derived plan must have no error finding, whatever the file's ``findings`` say.

    The planner is a pure function of desired state, live state and time, so re-deriving the
    plan at its own ``created_at`` must give the same actions. A plan file edited after
    ``certops plan`` (by hand, or by a pull request that changed the workflow that made it)
    is refused rather than executed; so is one whose error findings were deleted.
    """
    expected = rederive(session, plan, loaded, live)
    check_unblocked(expected)
    if set(expected.held_back) - set(plan.held_back):
        raise Refused("the plan file does not name every node it holds back "
                      f"({', '.join(sorted(set(expected.held_back) - set(plan.held_back)))}): "
                      "it was edited after certops plan. Run certops plan again.")
    check_unread_peers(plan, loaded, live)
    by_id = {a.id: a for a in expected.actions}
    odd = [a.id for a in plan.actions if by_id.get(a.id) != a]
    if odd:
        raise Refused(f"the plan file holds actions that do not follow from the desired state "
                      f"and the nodes ({', '.join(odd[:5])}): it was edited after certops "
                      "plan. Run certops plan again and apply that plan.")


SAFE_BESIDE_UNREAD = ("trust.add", "service.restart")


def check_unread_peers(plan: Plan, loaded: LoadedFleet, live: Mapping[str, LiveNode]) -> None:
    """A node linked to a node the plan did not read gets nothing but new trust (and the
    restart of the services that read it): its certificate, its restart and its removals
    need the unread peer's state. A partial plan holds such nodes back; a plan file whose
    findings were edited to pass as a ``--node`` plan must not slip an install past it."""
    unread = set(loaded.fleet.nodes) - set(live)
    for action in plan.actions:
        if action.kind in SAFE_BESIDE_UNREAD:
            continue
        near = sorted(p for p in loaded.fleet.desired.peers(action.node) if p in unread)
        if near:
            raise Refused(f"the plan file changes {action.node} ({action.id}), which is linked "
                          f"to {', '.join(near)}, a node the plan did not read: it was edited "
                          "after certops plan. Run certops plan again and apply that plan.")


def check_drained(plan: Plan, drained: tuple[str, ...]) -> None:
    """``--drained NODE`` confirms a drain the plan holds (the manual step where the node's
    API cannot switch maintenance mode); naming a node without one is refused, since the
    person may have meant another node, or left a node in maintenance mode for nothing."""
    drains = {a.node: a for a in plan.actions if a.id == action_id(a.node, DRAIN_KIND)}
    missing = sorted(set(drained) - set(drains))
    if missing:
        raise Refused(
            f"--drained {', '.join(missing)}: the plan has no drain of "
            f"{'that node' if len(missing) == 1 else 'those nodes'} (no restart of it is "
            "planned, its drain setting is off, its kind does not drain, or it is not a node "
            "of this plan), so there is nothing to confirm. Nothing was changed; if you put "
            "it into maintenance mode, switch it off (Maintenance > Maintenance mode: Off).")


def check_unblocked(plan: Plan) -> None:
    if plan.blocked:
        errors = [f.render() for f in plan.findings if f.severity is Severity.ERROR]
        raise Refused(
            "the plan has error findings; nothing was changed. Fix them and plan "
            "again:\n  " + "\n  ".join(errors)
        )


def _saved_plan(request: ApplyRequest, root: Path, now: datetime) -> Plan | None:
    """The saved plan, checked for format, age and directory (None: plan afresh)."""
    if not request.saved:
        return None
    saved = load_plan_file(request.source)
    check_age(saved, now, request.max_plan_age)
    check_root(saved, root)
    if request.targets and sorted(request.targets) != sorted(saved.targets):
        raise Refused(f"--node {' '.join(request.targets)}: the plan file was made for "
                      f"{', '.join(saved.targets) or 'every node'}; apply it without --node")
    return saved


async def apply(session: Session, request: ApplyRequest, ui: ApplyUi) -> ApplyRun:
    """Apply a saved plan file, or plan ``request.source`` (a directory) now and approve it;
    one apply at a time per desired-state directory."""
    root = request.root()
    session = session.at(root)
    now = session.now()
    request.override()
    saved = _saved_plan(request, root, now)
    if not root.is_dir():
        raise Refused(f"the desired-state directory {root} does not exist: pass --dir")
    async with apply_lock(root, request.lock_timeout):
        return await _apply_locked(session, request, ui, saved, now)


async def _apply_locked(session: Session, request: ApplyRequest, ui: ApplyUi,
                        saved: Plan | None, now: datetime) -> ApplyRun:
    loaded = load_fleet(session, now)  # once, for the plan and the steps alike
    chosen = scope(loaded.fleet, PlanRequest(request.targets, strict=request.strict))
    names = sorted(saved.node_fingerprints) if saved else chosen.names
    drivers = session.connect(loaded.fleet.desired, names)
    try:
        plan = await _plan(session, loaded, drivers, saved, now, chosen)
        check_unblocked(plan)
        check_drained(plan, request.drained)
        if not plan.actions:
            return ApplyRun(plan, None, session.root)
        policy = WindowPolicy(loaded.fleet.desired)
        check_no_freeze(policy, session.now())
        if not saved:
            ui.show(plan)
        if request.needs_prompt() and not ui.prompt(plan):
            return ApplyRun(plan, None, session.root)
        # A revocation or an expired API certificate may restart outside the windows
        # (emergency.revocation, emergency.expired: restart-now).
        gate = WindowGate(policy, disruptive_kinds(loaded.fleet), request.override(),
                          emergency=emergency_nodes(loaded.fleet, plan.findings))
        result = await _execute(session, loaded, drivers, plan, ui.progress(plan),
                                request.keep_going, gate, request.confirmation())
        if loaded.fleet.desired.fleet.windows and result.ok and not result.owed:
            ensure_record(session.root)  # from now on, a missing record means a lost one
        return ApplyRun(plan, result, session.root, loaded.fleet)
    finally:
        await close_all(drivers)


async def _plan(session: Session, loaded: LoadedFleet, drivers: Mapping[str, Driver],
                saved: Plan | None, now: datetime, chosen: Scope | None = None) -> Plan:
    """The saved plan once it is fresh and derived, or a fresh plan made at ``now``."""
    if saved is None:
        return (await plan_with(session, loaded, drivers, now, chosen)).plan
    record = read_pending(session.root)
    live = await check_fresh(saved, dict(drivers), loaded.fleet.desired.digest,
                             session.parallelism, record)
    check_assumed(session, saved, loaded, live, record)
    check_derived(session, saved, loaded, live)
    return saved


def check_assumed(session: Session, plan: Plan, loaded: LoadedFleet,
                  live: Mapping[str, LiveNode], record: Mapping[str, tuple[str, ...]]) -> None:
    """The restarts a saved plan assumed owed (no record, ``planning/owed.py``) must be the
    ones the plan use case assumes from the same inputs: a plan file that adds some would
    otherwise make its own extra restarts look derived."""
    if not plan.assumed_owed and (record_exists(session.root)
                                  or not loaded.fleet.desired.fleet.windows):
        return
    raw = {}
    for name, node in live.items():  # the live state without the plan's assumption
        extra = set(plan.assumed_owed.get(name, ())) - set(record.get(name, ()))
        kept = tuple(s for s in node.services_pending if s not in extra)
        raw[name] = node.model_copy(update={"services_pending": kept}) if extra else node
    expected: dict[str, tuple[str, ...]] = {}
    if loaded.fleet.desired.fleet.windows and not record_exists(session.root):
        first = rederive(session, plan, loaded, raw)
        expected = assumed_owed(loaded.fleet, raw, first.actions, session.cache)[0]
    if expected != plan.assumed_owed:
        raise Refused("the plan file's assumed_owed (restarts assumed owed without a record) "
                      "does not follow from the desired state and the nodes: it was edited "
                      "after certops plan, or the record of owed restarts changed. Run "
                      "certops plan again and apply that plan.")


def check_no_freeze(policy: WindowPolicy, now: datetime) -> None:
    """A freeze in force refuses the whole apply before anything is sent (freeze wins over
    windows and --outside-window)."""
    freeze = policy.freeze_at(now)
    if freeze is not None:
        raise Refused(f"{freeze.describe()} is in force: certops apply changes no node until "
                      "it ends. No node was changed (they were only read); apply again after "
                      "the freeze, or end it in certops.yaml through review.")


async def _execute(session: Session, loaded: LoadedFleet, drivers: Mapping[str, Driver],
                   plan: Plan, listener: Listener | None, keep_going: bool = False,
                   gate: WindowGate | None = None,
                   confirmation: DrainConfirmation | None = None) -> ApplyResult:
    drained = frozenset(confirmation.nodes) if confirmation else frozenset()
    ctx = StepContext(plan=plan, fleet=loaded.fleet, drivers=dict(drivers), drained=drained,
                      desired_root=session.root, timing=session.the_timing(), cache=session.cache,
                      issuers=issuers_of(loaded.fleet.desired.fleet.issuers, session.env,
                                         session.root),
                      now=session.clock())
    result = await execute(plan, ctx, parallelism=session.parallelism, listener=listener,
                           keep_going=keep_going, gate=gate, clock=session.clock)
    return result.model_copy(update={"drained": confirmation}) if confirmation else result
