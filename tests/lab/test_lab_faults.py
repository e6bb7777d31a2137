"""Fault injection (each kind), request counters, control endpoint, in-process ASGI use."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from labhelpers import small_topology

from reconciler.lab import DroppedConnection, Fault, Lab, LabClient, LabOptions, LabThread
from reconciler.lab.expressway import expressway_app

pytestmark = pytest.mark.lab

SYS = "/api/provisioning/sysinfo"


def test_latency(lab: LabThread, client: Any) -> None:
    c = client("expe1")
    lab.set_fault("expe1", Fault(match="sysinfo", latency_ms=300))
    t0 = time.monotonic()
    assert c.get(SYS).status_code == 200
    assert time.monotonic() - t0 >= 0.3
    t0 = time.monotonic()
    assert c.get("/api/provisioning/certs/root").status_code == 200  # other operation
    assert time.monotonic() - t0 < 0.3


def test_status_for_next_n_calls_with_retry_after(lab: LabThread, client: Any) -> None:
    c = client("expe1")
    lab.set_fault("expe1", Fault(match="/api/provisioning/*", status=503, count=2,
                                 retry_after=7))
    first = c.get(SYS)
    assert first.status_code == 503 and first.headers["retry-after"] == "7"
    assert c.get("/api/provisioning/certs/server").status_code == 503
    assert c.get(SYS).status_code == 200  # used up
    lab.set_fault("expe1", Fault(match="cert.upload", status=500, count=1))
    assert c.get(SYS).status_code == 200
    r = c.post("/api/provisioning/certs/server", files={"file": ("a", b"x")})
    assert r.status_code == 500 and "retry-after" not in r.headers


def test_dropped_connection(lab: LabThread, client: Any) -> None:
    c = client("expc1")
    lab.set_fault("expc1", Fault(match="sysinfo", drop=True, count=1))
    with pytest.raises(httpx.TransportError):
        c.get(SYS)
    assert c.get(SYS).status_code == 200


def test_slow_response_past_timeout(lab: LabThread, client: Any) -> None:
    c = client("expc1", timeout=0.3)
    lab.set_fault("expc1", Fault(match="*", slow_seconds=2, count=1))
    with pytest.raises(httpx.ReadTimeout):
        c.get(SYS)


def test_malformed_json(lab: LabThread, client: Any) -> None:
    c = client("cucm-pub")
    lab.set_fault("cucm-pub", Fault(match="snapshot", malformed_json=True))
    r = c.get("/platformcom/api/v1/certmgr/config/snapshot/server")
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        r.json()


def test_restart_that_never_comes_back(lab: LabThread, client: Any, is_refused: Any) -> None:
    c = client("vcs1")
    lab.set_fault("vcs1", Fault(match="restart", restart_hang=True))
    assert c.post("/api/provisioning/restart").status_code == 200
    time.sleep(0.2 + 0.6)  # well past restart_seconds
    assert is_refused(lab, "vcs1")
    lab.clear_faults("vcs1")
    lab.wait_idle("vcs1")
    assert not is_refused(lab, "vcs1")


def test_counters_and_control_endpoint(lab: LabThread, client: Any) -> None:
    c = client("expe1")
    lab.reset_counters()
    c.get(SYS)
    c.get("/api/provisioning/certs/server")
    assert lab.counters("expe1") == {"GET": 2, "non_get": 0, "writes": 0, "total": 2,
                                      "SSH": 0}
    other = LabClient(lab.lab.paths.root)  # what another process would use
    other.set_fault("expe1", Fault(match="sysinfo", status=503, count=1))
    assert c.get(SYS).status_code == 503
    assert other.counters()["expe1"]["GET"] == 3
    c.post("/api/provisioning/restart")
    assert other.counters()["expe1"]["non_get"] == 1
    assert other.status()["nodes"]["expe1"]["type"] == "expressway-e"
    other.reset_counters()
    assert lab.counters("expe1")["total"] == 0
    bad = httpx.get(other.url + "/status", headers={"X-Lab-Token": "nope"})
    assert bad.status_code == 403
    lab.wait_idle("expe1")


def test_faults_from_topology(tmp_path: Path) -> None:
    topo = small_topology()
    topo.nodes[0].faults.append(Fault(match="sysinfo", status=500))
    with LabThread(Lab(tmp_path / "lab", LabOptions(topology=topo))) as lab:
        node = lab.node("expe1")
        r = httpx.get(lab.url("expe1") + SYS, verify=False,
                      auth=(node.username, node.password))
        assert r.status_code == 500


async def test_in_process_asgi(tmp_path: Path) -> None:
    lab = Lab(tmp_path / "lab", LabOptions(topology=small_topology()))
    lab.build()
    node = lab.nodes["expe1"]
    transport = httpx.ASGITransport(app=expressway_app(node))
    async with httpx.AsyncClient(transport=transport, base_url="https://expe1",
                                 auth=(node.username, node.password)) as c:
        assert (await c.get(SYS)).json()["Role"] == "Expressway-E"
        r = await c.post("/api/provisioning/restart", headers={"X-CSRF-Header": "x"})
        assert r.status_code == 200
        await node.wait_idle()
        node.state.faults.append(Fault(match="sysinfo", drop=True))
        with pytest.raises(DroppedConnection):
            await c.get(SYS)
