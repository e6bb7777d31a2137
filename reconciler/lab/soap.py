"""Emulated CUCM ControlCenterServices SOAP endpoint (service restarts and status).

``soapDoControlServices`` (ControlType Start|Stop|Restart, ServiceList of names) and
``soapGetServiceStatus`` at ``/controlcenterservice2/services/ControlCenterServices``
[3P, Cisco DevNet sample]; the application user only (``web.Route.account``). Cisco Tomcat
and Cisco DB are refused with a SOAP fault [C: the refusal; U: the fault text]: Tomcat
restarts only through the SSH CLI. A restart goes Stopping → Starting for
``restart_seconds`` → Started, then clears the service's restart-pending flag. Works on 12.5
too (only the REST API is 14+).

The pitfalls public clients met [3P], reproduced: an **unknown service name is reported as
"Stopped"**, not as a fault, by both operations (and nothing restarts); a status request with
no names lists every service of the node; ``NodeName`` is unreliable: a non-empty one that is
not the node's own short host name is refused [U: which names a real node takes, and the
fault text]; more than ``soap_rate_limit`` status requests within ``soap_rate_window``
seconds get the "Exceeded allowed rate" fault [3P: the fault; U: its exact text and limit].
"""

from __future__ import annotations

import time
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
    "Cisco Trust Verification Service",
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


RATE_FAULT = ("Exceeded allowed rate for Reatime information. Current allowed rate for "
              "realtime information is {limit} requests per minute.")  # [U] the exact text


def _info(node: Node, service: str) -> str:
    known = service in ALL_SERVICES
    status = node.service_status.get(service, "Started") if known else "Stopped"
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


def _rate_limited(node: Node) -> bool:
    """Whether this status request exceeds the node's allowed rate (and count it)."""
    limit = node.state.soap_rate_limit
    if not limit:
        return False
    now = time.monotonic()
    window = node.soap_status_times
    window[:] = [t for t in window if now - t < node.state.soap_rate_window]
    if len(window) >= limit:
        return True
    window.append(now)
    return False


def _node_name_fault(node: Node, op: ET.Element) -> Response | None:
    """A NodeName other than the node's own short host name is refused [U]."""
    elem = _find(op, "NodeName")
    given = (elem.text or "").strip() if elem is not None else ""
    own = node.state.fqdn.split(".")[0]
    if given and given != own:
        return fault(f"Node {given} is not a valid node name of this cluster", "soapenv:Client")
    return None


def _control(node: Node, op: ET.Element) -> Response:
    control = _find(op, "ControlType")
    kind = (control.text or "").strip() if control is not None else ""
    services = _names(_find(op, "ServiceList"))
    if kind not in ("Start", "Stop", "Restart") or not services:
        return fault("ControlType and ServiceList are required", "soapenv:Client")
    if (bad := _node_name_fault(node, op)) is not None:
        return bad
    for service in services:
        if service in CLI_ONLY_SERVICES:
            return fault(f"{service} cannot be controlled through this interface; "
                         f"use the CLI: utils service restart {service}")
    for service in services:
        if service not in ALL_SERVICES:
            continue  # reported as Stopped below, not as a fault [3P]
        if kind == "Stop":
            node.service_status[service] = "Stopped"
        else:
            node.service_status[service] = "Starting"
            node.spawn(node.restart_service(service))
    return _response("soapDoControlServices", "ControlServiceResponse", node, services)


async def control_center(node: Node, request: Request) -> Response:
    try:
        root = ET.fromstring(await request.body())
    except ET.ParseError:
        return fault("Malformed SOAP request", "soapenv:Client")
    if (op := _find(root, "soapDoControlServices")) is not None:
        return _control(node, op)
    if (op := _find(root, "soapGetServiceStatus")) is not None:
        if _rate_limited(node):
            return fault(RATE_FAULT.format(limit=node.state.soap_rate_limit))
        services = _names(op) or list(ALL_SERVICES)
        return _response("soapGetServiceStatus", "ServiceInformationResponse", node, services)
    return fault("Unknown operation", "soapenv:Client")


READ_ONLY = frozenset({"soapGetServiceStatus"})  # the operations that change nothing


def reads_only(body: bytes) -> bool:
    """Whether a ControlCenterServices request only reads (a status query): the lab's
    ``writes`` counter leaves it out. Anything else, or no XML, counts as a write."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return False
    ops = {_local(e.tag) for e in root.iter()} & (READ_ONLY | {"soapDoControlServices"})
    return bool(ops) and ops <= READ_ONLY


# The application user only: the OS administrator gets 401 here [3P: two accounts].
ROUTES: tuple[Route, ...] = (
    Route("POST", PATH, "soap", control_center, account="app", reads=reads_only),
)
