"""How certops authenticates each node's API, for the planner's lock-out check (issue 11 c).

The anchors are what the drivers verify with: the node's pins, or its ``connection.ca_file``,
or every CA of ``cas/`` plus the inventory's bundles and the system store's CA file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from reconciler.drivers.tlsrecovery import system_ca_bundle
from reconciler.model import Desired
from reconciler.pki import CertCache, CertInfo, PkiError
from reconciler.planning.lockout import ApiTrust

if TYPE_CHECKING:
    from reconciler.drivers import Driver, Inventory


def _certs(pems: list[bytes], cache: CertCache) -> tuple[CertInfo, ...]:
    out: list[CertInfo] = []
    for pem in pems:
        try:
            out.extend(c for c in cache.parse_text(pem.decode(errors="replace")) if c.is_ca)
        except PkiError:
            continue
    return tuple(out)


def api_trust_of(drivers: Mapping[str, Driver], desired: Desired, inventory: Inventory,
                 cache: CertCache) -> dict[str, ApiTrust]:
    """Per node, the name, anchors and pins its API is verified with."""
    from reconciler.drivers.fleet import fleet_ca_pems

    fleet = _certs([*fleet_ca_pems(desired, inventory), system_ca_bundle()], cache)
    out: dict[str, ApiTrust] = {}
    for name, driver in drivers.items():
        ep = driver.endpoint
        own = _certs(list(ep.api_ca_pems), cache) if ep.api_ca_pems else ()
        out[name] = ApiTrust(
            server_name=ep.tls_server_name or ep.host, anchors=own or fleet, pins=ep.api_pins,
            verify=ep.tls_verify,
            anchors_from="its connection.ca_file" if own else "cas/ and the system store",
        )
    return out
