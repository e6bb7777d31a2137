"""Helpers shared by the lab tests: a small topology, verified HTTPS clients, handshakes."""

from __future__ import annotations

import hashlib
import socket
import ssl
from pathlib import Path
from typing import Any

import httpx

from reconciler.lab import LabThread
from reconciler.lab.topology import Topology, TopologyDefaults, TopologyNode


def small_topology() -> Topology:
    return Topology(
        defaults=TopologyDefaults(restart_seconds=0.2, builtin_cas=50, key="ec256"),
        nodes=[
            TopologyNode(name="expe1", type="expressway-e", fqdn="expe1.nart.com",
                         sans=["expe.nart.com", "join.nart.com"], links=["expc1"]),
            TopologyNode(name="expc1", type="expressway-c", fqdn="expc1.nart.com",
                         sans=["expc.nart.com"], links=["expe1", "cucm-pub"]),
            TopologyNode(name="vcs1", type="vcs", fqdn="vcs1.nart.com", version="X12.7"),
            TopologyNode(name="cucm-pub", type="cucm", fqdn="cucm-pub.nart.com",
                         links=["expc1"], trust_list_shape="wrapped"),
            TopologyNode(name="cucm-list", type="cucm", fqdn="cucm-list.nart.com",
                         trust_list_shape="list", version="14.0.1.11900-132"),
            TopologyNode(name="cucm-old", type="cucm", fqdn="cucm-old.nart.com",
                         version="12.5.1.16900-48"),
        ],
    )


class NodeClient:
    """HTTPS to one node, verifying its certificate against the lab bundle and its FQDN."""

    def __init__(self, lab: LabThread, name: str, auth: tuple[str, str] | None = None,
                 timeout: float = 10) -> None:
        node = lab.node(name)
        self.fqdn = node.state.fqdn
        self.url = lab.url(name)
        ctx = ssl.create_default_context(cafile=str(lab.lab.paths.ca_bundle))
        creds = auth if auth is not None else (node.username, node.password)
        self.http = httpx.Client(base_url=self.url, verify=ctx, auth=creds, timeout=timeout)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, extensions={"sni_hostname": self.fqdn}, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        if "files" in kw or "json" in kw or "data" in kw:
            kw.setdefault("headers", {})
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)


def served_sha256(lab: LabThread, name: str, cafile: Path | None = None) -> str:
    """SHA-256 of the DER certificate the node's HTTPS port presents (verified handshake)."""
    node = lab.node(name)
    ctx = ssl.create_default_context(cafile=str(cafile or lab.lab.paths.ca_bundle))
    port = lab.lab.listeners[name].port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=node.state.fqdn) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


def refused(lab: LabThread, name: str) -> bool:
    port = lab.lab.listeners[name].port
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


