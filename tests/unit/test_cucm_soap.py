"""SOAP service control pitfalls [3P], reproduced by the lab: unknown names read as
"Stopped", ``NodeName`` is unreliable, "Exceeded allowed rate" faults, restarts that never
finish. In process: the driver's SOAP requests are recorded on their way to the lab."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from unitkit import plan

from reconciler.drivers import TemporaryError
from reconciler.drivers.cucm import CucmDriver
from reconciler.lab import Fault
from reconciler.lab.inprocess import InProcessLab

SOAP = "/controlcenterservice2/services/ControlCenterServices"


class Recorder(httpx.AsyncBaseTransport):
    """The node's transport, keeping every SOAP request body and answer."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.soap: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path == SOAP:
            body = await response.aread()
            self.soap.append((request.content.decode(), body.decode()))
            return httpx.Response(response.status_code, headers=response.headers, content=body)
        return response


async def _driver(lab: InProcessLab, desired: Path) -> tuple[CucmDriver, Recorder]:
    recorder = Recorder(lab.transports["cucm-pub"])
    lab.transports["cucm-pub"] = recorder  # type: ignore[assignment]
    _, drivers = await plan(lab, desired)
    driver = drivers["cucm-pub"]
    assert isinstance(driver, CucmDriver)
    recorder.soap.clear()
    return driver, recorder


async def test_no_node_name_and_the_name_checked_first(lab: InProcessLab, desired: Path) -> None:
    driver, rec = await _driver(lab, desired)
    await driver.restart_services(["Cisco TFTP"])
    assert lab.nodes["cucm-pub"].service_status["Cisco TFTP"] == "Started"
    ops = [("soapDoControlServices" in req, "<soap:item>" in req) for req, _ in rec.soap]
    assert ops[0] == (False, False)  # soapGetServiceStatus with no names: the service list
    assert ops[1] == (True, True)
    assert not any("NodeName" in req for req, _ in rec.soap)


async def test_the_lab_refuses_a_node_name_it_does_not_go_by(lab: InProcessLab,
                                                             desired: Path) -> None:
    driver, _ = await _driver(lab, desired)
    body = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:soap="http://schemas.cisco.com/ast/soap"><soapenv:Body>'
            "<soap:soapDoControlServices><soap:ControlServiceRequest>"
            "<soap:NodeName>cucm-pub.nart.com</soap:NodeName><soap:ControlType>Restart"
            "</soap:ControlType><soap:ServiceList><soap:item>Cisco TFTP</soap:item>"
            "</soap:ServiceList></soap:ControlServiceRequest></soap:soapDoControlServices>"
            "</soapenv:Body></soapenv:Envelope>")
    node = lab.nodes["cucm-pub"]
    response = await driver.http.client.send("POST", driver.http.url(SOAP), content=body,
                                             auth=(node.app_username, node.app_password))
    assert response.status_code == 500 and "not a valid node name" in response.text
    assert node.service_status == {}


async def test_rate_faults_are_waited_out(lab: InProcessLab, desired: Path) -> None:
    node = lab.nodes["cucm-pub"]
    node.state.soap_rate_limit, node.state.soap_rate_window = 2, 0.15
    driver, rec = await _driver(lab, desired)
    driver.restart_timeout = 5.0
    await driver.restart_services(["Cisco CallManager", "Cisco TFTP"])
    assert all(node.service_status[s] == "Started" for s in ("Cisco CallManager", "Cisco TFTP"))
    assert any("Exceeded allowed rate" in answer for _, answer in rec.soap)


async def test_a_restart_that_never_finishes_fails_at_its_deadline(lab: InProcessLab,
                                                                   desired: Path) -> None:
    driver, _ = await _driver(lab, desired)
    lab.set_fault("cucm-pub", Fault(restart_hang=True))
    lab.nodes["cucm-pub"].state.restart_seconds = 0.0
    driver.restart_timeout = 0.2
    with pytest.raises(TemporaryError, match=r"not Started 0s after the restart: Cisco TFTP"):
        await driver.restart_services(["Cisco TFTP"])
    lab.clear_faults("cucm-pub")
