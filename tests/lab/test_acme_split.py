"""The ACME lab's two processes: the lab's front forwards to acme2certifier's (the GPL plug-in)
over loopback HTTP, and without the plug-in the lab says so in one line before starting."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from reconciler.lab import acme_ca
from reconciler.lab.acme_a2c import HANDLER_MODULE, A2cCa
from reconciler.lab.acme_ca import PLUGIN, PLUGIN_MISSING, AcmeLab
from reconciler.lab.acme_server import forward


class _Backend(BaseHTTPRequestHandler):
    """Records each request; answers like acme2certifier's newNonce/newOrder would."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.seen.append({"path": self.path, "body": body, "headers": dict(self.headers)})
        data = b'{"status": "pending"}'
        self.send_response(201)
        self.send_header("Replay-Nonce", "n-1")
        self.send_header("Location", "https://127.0.0.1:4443/acme/order/o1")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def backend() -> Iterator[int]:
    _Backend.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_the_front_forwards_host_scheme_and_body_and_drops_hop_by_hop(backend: int) -> None:
    body = b'{"protected": "x", "payload": "y", "signature": "z"}'
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/acme/neworders", "QUERY_STRING": "a=1",
               "CONTENT_TYPE": "application/jose+json", "CONTENT_LENGTH": str(len(body)),
               "HTTP_HOST": "127.0.0.1:4443", "HTTP_CONNECTION": "keep-alive",
               "wsgi.input": io.BytesIO(body)}
    answered: dict[str, Any] = {}

    def start(status: str, headers: list[tuple[str, str]]) -> None:
        answered.update(status=status, headers=dict(headers))

    data = b"".join(forward(backend)(environ, start))
    [request] = _Backend.seen
    assert request["path"] == "/acme/neworders?a=1" and request["body"] == body
    assert request["headers"]["Host"] == "127.0.0.1:4443"  # acme2certifier's URLs use it
    assert request["headers"]["X-Forwarded-Proto"] == "https"
    assert request["headers"]["Content-Type"] == "application/jose+json"
    assert request["headers"].get("Connection") != "keep-alive"
    assert answered["status"] == "201 Created" and json.loads(data) == {"status": "pending"}
    assert answered["headers"]["Replay-Nonce"] == "n-1"
    assert answered["headers"]["Location"].endswith("/acme/order/o1")
    assert "Connection" not in answered["headers"]  # wsgiref refuses hop-by-hop headers
    assert answered["headers"]["Content-Length"] == str(len(data))


def test_without_the_plugin_the_lab_says_so_in_one_line_and_starts_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = acme_ca.importlib.util.find_spec
    monkeypatch.setattr(acme_ca.importlib.util, "find_spec",
                        lambda name, *a: None if name == PLUGIN else real(name, *a))
    assert PLUGIN_MISSING in acme_ca.missing("a2c") and "\n" not in PLUGIN_MISSING
    assert "pip install ./lab-plugins/certops-lab-a2c" in PLUGIN_MISSING
    assert PLUGIN_MISSING not in acme_ca.missing("pebble")
    lab = AcmeLab(tmp_path / "acme")
    with pytest.raises(RuntimeError, match="certops-lab-a2c"):
        lab.up(["nart.com"])
    assert lab.procs == [] and not (tmp_path / "acme").exists()


def test_the_lab_writes_the_back_end_port_and_names_the_plugins_handler(tmp_path: Path) -> None:
    (tmp_path / "tls").mkdir()
    A2cCa(tmp_path).write(4443, 5353, tmp_path / "tls", backend_port=4444)
    server = json.loads((tmp_path / "server.json").read_text())
    assert (server["port"], server["backend_port"], server["dns_port"]) == (4443, 4444, 5353)
    config = (tmp_path / "a2c" / "acme_srv.cfg").read_text()
    assert f"handler_module: {HANDLER_MODULE}\n" in config
    assert HANDLER_MODULE.startswith(PLUGIN + ".")
