"""Clusters in certops.yaml: the loader's and the offline checks' findings, with positions."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.checks import build_view, offline_findings
from reconciler.desired import load
from reconciler.pki import CertCache

EXAMPLE = Path(__file__).resolve().parents[2] / "desired-state"
CACHE = CertCache()


def findings_with(tmp_path: Path, clusters: str) -> list[str]:
    root = tmp_path / "ds"
    shutil.copytree(EXAMPLE, root)
    fleet = root / "certops.yaml"
    fleet.write_text(fleet.read_text() + clusters)
    loaded = load(root, CACHE)
    out = [f"{f.location}: {f.code}: {f.message}" for f in loaded.findings]
    if loaded.desired is not None:
        view = build_view(loaded.desired, CACHE)
        out += [f"{f.location}: {f.code}: {f.message}"
                for f in offline_findings(view, CACHE, datetime(2026, 11, 26, tzinfo=UTC))]
    return [line for line in out if "cluster." in line]


@pytest.mark.parametrize(("clusters", "expected"), [
    ("clusters:\n  exp:\n    members: [expc1, expc9]\n",
     "certops.yaml:19:22: cluster.invalid: cluster 'exp' names 'expc9', which is not a usable "
     "node (did you mean expc1, expe1?)"),
    ("clusters:\n  edge:\n    members: [expe1, expc1]\n",
     "cluster 'edge' mixes node types that cannot form one cluster (expressway-c, expressway-e)"),
    ("clusters:\n  a:\n    members: [expc1]\n  b:\n    members: [expc1]\n",
     "'expc1' is already a member of cluster 'a'"),
    ("clusters:\n  c:\n    members: [expc1]\n    publisher: expc1\n",
     "the publisher of cluster 'c' must be one of its members of a kind with a publisher"),
    ("clusters:\n  expe1:\n    members: [expc1]\n",
     "cluster 'expe1' has the name of a node"),
    ("clusters:\n  exp:\n    members: [expc1]\n    shared_names: [expc.nart.com, exp.nart.com]\n",
     "nodes/expc1.yaml:11:5: cluster.shared_names: expc1 is a member of cluster 'exp', whose "
     "members must all carry exp.nart.com"),
])
def test_cluster_findings(tmp_path: Path, clusters: str, expected: str) -> None:
    found = findings_with(tmp_path, clusters)
    assert any(expected in line for line in found), found


def test_a_good_cluster_and_a_link_to_it_say_nothing(tmp_path: Path) -> None:
    clusters = "clusters:\n  exp:\n    members: [expc1]\n    shared_names: [expc.nart.com]\n"
    assert findings_with(tmp_path, clusters) == []
