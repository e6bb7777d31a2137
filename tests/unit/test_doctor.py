"""Issue 11 (f): ``certops doctor`` on the in-process lab; recordings, replay and the lab's
fidelity to the recordings built from the public evidence."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from unitkit import session_of

from reconciler.drivers import AuthError, Conflict
from reconciler.drivers.cucm import API, READ_ONLY_SOAP, CucmDriver
from reconciler.drivers.cucm_cli import active_version
from reconciler.drivers.fleet import Inventory, make_drivers
from reconciler.drivers.recording import ReplayTransport
from reconciler.drivers.seams import DriverFactory
from reconciler.lab.inprocess import InProcessLab
from reconciler.lab.soap import reads_only
from reconciler.model.doctor import DoctorReport
from reconciler.report.doctor import doctor_text
from reconciler.usecases import doctor_vos
from reconciler.usecases.doctor import DoctorRequest, doctor
from reconciler.usecases.loading import load_fleet

RECORDINGS = Path(__file__).resolve().parents[1] / "fixtures" / "recordings"
PUBLIC = RECORDINGS / "expressway" / "expe1-public-evidence.json"


async def test_every_check_green_and_nothing_written(lab: InProcessLab, desired: Path,
                                                    tmp_path: Path) -> None:
    lab.reset_counters()
    report = await doctor(session_of(lab, desired), DoctorRequest(record=tmp_path / "rec"))
    assert report.ok and report.writes == 0, doctor_text(report)
    assert {c.node for c in report.checks} == {"expe1", "expc1", "cucm-pub"}
    for name in lab.nodes:
        assert lab.counters(name)["writes"] == 0 and lab.counters(name)["GET"] > 0
    # The only non-GET: SOAP status queries (reads); no REST request but GET.
    sent = [e["request"] for name in lab.nodes
            for e in json.loads((tmp_path / "rec" / f"{name}.json").read_text())["exchanges"]]
    assert all(r["method"] == "GET" or (r["path"] == API["soap"][1] and r["headers"]
               ["soapaction"] in READ_ONLY_SOAP) for r in sent)
    assert lab.counters("cucm-pub")["non_get"] == 1 and lab.counters("cucm-pub")["SSH"] == 1
    text = "\n".join(doctor_text(report))
    assert "pin sha256:" in text and "version: X15.0.2" in text
    assert "account OS administrator admin: REST API, SSH CLI" in text
    assert "account application user ccmadmin: SOAP" in text
    assert "[ ok ] authentication (SOAP): ccmadmin is accepted" in text
    assert "ssh login: admin logged in; show version active: 14." in text
    assert "[ ok ] capability service.restart: ready" in text
    # The lab's Expressways list maintenance mode in their RAML (its assumption [U]).
    drains = [c for c in report.checks if c.check == "capability node.drain"]
    assert {c.node for c in drains} == {"expe1", "expc1"}  # Unified CM does not drain
    assert all(c.status == "ok" and c.detail.startswith("ready") for c in drains), drains
    assert "[ ok ] services (SOAP soapGetServiceStatus): lists the 7 services" in text


async def test_wrong_password_is_named_with_its_fix(lab: InProcessLab, desired: Path) -> None:
    with_entry(lab, "expe1", password="wrong")
    report = await doctor(session_of(lab, desired), DoctorRequest())
    failed = [c for c in report.checks if c.status == "fail"]
    assert [(c.node, c.check) for c in failed] == [("expe1", "authentication (REST)")]
    assert "password" in failed[0].fix and "wrong" not in "\n".join(doctor_text(report))
    assert lab.counters("expe1")["non_get"] == 0
    caps = [c for c in report.checks if c.node == "expe1" and c.check.startswith("capab")]
    assert all(c.status == "info" for c in caps)
    assert "NOT READY: REST authentication" in caps[0].detail


def with_entry(lab: InProcessLab, name: str, **changes: Any) -> None:
    """The lab's inventory with ``name``'s entry changed."""
    entry = dataclasses.replace(lab.inventory.nodes[name], **changes)
    lab.inventory = Inventory(nodes={**lab.inventory.nodes, name: entry},
                              ca_pems=lab.inventory.ca_pems)


def failed_of(report: DoctorReport) -> list[tuple[str, str]]:
    return [(c.node, c.check) for c in report.checks if c.status == "fail"]


async def test_wrong_application_password_is_named_with_its_fix(
    lab: InProcessLab, desired: Path
) -> None:
    with_entry(lab, "cucm-pub", app_password="not-the-app-password")
    lab.reset_counters()
    report = await doctor(session_of(lab, desired), DoctorRequest(nodes=("cucm-pub",)))
    assert failed_of(report) == [("cucm-pub", "authentication (SOAP)")]
    check = next(c for c in report.checks if c.status == "fail")
    assert "application user ccmadmin" in check.fix and "app_credentials" in check.fix
    assert check.account == "application user ccmadmin: SOAP"
    text = "\n".join(doctor_text(report))
    assert "not-the-app-password" not in text and "capability service.restart: NOT READY" in text
    assert "[ ok ] authentication (REST)" in text  # the OS administrator is still fine
    assert lab.counters("cucm-pub")["writes"] == 0 and report.writes == 0


async def test_a_refused_ssh_login_is_named_with_its_fix(lab: InProcessLab,
                                                       desired: Path) -> None:
    """The CLI refuses the OS administrator (as asyncssh's PermissionDenied maps to)."""

    async def refused(command: str, timeout: float) -> str:
        raise AuthError("cucm-pub", "SSH CLI: the login was refused", method="SSH",
                        path=command)

    session = session_of(lab, desired)
    session = dataclasses.replace(session, drivers=dataclasses.replace(
        lab.factory, cli_for=lambda name: refused if name == "cucm-pub" else None))
    report = await doctor(session, DoctorRequest(nodes=("cucm-pub",)))
    assert failed_of(report) == [("cucm-pub", "ssh login")]
    check = next(c for c in report.checks if c.status == "fail")
    assert "password of the OS administrator admin" in check.fix
    assert check.account == "OS administrator admin: REST API, SSH CLI"
    assert "capability service.restart: NOT READY: the SSH login" in "\n".join(
        doctor_text(report))


async def test_missing_application_user_is_named(lab: InProcessLab, desired: Path) -> None:
    with_entry(lab, "cucm-pub", app_username=None, app_password=None)
    report = await doctor(session_of(lab, desired), DoctorRequest(nodes=("cucm-pub",)))
    assert failed_of(report) == [("cucm-pub", "authentication (SOAP)")]
    assert "set app_credentials" in next(c.fix for c in report.checks if c.status == "fail")
    assert lab.counters("cucm-pub")["non_get"] == 0  # nothing asked without the account


async def test_a_service_the_node_does_not_list_is_named(
    lab: InProcessLab, desired: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(doctor_vos, "restarted_services",
                        lambda ep: ("Cisco Tomcat", "Cisco Tomcatt"))
    report = await doctor(session_of(lab, desired), DoctorRequest(nodes=("cucm-pub",)))
    assert failed_of(report) == [("cucm-pub", "services (SOAP soapGetServiceStatus)")]
    check = next(c for c in report.checks if c.status == "fail")
    assert "Cisco Tomcatt" in check.detail and "restart table" in check.fix
    assert ("cucm-pub", "authentication (SOAP)") in [
        (c.node, c.check) for c in report.checks if c.status == "ok"]


async def test_the_lab_counts_soap_status_as_a_read_and_control_as_a_write(
    lab: InProcessLab, desired: Path
) -> None:
    driver = lab.drivers(load_fleet(session_of(lab, desired),
                                    session_of(lab, desired).now()).fleet.desired,
                         ["cucm-pub"])["cucm-pub"]
    assert isinstance(driver, CucmDriver)
    lab.reset_counters()
    await driver.service_status(["Cisco TFTP"])
    assert lab.counters("cucm-pub")["non_get"] == 1 and lab.counters("cucm-pub")["writes"] == 0
    await driver.restart_services(["Cisco TFTP"])
    counters = lab.counters("cucm-pub")
    assert counters["writes"] == 1 and counters["non_get"] > 1  # the restart; its polls read


def test_reads_only_judges_the_soap_body() -> None:
    status = b'<Envelope><Body><soapGetServiceStatus xmlns="x"/></Body></Envelope>'
    control = b"<Envelope><Body><soapDoControlServices/></Body></Envelope>"
    assert reads_only(status) and not reads_only(control)
    assert not reads_only(b"not xml") and not reads_only(b"<Envelope/>")


def test_active_version_from_the_cli_output() -> None:
    out = "\x1b[K\r\nActive Master Version: 15.0.1.11900-23\x1b[K\r\nActive Version ..."
    assert active_version(out) == "15.0.1.11900-23"
    assert active_version("something else\n") == "something else"
    assert active_version("") == "?"


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
