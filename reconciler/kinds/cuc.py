"""Cisco Unity Connection (release 14+ for the REST API): a VOS product (``kinds.vos``).

Evidence: docs/device-evidence-vos.md, which quotes Cisco's Unity Connection 15 OS Administration
guide, chapter "Security" (CUC-OS-15), and TAC document 211622 on secure SIP (NGE) between
CUCM and Unity Connection (CUC-NGE-TAC). Tags: [C] Cisco's own text, [3P] third-party code,
[U] our inference, unconfirmed.

Trust stores [C]: tomcat-trust, CallManager-trust (GUI label; ``callmanager-trust`` in node
files, as on CUCM), ipsec-trust. Other stores (CAPF-trust, TVS-trust, ...) are [U]: not
modelled; certops leaves them alone.

Peer stores (what a linked Expressway or Unified CM must reach): tomcat-trust, the store of
CA roots for the tomcat identity and HTTPS peers [C], and CallManager-trust, where Cisco puts
the CUCM's CA chain for secure SIP [C, CUC-NGE-TAC]. That a linked Expressway's chain is
needed in CallManager-trust is [U] (true when the Expressway carries SIP TLS to Unity
Connection); adding a CA there is harmless.

Restarts after a trust change:

- tomcat-trust → Cisco Tomcat ([U]: no Unity Connection statement; [C] on CUCM) and
  Connection Conversation Manager ([C] in the NGE flow: Unity Connection's SIP TLS presents
  the tomcat certificate and Cisco restarts Conversation Manager after the tomcat-trust
  upload);
- callmanager-trust → Connection Conversation Manager ([C] for NGE configuration changes;
  [U] that an upload alone needs it);
- ipsec-trust → Cisco DRF Master, Cisco DRF Local, publisher first [C].

The tomcat identity → Cisco's list [C, CUC-OS-15 "Using Third-Party CA Certificates"]:
"Cisco tomcat service, Connection IMAP Server, Cisco Dirsync service, Connection Jetty
service, SMTP service and Connection Conversation Manager service". Planned: Cisco Tomcat,
Connection IMAP Server, Connection Jetty, Connection Conversation Manager (names as Cisco
lists them elsewhere [C]). Not planned, because their exact service names are [U]:
"Cisco Dirsync" (probably ``Cisco DirSync``) and "SMTP service" (probably ``Connection SMTP
Server``): restart them by hand after an install if the node lists them.

Which calls are evidenced, hence the capabilities: the Certificate Management REST API
exists on Unity Connection from release 14 [C, DevNet]; public clients use only
``service=tomcat`` (netSSL claims to have run it on Unity Connection [3P-claim]). So
``trust.add`` goes over the API for tomcat-trust only (``API_STORES``); callmanager-trust and
ipsec-trust uploads are manual steps. SOAP ControlCenterServices on Unity Connection is
[U] (Cisco manages the Connection services in Cisco Unity Connection Serviceability > Tools
> Service Management): the driver restarts services over the SSH CLI only. ``utils service
restart Cisco Tomcat`` is [3P]; the same command for the Connection services is [U]
(``utils service list`` on Unity Connection shows "Connection Conversation Manager" [3P]).
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
from reconciler.kinds.vos_roles import CUC_TABLE
from reconciler.model import TrustStoreSpec

CucStore = Literal["tomcat-trust", "callmanager-trust", "ipsec-trust"]

TOMCAT = "Cisco Tomcat"
CONVERSATION_MANAGER = "Connection Conversation Manager"  # [C]; CLI restart syntax [U]
IMAP = "Connection IMAP Server"  # [C]
JETTY = "Connection Jetty"  # [C]

# Stores whose trust.add the REST API is evidenced to do: service=tomcat only [3P]; the
# service values of callmanager-trust and ipsec-trust on Unity Connection are [U].
API_STORES = frozenset({"tomcat-trust"})


class CucNodeSpec(VosNodeSpec):
    """A Unity Connection node (release 14+ for the REST API): one trust store per service."""

    STORES: ClassVar[tuple[str, ...]] = ("tomcat-trust", "callmanager-trust", "ipsec-trust")
    type: Literal["cuc"]
    trust: dict[CucStore, TrustStoreSpec] = Field(default_factory=dict)  # type: ignore[assignment]


# Expected seconds per service restart (the plan's restart chart): Unity Connection's Tomcat
# is slower than Unified CM's [3P, weak: netSSL gives it 10 minutes, "CUC Tomcat can be very
# slow"]; the Connection services are guesses [U].
RESTART_SECONDS = {
    **SERVICE_RESTART_SECONDS,
    TOMCAT: 300,  # [3P, weak]
    CONVERSATION_MANAGER: 120,  # [U]
    IMAP: 60,  # [U]
    JETTY: 60,  # [U]
}

CUC = vos_kind(
    role_table=CUC_TABLE,
    type_="cuc",
    title="Unity Connection",
    spec_model=CucNodeSpec,
    os_admin="Cisco Unified Operating System Administration",  # [C] CUC-OS-15
    peer_stores=("tomcat-trust", "callmanager-trust"),
    store_labels={**COMMON_STORE_LABELS, "callmanager-trust": "CallManager-trust"},  # [C]
    trust_restarts={
        **COMMON_TRUST_RESTARTS,  # ipsec-trust: DRF Master, DRF Local [C]
        "tomcat-trust": (TOMCAT, CONVERSATION_MANAGER),  # Tomcat [U]; Conv. Manager [C]
        "callmanager-trust": (CONVERSATION_MANAGER,),  # [C] for NGE; [U] for an upload
    },
    # [C]; Cisco Dirsync and the SMTP service are left out: exact names [U].
    identity_restart=(IMAP, JETTY, CONVERSATION_MANAGER, TOMCAT),
    # Tomcat last, as on CUCM (it carries the API; minutes on Unity Connection [3P]).
    service_order=(
        "Cisco DRF Master",
        "Cisco DRF Local",
        IMAP,
        JETTY,
        CONVERSATION_MANAGER,
        TOMCAT,
    ),
    api_stores=API_STORES,
    downtime=RESTART_SECONDS,
)
