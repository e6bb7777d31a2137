"""Identities that exist (or are used) on a cluster's publisher only, declared in a
subscriber's node file (issue 22): Unified CM's ITLRecovery from 12.5 and CAPF (the role
table's ``publisher_only``, with its source).

A cross-file check: which node is the publisher is in certops.yaml (``clusters:``), the
declaration in the node file. Each finding points at the subscriber's key (file:line:col)
and says where to declare the identity instead. A node in no cluster, or in a cluster
without a named publisher, is not judged.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.desired.findings import error, warning
from reconciler.kinds import kind_of
from reconciler.model import Code, DesiredNode, Finding, FleetSpec


def publisher_role_findings(fleet: FleetSpec, nodes: Iterable[DesiredNode]) -> list[Finding]:
    """An error for each publisher-only identity a subscriber declares; a warning instead
    for a self-signed copy where the subscriber may hold an unused one (CAPF before 14)."""
    by_name = {n.name: n for n in nodes}
    out: list[Finding] = []
    for name, cluster in sorted(fleet.clusters.items()):
        publisher = by_name.get(cluster.publisher or "")
        if publisher is None:
            continue
        for member in cluster.members:
            node = by_name.get(member)
            if node is None or member == publisher.name:
                continue
            out.extend(_declared(node, name, publisher))
    return out


def _declared(node: DesiredNode, cluster: str, publisher: DesiredNode) -> list[Finding]:
    table = kind_of(node.spec.type).role_table
    out: list[Finding] = []
    for role, cert in sorted(node.spec.certificates.items()):
        profile = table.roles.get(role)
        if profile is None or not profile.publisher_only:
            continue
        where = node.pos("certificates", role)
        if cert.self_signed and profile.subscriber_self_signed:
            out.append(warning(
                Code.ROLE_PUBLISHER_ONLY,
                f"{node.name} is a subscriber of cluster '{cluster}' and {profile.publisher_only}"
                f": this {role} certificate is not used (on 14 and later the node has none). "
                f"Manage {role} in the publisher's node file ({publisher.file}); keep this "
                "self-signed one only to silence its expiry alerts on an older release.",
                where, node.name))
            continue
        out.append(error(
            Code.ROLE_PUBLISHER_ONLY,
            f"{node.name} is a subscriber of cluster '{cluster}', and {profile.publisher_only}: "
            f"declare {role} in the publisher's node file ({publisher.file}) and remove it "
            "here.", where, node.name))
    return out
