"""The ACME lab's front process: TLS on loopback, the lab's layer, acme2certifier behind it.

The lab's ACME CA is two processes (docs/architecture.md, "The lab's ACME CA"). acme2certifier
(GPL-3.0) runs in the separate plug-in distribution ``certops-lab-a2c``
(``lab-plugins/certops-lab-a2c``: ``python -m certops_lab_a2c DIR``, plain HTTP on the loopback
``backend_port`` of ``DIR/server.json``); this package never imports it. ``python -m
reconciler.lab.acme_server DIR`` is the front: HTTPS on the loopback ``port`` of
``DIR/server.json``, forwarding every request it does not answer itself to the back end over
HTTP, with the client's ``Host`` and ``X-Forwarded-Proto: https`` (acme2certifier builds its
URLs from them). Three things are the lab's, not acme2certifier's, and are documented as an
emulation:

- **a CA incident**: ``GET renewal-info/<certID>`` answers from ``DIR/ari-overrides.json``
  when the lab has moved that certificate's window (``certops lab ari``) or revoked it
  (``certops lab revoke``); acme2certifier computes every window from one percentage of the
  lifetime and has no per-certificate override;
- **replaces**: acme2certifier ignores ``newOrder.replaces``; the lab records each one in
  ``DIR/replaces.jsonl`` (tests read it) and passes the order on unchanged;
- **the CRL distribution point** ``GET /crl``: the issuing CA's CRL (DER) that acme2certifier's
  handler and ``certops lab revoke`` keep in ``DIR/ca/issuing.crl``, with every revocation
  whose notice is over published first.

Every ``renewal-info`` GET is counted in ``DIR/ari-requests.log`` (one line each).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import socketserver
import ssl
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.lab.acme_a2c import A2cCa

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

ARI_PATH = "/acme/renewal-info/"
NEW_ORDER_PATH = "/acme/neworders"
CRL_PATH = "/crl"


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def address_string(self) -> str:  # no reverse DNS
        return str(self.client_address[0])


def _json(start: StartResponse, status: str, body: object, headers: list[Any]) -> list[bytes]:
    data = json.dumps(body, indent=2).encode()
    start(status, [("Content-Type", "application/json"),
                   ("Content-Length", str(len(data))), *headers])
    return [data]


def lab_layer(inner: WsgiApp, root: Path, retry_after: int) -> WsgiApp:
    """``inner`` (the back end) wrapped by the lab's ARI overrides, replaces record and CRL.
    Requests reach acme2certifier one at a time: its SQLite store refuses concurrent writers
    ("Database error" when several nodes order at once)."""
    one_at_a_time = threading.Lock()

    def app(environ: Environ, start: StartResponse) -> Iterable[bytes]:
        environ["wsgi.url_scheme"] = "https"  # the socket is TLS; wsgiref cannot tell
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if method == "GET" and path.startswith(ARI_PATH):
            cert_id = path[len(ARI_PATH):]
            with (root / "ari-requests.log").open("a") as log:
                log.write(cert_id + "\n")
            override = _overrides(root).get(cert_id)
            if override is not None:
                return _json(start, "200 OK", override, [("Retry-After", str(retry_after))])
        if method == "GET" and path == CRL_PATH:
            A2cCa(root).publish_due(datetime.now(UTC))  # revocations whose notice is over
            crl = x509.load_pem_x509_crl((root / "ca" / "issuing.crl").read_bytes())
            data = crl.public_bytes(Encoding.DER)
            start("200 OK", [("Content-Type", "application/pkix-crl"),
                             ("Content-Length", str(len(data)))])
            return [data]
        if method == "POST" and path == NEW_ORDER_PATH:
            _record_replaces(environ, root)
        with one_at_a_time:
            return list(inner(environ, start))

    return app


def _overrides(root: Path) -> dict[str, Any]:
    try:
        data = json.loads((root / "ari-overrides.json").read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _record_replaces(environ: Environ, root: Path) -> None:
    """Note the order's ``replaces`` (if any); leave the request body readable for the app."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        payload = json.loads(base64.urlsafe_b64decode(
            json.loads(body)["payload"] + "=" * 3)) if body else {}
    except (ValueError, KeyError, TypeError):
        return
    if isinstance(payload, dict) and payload.get("replaces"):
        names = [i.get("value") for i in payload.get("identifiers", []) if isinstance(i, dict)]
        with (root / "replaces.jsonl").open("a") as out:
            out.write(json.dumps({"replaces": payload["replaces"], "identifiers": names,
                                  "profile": payload.get("profile")}) + "\n")


# Hop-by-hop headers (RFC 9110 section 7.6.1): wsgiref refuses them from an application.
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailer", "transfer-encoding", "upgrade"}
BACKEND_TIMEOUT = 60.0  # an order's finalize signs and writes; the back end is one at a time


def forward(backend_port: int) -> WsgiApp:
    """A WSGI application that passes each request to the back end on ``backend_port``."""

    def app(environ: Environ, start: StartResponse) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        path = environ.get("PATH_INFO", "") + (
            f"?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else "")
        headers = {key[5:].replace("_", "-").title(): str(value)
                   for key, value in environ.items() if key.startswith("HTTP_")}
        headers = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        headers["X-Forwarded-Proto"] = "https"
        conn = http.client.HTTPConnection("127.0.0.1", backend_port, timeout=BACKEND_TIMEOUT)
        try:
            conn.request(environ.get("REQUEST_METHOD", "GET"), path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            kept = [(k, v) for k, v in response.getheaders()
                    if k.lower() not in _HOP_BY_HOP | {"content-length", "server", "date"}]
        finally:
            conn.close()
        start(f"{response.status} {response.reason}",
              [*kept, ("Content-Length", str(len(data)))])
        return [data]

    return app


def main(argv: list[str]) -> int:
    root = Path(argv[0]).resolve()
    conf = json.loads((root / "server.json").read_text())
    app = lab_layer(forward(int(conf["backend_port"])), root, int(conf["ari_retry_after"]))
    server = make_server("127.0.0.1", int(conf["port"]), app,
                         server_class=_ThreadingServer, handler_class=_QuietHandler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(conf["tls_cert"], conf["tls_key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
