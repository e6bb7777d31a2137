"""From the desired state to connected drivers, and reading every node's live state.

Endpoints come from the node files; ``--inventory`` (e.g. the lab's ``inventory.yaml``)
points node names at other URLs and may carry credentials; environment variables named in
the node file always win. A missing credential is an error before any request is sent.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from reconciler.drivers.base import Driver, Endpoint, gather_or_cancel
from reconciler.drivers.errors import ConfigError, DriverError, Unparseable
from reconciler.drivers.http import (
    HttpSettings,
    NodeHttp,
    only_these_cas,
    pinned_context,
    tls_context,
)
from reconciler.drivers.registry import driver_builder
from reconciler.drivers.seams import NETWORK, DriverFactory
from reconciler.drivers.tlsrecovery import ApiRecovery, system_ca_bundle
from reconciler.kinds.vos import VosNodeSpec
from reconciler.model import (
    CredentialsSpec,
    Desired,
    DesiredNode,
    ExpiredApiCertificate,
    LiveNode,
    PemFile,
)
from reconciler.model.layout import CAS_DIR, cert_path
from reconciler.pki.apirecovery import pin_of

if TYPE_CHECKING:
    from reconciler.drivers.workers import ReadPool


@dataclass(frozen=True)
class InventoryEntry:
    api: str
    type: str | None = None
    username: str | None = None
    password: str | None = None
    ssh_port: int | None = None
    ssh_host_key: str | None = None
    tls_server_name: str | None = None
    links: tuple[str, ...] = ()
    app_username: str | None = None  # VOS: the application user (SOAP); username: OS admin
    app_password: str | None = None


@dataclass(frozen=True)
class Inventory:
    """Node name -> where to reach it; plus CA bundles to trust for TLS."""

    nodes: dict[str, InventoryEntry] = field(default_factory=dict)
    ca_pems: tuple[bytes, ...] = ()


def load_inventory(path: Path) -> Inventory:
    """Read an inventory file (the lab writes one): ``ca_bundle`` (or a ``ca_bundles`` list),
    and ``nodes: {name: {api, username, password, tls_server_name, ssh, ssh_host_key,
    app_username, app_password}}`` (the last two: a VOS node's application user, for SOAP)."""
    from ruamel.yaml.error import YAMLError

    from reconciler.desired.yamlsource import safe_load

    try:
        data = safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the inventory: {exc.strerror}") from None
    except YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), dict):
        raise ConfigError(f"{path}: expected a mapping with a 'nodes' mapping of node name -> "
                          "{api: URL, username, password}")
    nodes: dict[str, InventoryEntry] = {}
    for name, entry in data["nodes"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("api"), str):
            raise ConfigError(f"{path}: node {name!r} needs an 'api' URL")
        nodes[str(name)] = InventoryEntry(
            api=entry["api"],
            type=_opt_str(entry.get("type")),
            username=_opt_str(entry.get("username")),
            password=_opt_str(entry.get("password")),
            ssh_port=int(entry.get("ssh") or entry.get("ssh_port") or 0) or None,
            ssh_host_key=_opt_str(entry.get("ssh_host_key")),
            tls_server_name=_opt_str(entry.get("tls_server_name")),
            links=tuple(str(x) for x in entry.get("links") or ()),
            app_username=_opt_str(entry.get("app_username")),
            app_password=_opt_str(entry.get("app_password")),
        )
    cas: list[bytes] = []
    bundles = list(data.get("ca_bundles", []) or [])
    if data.get("ca_bundle"):
        bundles.append(data["ca_bundle"])
    for ref in bundles:
        ca_path = (path.parent / str(ref)).resolve()
        try:
            cas.append(ca_path.read_bytes())
        except OSError as exc:
            raise ConfigError(f"{path}: CA bundle {ref}: {exc.strerror}") from None
    return Inventory(nodes=nodes, ca_pems=tuple(cas))


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def endpoint_for(node: DesiredNode, inventory: Inventory, env: Mapping[str, str],
                 files: Mapping[str, PemFile] | None = None) -> Endpoint:
    """Where and as whom to reach ``node``. Raises ConfigError naming the missing variable.

    The node file's ``connection:`` block gives the TLS name, the CA file or pins, SSH, the
    proxy and timeouts; an inventory entry (the lab's) overrides the URL, name and SSH."""
    spec = node.spec
    inv = inventory.nodes.get(spec.name)
    username, password = _pair(spec.credentials, env, inv.username if inv else None,
                               inv.password if inv else None)
    if not username or not password:
        names = (f"{spec.credentials.username_env} and {spec.credentials.password_env}"
                 if spec.credentials
                 else "credentials (username_env/password_env in the node file)")
        raise ConfigError(f"{node.file}: {spec.name}: set {names} in the environment "
                          "(or pass an --inventory that holds them)")
    # The application user (VOS) is needed by SOAP service control only, so plan and drift
    # run without it (their CI jobs hold read-only secrets); the driver refuses a SOAP call
    # without it, naming app_credentials, and never falls back to the OS administrator.
    app = spec.app_credentials if isinstance(spec, VosNodeSpec) else None
    app_user, app_password = _pair(app, env, inv.app_username if inv else None,
                                   inv.app_password if inv else None)
    conn = spec.connection
    api = (inv.api if inv else spec.api).rstrip("/")
    proxy = proxy_for(api, env) if conn.proxy == "environment" else None
    tls_name = (inv.tls_server_name if inv else None) or conn.tls_server_name
    if proxy and tls_name and tls_name.lower() != (urlsplit(api).hostname or "").lower():
        # httpcore's CONNECT tunnel sends and verifies the URL's host as the TLS name.
        raise ConfigError(f"{node.file}: {spec.name}: connection.tls_server_name "
                          f"({tls_name}) cannot be used through a proxy, which verifies the "
                          "api URL's host: put the certificate's name in api, or set "
                          "connection.proxy: none")
    return Endpoint(
        name=spec.name, type=spec.type, api=api,
        username=username, password=password, tls_verify=spec.tls_verify,
        ssh_port=(inv.ssh_port if inv else None) or conn.ssh_port,
        ssh_host_key=(inv.ssh_host_key if inv else None) or conn.ssh_host_key,
        tls_server_name=tls_name,
        api_ca_pems=_ca_file(node, files), api_pins=conn.api_pins,
        recovery_pins=recovery_pins_of(node, files),
        proxy=proxy,
        connect_timeout=conn.connect_timeout, read_timeout=conn.read_timeout,
        app_username=app_user, app_password=app_password,
        transport=_transport(node),
    )


def recovery_pins_of(node: DesiredNode,
                     files: Mapping[str, PemFile] | None) -> tuple[tuple[str, str], ...]:
    """The expired API certificates certops may use for ``node`` (drivers/tlsrecovery.py),
    each with the committed record that pins it: the leaf of its certificate file and of
    ``certs/<node>.pem`` (what apply writes when it installs an issued certificate), and
    ``connection.recovery_pins``. With ``--connection-from`` these come from the base."""
    out: dict[str, str] = {}
    cert = node.spec.server_certificate
    refs = [node.resolve(cert.file)] if cert is not None and cert.file else []
    for rel in dict.fromkeys([*refs, cert_path(node.name)]):
        found = (files or {}).get(rel)
        leaf = _leaf_der(found.data) if found is not None else None
        if leaf is not None:
            out.setdefault(pin_of(leaf), rel)
    for pin in node.spec.connection.recovery_pins:
        out.setdefault(pin.lower(), f"{node.file}: connection.recovery_pins")
    return tuple(out.items())


def _leaf_der(data: bytes) -> bytes | None:
    """The first non-CA certificate of a PEM file (DER), or None."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        return None
    for cert in certs:
        try:
            ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            ca = False
        if not ca:
            return cert.public_bytes(Encoding.DER)
    return None


def _transport(node: DesiredNode) -> str:
    """``connection.transport``; ConfigError when set on a kind without a CLI transport."""
    chosen = node.spec.connection.transport
    if chosen != "auto" and not isinstance(node.spec, VosNodeSpec):
        raise ConfigError(f"{node.file}: {node.name}: connection.transport {chosen!r} is for "
                          "VOS nodes only (Unified CM, IM and Presence, Unity Connection): "
                          "remove it")
    return chosen


def _ca_file(node: DesiredNode, files: Mapping[str, PemFile] | None) -> tuple[bytes, ...]:
    """The node's ``connection.ca_file`` content, or () when it has none."""
    ref = node.spec.connection.ca_file
    if ref is None:
        return ()
    rel = node.resolve(ref)
    found = (files or {}).get(rel)
    if found is None:
        raise ConfigError(f"{node.file}: {node.name}: connection.ca_file {ref} ({rel}) was not "
                          "loaded: keep it under cas/")
    return (found.data,)


def proxy_for(api: str, env: Mapping[str, str]) -> str | None:
    """HTTPS_PROXY (or https_proxy) from ``env`` unless NO_PROXY names the API's host."""
    host = (urlsplit(api).hostname or "").lower()
    no_proxy = env.get("NO_PROXY", env.get("no_proxy", ""))
    for entry in (e.strip().lower().lstrip(".") for e in no_proxy.split(",")):
        if entry and (entry == "*" or host == entry or host.endswith("." + entry)):
            return None
    scheme = urlsplit(api).scheme
    names = ("HTTPS_PROXY", "https_proxy") if scheme == "https" else ("HTTP_PROXY", "http_proxy")
    return next((env[n] for n in names if env.get(n)), None)


def _pair(names: CredentialsSpec | None, env: Mapping[str, str], inv_user: str | None,
          inv_password: str | None) -> tuple[str | None, str | None]:
    """A username and password: the environment variables named, else the inventory's."""
    user = env.get(names.username_env) if names else None
    password = env.get(names.password_env) if names else None
    return user or inv_user, password or inv_password


def endpoint_from_inventory(name: str, inventory: Inventory, *,
                            tls_verify: bool = True) -> Endpoint:
    """An Endpoint straight from an inventory entry (the lab's ``inventory.yaml``), without a
    node file: for tests and lab tools. Raises ConfigError when the entry lacks what is needed."""
    inv = inventory.nodes.get(name)
    if inv is None:
        raise ConfigError(f"no node named {name!r} in the inventory")
    if not inv.type:
        raise ConfigError(f"inventory: node {name!r} needs a 'type'")
    if not inv.username or not inv.password:
        raise ConfigError(f"inventory: node {name!r} needs a username and a password")
    return Endpoint(
        name=name, type=inv.type, api=inv.api.rstrip("/"), username=inv.username,
        password=inv.password, tls_verify=tls_verify, ssh_port=inv.ssh_port,
        ssh_host_key=inv.ssh_host_key, tls_server_name=inv.tls_server_name,
        app_username=inv.app_username, app_password=inv.app_password,
    )


def fleet_ca_pems(desired: Desired, inventory: Inventory) -> list[bytes]:
    """The CAs that node API certificates are verified against (besides the system store)."""
    return ca_pems_of(desired.files, inventory)


def ca_pems_of(files: Mapping[str, PemFile], inventory: Inventory) -> list[bytes]:
    """``fleet_ca_pems`` from the desired state's PEM files (``cas/``) and the inventory."""
    pems = [f.data for path, f in sorted(files.items()) if path.startswith(f"{CAS_DIR}/")]
    return [*pems, *inventory.ca_pems]


def api_tls(endpoint: Endpoint, ca_pems: list[bytes]) -> ssl.SSLContext:
    """How the node's API is authenticated: its pins, its own CA file, or the fleet's CAs
    (``cas/``, the inventory's bundles) plus the system store; nothing with tls_verify off."""
    if not endpoint.tls_verify:
        return tls_context([], verify=False)
    if endpoint.api_pins:
        return pinned_context(endpoint.api_pins)
    if endpoint.api_ca_pems:
        return only_these_cas(endpoint.api_ca_pems)
    return tls_context(ca_pems, verify=True)


def api_recovery(endpoint: Endpoint, ca_pems: list[bytes],
                 normal: ssl.SSLContext) -> ApiRecovery | None:
    """The pinned way in once the node's certificate has expired, with the same anchors as
    ``normal`` (its CA file, or the fleet's CAs and the system store); None where validity is
    not checked anyway (tls_verify off, api_pins)."""
    if not endpoint.tls_verify or endpoint.api_pins:
        return None
    anchors = endpoint.api_ca_pems or (*ca_pems, system_ca_bundle())
    return ApiRecovery(node=endpoint.name, pins=dict(endpoint.recovery_pins),
                       anchor_pems=tuple(anchors),
                       server_name=endpoint.tls_server_name or endpoint.host, normal=normal)


def node_settings(endpoint: Endpoint, settings: HttpSettings) -> HttpSettings:
    """``settings`` with the node's own timeouts (``connection:``), where it sets them."""
    if endpoint.connect_timeout is not None:
        settings = replace(settings, connect_timeout=endpoint.connect_timeout)
    if endpoint.read_timeout is not None:
        settings = replace(settings, read_timeout=endpoint.read_timeout)
    return settings


# How to build each network driver again in a worker process (reconciler.drivers.workers).
Recipe = tuple[Endpoint, list[bytes], HttpSettings]
RECIPES: weakref.WeakKeyDictionary[Any, Recipe] = weakref.WeakKeyDictionary()


def make_driver(endpoint: Endpoint, ca_pems: list[bytes], settings: HttpSettings,
                factory: DriverFactory = NETWORK) -> Driver:
    """The driver of one node; ``factory`` may replace its transport, TLS probe and CLI."""
    name = endpoint.name
    verify = api_tls(endpoint, ca_pems)
    http = NodeHttp(node=name, base_url=endpoint.api,
                    auth=(endpoint.username or "", endpoint.password or ""),
                    verify=verify, settings=node_settings(endpoint, settings),
                    server_name=endpoint.tls_server_name, transport=factory.transport_for(name),
                    proxy=endpoint.proxy, recovery=api_recovery(endpoint, ca_pems, verify))
    driver = driver_builder(endpoint.type)(endpoint, http, factory)
    if factory is NETWORK:
        RECIPES[driver] = (endpoint, ca_pems, settings)
    return driver


def make_drivers(desired: Desired, names: list[str], inventory: Inventory,
                 env: Mapping[str, str], settings: HttpSettings | None = None,
                 factory: DriverFactory = NETWORK) -> dict[str, Driver]:
    """Drivers for ``names``; every configuration problem is raised before any request."""
    endpoints = endpoints_for(desired, names, inventory, env)
    cas = fleet_ca_pems(desired, inventory)
    return {n: make_driver(e, cas, settings or HttpSettings(), factory)
            for n, e in endpoints.items()}


def endpoints_for(desired: Desired, names: list[str], inventory: Inventory,
                  env: Mapping[str, str]) -> dict[str, Endpoint]:
    """The endpoint of each of ``names``; every problem raised at once (one ConfigError)."""
    problems: list[str] = []
    endpoints: dict[str, Endpoint] = {}
    for name in names:
        node = desired.node(name)
        if node is None:
            problems.append(f"no node named {name!r} in the desired state")
            continue
        try:
            endpoints[name] = endpoint_for(node, inventory, env, desired.files)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("; ".join(problems))
    return endpoints


async def read_all(drivers: Mapping[str, Driver], parallelism: int = 16,
                   pool: ReadPool | None = None) -> dict[str, LiveNode]:
    """Read every node concurrently (bounded); a node that fails becomes a LiveNode with error.

    At most ``parallelism`` nodes are read at once in all; with a ``pool`` (worker
    processes, reconciler.drivers.workers) a share of them is read in each worker."""
    if pool is not None:
        return await pool.read(drivers, parallelism)
    return await read_here(drivers, parallelism)


async def read_here(drivers: Mapping[str, Driver], parallelism: int) -> dict[str, LiveNode]:
    """Read every node of ``drivers`` in this process, ``parallelism`` at a time."""
    gate = asyncio.Semaphore(max(1, parallelism))
    # Anything but a DriverError is a bug: it propagates, and the other reads are cancelled.
    names = sorted(drivers)
    results = await gather_or_cancel(*(read_one(gate, n, drivers[n]) for n in names))
    return dict(zip(names, results, strict=True))


async def read_one(gate: asyncio.Semaphore, name: str, driver: Driver) -> LiveNode:
    """One node's live state, read while holding ``gate``; a DriverError becomes its error."""
    async with gate:
        try:
            live = await driver.read()
        except DriverError as exc:
            live = LiveNode(name=name, type=driver.endpoint.type,
                            error=str(exc).removeprefix(f"{name}: "),
                            unparseable=isinstance(exc, Unparseable))
    expired = expired_api_certificate(driver)
    return live if expired is None else live.model_copy(update={
        "api_certificate_expired": expired})


def expired_api_certificate(driver: Driver) -> ExpiredApiCertificate | None:
    """What the driver's last handshake found, when the node's API certificate had expired:
    used under a pin, or refused (drivers/tlsrecovery.py)."""
    http = getattr(driver, "http", None)
    recovery = http.recovery if isinstance(http, NodeHttp) else None
    return recovery.note() if recovery is not None else None


async def close_all(drivers: Mapping[str, Driver]) -> None:
    await asyncio.gather(*(d.aclose() for d in drivers.values()), return_exceptions=True)
