"""Reading a fleet concurrently, building endpoints from an inventory, keeping secrets secret."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from drvhelpers import MakeDriver, sha256, stranger_cert

from reconciler.drivers import ConfigError, DriverError, Endpoint, HttpSettings, read_all
from reconciler.drivers.fleet import Inventory, endpoint_from_inventory, load_inventory
from reconciler.lab import Fault, LabThread

pytestmark = pytest.mark.lab


class Tracked:
    """A driver wrapper that records how many reads run at the same time."""

    running = 0
    peak = 0

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.endpoint = inner.endpoint
        self.capabilities = inner.capabilities

    async def read(self) -> Any:
        Tracked.running += 1
        Tracked.peak = max(Tracked.peak, Tracked.running)
        try:
            return await self.inner.read()
        finally:
            Tracked.running -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_read_all_bounded_and_one_failure_isolated(lab: LabThread,
                                                         driver: MakeDriver) -> None:
    names = ["cucm-list", "cucm-old", "cucm-pub", "expc1", "expe1"]
    for name in names:  # slow enough that reads overlap
        lab.set_fault(name, Fault(match="*", latency_ms=80))
    lab.set_fault("expc1", Fault(match="sysinfo", drop=True))
    Tracked.running = Tracked.peak = 0
    drivers = {n: Tracked(driver(n)) for n in names}

    live = await read_all(drivers, parallelism=2)

    assert list(live) == names
    assert Tracked.peak == 2
    bad = live["expc1"]
    assert bad.name == "expc1" and bad.type == "expressway-c" and bad.reachable is False
    assert bad.error is not None
    assert bad.error.startswith("GET /api/provisioning/sysinfo: connection failed")
    assert bad.server_certificate is None and bad.stores == {}
    for name in ["cucm-list", "cucm-pub", "expe1"]:
        assert live[name].error is None and len(live[name].stores) >= 1, name
        assert sha256(live[name].served_certificate) == sha256(
            lab.node(name).state.served.cert_pem)
    # 12.5: no REST API, so the platform CLI read it (issue 23), one SSH session.
    old = live["cucm-old"]
    assert old.error is None and old.transport == "cli" and len(old.stores) == 4


def test_endpoint_repr_hides_the_password(inventory: Inventory, password: str) -> None:
    ep = endpoint_from_inventory("cucm-pub", inventory)
    assert ep.password == password and ep.username == "admin"
    assert ep.tls_server_name == "cucm-pub.nart.com" and ep.ssh_port and ep.ssh_host_key
    assert password not in repr(ep) and password not in str(ep)
    assert repr(ep).startswith("Endpoint('cucm-pub', 'cucm', 'https://127.0.0.1:")


def test_endpoint_from_inventory_refuses_incomplete_entries(tmp_path: Path) -> None:
    inv = tmp_path / "inventory.yaml"
    inv.write_text("nodes:\n  a: {api: 'https://a.example.com', type: cucm}\n")
    with pytest.raises(ConfigError, match="needs a username and a password"):
        endpoint_from_inventory("a", load_inventory(inv))
    with pytest.raises(ConfigError, match="no node named 'b'"):
        endpoint_from_inventory("b", load_inventory(inv))


async def test_no_error_or_repr_shows_credentials(lab: LabThread, driver: MakeDriver,
                                                  password: str) -> None:
    """Provoke every kind of failure; the password shows up in none of them."""
    failures: list[BaseException] = []

    async def expect_failure(coro: Any) -> None:
        try:
            await coro
        except (DriverError, ConfigError) as exc:
            failures.append(exc)
        else:
            raise AssertionError("expected a failure")

    fast = HttpSettings(retries=0, backoff=0.01, read_timeout=0.3, connect_timeout=1)
    xp = driver("expe1", settings=fast)
    cm = driver("cucm-pub", settings=fast)
    lab.set_fault("expe1", Fault(match="sysinfo", status=503, count=1))
    await expect_failure(xp.read())
    lab.set_fault("expe1", Fault(match="cert.read", drop=True, count=1))
    await expect_failure(xp.read())
    lab.set_fault("expe1", Fault(match="trust.read", slow_seconds=1, count=1))
    await expect_failure(xp.read())
    lab.set_fault("expe1", Fault(match="sysinfo", malformed_json=True, count=1))
    await expect_failure(xp.read())
    await expect_failure(xp.cert_install(stranger_cert(lab, "expe1"), []))
    await expect_failure(driver("expe1", cas=False).read())
    await expect_failure(driver("expe1", password=password + "x").read())
    await expect_failure(driver("expe1", username="nobody").read())
    await expect_failure(cm.restart_services(("No Such Service",)))
    await expect_failure(driver("cucm-pub", password=password + "x").restart_services(
        ("Cisco Tomcat",)))
    other = asyncssh.generate_private_key("ecdsa-sha2-nistp256").export_public_key("openssh")
    await expect_failure(driver("cucm-pub", ssh_host_key=other.decode().strip())
                         .restart_services(("Cisco Tomcat",)))
    await expect_failure(driver("cucm-pub", ssh_port=1).restart_services(("Cisco Tomcat",)))
    await expect_failure(driver("cucm-pub", password=None).restart_services(("Cisco Tomcat",)))

    assert len(failures) == 13
    assert len({type(f) for f in failures}) >= 6  # really different failures
    for exc in failures:
        for text in (str(exc), repr(exc), repr(exc.args), repr(vars(exc))):
            assert password not in text, text
    for d in (xp, cm):
        for text in (repr(d.endpoint), repr(d.http), repr(vars(d))):
            assert password not in text, text
    await asyncio.sleep(0)


def test_inventory_entry_carries_the_type(inventory: Inventory) -> None:
    assert {n: e.type for n, e in inventory.nodes.items()} == {
        "expe1": "expressway-e", "expc1": "expressway-c", "cucm-pub": "cucm",
        "cucm-list": "cucm", "cucm-old": "cucm"}
    ep = endpoint_from_inventory("expe1", inventory)
    assert isinstance(ep, Endpoint) and ep.ssh_port is None and ep.ssh_host_key is None


def test_an_inventory_reads_as_ruamels_safe_loader_reads_it(tmp_path: Path) -> None:
    from ruamel.yaml import YAML

    from reconciler.desired.yamlsource import safe_load

    text = ("nodes:\n  a:\n    api: https://a\n    ssh: 2222\n    flags: [yes, no, on, 0o17, 1e3,"
            " 2026-12-06, ~, '007']\n    password: 'p: w'\n")
    assert safe_load(text) == YAML(typ="safe").load(text)
    bad = tmp_path / "inventory.yaml"
    bad.write_text("nodes:\n  a: [unclosed\n")
    with pytest.raises(ConfigError, match=f"{bad}: not valid YAML"):
        load_inventory(bad)
