"""Issue 11 (f): ``certops doctor`` on the in-process lab; recordings, replay and the lab's
fidelity to the recordings built from the public evidence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from unitkit import session_of

from reconciler.drivers import Conflict
from reconciler.drivers.fleet import Inventory, InventoryEntry, make_drivers
from reconciler.drivers.recording import ReplayTransport
from reconciler.drivers.seams import DriverFactory
from reconciler.lab.inprocess import InProcessLab
from reconciler.report.doctor import doctor_text
from reconciler.usecases.doctor import DoctorRequest, doctor
from reconciler.usecases.loading import load_fleet

RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "recordings"
PUBLIC = RECORDINGS / "expressway" / "expe1-public-evidence.json"


async def test_every_check_green_and_only_gets(lab: InProcessLab, desired: Path) -> None:
    lab.reset_counters()
    report = await doctor(session_of(lab, desired), DoctorRequest())
    assert report.ok and report.writes == 0, doctor_text(report)
    assert {c.node for c in report.checks} == {"expe1", "expc1", "cucm-pub"}
    for name in lab.nodes:
        assert lab.counters(name)["non_get"] == 0 and lab.counters(name)["GET"] > 0
    text = "\n".join(doctor_text(report))
    assert "pin sha256:" in text and "version: X15.0.2" in text


async def test_wrong_password_is_named_with_its_fix(lab: InProcessLab, desired: Path) -> None:
    entry = lab.inventory.nodes["expe1"]
    nodes = {**lab.inventory.nodes, "expe1": InventoryEntry(
        api=entry.api, type=entry.type, username=entry.username, password="wrong",
        tls_server_name=entry.tls_server_name)}
    lab.inventory = Inventory(nodes=nodes, ca_pems=lab.inventory.ca_pems)
    report = await doctor(session_of(lab, desired), DoctorRequest())
    failed = [c for c in report.checks if c.status == "fail"]
    assert [(c.node, c.check) for c in failed] == [("expe1", "authentication")]
    assert "password" in failed[0].fix and "wrong" not in "\n".join(doctor_text(report))
    assert lab.counters("expe1")["non_get"] == 0


async def test_record_keeps_no_secret_and_replays_through_the_driver(
    lab: InProcessLab, desired: Path, tmp_path: Path
) -> None:
    await doctor(session_of(lab, desired), DoctorRequest(record=tmp_path / "rec"))
    text = (tmp_path / "rec" / "expe1.json").read_text()
    password = lab.nodes["expe1"].password
    assert password not in text and "authorization" not in text.lower()
    assert "BEGIN CERTIFICATE" in text  # certificates are public: kept
    live = await replay_read(json.loads(text), lab.nodes["expe1"].state.served.cert_pem,
                             lab, desired)
    assert live.error is None and live.version == lab.nodes["expe1"].state.version


async def replay_read(recording: dict[str, Any], served: str, lab: InProcessLab,
                      desired: Path) -> Any:
    """Read node ``recording["node"]`` through its driver, served by the recording."""
    name = recording["node"]

    async def probe() -> str | None:
        return served

    factory = DriverFactory(transport_for=lambda _: ReplayTransport(recording),
                            probe_for=lambda _: probe)
    fleet = load_fleet(session_of(lab, desired), session_of(lab, desired).now()).fleet
    driver = make_drivers(fleet.desired, [name], lab.inventory, {}, factory=factory)[name]
    try:
        return await driver.read()
    finally:
        await driver.aclose()


async def test_public_evidence_recording_replays(lab: InProcessLab, desired: Path) -> None:
    recording = json.loads(PUBLIC.read_text())
    assert all(e["source"] for e in recording["exchanges"])  # every answer names its source
    leaf = next(e for e in recording["exchanges"] if e["request"]["path"].endswith("server"))
    live = await replay_read(recording, leaf["response"]["body"], lab, desired)
    assert live.error is None and live.version == "X15.0.2" and live.pending_csr is None
    assert len(live.stores["trusted-ca-list"]) == 1
    transport = ReplayTransport(recording)
    async with httpx.AsyncClient(transport=transport, base_url="https://x") as client:
        answer = await client.post("/api/provisioning/certs/generate_csr", json={})
    assert answer.json() == {"Message": "Conflict"} and Conflict  # the driver's test: unit


def kind_of_body(body: Any) -> str:
    if isinstance(body, dict):
        return "json"
    return "pem" if "-----BEGIN CERTIFICATE-----" in str(body) else "text"


@pytest.mark.parametrize("index", range(6))
async def test_the_lab_answers_like_the_recording(lab: InProcessLab, index: int) -> None:
    """Field by field: status, the body's kind, JSON keys, and the evidenced exact values."""
    recording = json.loads(PUBLIC.read_text())
    exchange = recording["exchanges"][index]
    node = lab.nodes["expe1"]
    request, want = exchange["request"], exchange["response"]
    async with httpx.AsyncClient(transport=lab.transports["expe1"], base_url="https://lab",
                                 auth=(node.username, node.password)) as client:
        if request["method"] == "POST" and request["path"].endswith("generate_csr"):
            await client.post(request["path"], json={})  # a CSR pending first
        files = None
        if request["path"].endswith("certs/root") and request["method"] == "POST":
            pem = recording["exchanges"][3]["response"]["body"]
            files = {"file": ("ca.pem", pem.encode(), "application/x-pem-file")}
        got = await client.request(request["method"], request["path"], files=files,
                                   json={} if files is None and request["method"] == "POST"
                                   else None)
    assert got.status_code == want["status"], exchange["source"]
    body: Any = got.json() if "json" in got.headers.get("content-type", "") else got.text
    assert kind_of_body(body) == kind_of_body(want["body"])
    if isinstance(want["body"], dict):
        assert set(want["body"]) <= set(body), (sorted(body), exchange["source"])
        for field in exchange["exact"]:
            assert body[field] == want["body"][field]
