"""The VOS driver against emulated IM and Presence and Unity Connection nodes.

Reads return the kind's stores; a tomcat-trust upload marks the kind's services restart
pending; the restarts go over the SSH CLI only (SOAP on IM&P/CUC is [U]: the lab has none).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from drvhelpers import CM, MakeDriver, issuing_ca, sha256

from reconciler.drivers import PermanentError
from reconciler.drivers.cucm import VosCliDriver
from reconciler.kinds import kind_of
from reconciler.lab import LabThread, start_lab
from reconciler.lab.topology import Topology, TopologyDefaults, TopologyNode, load_topology
from reconciler.lab.vos_products import VOS_PRODUCTS

TOPOLOGY = Topology(
    defaults=TopologyDefaults(restart_seconds=0.1, builtin_cas=2, key="ec256"),
    nodes=[
        TopologyNode(name="imp1", type="imp", fqdn="imp1.nart.com", sans=["imp.nart.com"]),
        TopologyNode(name="cuc1", type="cuc", fqdn="cuc1.nart.com", trust_list_shape="list"),
    ],
)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabThread]:
    """Only the two new kinds (overrides the drivers' default lab)."""
    with start_lab(tmp_path / "lab", topology=TOPOLOGY, restart_seconds=0.1) as running:
        yield running


@pytest.mark.lab
@pytest.mark.parametrize("name", ["imp1", "cuc1"])
async def test_read_returns_the_kinds_stores(lab: LabThread, driver: MakeDriver,
                                             name: str) -> None:
    node = lab.node(name)
    kind = kind_of(node.state.type)
    lab.reset_counters()
    d = driver(name)
    live = await d.read()

    assert isinstance(d, VosCliDriver)
    assert live.error is None and live.type == kind.type
    assert list(live.stores) == list(kind.stores)
    assert sha256(live.server_certificate) == sha256(node.state.identities["tomcat"].cert_pem)
    assert len(live.stores["tomcat-trust"]) == 2 + 2  # built-ins + the lab root and CA
    # The lab's inventory declares each node's CLI (ssh): the pending CSRs are read there.
    assert set(live.capabilities) == set(d.capabilities) | {"csr.read"}
    assert kind.capabilities <= d.capabilities
    assert lab.counters(name)["GET"] == 1 and lab.counters(name)["non_get"] == 0
    assert lab.node(name).ssh_commands[:3] == [
        "set cli pagination off", "show version active", "show csr list own"]


@pytest.mark.lab
@pytest.mark.parametrize("name", ["imp1", "cuc1"])
async def test_trust_add_then_restarts_over_the_ssh_cli_only(lab: LabThread,
                                                            driver: MakeDriver,
                                                            name: str) -> None:
    kind = kind_of(lab.node(name).state.type)
    d = driver(name)
    new_ca = issuing_ca(lab, name)
    await d.trust_add("tomcat-trust", [new_ca])
    live = await d.read()
    assert sha256(new_ca) in {sha256(p) for p in live.stores["tomcat-trust"]}
    services = kind.services_after_trust(["tomcat-trust"])
    assert live.services_pending == ()  # never from the node: certops keeps its own record
    assert set(lab.node(name).state.restart_pending) == set(services)

    lab.reset_counters()
    lab.node(name).ssh_commands.clear()  # the reads' CLI session (version, pending CSRs)
    await d.restart_services(services)
    # The names are checked against the CLI's own list first.
    assert lab.node(name).ssh_commands == [
        "utils service list", *(f"utils service restart {s}" for s in services)]
    assert lab.counters(name) == {"GET": 0, "non_get": 0, "writes": 0, "total": 0,
                                  "SSH": 1 + len(services)}
    assert lab.node(name).state.restart_pending == []


@pytest.mark.lab
async def test_the_lab_has_no_soap_on_imp(lab: LabThread, driver: MakeDriver) -> None:
    d = driver("imp1")
    with pytest.raises(PermanentError, match="SOAP soapGetServiceStatus refused"):
        await d.service_status(["Cisco Tomcat"])
    with pytest.raises(PermanentError, match="service must be one of tomcat, cup, cup-xmpp"):
        await d.http.request("GET", CM + "/trust/certificate", params={"service": "callmanager"})


@pytest.mark.parametrize("node_type", ["imp", "cuc"])
def test_lab_restart_tables_are_the_kinds(node_type: str) -> None:
    product, kind = VOS_PRODUCTS[node_type], kind_of(node_type)
    assert [f"{s}-trust" for s in product.services] == list(kind.stores)
    for service in product.services:
        assert set(product.trust_restarts.get(service, ())) == set(
            kind.services_after_trust([f"{service}-trust"])), service
    assert product.identity_restarts("tomcat", product.version) == kind.after_install.services
    every = {s for store in kind.stores for s in kind.services_after_trust([store])}
    assert every | set(kind.after_install.services) <= set(product.cli_services)


def test_topology_file_accepts_imp_and_cuc(tmp_path: Path) -> None:
    path = tmp_path / "topology.yaml"
    path.write_text("nodes:\n  - {name: imp1, type: imp, links: [cuc1]}\n"
                    "  - {name: cuc1, type: cuc, version: 14.0.1.11900-3}\n")
    assert [n.type for n in load_topology(path).nodes] == ["imp", "cuc"]
