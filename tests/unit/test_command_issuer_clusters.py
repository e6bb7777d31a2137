"""A reported problem: the `openssl ca` command issuer with a clustered Unified CM failed with
"tomcat-trust of cucm-pub does not trust ...". Reproduced on the clustered fleet (scripts/
demo-clusters.sh's topology and desired state, in process) with a real ``openssl ca``:

- with the CA's root in ``issuers.corp.ca_files`` one apply renews the publisher and both
  subscribers (trust first on every member and every linked Expressway-C): no bug there;
- without ``ca_files`` (or without the CA that signed, such as an intermediate) nothing can
  upload the CA ahead of the install, and the trust gate stops each ``cert.issue`` before
  anything is installed: that is the user's message. It now names the issuer, the CA's
  SHA-256 and the exact key to add.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from unitkit import apply, served

from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.topology import load_topology

REPO = Path(__file__).resolve().parents[2]
CUCM = ("cucm-pub", "cucm-sub1", "cucm-sub2")

sys.path.insert(0, str(REPO / "tests" / "issuers"))
import openssl_ca  # noqa: E402

pytestmark = pytest.mark.skipif(not openssl_ca.have_openssl(), reason="openssl is missing")


@pytest.fixture
async def cluster_lab(tmp_path: Path) -> AsyncIterator[InProcessLab]:
    topology = load_topology(REPO / "reconciler/lab/topologies/clusters.yaml")
    async with InProcessLab.start(tmp_path / "lab", topology=topology) as running:
        yield running


def _corp(root: Path, ca_dir: Path, *, declare: bool) -> str:
    """The Unified CM nodes' tomcat certificate from `openssl ca` (issuer corp); its root
    under cas/, listed in ca_files when ``declare``. The root's PEM."""
    ca = openssl_ca.make_openssl_ca(ca_dir)
    shutil.copy(ca.root_pem, root / "cas" / "corp-root.pem")
    files = "    ca_files: [cas/corp-root.pem]\n" if declare else ""
    with (root / "certops.yaml").open("a") as out:
        out.write(f"issuers:\n  corp:\n    type: command\n    run: [{ca.sign}]\n{files}")
    for node in CUCM:
        path = root / "nodes" / f"{node}.yaml"
        path.write_text(path.read_text().replace(
            "server_certificate:", "server_certificate:\n  issuer: corp\n"
            "  replace_pending_csr: true", 1))
    return ca.root_pem.read_text()


@pytest.fixture
def clusters(tmp_path: Path) -> Path:
    root = tmp_path / "desired-state-clusters"
    shutil.copytree(REPO / "desired-state-clusters", root)
    return root


async def test_openssl_ca_renews_a_clustered_unified_cm(
        cluster_lab: InProcessLab, clusters: Path, tmp_path: Path) -> None:
    _corp(clusters, tmp_path / "corp", declare=True)
    run, result = await apply(cluster_lab, clusters)
    assert result is not None and result.ok, [r.detail for r in result.results
                                              if r.outcome != "done"]
    for node in CUCM:
        assert "certops test openssl CA" in served(cluster_lab, node).issuer.rfc4514_string()
    issued = {a.node for a in run.plan.actions if a.kind == "cert.issue"}
    assert issued == set(CUCM)


async def test_without_ca_files_the_message_says_what_to_add(
        cluster_lab: InProcessLab, clusters: Path, tmp_path: Path) -> None:
    before = {n: served(cluster_lab, n).serial_number for n in CUCM}
    _corp(clusters, tmp_path / "corp", declare=False)
    run, result = await apply(cluster_lab, clusters, keep_going=True)
    assert any(f.code == "issuer.no_chain" for f in run.plan.findings)  # said at plan time
    assert result is not None and not result.ok
    failed = {r.id: r.detail for r in result.results if r.outcome == "failed"}
    assert set(failed) == {f"{n}/cert.issue" for n in CUCM}
    detail = failed["cucm-pub/cert.issue"]
    assert "tomcat-trust of cucm-pub does not trust 'CN=certops test openssl CA" in detail
    assert "add it to issuers.corp.ca_files in certops.yaml" in detail
    assert "SHA-256 " in detail and "nothing was installed" in detail
    assert {n: served(cluster_lab, n).serial_number for n in CUCM} == before
