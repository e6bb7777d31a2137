"""Emulated CUCM ControlCenterServices SOAP endpoint (service restarts and status).

``soapDoControlServices`` (ControlType Start|Stop|Restart, ServiceList of names) and
``soapGetServiceStatus`` at ``/controlcenterservice2/services/ControlCenterServices``
[3P, Cisco DevNet sample]. Cisco Tomcat and Cisco DB are refused with a SOAP fault [C: the
refusal; U: the fault text]: Tomcat restarts only through the SSH CLI. A restart goes
Stopping → Starting for ``restart_seconds`` → Started, then clears the service's
restart-pending flag. Works on 12.5 too (only the REST API is 14+).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response

from reconciler.lab.node import CLI_ONLY_SERVICES, Node
from reconciler.lab.web import Route

PATH = "/controlcenterservice2/services/ControlCenterServices"
NS = "http://schemas.cisco.com/ast/soap"
ALL_SERVICES = (
    "Cisco Tomcat", "Cisco DB", "Cisco CallManager", "Cisco TFTP", "Cisco HAProxy",
    "Cisco CTIManager", "Cisco Certificate Authority Proxy Function", "Cisco DRF Master",
    "Cisco DRF Local", "Cisco AXL Web Service", "Cisco UDS Tomcat",
)
_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    "<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
)


def _xml(body: str, status: int = 200) -> Response:
    return Response(_ENVELOPE.format(body=body), status_code=status,
                    media_type="text/xml; charset=utf-8")


def fault(text: str, code: str = "soapenv:Server") -> Response:
    body = (f"<soapenv:Fault><faultcode>{code}</faultcode>"
            f"<faultstring>{escape(text)}</faultstring></soapenv:Fault>")
    return _xml(body, 500)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(root: ET.Element, name: str) -> ET.Element | None:
    return next((e for e in root.iter() if _local(e.tag) == name), None)


def _names(elem: ET.Element | None) -> list[str]:
    if elem is None:
        return []
    items = [e.text.strip() for e in elem.iter()
             if _local(e.tag) in ("item", "ServiceName") and e.text and e.text.strip()]
    if not items and elem.text and elem.text.strip():
        items = [elem.text.strip()]
    return items


def _info(node: Node, service: str) -> str:
    status = node.service_status.get(service, "Started")
    now = datetime.now(UTC).strftime("%a %b %d %H:%M:%S %Y")
    return (f"<ns1:item><ns1:ServiceName>{escape(service)}</ns1:ServiceName>"
            f"<ns1:ServiceStatus>{status}</ns1:ServiceStatus><ns1:ReasonCode>-1</ns1:ReasonCode>"
            f"<ns1:ReasonCodeString> </ns1:ReasonCodeString><ns1:StartTime>{now}</ns1:StartTime>"
            f"<ns1:UpTime>0</ns1:UpTime></ns1:item>")


def _response(op: str, wrapper: str, node: Node, services: list[str]) -> Response:
    items = "".join(_info(node, s) for s in services)
    return _xml(f'<ns1:{op}Response xmlns:ns1="{NS}"><ns1:{wrapper}>'
                f"<ns1:ReturnCode>0</ns1:ReturnCode>"
                f"<ns1:ServiceInfoList>{items}</ns1:ServiceInfoList>"
                f"</ns1:{wrapper}></ns1:{op}Response>")


async def control_center(node: Node, request: Request) -> Response:
    try:
        root = ET.fromstring(await request.body())
    except ET.ParseError:
        return fault("Malformed SOAP request", "soapenv:Client")
    if (op := _find(root, "soapDoControlServices")) is not None:
        control = _find(op, "ControlType")
        kind = (control.text or "").strip() if control is not None else ""
        services = _names(_find(op, "ServiceList"))
        if kind not in ("Start", "Stop", "Restart") or not services:
            return fault("ControlType and ServiceList are required", "soapenv:Client")
        for service in services:
            if service in CLI_ONLY_SERVICES:
                return fault(f"{service} cannot be controlled through this interface; "
                             f"use the CLI: utils service restart {service}")
            if service not in ALL_SERVICES:
                return fault(f"Service {service} not found", "soapenv:Client")
        for service in services:
            if kind == "Stop":
                node.service_status[service] = "Stopped"
            else:
                node.service_status[service] = "Starting"
                node.spawn(node.restart_service(service))
        return _response("soapDoControlServices", "ControlServiceResponse", node, services)
    if (op := _find(root, "soapGetServiceStatus")) is not None:
        services = _names(op) or list(ALL_SERVICES)
        unknown = [s for s in services if s not in ALL_SERVICES]
        if unknown:
            return fault(f"Service {unknown[0]} not found", "soapenv:Client")
        return _response("soapGetServiceStatus", "ServiceInformationResponse", node, services)
    return fault("Unknown operation", "soapenv:Client")


# The application user only: the OS administrator gets 401 here [3P: two accounts].
ROUTES: tuple[Route, ...] = (Route("POST", PATH, "soap", control_center, account="app"),)
