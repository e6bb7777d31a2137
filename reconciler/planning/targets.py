"""``--node``: narrow a plan to its targets without ever changing another node's certificate.

The targets' own actions are kept, and of the other nodes only the trust those actions need
(``trust.add`` and the ``service.restart`` that activates it). An action of a target that
waits for another node's certificate change (a ``trust.remove`` of the CA a peer still
chains to, with ``prune: true``) is held, with a ``target.held`` note naming what it waits
for. A wait that only orders restarts (``serialise_restarts``) is dropped with the restart
it waits for: that restart is not part of this run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reconciler.model import RESTART_KINDS, Finding, Severity
from reconciler.model.codes import Code
from reconciler.planning.graph import Draft

PEER_KINDS = frozenset({"trust.add", "service.restart"})


def narrow_to_targets(
    drafts: Mapping[str, Draft], targets: frozenset[str]
) -> tuple[dict[str, Draft], list[Finding]]:
    """The drafts a ``--node`` run makes, and a note per target action it holds back."""
    keep: dict[str, Draft] = {}
    held: dict[str, str] = {}  # action id -> the outside action it waits for

    def visit(aid: str) -> bool:
        if aid in keep or aid in held:
            return aid in keep
        d = drafts[aid]
        deps: set[str] = set()
        for dep in sorted(d.depends_on):
            other = drafts.get(dep)
            if other is None:
                continue
            if other.node not in targets and other.kind not in PEER_KINDS:
                if other.kind in RESTART_KINDS and d.kind in RESTART_KINDS:
                    continue  # only an order between restarts; that restart is not planned
                held[aid] = dep
                return False
            if not visit(dep):
                held[aid] = held[dep]
                return False
            deps.add(dep)
        keep[aid] = replace(d, depends_on=frozenset(deps))
        return True

    for aid in sorted(a for a, d in drafts.items() if d.node in targets):
        visit(aid)
    notes = [_held(drafts[a], drafts[held[a]]) for a in sorted(held)
             if drafts[a].node in targets]
    return keep, notes


def _held(d: Draft, waits: Draft) -> Finding:
    return Finding(
        code=Code.TARGET_HELD, severity=Severity.INFO, node=d.node,
        message=f"{d.kind}{f' ({d.store})' if d.store else ''} is not planned: it waits for "
        f"{waits.kind} of {waits.node}, and --node never changes another node's certificate. "
        f"Plan {waits.node} as well (--node {waits.node}), or the whole fleet.",
    )
