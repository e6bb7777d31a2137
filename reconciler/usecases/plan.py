"""``certops plan``: load once, read every node (read-only), plan.

This is where I/O meets the pure core: files through ``desired``, nodes through ``drivers``,
then ``checks`` and ``planning`` on plain data. Nothing here writes to a node.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from reconciler.checks import FleetView
from reconciler.desired.pending import merge_pending, read_pending, record_exists
from reconciler.model import DesiredNode, Finding, LiveNode, PemFile, Plan
from reconciler.model.renewal import RenewalWindow
from reconciler.planning import make_plan
from reconciler.planning.owed import assumed_owed
from reconciler.usecases.loading import (
    LoadedFleet,
    count_node_files,
    git_commit,
    load_fleet,
    load_fleet_reading,
)
from reconciler.usecases.session import Session

if TYPE_CHECKING:
    from reconciler.drivers import Driver
    from reconciler.drivers.early import EarlyReads
    from reconciler.drivers.workers import ReadPool


@dataclass(frozen=True)
class PlanRequest:
    """``--node`` targets (those nodes and the peer trust they need) and ``--select`` labels
    (a shard: the matching nodes' actions only, the rest named)."""

    targets: tuple[str, ...] = ()
    selectors: tuple[str, ...] = ()
    connection_from: str | None = None  # a base directory or git ref (pull-request runs)
    strict: bool = False  # a node that cannot be read blocks the whole plan (no partial plan)


@dataclass(frozen=True, repr=False)
class PlanRun:
    """A plan with the fleet and live state it was made from.

    The repr is a summary on purpose: Python 3.11's asyncio.Runner formats the repr of the
    task's result when it checks its SIGINT handler, and a full repr of a 1,000-node fleet
    costs hundreds of megabytes.
    """

    plan: Plan
    fleet: FleetView
    live: dict[str, LiveNode]
    renewal: Mapping[str, RenewalWindow] = field(default_factory=dict)  # ARI, by node

    def __repr__(self) -> str:
        return f"PlanRun({len(self.live)} nodes, {len(self.plan.actions)} actions)"


@dataclass(frozen=True)
class Scope:
    """Which nodes to read, and how the planner narrows: to targets, or to a shard."""

    names: list[str]
    targets: frozenset[str] | None = None
    shard: frozenset[str] | None = None
    strict: bool = False


def select(fleet: FleetView, targets: list[str] | None) -> list[str]:
    """The nodes to read: every node, or the targets and their linked peers."""
    names = sorted(fleet.nodes)
    if not targets:
        return names
    unknown = sorted(set(targets) - set(names))
    if unknown:
        raise ValueError(f"--node {', '.join(unknown)}: no such node (known: {', '.join(names)})")
    wanted = set(targets)
    for name in targets:
        wanted.update(p for p in fleet.desired.peers(name) if p in fleet.nodes)
    return sorted(wanted)


def select_labels(fleet: FleetView, selectors: list[str]) -> frozenset[str]:
    """Nodes whose labels match every ``key=value`` selector."""
    wanted: list[tuple[str, str]] = []
    for sel in selectors:
        key, sep, value = sel.partition("=")
        if not sep or not key:
            raise ValueError(f"--select {sel!r}: write it as key=value, e.g. site=dc1")
        wanted.append((key.strip(), value.strip()))
    chosen = frozenset(
        name
        for name, view in fleet.nodes.items()
        if all(view.node.spec.labels.get(k) == v for k, v in wanted)
    )
    if not chosen:
        raise ValueError(f"--select {' '.join(selectors)}: no node has those labels")
    return chosen


def scope(fleet: FleetView, request: PlanRequest) -> Scope:
    """The request's nodes: a shard (``--select``), targets and peers (``--node``), or all."""
    if request.selectors:
        shard = select_labels(fleet, list(request.selectors))
        return Scope(select(fleet, sorted(shard)), shard=shard, strict=request.strict)
    targets = list(request.targets)
    return Scope(select(fleet, targets), targets=frozenset(targets) if targets else None,
                 strict=request.strict)


async def plan(session: Session, request: PlanRequest | None = None) -> PlanRun:
    """Read-only: load, read every node in scope (bounded concurrency), and plan."""
    from reconciler.drivers.fleet import close_all

    request = request or PlanRequest()
    with _read_pool(session, request) as pool:  # workers start while the fleet loads
        if pool is None and not (request.targets or request.connection_from):
            return await _plan_reading_early(session, request)
        now = session.now()
        loaded = load_fleet(session, now)
        chosen = scope(loaded.fleet, request)
        if request.connection_from is None:
            drivers = session.connect(loaded.fleet.desired, chosen.names)
            skipped: dict[str, LiveNode] = {}
        else:
            drivers, skipped, loaded = connect_from_base(session, loaded, chosen.names,
                                                         request.connection_from)
        try:
            return await plan_with(session, loaded, drivers, now, chosen, skipped, pool)
        finally:
            await close_all(drivers)


def _whole(request: PlanRequest) -> bool:
    """A plan of the whole fleet, connected by its own desired state."""
    return not (request.targets or request.selectors or request.connection_from)


async def _plan_reading_early(session: Session, request: PlanRequest) -> PlanRun:
    """``plan`` of a whole fleet or a shard with each node's read started as soon as the
    loader has parsed its file (``drivers/early.py``): loading hides in the reads' network
    waits. A shard loads its part of the fleet only (its nodes and every node their links
    reach); its nodes start early, their peers in other shards are read after loading."""
    from reconciler.drivers.early import EarlyReads
    from reconciler.drivers.fleet import close_all

    early = EarlyReads(session.the_inventory(), session.env, session.driver_settings(),
                       session.the_factory(), session.parallelism)
    wanted = _label_pairs(request.selectors)

    def start(node: DesiredNode, files: Mapping[str, PemFile]) -> None:
        if wanted is not None and all(node.spec.labels.get(k) == v for k, v in wanted):
            early.start(node, files)

    drivers: dict[str, Driver] = {}
    try:
        now = session.now()
        loaded = await load_fleet_reading(session, now, start,
                                          wanted if request.selectors else None)
        chosen = scope(loaded.fleet, request)
        drivers = early.adopt(loaded.fleet.desired, chosen.names)
        return await plan_with(session, loaded, drivers, now, chosen, early=early)
    finally:
        await early.close()
        await close_all(drivers)


def _label_pairs(selectors: tuple[str, ...]) -> list[tuple[str, str]] | None:
    """The ``--select`` selectors as (key, value) pairs ([] for the whole fleet); None when
    one is malformed (nothing is read early: ``select_labels`` reports it after loading)."""
    pairs = [(k.strip(), v.strip()) for k, sep, v in (s.partition("=") for s in selectors)
             if sep and k]
    return pairs if len(pairs) == len(selectors) else None


def _read_pool(session: Session, request: PlanRequest) -> AbstractContextManager[ReadPool | None]:
    """Worker processes for reading a whole fleet (reconciler.drivers.workers), started before
    the desired state is loaded; none for a targeted plan or a plan against another base."""
    from reconciler.drivers.workers import ReadPool

    if _whole(request) and session.drivers is None:  # the real network only: fakes stay in-process
        pool = ReadPool.start(count_node_files(session.root), session.env)
        if pool is not None:
            return pool
    return nullcontext(None)


def connect_from_base(
    session: Session, loaded: LoadedFleet, names: list[str], source: str
) -> tuple[dict[str, Driver], dict[str, LiveNode], LoadedFleet]:
    """Drivers whose connection settings and CAs come from the base desired state; the nodes
    whose settings the change edits are not contacted (``connection.changed``)."""
    from reconciler.drivers import make_drivers
    from reconciler.usecases.connection import changed_connections, changed_findings, load_base

    desired = loaded.fleet.desired
    base = load_base(session, source)
    changed = {n: f for n, f in changed_connections(desired, base).items() if n in names}
    drivers = make_drivers(base, [n for n in names if n not in changed],
                           session.the_inventory(), session.env, session.the_http(),
                           session.the_factory())
    skipped = {n: LiveNode(name=n, type=loaded.fleet.nodes[n].node.spec.type,
                           error="not contacted: the change edits its connection settings")
               for n in changed}
    findings = (*loaded.findings, *changed_findings(desired, changed))
    return drivers, skipped, LoadedFleet(loaded.fleet, findings)


async def plan_with(
    session: Session,
    loaded: LoadedFleet,
    drivers: Mapping[str, Driver],
    now: datetime,
    chosen: Scope | None = None,
    skipped: Mapping[str, LiveNode] | None = None,
    pool: ReadPool | None = None,
    early: EarlyReads | None = None,
) -> PlanRun:
    """Plan ``loaded`` against the live state that ``drivers`` read (the caller closes them);
    ``skipped`` are nodes not contacted on purpose (their error says why); ``early`` holds
    the reads already started while loading."""
    from reconciler.drivers import read_all
    from reconciler.usecases.apitrust import api_trust_of
    from reconciler.usecases.renewal import renewal_inputs

    # What the nodes say, plus the restarts certops recorded as still owed (desired.pending).
    got = (await early.read(drivers) if early is not None
           else await read_all(drivers, session.parallelism, pool))
    read = merge_pending(got, read_pending(session.root))
    live = {**(skipped or {}), **read}
    trust = api_trust_of(drivers, loaded.fleet.desired, session.the_inventory(), session.cache)
    # ACME CAs: profiles checked, renewal windows (ARI) read or recalled (usecases.renewal).
    renewal = await renewal_inputs(session, loaded.fleet, live, now)
    made = make_plan(
        loaded.fleet,
        live,
        now,
        cache=session.cache,
        findings=(*loaded.findings, *renewal.findings),
        renewal=renewal.windows,
        revoked=renewal.revoked,
        targets=chosen.targets if chosen else None,
        shard=chosen.shard if chosen else None,
        api_trust=trust,
        strict=chosen.strict if chosen else False,
    )
    made, live = _assume_owed(session, loaded, live, made, lambda lv: make_plan(
        loaded.fleet, lv, now, cache=session.cache, findings=loaded.findings,
        targets=chosen.targets if chosen else None, shard=chosen.shard if chosen else None,
        api_trust=trust, strict=chosen.strict if chosen else False))
    made = made.model_copy(update={
        "git_commit": git_commit(session.root), "desired_root": str(session.root),
        "targets": tuple(sorted(chosen.targets)) if chosen and chosen.targets else (),
        "findings": _with_missing_links(made, loaded, live, session),
    })
    return PlanRun(plan=made, fleet=loaded.fleet, live=live, renewal=renewal.windows)


def _assume_owed(session: Session, loaded: LoadedFleet, live: dict[str, LiveNode], made: Plan,
                 replan: Callable[[dict[str, LiveNode]], Plan]) -> tuple[Plan, dict[str, LiveNode]]:
    """With change windows and no committed record of owed restarts, plan again with the
    restarts a missing record may hide assumed owed (``planning/owed.py``)."""
    if not loaded.fleet.desired.fleet.windows or record_exists(session.root):
        return made, live
    assumed, why = assumed_owed(loaded.fleet, live, made.actions, session.cache)
    if not assumed:
        return made, live
    live = merge_pending(live, assumed)
    again = replan(live)
    return again.model_copy(update={
        "assumed_owed": assumed,
        "findings": tuple(sorted((*again.findings, *why), key=Finding.sort_key))}), live


def _with_missing_links(made: Plan, loaded: LoadedFleet, live: Mapping[str, LiveNode],
                        session: Session) -> tuple[Finding, ...]:
    """The plan's findings plus ``link.missing`` (reconciler.planning.links), sorted."""
    from reconciler.planning.links import missing_links

    extra = missing_links(loaded.fleet, live, session.cache)
    return tuple(sorted((*made.findings, *extra), key=Finding.sort_key))
