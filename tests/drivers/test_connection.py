"""Issue 11 (d): the node file's ``connection:`` block over real TLS on the lab.

Pins authenticate a node before any byte of a request (and its Basic-auth header) is sent;
a CA file replaces the fleet's CAs for that node; the proxy comes from the environment only
on request; timeouts and the TLS name come from the node file.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import pytest
from drvhelpers import XP, MakeDriver

from reconciler.desired import load
from reconciler.drivers import ConfigError, PermanentError
from reconciler.drivers.fleet import Inventory, endpoint_for, proxy_for
from reconciler.lab import LabThread
from reconciler.pki import CertCache

pytestmark = pytest.mark.lab


def leaf_pin(lab: LabThread, name: str) -> str:
    """``sha256:<hex>`` of the certificate the node serves (what doctor prints)."""
    der = ssl.PEM_cert_to_DER_cert(lab.node(name).state.served.cert_pem)
    return "sha256:" + hashlib.sha256(der).hexdigest()


async def test_a_matching_pin_authenticates_without_any_ca(lab: LabThread,
                                                           driver: MakeDriver) -> None:
    live = await driver("expe1", cas=False, api_pins=("sha256:" + "0" * 64,
                                                      leaf_pin(lab, "expe1"))).read()
    assert live.error is None and live.version == "X15.0.2"


async def test_a_wrong_pin_sends_nothing(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("expe1", api_pins=("sha256:" + "ab" * 32,))  # the CA would verify it: pins win
    lab.reset_counters()
    with pytest.raises(PermanentError) as err:
        await d.http.request("GET", f"{XP}/sysinfo")
    assert "matches no api_pins" in str(err.value)
    assert lab.counters("expe1")["total"] == 0  # the credentials never left


async def test_ca_file_replaces_the_fleet_cas(lab: LabThread, driver: MakeDriver) -> None:
    bundle = lab.lab.paths.ca_bundle.read_bytes()
    live = await driver("expe1", cas=False, api_ca_pems=(bundle,)).read()
    assert live.error is None
    other = lab.node("expe1").pki.issuing["new"].cert  # a CA that did not issue expe1's cert
    from reconciler.lab.ca import cert_pem

    d = driver("expe1", api_ca_pems=(cert_pem(other).encode(),))  # fleet CAs not used
    with pytest.raises(PermanentError, match="TLS verification failed"):
        await d.http.request("GET", f"{XP}/sysinfo")


def node_file(root: Path, body: str) -> Path:
    (root / "nodes").mkdir(parents=True)
    (root / "cas").mkdir()
    (root / "certops.yaml").write_text("links: []\n")
    (root / "nodes" / "expe1.yaml").write_text(
        "name: expe1\ntype: expressway-e\napi: https://192.0.2.10:8443\n"
        "credentials: {username_env: U, password_env: P}\n" + body)
    return root


def test_connection_block_reaches_the_endpoint(tmp_path: Path) -> None:
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb0"
    pin = "sha256:" + "c" * 64
    root = node_file(tmp_path / "d", (
        "connection:\n  tls_server_name: 192.0.2.10\n"
        f"  api_pins: ['{pin}']\n  ssh_port: 2222\n  ssh_host_key: {key}\n"
        "  proxy: environment\n  connect_timeout: 3\n  read_timeout: 30\n"))
    result = load(root, CertCache())
    assert not [f for f in result.findings if f.severity.value == "error"], result.findings
    desired = result.desired
    assert desired is not None
    node = desired.node("expe1")
    assert node is not None
    env = {"U": "admin", "P": "pw", "HTTPS_PROXY": "http://proxy.corp:3128"}
    ep = endpoint_for(node, Inventory(), env, desired.files)
    assert (ep.tls_server_name, ep.api_pins, ep.ssh_port, ep.ssh_host_key) == (
        "192.0.2.10", (pin,), 2222, key)
    assert (ep.proxy, ep.connect_timeout, ep.read_timeout) == ("http://proxy.corp:3128", 3, 30)
    assert "proxy" not in repr(ep)


def test_a_tls_name_other_than_the_urls_host_is_refused_through_a_proxy(tmp_path: Path) -> None:
    root = node_file(tmp_path / "d", "connection:\n  tls_server_name: expe1.nart.com\n"
                     "  proxy: environment\n")
    desired = load(root, CertCache()).desired
    assert desired is not None
    node = desired.node("expe1")
    assert node is not None
    env = {"U": "admin", "P": "pw", "HTTPS_PROXY": "http://proxy.corp:3128"}
    with pytest.raises(ConfigError, match=r"expe1\.yaml: expe1: connection\.tls_server_name"):
        endpoint_for(node, Inventory(), env, desired.files)
    ep = endpoint_for(node, Inventory(), {**env, "NO_PROXY": "192.0.2.10"}, desired.files)
    assert ep.proxy is None and ep.tls_server_name == "expe1.nart.com"  # no proxy: fine


def test_proxy_only_on_request_and_no_proxy_honoured() -> None:
    env = {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "corp.example,.lab"}
    assert proxy_for("https://expe1.nart.com", env) == "http://p:1"
    assert proxy_for("https://expe1.corp.example", env) is None
    assert proxy_for("https://x.lab", env) is None


def test_bad_connection_values_are_schema_errors(tmp_path: Path) -> None:
    root = node_file(tmp_path / "d", "connection:\n  api_pins: [deadbeef]\n  ssh_port: 0\n")
    findings = load(root, CertCache()).findings
    assert sum(f.code == "input.schema" for f in findings) >= 2
