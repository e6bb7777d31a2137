"""Action drafts and the dependency graph: ids, serialised restarts, stable topological order.

Drafts are immutable: adding dependencies or turning a draft into a manual step gives a new
draft, and the graph functions return new mappings instead of changing the one they get.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from reconciler.model import PHASES, RESTART_KINDS, Action, ActionKind, CertSummary

if TYPE_CHECKING:  # only for annotations: graph.py stays below the fleet view
    from reconciler.checks.fleet import NodeView


@dataclass(frozen=True)
class Draft:
    """An action while the plan is being built (its dependencies still a set)."""

    id: str
    kind: ActionKind
    node: str
    reason: str
    store: str | None = None
    certificate: CertSummary | None = None
    services: tuple[str, ...] = ()
    subject_alt_names: tuple[str, ...] = ()
    depends_on: frozenset[str] = frozenset()
    manual: str | None = None
    issuer: str | None = None
    certificate_from: str | None = None
    replicated_from: str | None = None
    role: str | None = None  # a certificate role other than the primary one

    def after(self, ids: Iterable[str]) -> Draft:
        """This draft, also waiting for ``ids``."""
        more = frozenset(ids) - self.depends_on
        return replace(self, depends_on=self.depends_on | more) if more else self

    def freeze(self) -> Action:
        return Action(
            id=self.id,
            kind=self.kind,
            node=self.node,
            reason=self.reason,
            store=self.store,
            certificate=self.certificate,
            services=self.services,
            subject_alt_names=self.subject_alt_names,
            depends_on=tuple(sorted(self.depends_on)),
            manual=self.manual,
            issuer=self.issuer,
            certificate_from=self.certificate_from,
            replicated_from=self.replicated_from,
            role=self.role,
        )

    @property
    def key(self) -> tuple[int, str, str]:
        return (PHASES[self.kind], self.node, self.id)


Drafts = Mapping[str, Draft]


def serving_restart(view: NodeView, after: Iterable[str], reason: str) -> Draft:
    """The kind's restart that makes a newly installed certificate served (the node, or its
    identity service), with the one id the rolling and linking rules know it by."""
    restart = view.kind.after_install
    return Draft(
        id=action_id(view.name, restart.kind, restart.part),
        kind=restart.kind,
        node=view.name,
        reason=reason,
        services=restart.services,
        depends_on=frozenset(after),
    )


def action_id(node: str, kind: str, *parts: str) -> str:
    """``node/kind[/part...]``: readable, stable for the same inputs."""
    return "/".join([node, kind, *(p for p in parts if p)])


def merge(drafts: Drafts, new: Iterable[Draft]) -> dict[str, Draft]:
    """``drafts`` plus ``new``; a draft whose id is already there is left out (first wins)."""
    out = dict(drafts)
    for draft in new:
        out.setdefault(draft.id, draft)
    return out


def depths(drafts: Drafts) -> dict[str, int]:
    """Longest path from a root to each action (dependencies must exist and be acyclic)."""
    memo: dict[str, int] = {}

    def depth(aid: str, stack: frozenset[str] = frozenset()) -> int:
        if aid in memo:
            return memo[aid]
        if aid in stack:
            raise ValueError(f"dependency cycle through {aid}")
        deps = [d for d in drafts[aid].depends_on if d in drafts]
        memo[aid] = 1 + max((depth(d, stack | {aid}) for d in deps), default=-1)
        return memo[aid]

    for aid in drafts:
        depth(aid)
    return memo


@dataclass(frozen=True)
class Rolling:
    """One cluster's rolling restart: its members in restart order (a publisher first) and
    how many of them may be restarting at the same moment."""

    order: tuple[str, ...]
    max_unavailable: int = 1


def serialise_restarts(
    drafts: Drafts, linked: set[frozenset[str]], rolling: Sequence[Rolling] = ()
) -> dict[str, Draft]:
    """The drafts with restarts made never to overlap where that would cut a service.

    Restarts are put in one order (depth, member rank, phase, node, id). Each restart waits
    for the earlier restarts of nodes linked to it; within a cluster, a restart waits for the
    one ``max_unavailable`` places before it among the members' restarts, so at most that
    many run at once (one per residue class). Every original edge increases depth, and every
    added edge points back in that order, so the graph stays acyclic.
    """
    d = depths(drafts)
    rank = {node: i for r in rolling for i, node in enumerate(r.order)}
    restarts = sorted(
        (a for a in drafts.values() if a.kind in RESTART_KINDS),
        key=lambda a: (d[a.id], rank.get(a.node, 0), *a.key),
    )
    out = dict(drafts)
    for i, later in enumerate(restarts):
        earlier = [
            e.id
            for e in restarts[:i]
            if e.node != later.node and frozenset((e.node, later.node)) in linked
        ]
        out[later.id] = out[later.id].after(earlier)
    for cluster in rolling:
        members = set(cluster.order)
        chain = [a.id for a in restarts if a.node in members]
        step = cluster.max_unavailable
        for i in range(step, len(chain)):
            out[chain[i]] = out[chain[i]].after([chain[i - step]])
    return out


def restart_waves(actions: Sequence[Action]) -> dict[str, int]:
    """For each restart, its wave: 1 + the most restarts that must finish before it starts.

    Restarts of one wave may run together; the plan shows them wave by wave."""
    by_id = {a.id: a for a in actions}
    memo: dict[str, int] = {}

    def before(aid: str) -> int:  # restarts on the longest chain up to and including aid
        if aid not in memo:
            action = by_id[aid]
            deps = [before(x) for x in action.depends_on if x in by_id]
            memo[aid] = max(deps, default=0) + (1 if action.kind in RESTART_KINDS else 0)
        return memo[aid]

    return {a.id: before(a.id) for a in actions if a.kind in RESTART_KINDS}


def ordered(drafts: Drafts) -> list[Action]:
    """Topological order; ties break by phase, node, id, so equal inputs give equal plans."""
    pending = {aid: {x for x in a.depends_on if x in drafts} for aid, a in drafts.items()}
    users: dict[str, list[str]] = {aid: [] for aid in drafts}
    for aid, deps in pending.items():
        for dep in deps:
            users[dep].append(aid)
    heap = [drafts[a].key for a, deps in pending.items() if not deps]
    heapq.heapify(heap)
    out: list[Action] = []
    while heap:
        key = heapq.heappop(heap)
        aid = key[2]
        out.append(drafts[aid].freeze())
        for user in users[aid]:
            pending[user].discard(aid)
            if not pending[user]:
                heapq.heappush(heap, drafts[user].key)
    if len(out) != len(drafts):
        raise ValueError("dependency cycle in the plan")
    return out


def closure(drafts: Drafts, keep: set[str]) -> set[str]:
    """``keep`` plus everything it depends on, transitively."""
    out: set[str] = set()
    todo = list(keep)
    while todo:
        aid = todo.pop()
        if aid in out or aid not in drafts:
            continue
        out.add(aid)
        todo.extend(drafts[aid].depends_on)
    return out
