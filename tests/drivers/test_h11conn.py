"""The node transport (h11 spoken directly) against a loopback server that answers raw bytes:
what httpx with httpcore did for certops' requests, it still does, and a node that answers
garbage, too much or nothing fails as a retried connection failure."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from reconciler.drivers import Unreachable
from reconciler.drivers.h11conn import NodeTransport
from reconciler.drivers.http import HttpSettings, NodeHttp

Answer = Callable[[bytes], bytes | None]  # the request's head and body -> raw answer (None: close)
CLOSE = b"<close>"  # at the end of an answer: the server closes after writing the rest


def _ok(body: bytes = b'{"ok": true}', extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n"
            % (extra, len(body)) + body)


@dataclass
class Raw:
    """A plain-HTTP keep-alive server whose answers ``answer`` writes byte for byte."""

    answer: Answer
    port: int = 0
    connections: int = 0
    seen: list[bytes] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                request = head + (await reader.readexactly(length) if length else b"")
                self.seen.append(request)
                raw = self.answer(request)
                if raw is None:
                    break
                writer.write(raw.removesuffix(CLOSE))
                await writer.drain()
                if raw.endswith(CLOSE):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.transport.abort()


@pytest.fixture
async def raw() -> AsyncIterator[Raw]:
    state = Raw(answer=lambda request: _ok())
    srv = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = srv.sockets[0].getsockname()[1]
    async with srv:
        yield state


def _http(raw: Raw) -> NodeHttp:
    return NodeHttp("n", f"http://127.0.0.1:{raw.port}", ("u", "p"),
                    settings=HttpSettings(retries=1, backoff=0.01, read_timeout=2))


async def test_the_request_on_the_wire_is_what_httpx_frames(raw: Raw) -> None:
    http = _http(raw)
    await http.request("GET", "/api/x", params={"service": "tomcat"})
    await http.request("POST", "/api/y", json={"a": 1})
    get, post = raw.seen
    assert get.startswith(b"GET /api/x?service=tomcat HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:%d\r\n" % raw.port in get
    assert b"\r\nAuthorization: Basic dTpw\r\n" in get
    assert post.startswith(b"POST /api/y HTTP/1.1\r\n") and post.endswith(b'\r\n\r\n{"a":1}')
    assert raw.connections == 1
    await http.aclose()


async def test_a_multipart_upload_is_sent_whole(raw: Raw) -> None:
    http = _http(raw)
    await http.request("POST", "/upload", files={"file": b"-----BEGIN CERTIFICATE-----\n"})
    (sent,) = raw.seen
    assert b"Content-Type: multipart/form-data; boundary=" in sent
    assert b'name="file"' in sent and b"-----BEGIN CERTIFICATE-----\n" in sent
    await http.aclose()


async def test_chunked_gzip_and_informational_answers_read_as_httpx_reads_them(
        raw: Raw) -> None:
    packed = gzip.compress(b'{"big": "' + b"x" * 70_000 + b'"}')
    raw.answer = lambda request: (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"%x\r\n%s\r\n" % (len(packed[i:i + 5000]), packed[i:i + 5000])
                   for i in range(0, len(packed), 5000)) + b"0\r\n\r\n")
    http = _http(raw)
    for _ in range(2):
        response = await http.request("GET", "/big")
        assert response.json() == {"big": "x" * 70_000}
        assert "content-length" not in response.headers  # nothing added to the node's headers
    assert raw.connections == 1  # kept alive across the chunked answers
    await http.aclose()


async def test_an_answer_that_says_close_is_followed_by_a_new_connection(raw: Raw) -> None:
    raw.answer = lambda request: _ok(extra=b"Connection: close\r\n")
    http = _http(raw)
    for _ in range(3):
        assert (await http.request("GET", "/x")).status_code == 200
    assert raw.connections == 3 and http.counts["GET"] == 3  # none retried
    await http.aclose()


@pytest.mark.parametrize(("answer", "words"), [
    (lambda request: None, "Server disconnected without sending a response"),
    (lambda request: b"garbage\r\n\r\n", "connection failed"),
    (lambda request: b"HTTP/1.1 200 OK\r\nX: " + b"y" * 300_000, "connection failed"),
    (lambda request: _ok(b"x" * 100)[:-50] + CLOSE, "connection failed"),
])
async def test_a_node_answering_nothing_garbage_or_too_much_fails_and_is_retried(
        raw: Raw, answer: Answer, words: str) -> None:
    raw.answer = answer
    http = _http(raw)
    with pytest.raises(Unreachable) as err:
        await http.request("GET", "/x")
    assert words in str(err.value)
    assert raw.connections == 2  # retried once, on a new connection
    await http.aclose()


async def test_a_node_that_never_answers_times_out_and_the_connection_is_closed(
        raw: Raw) -> None:
    raw.answer = lambda request: b""  # reads the request, writes nothing
    transport = NodeTransport(httpx.create_ssl_context(), None)
    request = httpx.Request("GET", f"http://127.0.0.1:{raw.port}/x",
                            extensions={"timeout": {"read": 0.1}})
    with pytest.raises(httpx.ReadTimeout):
        await transport.handle_async_request(request)
    assert not transport.connected
    with pytest.raises(httpx.UnsupportedProtocol):
        await transport.handle_async_request(httpx.Request("GET", "ftp://127.0.0.1/x"))


async def test_bytes_after_an_answer_are_not_read_as_the_next_answer(raw: Raw) -> None:
    answers = iter([_ok(b'{"n": 1}') + _ok(b'{"n": 666}'), _ok(b'{"n": 2}')])
    raw.answer = lambda request: next(answers)
    http = _http(raw)
    assert (await http.request("GET", "/a")).json() == {"n": 1}
    assert (await http.request("GET", "/b")).json() == {"n": 2}  # not the stray answer
    assert raw.connections == 2
    await http.aclose()


async def test_an_answer_without_end_is_cut_off_at_the_body_limit(
        raw: Raw, monkeypatch: pytest.MonkeyPatch) -> None:
    from reconciler.drivers import h11conn

    monkeypatch.setattr(h11conn, "MAX_BODY", 100_000)
    raw.answer = lambda request: (b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n"
                                  + b"x" * 300_000)
    http = _http(raw)
    with pytest.raises(Unreachable, match="larger than"):
        await http.request("GET", "/x")
    assert "pw" not in repr(http.client) and "dTpw" not in repr(http.client)
    await http.aclose()
