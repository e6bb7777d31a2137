"""Emulated Expressway X15.5 client certificate store (TAC 225693, X15.5 guides [C]).

Read, upload, read and generate its pending CSR, at ``/api/provisioning/certs/client`` and
``/api/provisioning/certs/client/generate_csr``: the resource names are the lab's assumption
[U] (no public document names them), shaped like the server store's and listed in the
node's RAML (``expressway.raml``). Behaviours [C]: the upgrade to X15.5 copied the server
certificate and key into this store (``topology.seed_node``); an upload without clientAuth
is refused; whether an upload needs a restart is not published [U]: the lab presents the new
client certificate at once (certops restarts the node anyway). Before X15.5: 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from reconciler.lab.ca import cert_pem, load_certs, load_key, spki
from reconciler.lab.eku import client_upload_refusal, has_client_store
from reconciler.lab.node import Node
from reconciler.lab.state import Identity
from reconciler.lab.web import Route, message, multipart_file, pem_text

Handler = Callable[[Node, Request], Awaitable[Response]]


def _x155(handler: Handler) -> Handler:
    async def wrapped(node: Node, request: Request) -> Response:
        if not has_client_store(node.state.version) or not node.state.raml_client:
            return message(404, "Not found")
        return await handler(node, request)
    return wrapped


async def read_client(node: Node, request: Request) -> Response:
    client = node.state.client or node.state.served
    return pem_text(client.cert_pem)


async def upload_client(node: Node, request: Request) -> Response:
    data = await multipart_file(request)
    if data is None:
        return message(400, "No file was uploaded: send the certificate in the field 'file'")
    try:
        certs = load_certs(data)
    except ValueError:
        return message(400, "The file is not a valid PEM certificate")
    if len(certs) != 1:
        return message(400, "The file holds more than one certificate")
    leaf = certs[0]
    refusal = client_upload_refusal(leaf)
    if refusal is not None:
        return message(400, refusal)
    key = spki(leaf.public_key())
    pending = node.state.client_pending_csr
    current = node.state.client or node.state.served
    if pending is not None and key == spki(load_key(pending.key_pem).public_key()):
        key_text = pending.key_pem
        node.state.client_pending_csr = None
    elif key == spki(load_key(current.key_pem).public_key()):
        key_text = current.key_pem
    else:
        return message(400, "The client certificate does not match the private key of the "
                       "pending client CSR or of the current client certificate")
    node.state.client = Identity(cert_pem=cert_pem(leaf), key_pem=key_text,
                                 chain_pems=node.chain_for(leaf))
    node.save()
    return message(200, "OK")


async def read_client_csr(node: Node, request: Request) -> Response:
    if node.state.client_pending_csr is None:
        return message(404, "No CSR is pending")
    return pem_text(node.state.client_pending_csr.csr_pem)


async def generate_client_csr(node: Node, request: Request) -> Response:
    from reconciler.lab.expressway import generate_csr

    return await generate_csr(node, request, slot="client_pending_csr")


BASE = "/api/provisioning/certs/client"
CLIENT_ROUTES: tuple[Route, ...] = (
    Route("GET", BASE, "client.read", _x155(read_client)),
    Route("POST", BASE, "client.upload", _x155(upload_client)),
    Route("GET", f"{BASE}/generate_csr", "client.csr.read", _x155(read_client_csr)),
    Route("POST", f"{BASE}/generate_csr", "client.csr.generate", _x155(generate_client_csr)),
)
