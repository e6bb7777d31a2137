"""Emulated Expressway-C / Expressway-E / VCS provisioning API (the node type is a setting).

Emulates the Expressway table of device-apis.md, one row per entry of ``ROUTES``:
read/upload server certificate [3P], read/generate pending CSR [3P], read/append trusted CA
list [3P], restart [C exists; body U], sysinfo [C exists; fields U], RAML [C].

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


async def generate_csr(node: Node, request: Request) -> Response:
    if node.state.pending_csr is not None:
        return message(CONFLICT_STATUS, "Conflict")
    made = await new_pending_csr(node, request)
    if isinstance(made, Response):
        return made
    node.state.pending_csr = made
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
    """The node's API description: the server store's resources, and on X15.5 the client
    store's beside them, shaped like the server store's (the lab's assumption [U])."""
    text = (f"#%RAML 1.0\ntitle: {_product(node)[0]} provisioning API\n"
            f"version: {node.state.version}\n/api:\n  /provisioning:\n    /certs:\n"
            + _store_raml("server"))
    if has_client_store(node.state.version) and node.state.raml_client:
        text += _store_raml("client")
    return PlainTextResponse(text, media_type="application/raml+yaml")


def _store_raml(store: str) -> str:
    return (f"      /{store}:\n        get:\n        post:\n"
            "        /generate_csr:\n          get:\n          post:\n")


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
    *CLIENT_ROUTES,
)


def expressway_app(node: Node) -> ASGIApp:
    """The ASGI app of one emulated Expressway/VCS node."""
    return build_app(node, ROUTES, realm=f"{_product(node)[1]} {node.name}")
