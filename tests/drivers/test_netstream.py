"""netstream: httpcore on asyncio streams with TLS through memory BIOs, against a small
local HTTPS server whose behaviour each test sets (big bodies, idle and abrupt closes)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reconciler.drivers import Unreachable
from reconciler.drivers.http import NodeHttp, only_these_cas
from reconciler.drivers.netstream import _sni

BIG = bytes(range(256)) * 2400  # 600 kB: ~40 TLS records


def _certificate(tmp: Path) -> tuple[Path, Path, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "node.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("node.test")]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    (tmp / "cert.pem").write_bytes(pem)
    (tmp / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return tmp / "cert.pem", tmp / "key.pem", pem


@dataclass
class Server:
    """A keep-alive HTTPS server; ``after`` decides what happens after each answer."""

    port: int = 0
    pem: bytes = b""
    connections: int = 0
    after: Callable[[str], str] = field(default=lambda path: "keep")
    body_cut: bool = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode()
                if path == "/slow":
                    await asyncio.sleep(0.3)
                body = BIG if path == "/big" else b'{"ok": true}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body))
                writer.write(body[: len(body) // 2] if self.body_cut else body)
                await writer.drain()
                if self.after(path) == "close" or self.body_cut:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        # Close the TCP connection now (asyncio's close() would wait for the client's
        # close_notify first, which neither anyio nor certops sends).
        writer.transport.abort()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    cert, key, pem = _certificate(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    state = Server(pem=pem)
    srv = await asyncio.start_server(state.handle, "127.0.0.1", 0, ssl=ctx)
    state.port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield state


def _http(server: Server, **kw: object) -> NodeHttp:
    return NodeHttp("n", f"https://127.0.0.1:{server.port}", ("u", "p"),
                    verify=only_these_cas((server.pem,)), server_name="node.test", **kw)  # type: ignore[arg-type]


async def test_a_big_body_arrives_whole_over_one_verified_connection(server: Server) -> None:
    http = _http(server)
    for _ in range(3):
        response = await http.request("GET", "/big")
        assert response.content == BIG
    assert (await http.request("GET", "/small")).json() == {"ok": True}
    assert server.connections == 1
    assert http.peer_certificate is not None
    await http.aclose()


async def test_a_connection_the_node_closed_while_idle_is_replaced(server: Server) -> None:
    server.after = lambda path: "close"
    http = _http(server)
    for _ in range(3):
        assert (await http.request("GET", "/small")).status_code == 200
        await asyncio.sleep(0.05)  # the node's close arrives while the connection is idle
    assert server.connections == 3 and http.counts["GET"] == 3  # no request lost, none retried
    await http.aclose()


async def test_a_body_cut_short_is_a_retried_connection_failure(server: Server) -> None:
    from reconciler.drivers.http import HttpSettings

    server.body_cut = True
    http = _http(server, settings=HttpSettings(retries=1, backoff=0.01))
    with pytest.raises(Unreachable) as err:
        await http.request("GET", "/big")
    assert err.value.sent is True and "connection failed" in str(err.value)
    assert server.connections == 2  # retried on a new connection
    await http.aclose()


async def test_a_name_the_certificate_lacks_fails_verification(server: Server) -> None:
    from reconciler.drivers import PermanentError

    http = NodeHttp("n", f"https://127.0.0.1:{server.port}", ("u", "p"),
                    verify=only_these_cas((server.pem,)), server_name="other.test")
    with pytest.raises(PermanentError) as err:
        await http.request("GET", "/small")
    assert "TLS verification failed" in str(err.value) and "other.test" in str(err.value)
    await http.aclose()


@pytest.mark.parametrize(("name", "sent"), [
    (None, None), ("node.example.com", "node.example.com"),
    ("bücher.example", "xn--bcher-kva.example"),
])
def test_server_names_are_sent_as_anyio_sends_them(name: str | None, sent: str | None) -> None:
    assert _sni(name) == sent


async def test_requests_at_once_on_one_node_take_turns_on_its_one_connection(
        server: Server) -> None:
    http = _http(server)
    answers = await asyncio.gather(*(http.request("GET", "/big") for _ in range(4)))
    assert [a.content for a in answers] == [BIG] * 4
    assert server.connections == 1
    await http.aclose()


async def test_a_request_waits_for_the_connection_at_most_the_pool_timeout(
        server: Server) -> None:
    import httpx

    from reconciler.drivers.h11conn import NodeTransport

    one = NodeTransport(only_these_cas((server.pem,)), None)

    def get(path: str, **timeout: float) -> httpx.Request:
        return httpx.Request("GET", f"https://127.0.0.1:{server.port}{path}",
                             extensions={"sni_hostname": "node.test", "timeout": timeout})

    slow = asyncio.ensure_future(one.handle_async_request(get("/slow")))
    await asyncio.sleep(0.05)  # the slow request holds the connection
    with pytest.raises(httpx.PoolTimeout):
        await one.handle_async_request(get("/big", pool=0.05))
    assert await (await slow).aread() == b'{"ok": true}'
    second = await one.handle_async_request(get("/big", pool=1.0))
    assert await second.aread() == BIG and server.connections == 1
    await one.aclose()
    assert not one.connected


async def test_a_node_behind_a_proxy_is_reached_through_a_connect_tunnel(server: Server) -> None:
    """A proxied node keeps httpx's own transport: the request goes through the proxy's
    CONNECT tunnel, and TLS is still verified end to end with the node."""
    seen: list[bytes] = []

    async def tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head.split(b"\r\n", 1)[0])
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer),
                             return_exceptions=True)

    proxy = await asyncio.start_server(tunnel, "127.0.0.1", 0)
    port = proxy.sockets[0].getsockname()[1]
    async with proxy:
        # Through a tunnel httpcore sends the URL's host as the TLS name (a tls_server_name
        # is not used there): the URL names the node, which only the proxy resolves.
        http = NodeHttp("n", f"https://node.test:{server.port}", ("u", "p"),
                        verify=only_these_cas((server.pem,)), proxy=f"http://127.0.0.1:{port}")
        assert (await http.request("GET", "/small")).json() == {"ok": True}
        await http.aclose()
    assert seen == [b"CONNECT node.test:%d HTTP/1.1" % server.port]


@pytest.mark.parametrize(("host", "delay"), [
    ("127.0.0.1", None), ("::1", None), ("2001:db8::10", None),
    ("node.example.com", 0.25), ("localhost", 0.25), ("127.0.0.1.nip.io", 0.25),
])
def test_only_a_name_races_its_addresses(host: str, delay: float | None) -> None:
    from reconciler.drivers.netstream import eyeballs_delay

    assert eyeballs_delay(host) == delay
