"""The pinned way into a node whose API certificate has expired (drivers/tlsrecovery.py),
against a small HTTPS server on 127.0.0.1 serving lab certificates: credentials go only to
an expired certificate that is pinned, of the right CA and name; nothing else is relaxed."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from reconciler.desired import load
from reconciler.drivers import PermanentError
from reconciler.drivers.fleet import recovery_pins_of
from reconciler.drivers.http import NodeHttp, only_these_cas
from reconciler.drivers.tlsrecovery import ApiRecovery
from reconciler.lab.ca import LabPki, cert_pem, key_pem, load_or_create_pki, new_key
from reconciler.pki import CertCache
from reconciler.pki.apirecovery import pin_of

NAME = "expe1.nart.com"


@dataclass
class Server:
    """Answers every request with ``{}``; counts the requests and the credentials it saw."""

    ctx: ssl.SSLContext
    port: int = 0
    requests: int = 0
    authorized: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests += 1
                self.authorized += b"authorization:" in head.lower()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        writer.transport.abort()

    def drop_connections(self) -> None:
        for writer in self.writers:
            writer.transport.abort()


def _serve_leaf(pki: LabPki, tmp: Path, ctx: ssl.SSLContext, *, days_left: float,
                name: str = NAME) -> bytes:
    """Make ``ctx`` serve a new leaf of ``pki`` (with its chain); its DER."""
    key = new_key()
    now = datetime.now(UTC)
    not_after = now + timedelta(days=days_left)
    leaf = pki.issue("new", key.public_key(), name, [name], not_after=not_after,
                     not_before=min(now - timedelta(days=1), not_after - timedelta(days=90)))
    (tmp / "leaf.pem").write_text(cert_pem(leaf) + "".join(cert_pem(c)
                                                            for c in pki.chain_for("new")))
    (tmp / "leaf.key").write_text(key_pem(key))
    ctx.load_cert_chain(tmp / "leaf.pem", tmp / "leaf.key")
    return leaf.public_bytes(Encoding.DER)


@pytest.fixture
def pki(tmp_path: Path) -> LabPki:
    return load_or_create_pki(tmp_path / "ca")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    state = Server(ctx=ssl.create_default_context(ssl.Purpose.CLIENT_AUTH))
    srv = await asyncio.start_server(state.handle, "127.0.0.1", 0, ssl=state.ctx)
    state.port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield state


def _http(server: Server, pki: LabPki, pins: dict[str, str],
          server_name: str = NAME) -> NodeHttp:
    bundle = pki.bundle_path.read_bytes()
    normal = only_these_cas((bundle,))
    recovery = ApiRecovery(node="n", pins=pins, anchor_pems=(bundle,), server_name=server_name,
                           normal=normal)
    return NodeHttp("n", f"https://127.0.0.1:{server.port}", ("admin", "secret"),
                    verify=normal, server_name=server_name, recovery=recovery)


async def test_an_expired_pinned_certificate_of_the_right_ca_and_name_is_used(
    server: Server, pki: LabPki, tmp_path: Path
) -> None:
    der = _serve_leaf(pki, tmp_path, server.ctx, days_left=-2)
    http = _http(server, pki, {pin_of(der): "certs/n.pem"})
    assert (await http.request("GET", "/api")).json() == {}
    assert server.authorized == 1
    assert http.recovery is not None
    note = http.recovery.note()
    assert note is not None and note.pinned_by == "certs/n.pem" and note.expired
    await http.aclose()


async def test_an_unpinned_expired_certificate_gets_no_byte_of_a_request(
    server: Server, pki: LabPki, tmp_path: Path
) -> None:
    der = _serve_leaf(pki, tmp_path, server.ctx, days_left=-2)
    http = _http(server, pki, {})
    with pytest.raises(PermanentError) as err:
        await http.request("GET", "/api")
    text = str(err.value)
    assert pin_of(der) in text and "recovery_pins" in text and "no credentials" in text
    assert "secret" not in text
    assert server.requests == 0
    assert http.recovery is not None
    note = http.recovery.note()
    assert note is not None and note.pinned_by is None
    await http.aclose()


@pytest.mark.parametrize("case", ["another name", "an unknown CA"])
async def test_a_pinned_expired_certificate_that_does_not_verify_is_refused(
    case: str, server: Server, pki: LabPki, tmp_path: Path
) -> None:
    """Pinned and expired, but for another name or from a CA the node's anchors do not hold:
    refused before a request (and so the credentials) is sent."""
    if case == "another name":
        der = _serve_leaf(pki, tmp_path, server.ctx, days_left=-2, name="attacker.example.com")
    else:
        other = load_or_create_pki(tmp_path / "other")
        der = _serve_leaf(other, tmp_path, server.ctx, days_left=-2)
    http = _http(server, pki, {pin_of(der): "certs/n.pem"})
    with pytest.raises(PermanentError):
        await http.request("GET", "/api")
    assert server.requests == 0
    await http.aclose()


async def test_another_failure_of_a_valid_certificate_is_not_relaxed(
    server: Server, pki: LabPki, tmp_path: Path
) -> None:
    """A valid, pinned certificate of an unknown CA: the ordinary refusal, no second try."""
    other = load_or_create_pki(tmp_path / "other")
    der = _serve_leaf(other, tmp_path, server.ctx, days_left=30)
    http = _http(server, pki, {pin_of(der): "certs/n.pem"})
    with pytest.raises(PermanentError) as err:
        await http.request("GET", "/api")
    assert "TLS verification failed" in str(err.value)
    assert server.requests == 0
    assert http.recovery is not None and http.recovery.seen is None
    await http.aclose()


async def test_once_renewed_the_node_is_verified_as_usual_again(
    server: Server, pki: LabPki, tmp_path: Path
) -> None:
    der = _serve_leaf(pki, tmp_path, server.ctx, days_left=-2)
    http = _http(server, pki, {pin_of(der): "certs/n.pem"})
    await http.request("GET", "/api")
    _serve_leaf(pki, tmp_path, server.ctx, days_left=300)  # the node restarted renewed
    server.drop_connections()
    await http.request("GET", "/api")
    assert http.verify is not None and http.recovery is not None
    assert http.verify is http.recovery.normal
    assert http.recovery.note() is None
    await http.aclose()


def test_the_pins_come_from_the_committed_desired_state(pki: LabPki, tmp_path: Path) -> None:
    """The leaf (never a CA) of the node's certificate file and of certs/<node>.pem, and the
    node file's connection.recovery_pins, each named by the record that pins it."""
    root = tmp_path / "d"
    for folder in ("nodes", "cas", "certs"):
        (root / folder).mkdir(parents=True)
    (root / "certops.yaml").write_text("links: []\n")
    typed = "sha256:" + "c" * 64
    (root / "nodes" / "expe1.yaml").write_text(
        "name: expe1\ntype: expressway-e\napi: https://192.0.2.10:8443\n"
        "credentials: {username_env: U, password_env: P}\n"
        "server_certificate:\n  file: ../certs/expe1-2026.pem\n  subject_alt_names: "
        f"[{NAME}]\nconnection:\n  recovery_pins: ['{typed}']\n")
    chain = "".join(cert_pem(c) for c in pki.chain_for("new"))
    first, second = (pki.issue("new", new_key().public_key(), NAME, [NAME]) for _ in range(2))
    (root / "certs" / "expe1-2026.pem").write_text(cert_pem(first) + chain)
    (root / "certs" / "expe1.pem").write_text(cert_pem(second) + chain)
    loaded = load(root, CertCache())
    assert loaded.desired is not None, [f.render() for f in loaded.findings]
    node = loaded.desired.node("expe1")
    assert node is not None
    pins = dict(recovery_pins_of(node, loaded.desired.files))
    assert pins == {
        pin_of(first.public_bytes(Encoding.DER)): "certs/expe1-2026.pem",
        pin_of(second.public_bytes(Encoding.DER)): "certs/expe1.pem",
        typed: f"{node.file}: connection.recovery_pins",
    }
