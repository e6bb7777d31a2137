"""Expressway-C, Expressway-E and VCS: one trusted CA list, leaf-only PEM install, node restart.

Cisco's Expressway certificate guides (X12.5–X15.5): the server certificate is uploaded as
PEM without its chain and served after a restart of the whole node; the trusted CA list is
one bundle; wildcard certificates are not supported; deleting one trusted CA has no REST
call as far as is known (a manual step). VCS runs the same software and API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Literal

from reconciler.kinds.base import Profile, Restart
from reconciler.kinds.expressway_roles import EXPRESSWAY_C_ROLES, EXPRESSWAY_E_ROLES
from reconciler.kinds.roles import RoleTable
from reconciler.model import Finding, SingleStoreSpec
from reconciler.pki import CertInfo, wildcard_findings

# Expressway and VCS keep one trusted CA list.
STORE = "trusted-ca-list"

GUI = {
    "trust.add": "Maintenance > Security > Trusted CA certificate > Browse (select {file}) > "
    "Append CA certificate",
    "trust.remove": "Maintenance > Security > Trusted CA certificate > select '{subject}' > Delete",
    "csr.generate": "Maintenance > Security > Server certificate > Generate CSR (Additional "
    "alternative names: {sans}) > Generate CSR, then Download",
    "cert.install": "Maintenance > Security > Server certificate > Upload new certificate "
    "(Select the server certificate file: {file}, PEM, leaf only) > Upload server certificate data",
    "node.restart": "Maintenance > Restart options > Restart",
    # The node's /api/raml lists no maintenance-mode resource: the person switches it on,
    # then `apply --drained` waits for the calls (status XML [3P]) and restarts the node,
    # which ends maintenance mode [C] (apply/confirmed.py).
    "node.drain": "the node's API description (GET /api/raml) lists no maintenance-mode "
    "resource, so: Maintenance > Maintenance mode: On > Save > OK (new calls go to its "
    "peers, the calls on it run to their end; certops then waits for them, restarts the node, "
    "which ends maintenance mode, and proves the served certificate); then run: certops "
    "apply --drained {node}",
    "csr.discard": "Maintenance > Security > Server certificate > Discard CSR",
}

# Expressway-E's own ACME client (X12.5+, HTTP-01 on port 80): no evidenced REST call drives
# it end to end (docs/device-apis.md), so certops plans it as this manual step. [C, admin guide]
BUILTIN_ACME = (
    "Maintenance > Security > ACME certificate: check the ACME settings (Let's Encrypt "
    "account, port 80 reachable from the Internet for HTTP-01, SANs: {sans}) > Sign, then "
    "Deploy (the new certificate is served without a restart)"
)

# What the REST API is evidenced to do (device-apis.md); deleting one CA and discarding a
# pending CSR ("csr.discard", DELETE on generate_csr: [U]) are not among them.
CAPABILITIES = frozenset({"trust.add", "csr.generate", "cert.install", "node.restart"})

# A restart of an Expressway drops every call through it; the node "stops answering for a
# while (minutes on real hardware)" [C: Cisco's guides say minutes, no figure], and about one
# restart in thirty runs a filesystem check and takes longer [C, X15.4 maintenance guide].
# 10 minutes is certops' estimate for a window's length check (window.short) and the plan's
# restart chart [U]; the apply report (`apply --report FILE.md`) shows the real times.
RESTART_ESTIMATE = timedelta(minutes=10)
# Drain before restart [C, Administrator Guide X15.4, Maintenance mode]: in maintenance mode
# new calls and registrations go to the other peers and existing calls run to their end.
# Switching it over the API is not evidenced: the driver offers ``node.drain`` only where
# the node's own /api/raml lists a maintenance-mode resource (drivers/expressway.py).
DRAIN = "maintenance mode, then wait until its active calls end"


class ExpresswayNodeSpec(SingleStoreSpec):
    """An Expressway-C, Expressway-E or VCS: one trusted CA list."""

    STORES: ClassVar[tuple[str, ...]] = (STORE,)
    type: Literal["expressway-c", "expressway-e", "vcs"]


@dataclass(frozen=True)
class ExpresswayKind(Profile):
    """Expressway rules beyond the table: no wildcards; the trust list is a plain list."""

    def leaf_findings(self, cert: CertInfo) -> list[Finding]:
        return wildcard_findings(cert, "Expressway")

    def trust_yaml(self, refs: Mapping[str, list[str]]) -> object:
        return list(refs.get(STORE, []))


def _expressway(type_: str, title: str, roles: RoleTable,
                builtin_acme: str | None = None) -> ExpresswayKind:
    return ExpresswayKind(
        type=type_,
        title=title,
        spec_model=ExpresswayNodeSpec,
        stores=(STORE,),
        own_stores=(STORE,),
        peer_stores=(STORE,),
        install_with_chain=False,  # Cisco's step E: the leaf alone, as PEM
        after_install=Restart("node.restart"),
        committed_csr_stands_for_pending=False,  # the pending CSR is readable over REST
        capabilities=CAPABILITIES,
        manual_steps=GUI,
        cluster_group=type_,  # a cluster's peers are all C, all E, or all VCS
        builtin_acme=builtin_acme,
        role_table=roles,
        restart_estimate=RESTART_ESTIMATE,
        drain=DRAIN,
    )


EXPRESSWAY_C = _expressway("expressway-c", "Expressway-C", EXPRESSWAY_C_ROLES)
EXPRESSWAY_E = _expressway("expressway-e", "Expressway-E", EXPRESSWAY_E_ROLES, BUILTIN_ACME)
# VCS runs the Expressway software; no notice names it, so it takes the C's rules [U].
VCS = _expressway("vcs", "VCS", EXPRESSWAY_C_ROLES)
