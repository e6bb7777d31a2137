"""Checks that need more than one file: unique node names, file names, and the fleet's links."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from reconciler.desired.findings import error, warning
from reconciler.kinds import kind_of
from reconciler.model import Code, DesiredNode, Finding, FleetSpec, SourcePos


def unique_nodes(nodes: Iterable[DesiredNode]) -> tuple[list[DesiredNode], list[Finding]]:
    """One node of each name, and an error at every other file that uses the name.

    The file named after the node keeps it (``nodes/expe1.yaml`` over ``expe1-copy.yaml``);
    otherwise the first file in path order does.
    """
    first: dict[str, DesiredNode] = {}
    findings: list[Finding] = []
    for node in sorted(nodes, key=lambda n: (PurePosixPath(n.file).stem != n.name, n.file)):
        seen = first.get(node.name)
        if seen is None:
            first[node.name] = node
            continue
        findings.append(error(
            Code.NODE_DUPLICATE,
            f"node name '{node.name}' is already used by {seen.pos('name')}: every node needs "
            "its own name (and one file)",
            node.pos("name"), node.name,
        ))
    return list(first.values()), findings


def name_mismatches(nodes: Iterable[DesiredNode]) -> list[Finding]:
    """Warnings where a node file is not named after its node: people look in nodes/<name>.yaml."""
    return [
        warning(
            Code.NODE_NAME_MISMATCH,
            f"the file is named '{PurePosixPath(node.file).name}' but the node is "
            f"'{node.name}': rename the file to {node.name}{PurePosixPath(node.file).suffix}",
            node.pos("name"), node.name,
        )
        for node in nodes
        if PurePosixPath(node.file).stem != node.name
    ]


def well_formed_links(data: Mapping[Any, Any]) -> list[tuple[int, str, str]]:
    """The ``links`` items of certops.yaml that are pairs of names, with their index.

    Read from the raw data so that the links are checked even when another part of the file
    fails validation; malformed items are the schema's to report.
    """
    links = data.get("links")
    if not isinstance(links, tuple):
        return []
    return [
        (index, item[0], item[1])
        for index, item in enumerate(links)
        if isinstance(item, tuple) and len(item) == 2 and all(isinstance(n, str) for n in item)
    ]


def link_findings(
    links: Iterable[tuple[int, str, str]],
    positions: Mapping[str, SourcePos],
    known: set[str],
) -> list[Finding]:
    """Links that name unknown nodes, link a node to itself, or repeat another link.

    ``known`` holds every name written in a node file, valid or not, so a node with its own
    errors does not also make its links look wrong.
    """

    def pos(*path: object) -> SourcePos:
        return positions.get(".".join(map(str, path)), positions[""])

    findings: list[Finding] = []
    first: dict[frozenset[str], int] = {}
    for index, a, b in links:
        for side, name in enumerate((a, b)):
            if name not in known:
                findings.append(error(
                    Code.LINK_UNKNOWN_NODE,
                    f"link names node '{name}', but no file under nodes/ defines it "
                    f"({_known_hint(name, known)})",

                    pos("links", index, side),
                ))
        if a == b:
            findings.append(error(
                Code.LINK_SELF,
                f"link joins node '{a}' to itself: a link names two different nodes",
                pos("links", index),
            ))
            continue
        pair = frozenset((a, b))
        if pair in first:
            findings.append(warning(
                Code.LINK_DUPLICATE,
                f"link [{a}, {b}] repeats the link at {pos('links', first[pair])}: remove one",
                pos("links", index),
            ))
        else:
            first[pair] = index
    return findings


def cluster_findings(
    fleet: FleetSpec, positions: Mapping[str, SourcePos], nodes: Iterable[DesiredNode]
) -> list[Finding]:
    """Clusters whose members do not exist, belong to two clusters, or mix kinds that cannot
    form one cluster; a publisher that is not a Unified CM member; a name used twice."""
    kinds = {n.name: kind_of(n.spec.type) for n in nodes}
    findings: list[Finding] = []
    seen: dict[str, str] = {}

    def bad(message: str, *path: object) -> None:
        where = positions.get(".".join(map(str, path)), positions.get("", SourcePos(file="")))
        findings.append(error(Code.CLUSTER_INVALID, message, where))

    for name, cluster in sorted(fleet.clusters.items()):
        if name in kinds:
            bad(f"cluster '{name}' has the name of a node: links could not tell them apart",
                "clusters", name)
        for i, member in enumerate(cluster.members):
            if member not in kinds:
                bad(f"cluster '{name}' names '{member}', which is not a usable node "
                    f"({_known_hint(member, set(kinds))})", "clusters", name, "members", i)
            elif member in seen:
                bad(f"'{member}' is already a member of cluster '{seen[member]}': a node "
                    "belongs to one cluster", "clusters", name, "members", i)
            else:
                seen[member] = name
        groups = {kinds[m].cluster_group for m in cluster.members if m in kinds}
        if len(groups) > 1:
            types = ", ".join(sorted({kinds[m].type for m in cluster.members if m in kinds}))
            bad(f"cluster '{name}' mixes node types that cannot form one cluster ({types})",
                "clusters", name, "members")
        publisher = cluster.publisher
        if publisher is not None and (
            publisher not in cluster.members
            or publisher not in kinds
            or not kinds[publisher].cluster_has_publisher
        ):
            bad(f"the publisher of cluster '{name}' must be one of its members of a kind "
                "with a publisher (Unified CM, IM and Presence, Unity Connection)",
                "clusters", name, "publisher")
        if cluster.multi_server and publisher is None:
            bad(f"cluster '{name}' has tomcat_identity: multi-server, which is generated on "
                "the publisher: name its publisher", "clusters", name, "tomcat_identity")
    return findings


def _known_hint(name: str, known: set[str]) -> str:
    """The closest known names (a typo is the usual cause), or a short list of what exists."""
    import difflib

    close = difflib.get_close_matches(name, sorted(known), n=3)
    if close:
        return f"did you mean {', '.join(close)}?"
    listed = sorted(known)
    more = f", … ({len(listed) - 10} more)" if len(listed) > 10 else ""
    return f"known nodes: {', '.join(listed[:10]) or 'none'}{more}"
