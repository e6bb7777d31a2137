"""``certops import``: write the desired state from live nodes, so the first plan is empty.

Reads every node (read-only), then writes ``cas/`` (each CA once, named from its subject),
``certs/<node>.pem`` (the live certificate with its chain), ``nodes/<node>.yaml`` (live SANs,
trust stores as lists of CA files) and the links into ``certops.yaml``. Existing files are
updated in place, keeping comments and key order. Nothing is written unless every node
could be read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.drivers import ConfigError, Driver, Endpoint, Inventory
from reconciler.drivers.fleet import close_all, make_driver, read_all
from reconciler.kinds import KINDS, NODE_TYPES, kind_of
from reconciler.model import CertopsError, LiveNode
from reconciler.model.layout import CAS_DIR, CSRS_DIR, NODES_DIR, node_path
from reconciler.pki import CertCache, CertInfo, build_chain
from reconciler.usecases.session import Session


class ImportFailed(CertopsError):
    """Some node could not be read; nothing was written."""


@dataclass(frozen=True)
class ImportRequest:
    """The nodes to import (default: every node of the inventory)."""

    nodes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    nodes: tuple[str, ...]
    ca_files: int
    root: Path


def env_prefix(name: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")


def _existing(root: Path, name: str) -> dict[str, Any]:
    from ruamel.yaml import YAML

    path = root / node_path(name)
    if not path.is_file():
        return {}
    data = YAML(typ="safe").load(path.read_text())
    return data if isinstance(data, dict) else {}


def _endpoint(root: Path, name: str, inventory: Inventory, env: Mapping[str, str]) -> Endpoint:
    old = _existing(root, name)
    inv = inventory.nodes.get(name)
    if inv is None and not old:
        raise ConfigError(f"{name}: not in the inventory and no {node_path(name)}")
    creds = old.get("credentials") or {}
    user_env = creds.get("username_env") or f"{env_prefix(name)}_USER"
    pass_env = creds.get("password_env") or f"{env_prefix(name)}_PASSWORD"
    username = env.get(user_env) or (inv.username if inv else None)
    password = env.get(pass_env) or (inv.password if inv else None)
    node_type = old.get("type") or (inv.type if inv else None)
    if not username or not password:
        raise ConfigError(
            f"{name}: set {user_env} and {pass_env} (or use an inventory with credentials)"
        )
    if node_type not in KINDS:
        raise ConfigError(
            f"{name}: unknown node type {node_type!r} (one of {', '.join(NODE_TYPES)})"
        )
    return Endpoint(
        name=name,
        type=node_type,
        api=(inv.api if inv else str(old["api"])).rstrip("/"),
        username=username,
        password=password,
        tls_verify=bool(old.get("tls_verify", True)),
        ssh_port=inv.ssh_port if inv else None,
        ssh_host_key=inv.ssh_host_key if inv else None,
        tls_server_name=inv.tls_server_name if inv else None,
    )


def _fields(
    live: LiveNode,
    endpoint: Endpoint,
    old: dict[str, Any],
    cert_ref: str | None,
    store_refs: dict[str, list[str]],
    cache: CertCache,
) -> dict[str, Any]:
    leaf = cache.parse_text(live.server_certificate)[0] if live.server_certificate else None
    fields: dict[str, Any] = {"name": live.name, "type": endpoint.type}
    fields["api"] = old.get("api") or endpoint.api
    if "credentials" not in old:
        fields["credentials"] = {
            "username_env": f"{env_prefix(live.name)}_USER",
            "password_env": f"{env_prefix(live.name)}_PASSWORD",
        }
    if "app_credentials" in kind_of(endpoint.type).spec_model.model_fields and (
        "app_credentials" not in old
    ):  # VOS: the application user for SOAP service control (two accounts)
        fields["app_credentials"] = {
            "username_env": f"{env_prefix(live.name)}_APP_USER",
            "password_env": f"{env_prefix(live.name)}_APP_PASSWORD",
        }
    if leaf is not None and cert_ref:
        fields["server_certificate"] = {
            "file": f"../{cert_ref}",
            "subject_alt_names": [*leaf.dns_names, *leaf.ip_addresses],
        }
    refs = {s: [f"../{r}" for r in files] for s, files in store_refs.items()}
    fields["trust"] = kind_of(endpoint.type).trust_yaml(refs)
    return fields


async def import_fleet(session: Session, request: ImportRequest | None = None) -> ImportResult:
    """Read the nodes, then write cas/, certs/, nodes/ and the links (see the module docstring)."""
    root, inventory = session.root, session.the_inventory()
    names = sorted((request.nodes if request else ()) or inventory.nodes)
    if not names:
        raise ConfigError("no nodes to import: pass --node NAME or an --inventory listing nodes")
    endpoints = {n: _endpoint(root, n, inventory, session.env) for n in names}
    live = await _read(session, endpoints)
    failed = [f"{n}: {v.error}" for n, v in sorted(live.items()) if v.error]
    if failed:
        raise ImportFailed(
            "nothing was written; these nodes could not be read: " + "; ".join(failed)
        )
    refs = _write_files(session, names, endpoints, live)
    _write_links(root, names, inventory)
    (root / CSRS_DIR).mkdir(exist_ok=True)
    return ImportResult(nodes=tuple(names), ca_files=len(set(refs.values())), root=root)


async def _read(session: Session, endpoints: dict[str, Endpoint]) -> dict[str, LiveNode]:
    """Every node's live state, through drivers made from the endpoints (closed after)."""
    cas = [p.read_bytes() for p in sorted((session.root / CAS_DIR).glob("*.pem"))]
    ca_pems = [*cas, *session.the_inventory().ca_pems]
    drivers: dict[str, Driver] = {
        n: make_driver(e, ca_pems, session.the_http(), session.the_factory())
        for n, e in endpoints.items()
    }
    try:
        return await read_all(drivers, session.parallelism)
    finally:
        await close_all(drivers)


def _write_files(session: Session, names: list[str], endpoints: dict[str, Endpoint],
                 live: dict[str, LiveNode]) -> dict[str, str]:
    """cas/ (each CA once), certs/<node>.pem and nodes/<node>.yaml; CA sha256 -> file."""
    from reconciler.desired.writer import write_cas, write_certificate, write_node

    root, cache = session.root, session.cache
    all_cas: dict[str, CertInfo] = {}
    for snapshot in live.values():
        for pems in snapshot.stores.values():
            for pem in pems:
                for cert in cache.parse_text(pem):
                    all_cas.setdefault(cert.sha256, cert)
    root.mkdir(parents=True, exist_ok=True)
    refs = write_cas(root, list(all_cas.values()), cache)
    anchors = [c for c in all_cas.values() if c.self_signed]
    for name in names:
        snapshot = live[name]
        store_refs = {
            store: sorted({refs[c.sha256] for p in pems for c in cache.parse_text(p)})
            for store, pems in sorted(snapshot.stores.items())
        }
        cert_ref = None
        if snapshot.server_certificate:
            leaf = cache.parse_text(snapshot.server_certificate)[0]
            chain = build_chain(leaf, list(all_cas.values()), anchors).chain
            cert_ref = write_certificate(root, name, chain)
        old = _existing(root, name)
        write_node(root, name, _fields(snapshot, endpoints[name], old, cert_ref, store_refs, cache))
    return refs


def _write_links(root: Path, names: list[str], inventory: Inventory) -> None:
    """The inventory's links between nodes that are imported or described, into certops.yaml."""
    from reconciler.desired.writer import write_fleet

    known = set(names) | {p.stem for p in (root / NODES_DIR).glob("*.yaml")}
    links = {
        tuple(sorted((n, peer)))
        for n in names
        for peer in (inventory.nodes[n].links if n in inventory.nodes else ())
        if peer in known  # a link to a node that is neither imported nor described is dropped
    }
    write_fleet(root, [(a, b) for a, b in sorted(links)])
