"""Cisco Unified Communications Manager IM and Presence Service (release 14+ for the REST API).

A VOS product (``reconciler.kinds.vos``). Evidence: docs/device-evidence-vos.md, which quotes
Cisco's "Configure Certificates" chapter of the IM and Presence 12.5(1) configuration guide
(IMP-CFG-125), its federation guide (IMP-FED-125) and the MRA deployment guide X15 (MRA-X15).
Tags: [C] Cisco's own text, [3P] third-party code, [U] our inference, unconfirmed.

Trust stores [C]: tomcat-trust, cup-trust, cup-xmpp-trust (shared by cup-xmpp and
cup-xmpp-s2s), ipsec-trust. The tomcat identity is the primary one; cup, cup-xmpp,
cup-xmpp-s2s and the ECDSA forms are managed when a node file declares them
(``certificates:``; their rows in ``kinds.vos_roles``).

A linked Expressway-C (MRA) must be trusted in **cup-xmpp-trust and tomcat-trust** [C,
MRA-X15]: those are the peer stores. cup-trust is for SIP federation through an
Expressway-C (Office 365 / Skype for Business) [C]: list CAs there by hand when needed.

Restarts after a trust change:

- tomcat-trust → Cisco Tomcat ([U] on IM&P: Cisco's IM&P chapter states it for CUCM only)
  and Cisco Intercluster Sync Agent ([C]: "ensures that the CA certificates are synced
  immediately to all other clusters" after an upload to tomcat-trust or cup-xmpp-trust on
  the IM&P database publisher);
- cup-xmpp-trust → Cisco Intercluster Sync Agent [C, as above]. Cisco gives **no** restart
  step for the XMPP services after a cup-xmpp-trust upload [U]. We do not restart Cisco XCP
  Router automatically (it restarts every XCP service, an IM outage for every user) on an
  inference; if XMPP TLS from the Expressway fails after the upload, run
  ``utils service restart Cisco XCP Router`` on each node by hand [U];
- cup-trust → Cisco SIP Proxy [C: "restart the SIP proxy service" after importing the
  CUCM certificate; its exact name on the CLI is U];
- ipsec-trust → Cisco DRF Master, Cisco DRF Local [U on IM&P: Cisco states it for CUCM and
  Unity Connection only].

The tomcat identity → Cisco Tomcat on each node [C] (then, if the intercluster sync does not
show "Connection is secure", Cisco Intercluster Sync Agent on the publisher [C]: a check for
the operator, not planned).

Which calls are evidenced, hence the capabilities: Cisco says the Certificate Management
REST API exists on IM&P from release 14 [C, DevNet], but every public client uses only
``service=tomcat`` [3P]; the ``service`` values of the other stores are [U]. So ``trust.add``
(and ``trust.remove``, manual on every VOS product) is done over the API for tomcat-trust
only: ``API_STORES`` below, asked through ``store_capable``; a CA for cup-xmpp-trust,
cup-trust or ipsec-trust is a manual step with its GUI path. SOAP ControlCenterServices on
IM&P is [U]: the driver restarts services over the SSH CLI only
(``utils service restart <name>``, [C] for Cisco Tomcat, Cisco XCP Router and Cisco
Intercluster Sync Agent; [U] for Cisco SIP Proxy and the DRF services).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from reconciler.kinds.vos import (
    COMMON_STORE_LABELS,
    COMMON_TRUST_RESTARTS,
    SERVICE_RESTART_SECONDS,
    VosNodeSpec,
    vos_kind,
)
from reconciler.kinds.vos_roles import IMP_TABLE
from reconciler.model import TrustStoreSpec

ImpStore = Literal["tomcat-trust", "cup-trust", "cup-xmpp-trust", "ipsec-trust"]

TOMCAT = "Cisco Tomcat"
SYNC_AGENT = "Cisco Intercluster Sync Agent"  # [C] IMP-CFG-125
SIP_PROXY = "Cisco SIP Proxy"  # [C] the service; [U] its exact CLI name

# Stores whose trust.add the REST API is evidenced to do: service=tomcat only [3P]; the
# service values of cup-trust, cup-xmpp-trust and ipsec-trust are [U].
API_STORES = frozenset({"tomcat-trust"})


class ImpNodeSpec(VosNodeSpec):
    """An IM and Presence node (release 14+ for the REST API): one trust store per service."""

    STORES: ClassVar[tuple[str, ...]] = (
        "tomcat-trust",
        "cup-trust",
        "cup-xmpp-trust",
        "ipsec-trust",
    )
    type: Literal["imp"]
    trust: dict[ImpStore, TrustStoreSpec] = Field(default_factory=dict)  # type: ignore[assignment]


# Expected seconds per service restart (the plan's restart chart): Tomcat as on Unified CM
# [3P]; the Sync Agent and the SIP Proxy are guesses [U].
RESTART_SECONDS = {**SERVICE_RESTART_SECONDS, SYNC_AGENT: 120, SIP_PROXY: 60}  # [U] both

IMP = vos_kind(
    role_table=IMP_TABLE,
    type_="imp",
    cluster_group="ucm",  # IM and Presence nodes join the Unified CM cluster [C]
    title="IM and Presence",
    spec_model=ImpNodeSpec,
    os_admin="Cisco Unified IM and Presence OS Administration",  # [C] IMP-CFG-125
    peer_stores=("tomcat-trust", "cup-xmpp-trust"),  # [C] MRA-X15
    store_labels={
        **COMMON_STORE_LABELS,
        "cup-trust": "cup-trust",
        "cup-xmpp-trust": "cup-xmpp-trust",
    },
    trust_restarts={
        # ipsec-trust: DRF Master, DRF Local ([U] on IM&P, see the module docstring).
        **COMMON_TRUST_RESTARTS,
        "tomcat-trust": (TOMCAT, SYNC_AGENT),  # Tomcat [U] on IM&P; Sync Agent [C]
        "cup-xmpp-trust": (SYNC_AGENT,),  # [C]; no XCP restart: Cisco names none [U]
        "cup-trust": (SIP_PROXY,),  # [C]
    },
    identity_restart=(TOMCAT,),  # [C] on each node
    # Tomcat before the Sync Agent: Cisco restarts Tomcat, then checks the sync and restarts
    # the Sync Agent [C]. Every restart is over the SSH CLI, one at a time.
    service_order=(
        SIP_PROXY,
        "Cisco DRF Master",
        "Cisco DRF Local",
        TOMCAT,
        SYNC_AGENT,
    ),
    api_stores=API_STORES,
    downtime=RESTART_SECONDS,
)
