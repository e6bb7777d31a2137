"""Trust uploads whose service restart certops has not yet seen confirmed, across runs.

A trust change on a VOS node takes effect only after its services restart (Cisco Tomcat,
CallManager, TFTP). If an apply uploads the CA and then fails before the restart is
confirmed, the next plan must still restart those services and must still hold back every
install that relies on that store. A real Unified CM does not say that a restart is owed,
so certops keeps the record itself, in ``.certops/pending-restarts.json`` of the
desired-state directory: the ``trust.add`` step adds the services its store needs, the
``service.restart`` step removes the ones it saw restart. ``merge_pending`` folds the record
into each node's ``services_pending``, so the planner, the freshness check and the
fingerprint all see the same thing whatever the device reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from reconciler.desired.safewrite import write_inside
from reconciler.model import LiveNode
from reconciler.model.layout import PENDING_FILE

Pending = dict[str, tuple[str, ...]]


def read_pending(root: Path) -> Pending:
    """The record (empty when missing, a link, or unreadable: then nothing is known)."""
    path = root / PENDING_FILE
    if path.is_symlink() or not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        str(node): tuple(sorted({str(s) for s in services}))
        for node, services in raw.items()
        if isinstance(services, list) and services
    }


def _save(root: Path, record: Pending) -> None:
    data = {n: sorted(s) for n, s in sorted(record.items()) if s}
    write_inside(root, PENDING_FILE, json.dumps(data, indent=2, sort_keys=True) + "\n")


def mark_pending(root: Path, node: str, services: Iterable[str]) -> None:
    """Record that ``services`` of ``node`` must restart before its trust change counts."""
    record = read_pending(root)
    wanted = set(record.get(node, ())) | set(services)
    if wanted != set(record.get(node, ())):
        record[node] = tuple(sorted(wanted))
        _save(root, record)


def clear_pending(root: Path, node: str, services: Iterable[str]) -> None:
    """Record that ``services`` of ``node`` restarted (confirmed by the step)."""
    record = read_pending(root)
    left = set(record.get(node, ())) - set(services)
    if left != set(record.get(node, ())):
        record[node] = tuple(sorted(left))
        _save(root, record)


def merge_pending(live: Mapping[str, LiveNode], record: Pending) -> dict[str, LiveNode]:
    """Each node's live state with the recorded pending restarts added to what it reports."""
    out: dict[str, LiveNode] = {}
    for name, node in live.items():
        extra = set(record.get(name, ())) - set(node.services_pending)
        if extra and node.reachable:
            merged = tuple(sorted({*node.services_pending, *extra}))
            node = node.model_copy(update={"services_pending": merged})
        out[name] = node
    return out
