"""Which driver speaks to which device kind: the drivers' side of ``reconciler.kinds``.

One line per kind. Kinds that share a platform share a driver (the VOS products speak the
same Certificate Management REST API, SOAP service control and SSH CLI).
"""

from __future__ import annotations

from collections.abc import Callable

from reconciler.drivers.base import Driver, Endpoint
from reconciler.drivers.cucm import CucmDriver, VosCliDriver
from reconciler.drivers.errors import ConfigError
from reconciler.drivers.expressway import ExpresswayDriver
from reconciler.drivers.http import NodeHttp
from reconciler.drivers.seams import DriverFactory

# A driver from its endpoint, its HTTP client and what replaces the network (tests).
DriverBuilder = Callable[[Endpoint, NodeHttp, DriverFactory], Driver]


def expressway(endpoint: Endpoint, http: NodeHttp, factory: DriverFactory) -> Driver:
    return ExpresswayDriver(endpoint, http, probe=factory.probe_for(endpoint.name))


def vos(endpoint: Endpoint, http: NodeHttp, factory: DriverFactory) -> Driver:
    name = endpoint.name
    return CucmDriver(endpoint, http, probe=factory.probe_for(name), cli=factory.cli_for(name),
                      shell=factory.shell_for(name), poll_seconds=http.settings.poll,
                      restart_timeout=http.settings.restart_timeout)


def vos_cli(endpoint: Endpoint, http: NodeHttp, factory: DriverFactory) -> Driver:
    """A VOS product whose services restart over the SSH CLI only (SOAP there is [U])."""
    name = endpoint.name
    return VosCliDriver(endpoint, http, probe=factory.probe_for(name), cli=factory.cli_for(name),
                        shell=factory.shell_for(name), poll_seconds=http.settings.poll,
                        restart_timeout=http.settings.restart_timeout)


DRIVERS: dict[str, DriverBuilder] = {
    "expressway-c": expressway,
    "expressway-e": expressway,
    "vcs": expressway,
    "cucm": vos,
    "imp": vos_cli,
    "cuc": vos_cli,
}


def driver_builder(node_type: str) -> DriverBuilder:
    """The driver builder for ``node_type``; ConfigError for a kind without one."""
    try:
        return DRIVERS[node_type]
    except KeyError:
        raise ConfigError(f"no driver for node type {node_type!r}") from None
