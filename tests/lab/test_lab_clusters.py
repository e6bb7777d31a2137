"""The lab's clusters over real HTTPS: replication from the Unified CM publisher, and the
availability timeline with the invariant, through the control API and ``certops lab timeline``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from labhelpers import NodeClient
from typer.testing import CliRunner

from reconciler.lab import LabThread, start_lab
from reconciler.lab.ca import cert_pem, reuse_rsa_keys
from reconciler.lab.cli import app
from reconciler.lab.control import LabClient
from reconciler.lab.topology import clustered_topology

pytestmark = pytest.mark.lab
B = "/platformcom/api/v1/certmgr/config"
P = "/api/provisioning"
CSRF = {"X-CSRF-Header": "certops"}
runner = CliRunner()


@pytest.fixture
def clab(tmp_path: Path) -> Iterator[LabThread]:
    reuse_rsa_keys()
    with start_lab(tmp_path / "lab", topology=clustered_topology(replication_seconds=0.2),
                   restart_seconds=0.3, builtin_cas=3, ssh=False) as running:
        yield running


def store(c: NodeClient, service: str) -> list[str]:
    body: Any = c.get(f"{B}/trust/certificate", params={"service": service}).json()
    items = body["certificates"] if isinstance(body, dict) else body
    return [i["certificate"] for i in items]


def eventually(check: Any, seconds: float = 3.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return bool(check())


def test_callmanager_trust_replicates_from_the_publisher_only(clab: LabThread) -> None:
    pub, sub = NodeClient(clab, "cucm-pub"), NodeClient(clab, "cucm-sub2")
    new_ca = cert_pem(clab.node("cucm-pub").pki.issuing["new"].cert)
    body = {"service": ["callmanager", "capf"], "certificates": [new_ca]}
    assert pub.post(f"{B}/trust/certificates", json=body).status_code == 201
    assert new_ca not in store(sub, "callmanager")  # not at once: after replication_seconds
    assert eventually(lambda: new_ca in store(sub, "callmanager"))
    assert new_ca not in store(sub, "capf")  # CAPF-trust is per node [C]
    assert "Cisco CallManager" in clab.node("cucm-sub2").state.restart_pending
    # An upload on a subscriber stays there ([U]: the lab does not replicate it).
    root = cert_pem(clab.node("cucm-pub").pki.root.cert)
    other = {"service": ["callmanager"], "certificates": [root]}
    before = store(pub, "callmanager")
    assert NodeClient(clab, "cucm-sub1").post(f"{B}/trust/certificates",
                                              json=other).status_code in (200, 201)
    time.sleep(0.3)
    assert store(pub, "callmanager") == before


def timeline(lab: LabThread, *args: str) -> Any:
    return runner.invoke(app, ["timeline", "--dir", str(lab.lab.paths.root), *args])


def test_timeline_records_restarts_and_checks_the_invariant(clab: LabThread) -> None:
    mark = timeline(clab, "--mark")
    assert mark.exit_code == 0, mark.output
    since = mark.output.strip()
    expe1, expe2 = NodeClient(clab, "expe1"), NodeClient(clab, "expe2")
    assert expe1.post(f"{P}/restart", headers=CSRF).status_code == 200
    clab.wait_idle("expe1")
    held = timeline(clab, "--since", since)
    assert held.exit_code == 0, held.output
    assert "expe1      DOWN" in held.output and "invariant held" in held.output
    # the link check as mutual TLS with roles: the lab's own certificates (both EKUs, one CA)
    assert "\nrefused handshakes: 0\n" in held.output
    # Both Expressway-E peers down at once: the cluster's budget (1) is exceeded.
    assert expe1.post(f"{P}/restart", headers=CSRF).status_code == 200
    assert expe2.post(f"{P}/restart", headers=CSRF).status_code == 200
    clab.wait_idle("expe1")
    clab.wait_idle("expe2")
    breached = timeline(clab, "--since", since)
    assert breached.exit_code == 1
    assert "INVARIANT BREACHED" in breached.output and "cluster expe" in breached.output
    client = LabClient(clab.lab.paths.root)
    try:
        assert client.timeline(int(since))["violations"]
    finally:
        client.close()
