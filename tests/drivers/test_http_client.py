"""NodeHttp's client against a mock transport: what goes on the wire is what httpx's own
BasicAuth, URL joining and cookie handling would send."""

from __future__ import annotations

import httpx
import pytest

from reconciler.drivers.http import NodeHttp
from reconciler.drivers.nodeclient import basic_authorization


def _recorder(seen: list[httpx.Request], cookie: str | None = None) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"set-cookie": cookie} if cookie and len(seen) == 1 else {}
        return httpx.Response(200, json={}, headers=headers)

    return httpx.MockTransport(answer)


def _expected_authorization(user: str, password: str) -> str:
    request = httpx.Request("GET", "https://x/")
    return next(httpx.BasicAuth(user, password).auth_flow(request)).headers["Authorization"]


@pytest.mark.parametrize(("user", "password"), [("admin", "s3cret"), ("ädmin", "pä:ss wörd")])
def test_basic_authorization_is_what_httpx_sends(user: str, password: str) -> None:
    assert basic_authorization(user, password) == _expected_authorization(user, password)


async def test_every_request_carries_the_credentials_and_a_request_may_name_others() -> None:
    seen: list[httpx.Request] = []
    http = NodeHttp("n", "https://node.example", ("admin", "pw"), transport=_recorder(seen))
    await http.request("GET", "/api/a")
    await http.request("POST", "/soap", auth=("app", "apppw"))
    await http.request("GET", "/api/b")
    await http.aclose()
    assert [r.headers["authorization"] for r in seen] == [
        _expected_authorization("admin", "pw"), _expected_authorization("app", "apppw"),
        _expected_authorization("admin", "pw")]
    assert "pw" not in repr(http) and "pw" not in repr(seen[0].headers)


@pytest.mark.parametrize(("base", "path", "url"), [
    ("https://node.example", "/api/x", "https://node.example/api/x"),
    ("https://node.example:8443/", "api/x", "https://node.example:8443/api/x"),
    ("https://node.example/prefix", "/api/x?service=tomcat",
     "https://node.example/prefix/api/x?service=tomcat"),
    ("https://[::1]:8443", "/a b", "https://[::1]:8443/a%20b"),
])
async def test_urls_are_joined_as_httpx_joins_base_url(base: str, path: str, url: str) -> None:
    seen: list[httpx.Request] = []
    http = NodeHttp("n", base, ("u", "p"), transport=_recorder(seen))
    await http.request("GET", path, params={"k": "v"})
    await http.aclose()
    joined = httpx.AsyncClient(base_url=base).build_request("GET", path, params={"k": "v"}).url
    assert seen[0].url == joined
    assert str(http.url(path)) == url


async def test_a_cookie_the_node_sets_is_sent_back() -> None:
    seen: list[httpx.Request] = []
    http = NodeHttp("n", "https://node.example", ("u", "p"),
                    transport=_recorder(seen, cookie="JSESSIONID=abc; Path=/; Secure"))
    await http.request("GET", "/api/a")
    await http.request("GET", "/api/b")
    assert http.client.cookies.get("JSESSIONID") == "abc"
    await http.aclose()
    assert "cookie" not in seen[0].headers
    assert seen[1].headers["cookie"] == "JSESSIONID=abc"


def test_nodes_without_a_proxy_use_their_one_connection_transport() -> None:
    from reconciler.drivers.h11conn import NodeTransport
    from reconciler.drivers.netstream import AsyncioBackend

    direct = NodeHttp("n", "https://node.example", ("u", "p"))
    transport = direct.client.transport
    assert isinstance(transport, NodeTransport)
    assert isinstance(transport._backend, AsyncioBackend)
    proxied = NodeHttp("n", "https://node.example", ("u", "p"), proxy="http://proxy:3128")
    assert not isinstance(proxied.client.transport, NodeTransport)


def test_readable_is_true_for_data_and_for_a_closed_peer() -> None:
    import socket

    from reconciler.drivers.netstream import _readable

    a, b = socket.socketpair()
    with a, b:
        assert not _readable(a)
        b.send(b"x")
        assert _readable(a)
        a.recv(1)
        b.close()
        assert _readable(a)
    assert _readable(None)


async def test_a_read_answer_is_not_kept_alive_by_a_reference_cycle() -> None:
    """httpx binds a response's stream back to the response; NodeHttp drops that stream
    once the body is read, so the answer (and its body) goes with its last reference, not
    at the next full collection, and stays readable."""
    import gc
    import weakref

    http = NodeHttp("n", "https://node.example", ("u", "p"), transport=httpx.MockTransport(
        lambda request: httpx.Response(200, json={"certificates": ["x" * 1000]})))
    gc.disable()
    try:
        response = await http.request("GET", "/api/a")
        assert response.json() == {"certificates": ["x" * 1000]}
        assert response.text.startswith('{"certificates"')
        gone = weakref.ref(response)
        del response
        assert gone() is None
    finally:
        gc.enable()
        await http.aclose()


@pytest.mark.parametrize("content", [
    b'{"identities": [{"service": "tomcat", "certificate": "-----BEGIN..."}], "n": 1.5e3}',
    b'[1, -0.0, 1e400, 12345678901234567890123, "\\ud83d\\ude00", "\\u00e9t\\u00e9"]',
    b'{"a": NaN, "b": Infinity, "c": -Infinity}',  # json's extensions, which orjson refuses
    '{"\u00e9": "UTF-16 text"}'.encode("utf-16"),
    b'{"same": 1, "same": 2}', b"\xef\xbb\xbf{}",
])
def test_node_json_is_what_json_loads_gives(content: bytes) -> None:
    import json
    import math

    from reconciler.drivers.http import loads

    def same(a: object, b: object) -> bool:  # NaN != NaN: compare it by its repr
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
            return math.isnan(b)
        if isinstance(a, dict) and isinstance(b, dict):
            return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        return type(a) is type(b) and a == b and repr(a) == repr(b)

    try:
        expected = json.loads(content)
    except ValueError as exc:
        with pytest.raises(ValueError) as err:
            loads(content)
        assert type(err.value) is type(exc)
        return
    assert same(loads(content), expected)


@pytest.mark.parametrize("content", [b"", b"not json", b'{"a": 1', b"<html>502</html>"])
def test_node_text_that_is_not_json_fails_as_json_fails(content: bytes) -> None:
    import json

    from reconciler.drivers.http import loads

    with pytest.raises(json.JSONDecodeError):
        loads(content)


@pytest.mark.parametrize("kwargs", [
    {},
    {"params": {"service": "tomcat"}},
    {"json": {"a": [1, "é"]}, "headers": {"X-CSRF-Header": "nocheck"}},
    {"content": b"<soap/>", "headers": {"Content-Type": "text/xml; charset=utf-8"},
     "auth": ("app", "pä:ss")},
    {"headers": {"Accept": "application/json", "User-Agent": "other"}},
])
def test_a_request_is_built_as_httpx_client_builds_it(kwargs: dict[str, object]) -> None:
    from reconciler.drivers.nodeclient import NodeClient

    timeout = httpx.Timeout(30, connect=10)
    unused = httpx.MockTransport(lambda request: httpx.Response(200))
    mine = NodeClient("https://node.example:8443/base", unused, ("admin", "pw"), timeout)
    theirs = httpx.AsyncClient(base_url="https://node.example:8443/base", timeout=timeout,
                               auth=("admin", "pw"), headers={"Accept-Encoding": "gzip, deflate"})
    url = mine.url("/api/x")
    built = mine.build("POST", url, **kwargs)  # type: ignore[arg-type]
    body = {k: v for k, v in kwargs.items() if k != "auth"}
    expected = theirs.build_request("POST", "/api/x", **body)  # type: ignore[arg-type]
    auth = kwargs.get("auth", ("admin", "pw"))
    expected = next(httpx.BasicAuth(*auth).auth_flow(expected))  # type: ignore[misc]
    assert built.url == expected.url
    assert sorted(built.headers.multi_items()) == sorted(expected.headers.multi_items())
    assert built.read() == expected.read()
    assert built.extensions["timeout"] == expected.extensions["timeout"]
