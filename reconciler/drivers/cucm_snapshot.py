"""The certmgr inventory (``GET /snapshot/server``) read defensively.

Evidence (device-apis.md, [3P] validated on a live cluster by one project): the answer is a
JSON object whose ``identities[].certificate`` and ``trusts[].certificate_data[].certificate``
hold PEM. Nothing else about it is evidenced, in particular:

- which key of an entry names its service or store [U]: an entry is recognised by the first
  string among ``LABEL_KEYS`` that is a known name (``tomcat``, ``tomcat-trust``, ...); an
  entry certops cannot name is ignored, and the store it might be is read with the per-store
  ``GET /trust/certificate?service=`` instead (never taken as empty);
- a version or a restart-pending field: none is read (no public source shows one).

An object with neither an ``identities`` nor a ``trusts`` list, or an entry whose PEM is not
where the evidence puts it, is ``Unparseable``, naming the fields it saw.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from reconciler.drivers.pemtext import split_entry, split_pems

LABEL_KEYS = ("service", "name", "type", "serviceName", "certificateName", "store")  # [U]


class ShapeError(ValueError):
    """The inventory is not in the evidenced shape; the text names the fields seen."""


@dataclass(frozen=True)
class Snapshot:
    """What the inventory held: the tomcat identity (None: not found there) and the stores
    it named (a store absent here is read with the per-store request)."""

    identity: str | None = None
    stores: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Identities whose name says "client" (15SU5's separate client certificates: their names
    # are not published [U], so they are enumerated, never hard-coded): name -> PEM.
    clients: dict[str, str] = field(default_factory=dict)
    # The kind's other identities (callmanager, tvs, ...) found there: role -> PEM.
    roles: dict[str, str] = field(default_factory=dict)


def _fields(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(sorted(str(k) for k in value)) + "}" if value else "{}"
    return type(value).__name__


def _label(entry: Mapping[str, Any], known: Mapping[str, str]) -> str | None:
    """The known name an entry carries under one of ``LABEL_KEYS`` (lower case), if any."""
    for key in LABEL_KEYS:
        value = entry.get(key)
        if isinstance(value, str) and value.strip().lower() in known:
            return known[value.strip().lower()]
    return None


def _pems(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, str):
        raise ShapeError(f"{where} is {_fields(value)}, not PEM text")
    return tuple(split_pems(value))


def _identity(items: list[Any]) -> str | None:
    return _identities(items, {"tomcat": "tomcat"}).get("tomcat")


def _identities(items: list[Any], role_of: Mapping[str, str]) -> dict[str, str]:
    """The identities named by one of ``role_of``'s service values (lower case) -> role."""
    out: dict[str, str] = {}
    for i, entry in enumerate(items):
        if isinstance(entry, dict) and (role := _label(entry, role_of)) is not None:
            pems = _pems(entry.get("certificate"), f"identities[{i}].certificate")
            if pems and role not in out:
                out[role] = pems[0]
    return out


def _clients(items: list[Any]) -> dict[str, str]:
    """Every identity whose name (the first string among ``LABEL_KEYS``) contains "client"."""
    out: dict[str, str] = {}
    for i, entry in enumerate(items):
        if not isinstance(entry, dict):
            continue
        name = next((v.strip() for k in LABEL_KEYS if isinstance(v := entry.get(k), str)), "")
        if "client" in name.lower():
            pems = _pems(entry.get("certificate"), f"identities[{i}].certificate")
            if pems:
                out[name] = pems[0]
    return out


def _entry_pems(item: Any, i: int, j: int) -> tuple[str, ...]:
    """The certificates of ``trusts[i].certificate_data[j]``: a mapping whose
    ``certificate`` is PEM text holding at least one certificate. The position is spelled
    out only for the error: a Unified CM answer has ~600 entries, nearly all well formed."""
    pem = item.get("certificate") if isinstance(item, dict) else None
    found = split_entry(pem) if isinstance(pem, str) else ()
    if found:
        return found
    where = f"trusts[{i}].certificate_data[{j}]"
    if not isinstance(item, dict):
        raise ShapeError(f"{where} is {_fields(item)}")
    if isinstance(pem, str):
        raise ShapeError(f"{where}.certificate is text without a PEM certificate")
    raise ShapeError(f"{where}.certificate is {_fields(pem)}, not PEM text")


def _trusts(items: list[Any], service_of: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    # A trust entry may be named by its store ("tomcat-trust") or its service ("tomcat").
    known = {store: store for store in service_of}
    known.update({service: store for store, service in service_of.items()})
    stores: dict[str, tuple[str, ...]] = {}
    for i, entry in enumerate(items):
        if not isinstance(entry, dict) or (store := _label(entry, known)) is None:
            continue
        data = entry.get("certificate_data")
        if not isinstance(data, list):
            raise ShapeError(f"trusts[{i}] ({store}) has {_fields(entry)}, no certificate_data "
                             "list")
        pems: list[str] = []
        for j, item in enumerate(data):
            pems.extend(_entry_pems(item, i, j))
        stores[store] = stores.get(store, ()) + tuple(pems)
    return stores


def parse_snapshot(data: Any, service_of: Mapping[str, str],
                   role_service: Mapping[str, str] | None = None) -> Snapshot:
    """The tomcat identity, the other identities (``role_service``: role -> REST service
    value) and the trust stores in ``data``; ShapeError when it is not the evidenced shape.
    ``service_of``: certops store name -> REST service value."""
    if not isinstance(data, dict):
        raise ShapeError(f"the inventory is {_fields(data)}, not a JSON object")
    identities, trusts = data.get("identities"), data.get("trusts")
    if not isinstance(identities, list) and not isinstance(trusts, list):
        raise ShapeError(f"the inventory has {_fields(data)}: neither an identities nor a "
                         "trusts list")
    lower = {store.lower(): service.lower() for store, service in service_of.items()}
    by_lower = {store.lower(): store for store in service_of}
    stores = _trusts(trusts, lower) if isinstance(trusts, list) else {}
    return Snapshot(
        identity=_identity(identities) if isinstance(identities, list) else None,
        stores={by_lower[s]: pems for s, pems in stores.items()},
        clients=_clients(identities) if isinstance(identities, list) else {},
        roles=_identities(identities, {v.lower(): r for r, v in (role_service or {}).items()})
        if isinstance(identities, list) else {},
    )


def _facts(pems: Sequence[str]) -> dict[str, tuple[str, str]]:
    """SHA-256 -> (subject, serial) of every readable certificate in ``pems``."""
    out: dict[str, tuple[str, str]] = {}
    for pem in pems:
        for one in split_pems(pem):
            try:
                cert = x509.load_pem_x509_certificate(one.encode())
            except ValueError:
                continue
            out[cert.fingerprint(hashes.SHA256()).hex()] = (
                cert.subject.rfc4514_string(), format(cert.serial_number, "x"))
    return out


def upload_outcome(store: str, before: Sequence[str], after: Sequence[str],
                   uploaded: Sequence[str]) -> str:
    """What a trust upload did, from the store read before and after it: each CA
    ``added``, ``replaced`` (a CA of the same name left the store) or ``skipped`` (not in
    the store; one of the same name stays) [3P: CUCM's same-name rule]."""
    was, now = _facts(before), _facts(after)
    parts: list[str] = []
    for sha, (subject, serial) in _facts(uploaded).items():
        gone = [f"serial {s}" for h, (subj, s) in was.items() if subj == subject and h not in now]
        kept = [f"serial {s}" for h, (subj, s) in now.items() if subj == subject and h != sha]
        if sha in now and gone:
            parts.append(f"replaced '{subject}' ({', '.join(gone)}) with serial {serial} in "
                         f"{store}")
        elif sha in now:
            parts.append(f"added '{subject}' to {store}")
        elif kept:
            parts.append(f"skipped '{subject}' (serial {serial}): {store} keeps the CA of the "
                         f"same name ({', '.join(kept)}), which the node holds for newer")
        else:
            parts.append(f"'{subject}' (serial {serial}) is not in {store} after the upload")
    return "; ".join(parts)
