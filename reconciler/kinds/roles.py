"""Certificate roles as kind-profile data: which roles a node has, what each needs, by version.

A node holds certificates by role (Expressway from X15.5: ``server`` and ``client``; Unified
CM: ``tomcat``, and from issue 22 its other identities). Everything that differs by product
and version is a row of a table here, built by each kind module and tagged with its source
([C] Cisco, [3P] third party, [U] unconfirmed; docs/device-evidence.md, "Certificate roles
and the clientAuth sunset"):

- ``RoleProfile``: a role, the version it appears from, what restarts after its install,
  the GUI path where no API is known, and whether it may copy another role's certificate;
- ``EkuRow``: from/until which version a role's certificate must carry which EKUs, and
  the node setting that relaxes it (Expressway X15.4's ``EnableServerEkuUpload``);
- ``LinkUse``: who connects to whom (the side that opens the TLS connection presents its
  client-role certificate) and whether the far end checks clientAuth, by version/setting.

Pure data and small lookups; the findings built on them are ``planning.roles``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

Version = tuple[int, ...]
SERVER_AUTH = "serverAuth"
CLIENT_AUTH = "clientAuth"
BOTH = frozenset({SERVER_AUTH, CLIENT_AUTH})
SERVER_ONLY = frozenset({SERVER_AUTH})
CLIENT_ONLY = frozenset({CLIENT_AUTH})
_NUMBERS = re.compile(r"\d+")


def parse_version(text: str | None) -> Version | None:
    """``X15.5.1`` → (15, 5, 1); ``15.0.1.12900-234`` → (15, 0, 1, 12900); None: unknown."""
    if not text:
        return None
    found = tuple(int(n) for n in _NUMBERS.findall(text)[:4])
    return found or None


def in_range(version: Version | None, since: Version | None, until: Version | None) -> bool:
    """``since <= version < until``; an unknown version matches only an open-ended row (the
    conservative reading: the oldest rules apply)."""
    if version is None:
        return since is None
    return (since is None or version >= since) and (until is None or version < until)


@dataclass(frozen=True)
class Setting:
    """A node setting that decides an EKU rule, and how to change it by hand."""

    name: str  # as the product's CLI writes it
    relaxed: str  # the value that relaxes the rule ("On" / "Off")
    default: str  # the value when certops cannot read it [C or U, see the row's tag]
    command: str  # the exact CLI command that sets ``relaxed``
    tag: str


@dataclass(frozen=True)
class EkuRow:
    """``role`` needs ``eku`` on nodes of versions ``since <= v < until``; with ``setting``
    at its relaxed value, ``relaxed_eku`` instead."""

    role: str
    eku: frozenset[str]
    tag: str  # "[C] FN74362, TAC 225482"
    since: Version | None = None
    until: Version | None = None
    setting: Setting | None = None
    relaxed_eku: frozenset[str] | None = None
    why: str = ""  # which connections need it, for messages


@dataclass(frozen=True)
class RoleRestart:
    """What restarts after ``role``'s certificate changes on nodes of versions
    ``since <= v < until`` (an unknown version: the open-ended rows, then the first row,
    so the widest restart set Cisco names)."""

    services: tuple[str, ...]
    tag: str
    since: Version | None = None
    until: Version | None = None


@dataclass(frozen=True)
class RoleProfile:
    """One certificate role of a kind."""

    name: str
    since: Version | None = None  # the version from which the node has this role apart
    manual_install: str = ""  # the GUI path of an install by hand
    manual_csr: str = ""  # the GUI path of a CSR by hand
    manual_regenerate: str = ""  # the CLI command of a regeneration by hand (self-signed)
    may_copy: tuple[str, ...] = ()  # roles whose certificate may be copied into this one
    restart_tag: str = ""  # the source of what restarts after an install of this role
    # Installed before the primary role's certificate on the same node: the node's client
    # side moves off the shared (upgrade-copied) certificate before its server side changes.
    install_first: bool = False
    # The resource of the role's store as the node's own API description would list it
    # (the driver looks for it there: GET /api/raml on Expressway); "" for none.
    api_resource: str = ""
    # VOS identities (issue 22): the node's stores that must hold the role's chain before
    # its install (None: the kind's ``own_stores``; (): none is modelled); a linked peer's
    # stores that must hold it, by the peer's type (empty: the generic rule); what restarts
    # after it changes, by version (empty: the kind's ``after_install``); whether it may be
    # self-signed (renewal: regenerate on the node); whether the phones' ITL carries it
    # ("signer": CallManager and ITLRecovery; "tvs"; "capf"; "": no phone impact).
    own_stores: tuple[str, ...] | None = None
    presented_to: tuple[tuple[str, tuple[str, ...]], ...] = ()
    restarts: tuple[RoleRestart, ...] = ()
    self_signed_ok: bool = False
    itl: str = ""
    # Exists (or is used) on the cluster's publisher only: why, with its source ("" for a
    # per-node identity); a subscriber's node file declaring it is a validation finding
    # (``desired.publisher_roles``): an error, or a warning for a self-signed copy where
    # ``subscriber_self_signed`` says a subscriber may hold an unused one.
    publisher_only: str = ""
    subscriber_self_signed: bool = False
    # A node store that must hold the role's CA chain before a CA-signed install but that
    # certops does not read or change (Unified CM's TVS-trust): the GUI step of the upload,
    # planned as a manual step before the install ("" for none).
    manual_trust: str = ""
    # What every other member of the node's cluster restarts after this role changes (the
    # ITL each TFTP server builds lists every TVS certificate of the cluster, and CAPF and
    # ITLRecovery: Cisco restarts TVS and TFTP on all nodes, publisher first); () for none.
    cluster_restarts: tuple[str, ...] = ()
    # ``certops import`` declares the role where the node has it. Unified CM's identities are
    # left to the operator (declaring one opts in to its renewal and the phones' rules);
    # until then ``role.undeclared`` reports each with its expiry.
    imported: bool = True

    def peer_stores_of(self, peer_type: str) -> tuple[str, ...] | None:
        """The stores of a ``peer_type`` peer that must trust this role's chain; None where
        the role table says nothing (the generic rule applies)."""
        if not self.presented_to:
            return None
        return next((stores for t, stores in self.presented_to if t == peer_type), ())

    def restart_services(self, version: Version | None) -> RoleRestart | None:
        """The services to restart after this role's certificate changes at ``version``."""
        if not self.restarts:
            return None
        if version is None:
            wide = max(self.restarts, key=lambda r: len(r.services))
            return wide
        return next((r for r in self.restarts if in_range(version, r.since, r.until)),
                    self.restarts[-1])


@dataclass(frozen=True)
class LinkUse:
    """A node of this kind opens TLS to a peer of ``peer_type`` for ``what``: it presents its
    client-role certificate (its only one before the split) and the peer checks it.

    ``checks_client_auth_until``: the peer's version from which it stops checking clientAuth
    on this connection (None: it always checks); ``ignore_setting`` on the peer turns the check
    off where the product has one."""

    peer_type: str
    what: str
    tag: str
    checks_client_auth_until: Version | None = None
    ignore_setting: Setting | None = None


@dataclass(frozen=True)
class RoleTable:
    """Every role fact of one kind."""

    primary: str
    roles: Mapping[str, RoleProfile]
    eku_rows: tuple[EkuRow, ...] = ()
    connects_to: tuple[LinkUse, ...] = ()
    # The role presented when the node connects out, from the version it exists on; before
    # it (or on a kind without one) the primary role's certificate plays both parts.
    client_role: str | None = None
    # Settings the driver reads when the API allows and the plan reports.
    settings: tuple[Setting, ...] = field(default=())

    def has_role(self, role: str, version: Version | None) -> bool:
        """Whether a node at ``version`` has ``role`` as a certificate of its own."""
        profile = self.roles.get(role)
        if profile is None:
            return False
        return profile.since is None or (version is not None and version >= profile.since)

    def presenting_role(self, version: Version | None) -> str:
        """The role whose certificate the node presents when it connects out."""
        if self.client_role and self.has_role(self.client_role, version):
            return self.client_role
        return self.primary

    def row(self, role: str, version: Version | None) -> EkuRow | None:
        """The EKU row of ``role`` at ``version`` (the first that matches)."""
        return next((r for r in self.eku_rows
                     if r.role == role and in_range(version, r.since, r.until)), None)

    def needed_eku(
        self, role: str, version: Version | None, settings: Mapping[str, str] | None = None
    ) -> frozenset[str]:
        """What ``role``'s certificate must carry at ``version`` with ``settings``."""
        row = self.row(role, version)
        if row is None:
            return SERVER_ONLY if role == self.primary else CLIENT_ONLY
        if row.setting is not None and row.relaxed_eku is not None:
            value = (settings or {}).get(row.setting.name, row.setting.default)
            if value == row.setting.relaxed:
                return row.relaxed_eku
        return row.eku

    def minimum_eku(self, role: str) -> frozenset[str]:
        """What ``role`` needs at every version (``validate`` knows no version)."""
        rows = [r for r in self.eku_rows if r.role == role]
        needs = [r.relaxed_eku if r.relaxed_eku is not None else r.eku for r in rows]
        if not needs:
            return SERVER_ONLY if role == self.primary else CLIENT_ONLY
        out = needs[0]
        for n in needs[1:]:
            out = out & n
        return out

    def link_to(self, peer_type: str) -> tuple[LinkUse, ...]:
        return tuple(u for u in self.connects_to if u.peer_type == peer_type)
