"""Seconds served revoked, from the lab's own record: its availability timeline and its
ACME CA's revocations, never from certops' reports.

The lab's ACME CA records each revocation it stages (``certops lab revoke``) with the
certificate's SHA-256 and the moment it takes effect (``A2cCa.revocations``); the timeline
samples carry the SHA-256 of the leaf each node serves and their wall time. Between two
samples of a node nothing changes, so the seconds a node was up serving a certificate past
its revocation are exact up to ``end`` (as ``soak_counters.expired_seconds`` counts expiry).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def revoked_seconds(samples: Sequence[Mapping[str, Any]], revoked: Mapping[str, float],
                    end: float) -> dict[str, float]:
    """Per node that served one, the seconds up while serving a certificate of ``revoked``
    (SHA-256 -> the epoch second its revocation took effect), until ``end`` (epoch)."""
    by_node: dict[str, list[Mapping[str, Any]]] = {}
    for sample in samples:
        by_node.setdefault(str(sample["node"]), []).append(sample)
    out: dict[str, float] = {}
    for node, seq in sorted(by_node.items()):
        total = 0.0
        for here, after in zip(seq, [*seq[1:], None], strict=True):
            since = revoked.get(str(here["served_sha"]))
            stop = float(after["wall"]) if after is not None else end
            if here["up"] and since is not None:
                total += max(0.0, stop - max(float(here["wall"]), since))
        if total:
            out[node] = round(total, 3)
    return out
