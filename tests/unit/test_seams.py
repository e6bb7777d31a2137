"""The driver seam: drivers made with a DriverFactory use its transport, probe and CLI runner.

Made with the default factory they use the network; made with the in-process lab's they
reach the emulated nodes and nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from unitkit import FAST, plan, ready_to_install

from reconciler.apply.steps import STEPS, StepContext
from reconciler.drivers import Endpoint, HttpSettings, PermanentError, Unreachable
from reconciler.drivers.cucm import CucmDriver
from reconciler.drivers.cucm_cli import cli_result
from reconciler.drivers.fleet import endpoint_from_inventory, make_driver, make_drivers
from reconciler.drivers.seams import DriverFactory, Probe
from reconciler.lab.inprocess import FAST_HTTP, InProcessLab


async def test_default_factory_uses_the_network() -> None:
    """No factory: no transport injected, and the served certificate is a real handshake."""
    ep = Endpoint("n1", "expressway-e", "https://127.0.0.1:9", "admin", "x")  # port 9: closed
    driver = make_driver(ep, [], HttpSettings(connect_timeout=1.0))
    try:
        assert driver.http.transport is None  # type: ignore[attr-defined]
        with pytest.raises(Unreachable, match="TLS handshake on port 9"):
            await driver.served_certificate()
    finally:
        await driver.aclose()


async def test_injected_drivers_read_the_lab(lab: InProcessLab, desired: Path) -> None:
    run, drivers = await plan(lab, desired)
    assert set(run.live) == set(lab.nodes) and not any(n.error for n in run.live.values())
    for name, node in lab.nodes.items():
        assert lab.counters(name)["GET"] > 0
        assert run.live[name].served_certificate == node.state.served.cert_pem
        assert await drivers[name].served_certificate() == node.state.served.cert_pem


async def test_make_drivers_takes_the_factory(lab: InProcessLab, desired: Path) -> None:
    """``make_drivers`` unchanged but for the factory: the lab's inventory is enough."""
    fleet_desired = (await plan(lab, desired))[0].fleet.desired
    drivers = make_drivers(fleet_desired, ["expe1"], lab.inventory, {}, factory=lab.factory)
    try:
        live = await drivers["expe1"].read()
        server = lab.nodes["expe1"].state.server
        assert server is not None and live.server_certificate == server.cert_pem
    finally:
        await drivers["expe1"].aclose()


async def test_a_node_that_is_down_is_unreachable(lab: InProcessLab, desired: Path) -> None:
    _, drivers = await plan(lab, desired)
    lab.nodes["expc1"].down = True
    with pytest.raises(Unreachable, match="refused"):
        await drivers["expc1"].read()
    with pytest.raises(Unreachable):
        await drivers["expc1"].served_certificate()
    lab.nodes["expc1"].down = False
    assert (await drivers["expc1"].read()).name == "expc1"


async def test_tomcat_restarts_through_the_cli_runner(lab: InProcessLab, desired: Path) -> None:
    await ready_to_install(lab, desired)
    node = lab.nodes["cucm-pub"]
    # what a Tomcat restart will start serving: another of the node's certificates
    node.state.identities["tomcat"] = node.state.identities["callmanager"].model_copy()
    changed = node.state.identities["callmanager"].cert_pem
    assert node.state.served.cert_pem != changed
    _, drivers = await plan(lab, desired)
    driver = drivers["cucm-pub"]
    assert isinstance(driver, CucmDriver)
    await driver.restart_services(["Cisco Tomcat"])
    assert node.ssh_commands == ["utils service restart Cisco Tomcat"]
    assert node.state.served.cert_pem == changed and not node.down


async def test_a_refused_cli_command_is_a_permanent_error(lab: InProcessLab) -> None:
    endpoint = endpoint_from_inventory("cucm-pub", lab.inventory)
    command = "utils service restart Cisco Nothing"
    output = await lab.clis["cucm-pub"](command, 1.0)
    assert "Executed command unsuccessfully" in output
    with pytest.raises(PermanentError, match=r"SSH CLI: no \[STARTED\]"):
        cli_result(endpoint, command, output)


async def test_restart_steps_look_through_the_driver_probe(
    lab: InProcessLab, desired: Path
) -> None:
    """``node.restart`` waits on the driver's probe, whatever the endpoint's URL says."""
    await ready_to_install(lab, desired)
    looks: list[str] = []

    def probe_for(name: str) -> Probe | None:
        inner = lab.probes[name]

        async def probe() -> str | None:
            looks.append(name)
            return await inner()

        return probe

    factory = DriverFactory(transport_for=lab.transports.get, probe_for=probe_for,
                            cli_for=lab.clis.get)
    run, _ = await plan(lab, desired)
    drivers = make_drivers(run.fleet.desired, sorted(lab.nodes), lab.inventory, {}, FAST_HTTP,
                           factory)
    for driver in drivers.values():
        if isinstance(driver, CucmDriver):
            driver.poll_seconds = 0.01
    try:
        ctx = StepContext(plan=run.plan, fleet=run.fleet, drivers=drivers,
                          desired_root=desired, timing=FAST)
        looks.clear()
        for action in run.plan.actions:
            await STEPS[action.kind](ctx, action)
    finally:
        for d in drivers.values():
            await d.aclose()
    restarted = {a.node for a in run.plan.actions if a.kind == "node.restart"}
    assert restarted and restarted <= set(looks)
