"""Connection settings from the protected base branch (issue 16 item 4; docs/ci.md).

A pull request must not decide where and how certops connects: the API URL, the CAs or pins
that authenticate a node, which credentials go to it and the SSH host key. With
``--connection-from`` (a directory or a git ref), ``api``, ``connection``, ``credentials``
and ``tls_verify`` of every node come from that base checkout, as do the CAs of its
``cas/``; a node whose settings differ in the change (or that the base lacks) is not
contacted, and each difference is a ``connection.changed`` finding.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from reconciler.desired import load
from reconciler.model import CertopsError, Code, Desired, Finding, NodeSpecBase, Severity
from reconciler.usecases.session import Session

FIELDS = ("api", "connection", "credentials", "tls_verify")


class BaseError(CertopsError):
    """The base desired state cannot be read."""


def connection_of(spec: NodeSpecBase) -> dict[str, Any]:
    """The connection settings of one node, as comparable data."""
    return {f: spec.model_dump(mode="json").get(f) for f in FIELDS}


def load_base(session: Session, source: str) -> Desired:
    """The base desired state: a directory, or ``REF`` (the same path at that git commit)."""
    path = Path(source)
    if path.is_dir():
        return _load_dir(session, path)
    if source.startswith("-"):
        raise BaseError(f"--connection-from {source!r}: not a directory or a git ref")
    with tempfile.TemporaryDirectory(prefix="certops-base-") as tmp:
        return _load_dir(session, _export(session.root, source, Path(tmp)))


def _load_dir(session: Session, root: Path) -> Desired:
    loaded = load(root, session.cache)
    if loaded.desired is None:
        raise BaseError(f"--connection-from {root}: the base desired state does not load")
    return loaded.desired


def _export(root: Path, ref: str, into: Path) -> Path:
    """Extract the desired-state directory as it is at git ``ref`` into ``into``."""
    def git(*args: str) -> bytes:
        proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              timeout=60, check=False)
        if proc.returncode:
            raise BaseError(f"--connection-from {ref}: git {args[0]} failed: "
                            f"{proc.stderr.decode(errors='replace').strip()[:200]}")
        return proc.stdout

    prefix = git("rev-parse", "--show-prefix").decode().strip()
    data = git("archive", "--format=tar", f"{ref}:{prefix}" if prefix else ref)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def changed_connections(desired: Desired, base: Desired) -> dict[str, list[str]]:
    """Nodes whose connection settings differ from ``base`` -> the fields that differ."""
    out: dict[str, list[str]] = {}
    for node in desired.nodes:
        old = base.node(node.name)
        if old is None:
            out[node.name] = ["the node is new (not in the base)"]
            continue
        mine, theirs = connection_of(node.spec), connection_of(old.spec)
        diff = [f for f in FIELDS if mine[f] != theirs[f]]
        if diff:
            out[node.name] = diff
    return out


def changed_findings(desired: Desired, changed: dict[str, list[str]]) -> list[Finding]:
    """One security-relevant ``connection.changed`` error per node the plan did not contact."""
    out: list[Finding] = []
    for name, fields in sorted(changed.items()):
        node = desired.node(name)
        out.append(Finding(
            code=Code.CONNECTION_CHANGED, severity=Severity.ERROR, node=name,
            location=node.pos(fields[0]) if node and fields[0] in FIELDS else None,
            message=f"SECURITY: this change edits how certops reaches {name} "
            f"({', '.join(fields)}); {name} was not contacted with the changed settings. "
            "Review the change; it takes effect from the protected branch after merge."))
    return out
