"""Issue 11: the Unified CM recording built from the public evidence (``identities[]``,
``trusts[].certificate_data[]``, the SOAP status answer) replays through the driver, and the
lab answers like it, field by field (as ``test_doctor`` does for Expressway)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
from unitkit import FAST, session_of

from reconciler.drivers.cucm import API, SOAP_ENVELOPE, CucmDriver
from reconciler.drivers.fleet import make_drivers
from reconciler.drivers.recording import ReplayTransport
from reconciler.drivers.seams import DriverFactory
from reconciler.lab.inprocess import FAST_HTTP, InProcessLab
from reconciler.report.doctor import doctor_text
from reconciler.usecases.doctor import DoctorRequest, doctor
from reconciler.usecases.doctor_vos import restarted_services
from reconciler.usecases.loading import load_fleet
from reconciler.usecases.session import Session

RECORDING = (Path(__file__).resolve().parents[1] / "fixtures" / "recordings" / "vos"
             / "cucm-pub-public-evidence.json")
STATUS_BODY = SOAP_ENVELOPE.format(
    body="<soap:soapGetServiceStatus><soap:ServiceStatus></soap:ServiceStatus>"
    "</soap:soapGetServiceStatus>")


def recording() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RECORDING.read_text())
    return data


def replayed_driver(lab: InProcessLab, desired: Path, served: str) -> CucmDriver:
    """cucm-pub's driver, every HTTP answer from the recording."""

    async def probe() -> str | None:
        return served

    factory = DriverFactory(transport_for=lambda _: ReplayTransport(recording()),
                            probe_for=lambda _: probe)
    session = session_of(lab, desired)
    fleet = load_fleet(session, session.now()).fleet
    driver = make_drivers(fleet.desired, ["cucm-pub"], lab.inventory, {},
                          factory=factory)["cucm-pub"]
    assert isinstance(driver, CucmDriver)
    return driver


def test_every_exchange_names_its_source_and_no_secret() -> None:
    text = RECORDING.read_text()
    assert all(e["source"] for e in recording()["exchanges"])
    assert "authorization" not in text.lower() and "password" not in text.lower()


async def test_the_recording_replays_through_the_driver(lab: InProcessLab,
                                                        desired: Path) -> None:
    snap = recording()["exchanges"][0]["response"]["body"]
    identity = snap["identities"][0]["certificate"]
    driver = replayed_driver(lab, desired, identity)
    try:
        live = await driver.read()
        assert live.error is None and live.server_certificate == identity
        assert live.stores["tomcat-trust"] == (
            snap["trusts"][0]["certificate_data"][0]["certificate"],)
        assert live.stores["callmanager-trust"] == () and live.version is None
        wanted = restarted_services(driver.endpoint)
        known = await driver.check_known(wanted)  # the SOAP status answer, parsed
        assert {s: known[s] for s in wanted} == dict.fromkeys(wanted, "Started")
    finally:
        await driver.aclose()


async def test_doctor_on_the_recording_is_green_and_writes_nothing(
    lab: InProcessLab, desired: Path
) -> None:
    """Every REST and SOAP answer from the recording (the CLI from the lab): the evidenced
    shapes are enough for every check of doctor."""
    served = recording()["exchanges"][0]["response"]["body"]["identities"][0]["certificate"]

    async def probe() -> str | None:
        return served

    factory = DriverFactory(transport_for=lambda _: ReplayTransport(recording()),
                            probe_for=lambda _: probe, cli_for=lab.clis.get)
    session = Session(root=desired, inventory=lab.inventory, drivers=factory, http=FAST_HTTP,
                      timing=FAST)
    report = await doctor(session, DoctorRequest(nodes=("cucm-pub",)))
    assert report.ok and report.writes == 0, doctor_text(report)
    text = "\n".join(doctor_text(report))
    assert "services (SOAP soapGetServiceStatus): lists the 7 services" in text
    assert "CN=cucm.example.com" in text


def xml_paths(text: str) -> set[str]:
    """Every element path of an XML answer, by local names, namespaces noted apart."""
    out: set[str] = set()

    def walk(elem: ET.Element, prefix: str) -> None:
        path = f"{prefix}/{elem.tag.rsplit('}', 1)[-1]}"
        out.add(path)
        for child in elem:
            walk(child, path)

    walk(ET.fromstring(text.encode()), "")
    return out


def statuses(text: str) -> dict[str, str]:
    root = ET.fromstring(text.encode())
    items = [e for e in root.iter() if e.tag.endswith("}item")]
    return {i.findtext(f"{{{NS}}}ServiceName") or "": i.findtext(f"{{{NS}}}ServiceStatus")
            or "" for i in items}


NS = "http://schemas.cisco.com/ast/soap"


def same_shape(want: Any, got: Any, where: str) -> None:
    """``got`` has every key ``want`` has, recursively (lists: their first items), and PEM
    where ``want`` has PEM."""
    if isinstance(want, dict):
        assert isinstance(got, dict), where
        assert set(want) <= set(got), (where, sorted(got))
        for key in want:
            same_shape(want[key], got[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert isinstance(got, list) and (bool(got) or not want), where
        if want:
            same_shape(want[0], got[0], f"{where}[0]")
    elif isinstance(want, str) and "-----BEGIN CERTIFICATE-----" in want:
        assert isinstance(got, str) and "-----BEGIN CERTIFICATE-----" in got, where


async def ask_the_lab(lab: InProcessLab, request: dict[str, Any]) -> httpx.Response:
    node = lab.nodes["cucm-pub"]
    soap = request["path"] == API["soap"][1]
    auth = (node.app_username, node.app_password) if soap else (node.username, node.password)
    async with httpx.AsyncClient(transport=lab.transports["cucm-pub"], base_url="https://lab",
                                 auth=auth) as client:
        return await client.request(
            request["method"], request["path"], params=httpx.QueryParams(request["query"]),
            content=STATUS_BODY.encode() if soap else None,
            headers={"SOAPAction": "soapGetServiceStatus"} if soap else None)


@pytest.mark.parametrize("index", range(4))
async def test_the_lab_answers_like_the_recording(lab: InProcessLab, index: int) -> None:
    """Field by field: status, the body's kind, JSON keys and PEM places (trust labels too),
    XML element paths, namespace and the evidenced ``ServiceStatus`` values."""
    exchange = recording()["exchanges"][index]
    want = exchange["response"]
    got = await ask_the_lab(lab, exchange["request"])
    assert got.status_code == want["status"], exchange["source"]
    if isinstance(want["body"], dict):
        assert "json" in got.headers["content-type"]
        body = got.json()
        if isinstance(body, list) and "certificates" in want["body"]:
            body = {"certificates": body}  # a trust list: both shapes are evidenced [3P]
        same_shape(want["body"], body, "body")
        if "trusts" in want["body"]:
            labels = {t["service"] for t in got.json()["trusts"]}
            assert {t["service"] for t in want["body"]["trusts"]} <= labels
        return
    assert "xml" in got.headers["content-type"]
    assert xml_paths(want["body"]) <= xml_paths(got.text), sorted(xml_paths(got.text))
    assert f'xmlns:ns1="{NS}"' in got.text
    recorded, answered = statuses(want["body"]), statuses(got.text)
    assert {s: answered.get(s) for s in recorded} == recorded
