"""Drivers: the only code that talks to nodes (docs/architecture.md, Layers)."""

from reconciler.drivers.base import (
    Driver,
    Endpoint,
    MultiServerCsrGenerator,
    NodeDrainer,
    NodeRestarter,
    PendingCsrDiscarder,
    PendingCsrReader,
    RoleCertificates,
    ServiceRestarter,
    TrustRemover,
    handshake_certificate,
)
from reconciler.drivers.errors import (
    AuthError,
    BadResponse,
    ConfigError,
    Conflict,
    DriverError,
    NotFound,
    PermanentError,
    TemporaryError,
    Unparseable,
    Unreachable,
)
from reconciler.drivers.fleet import Inventory, load_inventory, make_drivers, read_all
from reconciler.drivers.http import HttpSettings, NodeHttp

__all__ = [
    "AuthError",
    "BadResponse",
    "ConfigError",
    "Conflict",
    "Driver",
    "DriverError",
    "Endpoint",
    "HttpSettings",
    "Inventory",
    "MultiServerCsrGenerator",
    "NodeDrainer",
    "NodeHttp",
    "NodeRestarter",
    "NotFound",
    "PendingCsrDiscarder",
    "PendingCsrReader",
    "PermanentError",
    "RoleCertificates",
    "ServiceRestarter",
    "TemporaryError",
    "TrustRemover",
    "Unparseable",
    "Unreachable",
    "handshake_certificate",
    "load_inventory",
    "make_drivers",
    "read_all",
]
