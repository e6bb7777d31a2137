"""Trust uploads whose service restart is still owed, across runs and across CI clones.

A trust change on a VOS node takes effect only after its services restart (Cisco Tomcat,
CallManager, TFTP). When an apply uploads the CA and the restart does not follow at once
(its change window is closed, or the apply stopped), the next plan must still restart those
services and must still hold back every install that relies on that store. A real Unified
CM does not say that a restart is owed (docs/device-evidence.md), so certops keeps the
record itself: ``owed-restarts.json`` at the top of the desired-state directory
(``OWED_RESTARTS_FILE``), a **committed** file that the apply workflow commits back like the
CSRs, so that the window's run in a fresh clone finds it. The ``trust.add`` step adds the
services its store needs (with the store and the time, for the reviewer), the
``service.restart`` step removes the ones it saw restart. ``merge_pending`` folds the record
into each node's ``services_pending``, so the planner, the freshness check and the
fingerprint all see the same thing whatever the device reports.

What the nodes themselves show is not recorded here: an installed certificate that its TLS
port does not serve yet owes its restart by the live state alone (the planner's
``restart_pending``). The record of older versions, ``.certops/pending-restarts.json``
(inside the checkout only), is still read and is folded into the committed file at the next
write.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.desired.safewrite import write_inside
from reconciler.model import CertopsError, LiveNode
from reconciler.model.layout import OWED_RESTARTS_FILE, PENDING_FILE

Pending = dict[str, tuple[str, ...]]

SHAPE = ('{"<node>": {"services": ["<service>", ...], "stores": ["<store>", ...], '
         '"since": "<time>"}}')


class BadRecord(CertopsError):
    """The record exists but is not certops' record (a link, a folder, garbage)."""


def record_problem(root: Path) -> str | None:
    """Why ``owed-restarts.json`` cannot be used (None: it is fine, or absent)."""
    try:
        _read_record(root)
    except BadRecord as exc:
        return str(exc)
    return None


def record_exists(root: Path) -> bool:
    """Whether the committed record is there (empty or not)."""
    path = root / OWED_RESTARTS_FILE
    return path.is_file() and not path.is_symlink()


def _read_record(root: Path) -> dict[str, dict[str, Any]]:
    path = root / OWED_RESTARTS_FILE
    if path.is_symlink():
        raise BadRecord(f"{OWED_RESTARTS_FILE} is a symbolic link: certops reads and writes "
                        "only a regular file there (replace the link with the file)")
    if not path.exists():
        return {}
    if not path.is_file():
        raise BadRecord(f"{OWED_RESTARTS_FILE} is not a file: remove it")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise BadRecord(f"{OWED_RESTARTS_FILE} is not JSON ({type(exc).__name__}): restore it "
                        f"from git history; certops writes it as {SHAPE}") from None
    if not isinstance(raw, dict) or not all(_entry_ok(v) for v in raw.values()):
        raise BadRecord(f"{OWED_RESTARTS_FILE} is not certops' record of owed restarts: "
                        f"expected {SHAPE}; restore it from git history")
    return {str(node): entry for node, entry in raw.items()}


def _entry_ok(entry: object) -> bool:
    if not isinstance(entry, dict) or not isinstance(entry.get("services"), list):
        return False
    return all(isinstance(s, str) for s in entry["services"])


def _legacy(root: Path) -> Pending:
    """``.certops/pending-restarts.json`` of older versions (node -> services), if usable."""
    path = root / PENDING_FILE
    if path.is_symlink() or not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(node): tuple(sorted({str(s) for s in services}))
            for node, services in raw.items() if isinstance(services, list) and services}


def read_pending(root: Path) -> Pending:
    """Per node, the services that owe a restart (empty when nothing is recorded). A record
    that is not usable raises ``BadRecord`` (the loader reports it before any plan)."""
    out: dict[str, set[str]] = {n: set(s) for n, s in _legacy(root).items()}
    for node, entry in _read_record(root).items():
        out.setdefault(node, set()).update(entry["services"])
    return {n: tuple(sorted(s)) for n, s in sorted(out.items()) if s}


def _save(root: Path, record: dict[str, dict[str, Any]]) -> None:
    data = {n: e for n, e in sorted(record.items()) if e.get("services")}
    write_inside(root, OWED_RESTARTS_FILE, json.dumps(data, indent=2, sort_keys=True) + "\n")


def _full(root: Path) -> dict[str, dict[str, Any]]:
    """The committed record with the legacy one folded in (as the next write keeps it)."""
    record = _read_record(root)
    for node, services in _legacy(root).items():
        entry = record.setdefault(node, {"services": []})
        entry["services"] = sorted({*entry["services"], *services})
    return record


def mark_pending(root: Path, node: str, services: Iterable[str], store: str = "",
                 now: datetime | None = None) -> None:
    """Record that ``services`` of ``node`` must restart before its trust change (of
    ``store``) counts."""
    record = _full(root)
    entry = record.get(node, {"services": []})
    wanted = sorted({*entry["services"], *services})
    stores = sorted({*entry.get("stores", []), *([store] if store else [])})
    if wanted == entry["services"] and stores == entry.get("stores", []):
        return
    entry = {**entry, "services": wanted, "stores": stores}
    if now is not None and "since" not in entry:
        entry["since"] = now.isoformat(timespec="seconds")
    record[node] = entry
    _save(root, record)
    _drop_legacy(root)


def clear_pending(root: Path, node: str, services: Iterable[str]) -> None:
    """Record that ``services`` of ``node`` restarted (confirmed by the step)."""
    record = _full(root)
    entry = record.get(node)
    if entry is None:
        return
    left = sorted(set(entry["services"]) - set(services))
    if left == entry["services"]:
        return
    if left:
        record[node] = {**entry, "services": left}
    else:
        record.pop(node)
    _save(root, record)
    _drop_legacy(root)


def ensure_record(root: Path) -> None:
    """Write an empty record where none exists yet: from now on a missing file means the
    record was lost (``restart.record_missing``), not that nothing was ever owed."""
    if not (root / OWED_RESTARTS_FILE).exists() and not (root / OWED_RESTARTS_FILE).is_symlink():
        _save(root, _full(root))
        _drop_legacy(root)


def _drop_legacy(root: Path) -> None:
    path = root / PENDING_FILE
    if path.is_file() and not path.is_symlink():
        path.unlink()


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
