"""Cisco Unified CM (release 14+ for the REST API): a VOS product (``reconciler.kinds.vos``).

Which services restart after which change (device-apis.md, "Which restarts follow which
change"): tomcat-trust → Cisco Tomcat [C]; callmanager-trust → Cisco CallManager, Cisco
TFTP, Cisco HAProxy [U, from TAC guidance after adding an Expressway CA]; CAPF-trust → CAPF
[C]; ipsec-trust → DRF Master then DRF Local [C]; the tomcat identity → Cisco Tomcat [C].
A linked Expressway's chain must reach tomcat-trust and callmanager-trust (Cisco's step D).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from reconciler.kinds.vos import (
    COMMON_STORE_LABELS,
    COMMON_TRUST_RESTARTS,
    VosNodeSpec,
    vos_kind,
)
from reconciler.model import TrustStoreSpec

CucmStore = Literal["tomcat-trust", "callmanager-trust", "capf-trust", "ipsec-trust"]


class CucmNodeSpec(VosNodeSpec):
    """A Unified CM node (release 14+ for the REST API): one trust store per service."""

    STORES: ClassVar[tuple[str, ...]] = (
        "tomcat-trust",
        "callmanager-trust",
        "capf-trust",
        "ipsec-trust",
    )
    type: Literal["cucm"]
    trust: dict[CucmStore, TrustStoreSpec] = Field(default_factory=dict)  # type: ignore[assignment]


CUCM = vos_kind(
    type_="cucm",
    cluster_group="ucm",  # IM and Presence nodes join the Unified CM cluster [C]
    # callmanager-trust uploads replicate from the publisher [C] (device-apis.md, "Cluster
    # behaviour"); capf-trust is per node [C]; tomcat-trust and ipsec-trust: [U], per node.
    replicated_stores=frozenset({"callmanager-trust"}),
    title="Unified CM",
    spec_model=CucmNodeSpec,
    os_admin="Cisco Unified OS Administration",
    peer_stores=("tomcat-trust", "callmanager-trust"),
    store_labels={
        **COMMON_STORE_LABELS,
        "callmanager-trust": "CallManager-trust",
        "capf-trust": "CAPF-trust",
    },
    trust_restarts={
        **COMMON_TRUST_RESTARTS,
        "callmanager-trust": ("Cisco CallManager", "Cisco TFTP", "Cisco HAProxy"),
        "capf-trust": ("Cisco Certificate Authority Proxy Function",),
    },
    identity_restart=("Cisco Tomcat",),
    # Tomcat last: it takes minutes and only the SSH CLI can restart it.
    service_order=(
        "Cisco CallManager",
        "Cisco CTIManager",
        "Cisco Trust Verification Service",
        "Cisco TFTP",
        "Cisco Certificate Authority Proxy Function",
        "Cisco DRF Master",
        "Cisco DRF Local",
        "Cisco HAProxy",
        "Cisco Tomcat",
    ),
)
