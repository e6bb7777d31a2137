"""Emulated Expressway-C / Expressway-E / VCS provisioning API (the node type is a setting).

Emulates the Expressway table of device-apis.md, one row per entry of ``ROUTES``:
read/upload server certificate [3P], read/generate pending CSR [3P], read/append trusted CA
list [3P], restart [C exists; body U], sysinfo [C exists; fields U], RAML [C], the calls on
the node as status XML (``/getxml?location=/Status/ResourceUsage/Calls``, ``/status.xml``
[3P]), and maintenance mode: a REST resource listed in the RAML, which no public source
shows ([U], the lab's assumption; ``maintenance_api: false`` in the topology leaves it out,
as a real node would, so the drain is a manual step). A restart switches maintenance mode
off [C] and drops the node's calls (``lab.calls``).

Behaviours [C]: the CSR key is made and kept on the node; only one pending CSR, a second
request answered ``{"Message": "Conflict"}`` [3P body; the status is not in the evidence, so
the lab answers 200, the harder case for a client]; an upload must match the pending CSR's
key (which it consumes) or the current key; a new certificate is served only after a
restart. [U]: every error ``Message`` text; the sysinfo fields (no restart-required flag is
served: none is evidenced); whether ``GET certs/server`` answers the uploaded or the active
certificate before the restart (``state.cert_read`` picks, default the uploaded one);
discarding a pending CSR over REST (no DELETE route: the node answers 405, as a box without
the call would; tests discard "in the GUI" by clearing the state); deleting one CA.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from cryptography import x509
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp

from reconciler.lab.ca import (
    KeyKind,
    cert_pem,
    dns_sans,
    is_ca,
    key_pem,
    load_certs,
    load_key,
    make_csr,
    new_key,
    spki,
)
from reconciler.lab.eku import has_client_store, server_upload_refusal
from reconciler.lab.expressway_client import CLIENT_ROUTES
from reconciler.lab.node import Node
from reconciler.lab.state import Identity, PendingCsr
from reconciler.lab.web import Route, build_app, json_body, message, multipart_file, pem_text

OK = "The operation was successful"
CONFLICT_STATUS = 200  # [U]: the evidence shows the body {"Message": "Conflict"} only
CSRF_HEADER = "X-CSRF-Header"
CSRF_SINCE = (14, 2)
# Messages of refusals: [U] (the real texts are not documented).
MSG_NO_FILE = "No file was uploaded: send the certificate in the multipart field 'file'"
MSG_NOT_PEM = "The file is not a valid PEM certificate"
MSG_MANY = "The file holds more than one certificate: upload the server certificate only"
MSG_CA = "The file is a CA certificate, not a server certificate"
MSG_KEY = (
    "The server certificate does not match the private key of the pending CSR "
    "or of the current certificate"
)
MSG_WILDCARD = "Wildcard certificates are not supported"
MSG_NO_CSR = "No CSR is pending"
MSG_CSRF = "Missing or invalid CSRF header"
# Maintenance mode over REST: no public source [C: GUI only]. The lab's assumption [U]: this
# resource, listed in its RAML, with {"MaintenanceMode": "On"|"Off"} to read and to PUT.
MAINTENANCE_PATH = "/api/provisioning/common/maintenancemode"
MAINTENANCE_FIELD = "MaintenanceMode"
# Status XML [3P]: the namespace of py-expressway's status.xml fixture, centreon's call types.
CUIL = "http://www.tandberg.no/XML/CUIL/1.0"
CALLS_LOCATION = "/Status/ResourceUsage/Calls"
CALL_TYPES = ("Traversal", "NonTraversal", "CollaborationEdge", "Cloud", "MicrosoftContent",
              "MicrosoftIMP")

_KEYS: dict[tuple[str, int], KeyKind] = {
    ("RSA", 2048): "rsa2048", ("RSA", 4096): "rsa4096",
    ("ECDSA", 256): "ec256", ("ECDSA", 384): "ec384", ("ECDSA", 521): "ec521",
}


def version_tuple(version: str) -> tuple[int, ...]:
    """``X15.0.2`` → (15, 0, 2)."""
    return tuple(int(n) for n in re.findall(r"\d+", version)[:3])


def _product(node: Node) -> tuple[str, str]:
    return {
        "expressway-c": ("Expressway", "Expressway-C"),
        "expressway-e": ("Expressway", "Expressway-E"),
        "vcs": ("VCS", "VCS Control"),
    }.get(node.state.type, ("Expressway", node.state.type))


async def read_server_cert(node: Node, request: Request) -> Response:
    active = node.state.cert_read == "active"
    server = node.state.served if active else (node.state.server or node.state.served)
    return pem_text(server.cert_pem)


async def upload_server_cert(node: Node, request: Request) -> Response:
    data = await multipart_file(request)
    if data is None:
        return message(400, MSG_NO_FILE)
    if b"-----BEGIN CERTIFICATE-----" not in data:
        return message(400, MSG_NOT_PEM)
    try:
        certs = load_certs(data)
    except ValueError:
        return message(400, MSG_NOT_PEM)
    if len(certs) != 1:
        return message(400, MSG_MANY)
    leaf = certs[0]
    if is_ca(leaf):
        return message(400, MSG_CA)
    if any(n.startswith("*") for n in dns_sans(leaf)):
        return message(400, MSG_WILDCARD)
    refusal = server_upload_refusal(node.state.type, node.state.version, node.state.settings,
                                    leaf)
    if refusal is not None:
        return message(400, refusal)
    key = spki(leaf.public_key())
    pending = node.state.pending_csr
    current = node.state.server or node.state.served
    if pending is not None and key == spki(load_key(pending.key_pem).public_key()):
        key_text = pending.key_pem
        node.state.pending_csr = None  # the pending CSR is consumed by its certificate
    elif key == spki(load_key(current.key_pem).public_key()):
        key_text = current.key_pem
    else:
        return message(400, MSG_KEY)
    node.state.server = Identity(
        cert_pem=cert_pem(leaf), key_pem=key_text, chain_pems=node.chain_for(leaf)
    )
    node.state.restart_required = True
    node.save()
    return message(200, "OK")


async def read_csr(node: Node, request: Request) -> Response:
    if node.state.pending_csr is None:
        return message(404, MSG_NO_CSR)
    return pem_text(node.state.pending_csr.csr_pem)


async def generate_csr(node: Node, request: Request, slot: str = "pending_csr") -> Response:
    """A new CSR in the state's ``slot`` (the server store's, or X15.5's client store's):
    refused with the evidenced conflict while one is pending there."""
    if getattr(node.state, slot) is not None:
        return message(CONFLICT_STATUS, "Conflict")
    made = await new_pending_csr(node, request)
    if isinstance(made, Response):
        return made
    setattr(node.state, slot, made)
    node.save()
    return message(200, OK)


async def new_pending_csr(node: Node, request: Request) -> PendingCsr | Response:
    """A CSR (and its key, kept on the node) from the generate_csr body, or the refusal."""
    body = await json_body(request)
    if body is None:
        return message(400, "The request body is not a JSON object")
    fqdns = body.get("Additional_FQDNS", [])
    if isinstance(fqdns, str):
        fqdns = [f.strip() for f in fqdns.split(",") if f.strip()]
    if not isinstance(fqdns, list) or not all(isinstance(f, str) for f in fqdns):
        return message(400, "Additional_FQDNS must be a list of names")
    if any(f.startswith("*") for f in fqdns):
        return message(400, MSG_WILDCARD)
    key_type = str(body.get("KeyType", "RSA")).upper()  # [U] X15.4 ECDSA field name
    kind = _KEYS.get((key_type, int(body.get("KeyLength", 2048))))
    if kind is None:
        return message(400, "Unsupported KeyType/KeyLength")
    digest = str(body.get("DigestAlgorithm", "sha256")).lower()
    if digest not in ("sha256", "sha384", "sha512"):
        return message(400, f"Unsupported DigestAlgorithm {digest}")
    fields = {"C": "Country", "ST": "Province", "L": "Locality", "O": "Organization",
              "OU": "OrganizationalUnit", "E": "Email"}
    extra = {k: str(body[v]) for k, v in fields.items() if body.get(v)}
    key = new_key(kind)
    try:
        csr = make_csr(key, node.state.fqdn, fqdns, subject_extra=extra, digest=digest)
    except ValueError as exc:
        return message(400, str(exc))
    return PendingCsr(csr_pem=_csr_pem(csr), key_pem=key_pem(key))


def _csr_pem(csr: x509.CertificateSigningRequest) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return csr.public_bytes(Encoding.PEM).decode()


async def read_trust(node: Node, request: Request) -> Response:
    return pem_text("".join(node.state.trusted_cas))


async def add_trust(node: Node, request: Request) -> Response:
    data = await multipart_file(request)
    if data is None:
        return message(400, MSG_NO_FILE)
    try:
        certs = load_certs(data)
    except ValueError:
        return message(400, MSG_NOT_PEM)
    have = set(node.state.trusted_cas)
    for cert in certs:
        pem = cert_pem(cert)
        if pem not in have:
            node.state.trusted_cas.append(pem)
            have.add(pem)
    node.save()
    return message(200, "Root Certificate updated.")


async def restart(node: Node, request: Request) -> Response:
    if version_tuple(node.state.version) >= CSRF_SINCE and not request.headers.get(CSRF_HEADER):
        return message(403, MSG_CSRF)
    node.spawn(node.restart_node())
    return message(200, OK)


async def sysinfo(node: Node, request: Request) -> Response:
    product, role = _product(node)
    return JSONResponse({
        "ProductType": product,
        "Role": role,
        "SystemName": node.name,
        "SystemFQDN": node.state.fqdn,
        "Version": node.state.version,
        "SoftwareVersion": node.state.version,
    })


async def raml(node: Node, request: Request) -> Response:
    """The node's API description: the server store's resources, on X15.5 the client
    store's beside them, shaped like the server store's, and the maintenance-mode resource
    where ``maintenance_api`` (each the lab's assumption [U]; see the module doc)."""
    text = (f"#%RAML 1.0\ntitle: {_product(node)[0]} provisioning API\n"
            f"version: {node.state.version}\n/api:\n  /provisioning:\n    /sysinfo:\n"
            "      get:\n        description: |\n          System information.\n"
            "    /certs:\n" + _store_raml("server"))
    if has_client_store(node.state.version) and node.state.raml_client:
        text += _store_raml("client")
    if node.state.maintenance_api:
        text += ("    /common:\n      /maintenancemode:\n        get:\n        put:\n"
                 "          body:\n            application/json:\n"
                 "              example: '{\"MaintenanceMode\": \"On\"}'\n")
    return PlainTextResponse(text, media_type="application/raml+yaml")


def _store_raml(store: str) -> str:
    return (f"      /{store}:\n        get:\n        post:\n"
            "        /generate_csr:\n          get:\n          post:\n")


async def read_maintenance(node: Node, request: Request) -> Response:
    if not node.state.maintenance_api:
        return message(404, "Not found")
    return JSONResponse({MAINTENANCE_FIELD: "On" if node.state.maintenance else "Off"})


async def set_maintenance(node: Node, request: Request) -> Response:
    if not node.state.maintenance_api:
        return message(404, "Not found")
    body = await json_body(request)
    value = body.get(MAINTENANCE_FIELD) if body is not None else None
    if value not in ("On", "Off"):
        return message(400, f"{MAINTENANCE_FIELD} must be On or Off")
    node.set_maintenance(value == "On")
    return message(200, OK)


async def getxml(node: Node, request: Request) -> Response:
    """``/getxml?location=/Status/ResourceUsage/Calls`` [3P]; another location: XPathError."""
    location = request.query_params.get("location", "")
    if location != CALLS_LOCATION:
        return _xml(f'<XPathError><Reason>No match for {escape(location)}</Reason>'
                    f'<XPath>{escape(location)}</XPath></XPathError>')
    return _xml(_status(node, registrations=False))


async def status_xml(node: Node, request: Request) -> Response:
    """``/status.xml``: the resource usage part of the document [3P] (the rest left out)."""
    return _xml(_status(node, registrations=True))


def _status(node: Node, *, registrations: bool) -> str:
    """Calls on the node as ``ResourceUsage/Calls/<type>/Current`` (all of one type: an E's
    are traversal calls, a C's non-traversal); registrations are not emulated (0)."""
    calls = node.calls.current(node.name) if node.calls is not None else 0
    busy = "Traversal" if node.state.type == "expressway-e" else "NonTraversal"
    kinds = "".join(
        f'<{k} item="1"><Current item="1">{calls if k == busy else 0}</Current>'
        f'<Max item="1">0</Max><Total item="1">0</Total></{k}>' for k in CALL_TYPES)
    regs = ('<Registrations item="1"><Current item="1">0</Current><Max item="1">0</Max>'
            '<Total item="1">0</Total></Registrations>') if registrations else ""
    return (f'<Status xmlns="{CUIL}" product="{_product(node)[1]}" '
            f'version="{escape(node.state.version)}"><ResourceUsage item="1">'
            f'<Calls item="1">{kinds}</Calls>{regs}</ResourceUsage></Status>')


def _xml(text: str) -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + text,
                    media_type="text/xml")


ROUTES: tuple[Route, ...] = (
    Route("GET", "/api/provisioning/certs/server", "cert.read", read_server_cert),
    Route("POST", "/api/provisioning/certs/server", "cert.upload", upload_server_cert),
    Route("GET", "/api/provisioning/certs/generate_csr", "csr.read", read_csr),
    Route("POST", "/api/provisioning/certs/generate_csr", "csr.generate", generate_csr),
    Route("GET", "/api/provisioning/certs/root", "trust.read", read_trust),
    Route("POST", "/api/provisioning/certs/root", "trust.add", add_trust),
    Route("POST", "/api/provisioning/restart", "restart", restart),
    Route("GET", "/api/provisioning/sysinfo", "sysinfo", sysinfo),
    Route("GET", "/api/raml", "raml", raml),
    Route("GET", MAINTENANCE_PATH, "maintenance.read", read_maintenance),
    Route("PUT", MAINTENANCE_PATH, "maintenance.set", set_maintenance),
    Route("GET", "/getxml", "calls", getxml),
    Route("GET", "/status.xml", "status", status_xml),
    *CLIENT_ROUTES,
)


def expressway_app(node: Node) -> ASGIApp:
    """The ASGI app of one emulated Expressway/VCS node."""
    return build_app(node, ROUTES, realm=f"{_product(node)[1]} {node.name}")
