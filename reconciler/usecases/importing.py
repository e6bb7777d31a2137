"""``certops import``: write the desired state from live nodes, a repository you would commit.

Reads every node (read-only), then stages ``cas/`` (each managed CA once, named from its
subject), ``ca-sets/`` (the built-in CAs), ``nodes/<node>.yaml`` (the node's real address,
live SANs, trust stores as lists of CA files and CA sets), the links into ``certops.yaml``
and the JSON Schemas under ``schemas/``. By default the live certificate is kept until its
renewal is due, then certops plans a CSR; with ``pin_certificates`` it is also written as
``certs/<node>.pem`` and named by ``file:``.

A CA that some live leaf of the fleet chains to is managed: one file under ``cas/``. The
others (a Unified CM's ~150 built-in CAs per store) are built-in: each store's are written as
one CA set per distinct content per kind and store (``ca-sets/cucm-tomcat-trust.pem``), so a
node file names four sets instead of 600 CA files, and the set, a PEM bundle, still lets
certops restore a deleted built-in. With ``skip_builtin`` they are not written at all and
stay unmanaged on the nodes.

New files are written; an existing file that would change is shown as a diff and changed
only with ``write`` (comments and key order kept). Nothing is written unless every node
could be read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.drivers import ConfigError, Driver, Endpoint, Inventory
from reconciler.drivers.fleet import InventoryEntry, close_all, make_driver, read_all
from reconciler.kinds import KINDS, NODE_TYPES, kind_of
from reconciler.model import CertopsError, LiveNode
from reconciler.model.layout import CAS_DIR, CSRS_DIR, NODES_DIR, node_path
from reconciler.pki import CertCache, CertInfo, build_chain, ip_of
from reconciler.usecases.session import Session


class ImportFailed(CertopsError):
    """Some node could not be read; nothing was written."""


@dataclass(frozen=True)
class ImportRequest:
    """The nodes to import (default: every node of the inventory), and how."""

    nodes: tuple[str, ...] = ()
    pin_certificates: bool = False  # certs/<node>.pem and file: (else keep live until due)
    skip_builtin: bool = False  # only CAs a live leaf of the fleet chains to
    write: bool = False  # change existing files (new files are always written)


@dataclass(frozen=True)
class ImportResult:
    nodes: tuple[str, ...]
    ca_files: int
    root: Path
    ca_sets: int = 0  # CA set files the node files name
    written: tuple[str, ...] = ()
    diffs: tuple[str, ...] = ()  # unified diffs of existing files (applied only with write)
    unmanaged_cas: int = 0  # CAs left out by skip_builtin
    # files under cas/ holding only built-in CAs, which the node files now name through
    # ca-sets/ (a directory imported before CA sets existed): to delete once nothing names them
    superseded: tuple[str, ...] = ()
    applied: bool = True  # False: existing files differ and write was not asked


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


def address(api: str, inv: InventoryEntry | None) -> tuple[str, dict[str, str]]:
    """The node's real address for its file, and the ``connection`` settings it needs.

    An inventory that maps the node to loopback (the lab, a tunnel) keeps that mapping: the
    file gets ``https://<tls_server_name>``. An IP address gets ``connection.tls_server_name``
    (the name its certificate carries); the inventory's SSH host key becomes the pin."""
    conn: dict[str, str] = {}
    if inv is None:
        return api, conn
    host = urlsplit(inv.api).hostname or ""
    name = inv.tls_server_name
    if name and (ip := ip_of(host)) is not None and ip.is_loopback:
        api = f"https://{name}"
    elif name and ip_of(host) is not None:
        conn["tls_server_name"] = name
    if inv.ssh_host_key:
        conn["ssh_host_key"] = " ".join(inv.ssh_host_key.split()[:2])
    return api, conn


def _credentials(name: str, node_type: str, old: dict[str, Any]) -> dict[str, Any]:
    """The environment variable names of the node's accounts (unless the file has them)."""
    fields: dict[str, Any] = {}
    if "credentials" not in old:
        fields["credentials"] = {
            "username_env": f"{env_prefix(name)}_USER",
            "password_env": f"{env_prefix(name)}_PASSWORD",
        }
    if "app_credentials" in kind_of(node_type).spec_model.model_fields and (
        "app_credentials" not in old
    ):  # VOS: the application user for SOAP service control (two accounts)
        fields["app_credentials"] = {
            "username_env": f"{env_prefix(name)}_APP_USER",
            "password_env": f"{env_prefix(name)}_APP_PASSWORD",
        }
    return fields


def _fields(
    live: LiveNode,
    endpoint: Endpoint,
    inv: InventoryEntry | None,
    old: dict[str, Any],
    cert_ref: str | None,
    store_refs: dict[str, list[str]],
    cache: CertCache,
) -> dict[str, Any]:
    leaf = cache.parse_text(live.server_certificate)[0] if live.server_certificate else None
    fields: dict[str, Any] = {"name": live.name, "type": endpoint.type}
    api, conn = address(endpoint.api, inv)
    fields["api"] = old.get("api") or api
    have = old.get("connection") or {}
    if conn := {k: v for k, v in conn.items() if k not in have}:
        fields["connection"] = conn
    fields.update(_credentials(live.name, endpoint.type, old))
    if leaf is not None:
        sc: dict[str, Any] = {"file": f"../{cert_ref}"} if cert_ref else {}
        sc["subject_alt_names"] = [*leaf.dns_names, *leaf.ip_addresses]
        fields["server_certificate"] = sc
    # Other roles the node has (an X15.5's client certificate): declared with their names,
    # so that certops renews them too (never left to expire unseen).
    # A self-signed Unified CM identity is declared self_signed (renewed by regeneration).
    table = kind_of(endpoint.type).role_table
    roles: dict[str, Any] = {}
    for role, pem in sorted(live.role_certificates.items()):
        profile = table.roles.get(role)
        if profile is not None and not profile.imported:
            continue  # left to the operator (kinds.roles.RoleProfile.imported)
        for cert in cache.parse_text(pem)[:1]:
            if profile is not None and profile.self_signed_ok and cert.self_signed:
                roles[role] = {"self_signed": True}
            elif names := [*cert.dns_names, *cert.ip_addresses]:
                roles[role] = {"subject_alt_names": names}
    if roles:
        fields["certificates"] = roles
    refs = {s: [f"../{r}" for r in files] for s, files in store_refs.items()}
    fields["trust"] = kind_of(endpoint.type).trust_yaml(refs)
    return fields


async def import_fleet(session: Session, request: ImportRequest | None = None) -> ImportResult:
    """Read the nodes, then write cas/, certs/, nodes/ and the links (see the module docstring)."""
    from reconciler.desired.writer import commit_files, stage_schemas

    request = request or ImportRequest()
    root, inventory = session.root, session.the_inventory()
    names = sorted(request.nodes or inventory.nodes)
    if not names:
        raise ConfigError("no nodes to import: pass --node NAME or an --inventory listing nodes")
    endpoints = {n: _endpoint(root, n, inventory, session.env) for n in names}
    live = await _read(session, endpoints)
    failed = [f"{n}: {v.error}" for n, v in sorted(live.items()) if v.error]
    if failed:
        raise ImportFailed(
            "nothing was written; these nodes could not be read: " + "; ".join(failed)
        )
    out: dict[str, str] = {}
    staged = _stage_files(session, names, endpoints, live, request, out)
    _stage_links(root, names, inventory, out)
    stage_schemas(out)
    root.mkdir(parents=True, exist_ok=True)
    written, diffs = commit_files(root, out, overwrite=request.write)
    (root / CSRS_DIR).mkdir(exist_ok=True)
    return ImportResult(nodes=tuple(names), ca_files=staged.ca_files, ca_sets=staged.ca_sets,
                        root=root, written=tuple(written), diffs=tuple(diffs),
                        unmanaged_cas=staged.unmanaged, superseded=staged.superseded,
                        applied=request.write or not diffs)


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


def _store_cas(live: dict[str, LiveNode], cache: CertCache) -> dict[str, CertInfo]:
    """Every CA of every node's trust stores, once (by fingerprint)."""
    all_cas: dict[str, CertInfo] = {}
    for snapshot in live.values():
        for pems in snapshot.stores.values():
            for pem in pems:
                for cert in cache.parse_text(pem):
                    all_cas.setdefault(cert.sha256, cert)
    return all_cas


def _chains(live: dict[str, LiveNode], all_cas: dict[str, CertInfo],
            cache: CertCache) -> dict[str, tuple[CertInfo, ...]]:
    """Each node's live certificate with the chain the trust stores give it."""
    anchors = [c for c in all_cas.values() if c.self_signed]
    return {
        name: build_chain(cache.parse_text(snap.server_certificate)[0],
                          list(all_cas.values()), anchors).chain
        for name, snap in live.items() if snap.server_certificate
    }


@dataclass(frozen=True)
class _Staged:
    """What ``_stage_files`` staged: CA files and CA sets named, built-ins left out."""

    ca_files: int
    ca_sets: int
    unmanaged: int
    superseded: tuple[str, ...]


# A store's CAs by kind: managed (a live leaf chains to it) or built-in.
_StoreCas = dict[tuple[str, str], list[CertInfo]]  # (node, store) -> CAs, in store order


def _store_split(
    live: dict[str, LiveNode], managed: set[str], cache: CertCache, keep_all: set[str]
) -> tuple[_StoreCas, _StoreCas]:
    """Each node's stores split into the CAs written one file each and the built-in CAs
    (each CA once). Managed CAs (a live leaf chains to them) are written as files; so is every
    CA of a node in ``keep_all`` (a kind that ships no built-in CAs: each is someone's
    decision, reviewed on its own)."""
    mine: _StoreCas = {}
    builtin: _StoreCas = {}
    for name, snapshot in live.items():
        for store, pems in sorted(snapshot.stores.items()):
            certs = {c.sha256: c for p in pems for c in cache.parse_text(p)}.values()
            as_file = name in keep_all
            mine[(name, store)] = [c for c in certs if as_file or c.sha256 in managed]
            builtin[(name, store)] = [c for c in certs if not as_file and c.sha256 not in managed]
    return mine, builtin


def _set_group(node_type: str, store: str) -> str:
    """The CA set group of a kind's store: its built-ins differ by product, not by node."""
    return f"{node_type}-{store}"


def _stage_sets(
    root: Path, builtin: _StoreCas, endpoints: dict[str, Endpoint], cache: CertCache,
    out: dict[str, str],
) -> dict[tuple[str, str], str]:
    """The built-in CAs as CA sets (``write_ca_sets``); (node, store) -> the set's path."""
    from reconciler.desired.writer import SetKey, write_ca_sets

    contents: dict[str, dict[SetKey, list[CertInfo]]] = {}
    titles: dict[str, str] = {}
    for (name, store), certs in sorted(builtin.items()):
        if certs:
            node_type = endpoints[name].type
            group = _set_group(node_type, store)
            contents.setdefault(group, {}).setdefault(frozenset(c.sha256 for c in certs), certs)
            titles[group] = (f"CA set {group}: the built-in CAs of {store} on {node_type} "
                             "nodes\n(the CAs of the store that no certificate of the fleet "
                             "chains to)")
    wanted = {group: (titles[group], list(by_key.values())) for group, by_key in contents.items()}
    paths = write_ca_sets(root, wanted, cache, out)
    return {
        (name, store): paths[(_set_group(endpoints[name].type, store),
                              frozenset(c.sha256 for c in certs))]
        for (name, store), certs in builtin.items() if certs
    }


def _stage_files(session: Session, names: list[str], endpoints: dict[str, Endpoint],
                 live: dict[str, LiveNode], request: ImportRequest,
                 out: dict[str, str]) -> _Staged:
    """cas/, ca-sets/, certs/<node>.pem (pinned only) and nodes/<node>.yaml into ``out``."""
    from reconciler.desired.writer import write_cas, write_certificate, write_node

    root, cache = session.root, session.cache
    all_cas = _store_cas(live, cache)
    chains = _chains(live, all_cas, cache)
    managed = {c.sha256 for chain in chains.values() for c in chain[1:]}
    keep_all = set() if request.skip_builtin else {
        n for n in live if not kind_of(endpoints[n].type).ships_builtin_cas}
    mine, builtin = _store_split(live, managed, cache, keep_all)
    as_files = {c.sha256 for certs in mine.values() for c in certs}
    refs = write_cas(root, [c for k, c in all_cas.items() if k in as_files], cache, out)
    sets = {} if request.skip_builtin else _stage_sets(root, builtin, endpoints, cache, out)
    for name in names:
        snapshot = live[name]
        store_refs = {
            store: sorted({refs[c.sha256] for c in mine[(name, store)]}
                          | ({sets[(name, store)]} if (name, store) in sets else set()))
            for store in sorted(snapshot.stores)
        }
        if request.skip_builtin:  # a store with nothing managed is not listed at all
            store_refs = {s: files for s, files in store_refs.items() if files}
        cert_ref = None
        if request.pin_certificates and name in chains:
            cert_ref = write_certificate(name, chains[name], out)
        fields = _fields(snapshot, endpoints[name], session.the_inventory().nodes.get(name),
                         _existing(root, name), cert_ref, store_refs, cache)
        write_node(root, name, fields, out)
    unmanaged = {c.sha256 for certs in builtin.values() for c in certs}
    named = {refs[c.sha256] for certs in mine.values() for c in certs}
    return _Staged(ca_files=len(named), ca_sets=len(set(sets.values())),
                   unmanaged=len(unmanaged) if request.skip_builtin else 0,
                   superseded=_superseded(refs, named, unmanaged) if sets else ())


def _superseded(refs: dict[str, str], named: set[str], builtin: set[str]) -> tuple[str, ...]:
    """The existing files under cas/ that hold only built-in CAs (now in CA sets) and that no
    imported node names: ``refs`` maps every CA of cas/ to its file."""
    holds: dict[str, set[str]] = {}
    for sha, path in refs.items():
        holds.setdefault(path, set()).add(sha)
    return tuple(sorted(path for path, shas in holds.items()
                        if path not in named and shas <= builtin))


def _stage_links(root: Path, names: list[str], inventory: Inventory, out: dict[str, str]) -> None:
    """The inventory's links between nodes that are imported or described, into certops.yaml."""
    from reconciler.desired.writer import write_fleet

    known = set(names) | {p.stem for p in (root / NODES_DIR).glob("*.yaml")}
    links = {
        tuple(sorted((n, peer)))
        for n in names
        for peer in (inventory.nodes[n].links if n in inventory.nodes else ())
        if peer in known  # a link to a node that is neither imported nor described is dropped
    }
    write_fleet(root, [(a, b) for a, b in sorted(links)], out)
