"""Trust that a cluster replicates: uploaded once on the publisher, awaited on the others.

Evidence (docs/device-apis.md, "Cluster behaviour" [C]): on a Unified CM cluster a
callmanager-trust upload on the publisher replicates to the subscribers; CAPF-trust is per
node. A kind lists such stores in ``replicated_stores`` (Unified CM: callmanager-trust).
Every other store, and every Expressway trusted CA list (which settings an Expressway
cluster replicates is not evidenced here: [U]), is uploaded on every member that needs it,
the safe course.

So a subscriber's ``trust.add`` to a replicated store becomes a wait: it names the publisher
(``replicated_from``), depends on the publisher's upload of the same CA, uploads nothing and
reads its own store until the CA appears, within a deadline (``Timing.replication_timeout``);
the installs that need that trust already wait for that ``trust.add``. Where this plan
does not upload the CA on the publisher (the publisher was not read, its desired trust
lacks the CA, or it already has it and a subscriber still lacks it, which replication
should have prevented), the member uploads it itself: whether an upload on a subscriber
replicates is not evidenced [U], but it makes that member trust the CA, the safe course.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from reconciler.checks.fleet import FleetView
from reconciler.planning.graph import Draft, action_id


def publisher_of(fleet: FleetView, node: str, store: str) -> str | None:
    """The publisher from which ``store`` of ``node`` replicates, if it does."""
    desired = fleet.desired
    name = desired.cluster_of(node)
    if name is None or node not in fleet.nodes:
        return None
    publisher = desired.fleet.clusters[name].publisher
    view = fleet.nodes[node]
    if publisher is None or publisher == node or publisher not in fleet.nodes:
        return None
    if store not in view.kind.replicated_stores:
        return None
    return publisher if fleet.nodes[publisher].kind.type == view.kind.type else None


def await_replication(fleet: FleetView, read: frozenset[str],
                      drafts: Mapping[str, Draft]) -> dict[str, Draft]:
    """Turn the ``trust.add`` drafts of replicated stores on non-publishers into waits.

    ``read``: the nodes whose live state was read (a publisher not read uploads nothing now).
    """
    out = dict(drafts)
    for aid, draft in drafts.items():
        if draft.kind != "trust.add" or draft.store is None or draft.certificate is None:
            continue
        publisher = publisher_of(fleet, draft.node, draft.store)
        if publisher is None or publisher not in read:
            continue
        upload = action_id(publisher, "trust.add", draft.store, draft.certificate.sha256[:16])
        if upload not in drafts:
            continue
        out[aid] = replace(
            draft,
            replicated_from=publisher,
            depends_on=draft.depends_on | {upload},
            reason=f"{draft.store} lacks '{draft.certificate.subject}': it replicates from the "
            f"publisher {publisher}, so wait until it appears here (no upload on this member)",
        )
    return out
