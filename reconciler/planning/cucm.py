"""Which Unified CM services must restart after which change (device-apis.md, one table).

The CUCM driver reads the same table to choose the transport (SOAP or the SSH CLI).
"""

from __future__ import annotations

# Trust store changed -> services to restart, in order. [C] except callmanager-trust [U].
TRUST_RESTARTS: dict[str, tuple[str, ...]] = {
    "tomcat-trust": ("Cisco Tomcat",),
    "callmanager-trust": ("Cisco CallManager", "Cisco TFTP", "Cisco HAProxy"),
    "capf-trust": ("Cisco Certificate Authority Proxy Function",),
    "ipsec-trust": ("Cisco DRF Master", "Cisco DRF Local"),
}

# Identity certificate installed -> services to restart (release 14 and later).
IDENTITY_RESTARTS: dict[str, tuple[str, ...]] = {
    "tomcat": ("Cisco Tomcat",),
    "callmanager": ("Cisco HAProxy",),
}

# Restart order across a change touching several stores: Tomcat last (it takes minutes and
# only the SSH CLI can do it), the rest in table order.
SERVICE_ORDER: tuple[str, ...] = (
    "Cisco CallManager",
    "Cisco TFTP",
    "Cisco Certificate Authority Proxy Function",
    "Cisco DRF Master",
    "Cisco DRF Local",
    "Cisco HAProxy",
    "Cisco Tomcat",
)


def services_for(stores: set[str] | frozenset[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The services that a change to ``stores`` needs restarted, in a safe order."""
    wanted = {svc for store in stores for svc in TRUST_RESTARTS.get(store, ())}
    return tuple(s for s in SERVICE_ORDER if s in wanted)


def order_services(services: set[str] | tuple[str, ...]) -> tuple[str, ...]:
    known = [s for s in SERVICE_ORDER if s in services]
    return (*known, *sorted(set(services) - set(SERVICE_ORDER)))
