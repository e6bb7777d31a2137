"""Restarts assumed owed when their record is missing: the conservative side of the
committed record (``desired/pending.py``).

A Unified CM store's CA takes effect only after the services that read the store restart,
and no node says whether that restart happened since the upload (docs/device-evidence.md).
With change windows, uploads and restarts happen in different runs, so certops records the
owed restarts in ``owed-restarts.json``. When that file is missing (never committed, or
lost), a CA already in a store may still be waiting for its restart: then the services that
read each store holding a CA that a planned install's chain needs restart before the
install (as if the record said so), each with a ``restart.record_missing`` warning. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.checks.fleet import FleetView
from reconciler.model import Action, Code, Finding, LiveNode, Severity
from reconciler.model.layout import OWED_RESTARTS_FILE
from reconciler.pki import CertCache, PkiError
from reconciler.planning.graph import action_id


def _shas(cache: CertCache, pems: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for pem in pems:
        try:
            out.update(c.sha256 for c in cache.parse(pem.encode()))
        except PkiError:
            continue
    return out


def assumed_owed(fleet: FleetView, live: Mapping[str, LiveNode], actions: tuple[Action, ...],
                 cache: CertCache) -> tuple[dict[str, tuple[str, ...]], list[Finding]]:
    """Per node, the services to restart to be safe, and the findings that say why."""
    owed: dict[str, set[str]] = {}
    why: dict[str, set[str]] = {}
    for install in actions:
        if install.kind != "cert.install" or install.node not in fleet.nodes:
            continue
        view = fleet.nodes[install.node]
        chain = {c.sha256 for c in view.known_chain()}
        holders = [(install.node, view.kind.own_stores)]
        holders += [(p, fleet.nodes[p].kind.peer_stores)
                    for p in fleet.desired.peers(install.node) if p in fleet.nodes]
        for node, stores in holders:
            snapshot = live.get(node)
            if snapshot is None or not snapshot.reachable:
                continue
            kind = fleet.nodes[node].kind
            for store in stores:
                services = kind.services_after_trust({store})
                if services and chain & _shas(cache, snapshot.stores.get(store, ())):
                    owed.setdefault(node, set()).update(services)
                    why.setdefault(node, set()).add(f"{store} (for {install.node})")
    # A node whose plan restarts those services anyway (a trust upload of its own) needs no
    # assumption, and no warning.
    planned = {a.node: set(a.services) for a in actions
               if a.id == action_id(a.node, "service.restart", "trust")}
    owed = {n: s for n, s in owed.items() if not s <= planned.get(n, set())}
    findings = [
        Finding(code=Code.RESTART_RECORD_MISSING, severity=Severity.WARNING, node=node,
                location=fleet.nodes[node].node.pos(),
                message=f"no {OWED_RESTARTS_FILE} (the committed record of restarts owed "
                        "after trust uploads): whether "
                        f"{', '.join(fleet.nodes[node].kind.order_services(owed[node]))} "
                        f"restarted since {', '.join(sorted(why[node]))} got the CA a planned "
                        "install chains to cannot be read from the node, so they restart "
                        "before that install, to be safe. Commit the record the apply writes.")
        for node in sorted(owed)]
    return {n: tuple(sorted(s)) for n, s in sorted(owed.items())}, findings
