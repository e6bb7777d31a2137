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

DriverClass = Callable[[Endpoint, NodeHttp], Driver]

DRIVERS: dict[str, DriverClass] = {
    "expressway-c": ExpresswayDriver,
    "expressway-e": ExpresswayDriver,
    "vcs": ExpresswayDriver,
    "cucm": CucmDriver,
    "imp": VosCliDriver,
    "cuc": VosCliDriver,
}


def driver_class(node_type: str) -> DriverClass:
    """The driver for ``node_type``; ConfigError for a kind without one."""
    try:
        return DRIVERS[node_type]
    except KeyError:
        raise ConfigError(f"no driver for node type {node_type!r}") from None
