"""Emulated IM and Presence and Unity Connection nodes, and the lab's VOS product registry.

Both run the VOS platform, so they are the CUCM emulator (``reconciler.lab.cucm``) with
their own tables: the REST ``service`` values of their trust stores, what a trust change or
an identity install marks restart pending, the services their SSH CLI knows, and no SOAP
ControlCenterServices endpoint (on IM&P and Unity Connection it is [U], so the lab answers
404 there and certops restarts through the CLI). Evidence: docs/device-evidence-vos.md; the
restart tables are the kinds' (``reconciler.kinds.imp``, ``.cuc``), where every [U] is
explained. What the lab cannot vouch for, as on CUCM: the REST ``service`` values other
than ``tomcat`` ([U]: ``cup``, ``cup-xmpp``, ``ipsec``, ``callmanager``), every
inventory key but the PEM ones, status codes and texts, and the CLI's output.

A new VOS product is one ``VosProduct`` here and one line in ``VOS_PRODUCTS`` (and its type
in ``reconciler.lab.state.LabNodeType``).
"""

from __future__ import annotations

from reconciler.lab.cucm import CUCM, VosProduct

VOS_VERSION = "14.0.1.13900-8"  # a release 14 build: the REST API exists [C, DevNet]
DRF = ("Cisco DRF Master", "Cisco DRF Local")

IMP_TRUST_RESTARTS: dict[str, tuple[str, ...]] = {
    "tomcat": ("Cisco Tomcat", "Cisco Intercluster Sync Agent"),  # Tomcat [U]; Sync Agent [C]
    "cup-xmpp": ("Cisco Intercluster Sync Agent",),  # [C]; Cisco names no XCP restart [U]
    "cup": ("Cisco SIP Proxy",),  # [C]
    "ipsec": DRF,  # [U] on IM&P
}
CUC_TRUST_RESTARTS: dict[str, tuple[str, ...]] = {
    "tomcat": ("Cisco Tomcat", "Connection Conversation Manager"),  # Tomcat [U]; CCM [C]
    "callmanager": ("Connection Conversation Manager",),  # [C] for NGE
    "ipsec": DRF,  # [C]
}


def imp_identity_restarts(service: str, version: str) -> tuple[str, ...]:
    """After an IM&P identity install: tomcat → Cisco Tomcat [C]; cup-xmpp → Cisco XCP
    Router [C]; cup → Cisco SIP Proxy [U, one of its users per Cisco]."""
    return {
        "tomcat": ("Cisco Tomcat",),
        "cup-xmpp": ("Cisco XCP Router",),
        "cup": ("Cisco SIP Proxy",),
    }.get(service, IMP_TRUST_RESTARTS.get(service, ()))


def cuc_identity_restarts(service: str, version: str) -> tuple[str, ...]:
    """After a Unity Connection identity install: Cisco's list for tomcat [C], minus the two
    services whose exact names are [U] (Cisco DirSync, Connection SMTP Server)."""
    if service == "tomcat":
        return ("Connection IMAP Server", "Connection Jetty", "Connection Conversation Manager",
                "Cisco Tomcat")
    return CUC_TRUST_RESTARTS.get(service, ())


IMP = VosProduct(
    type="imp",
    realm="Cisco Unified IM and Presence",
    version=VOS_VERSION,
    services=("tomcat", "cup", "cup-xmpp", "ipsec"),
    trust_restarts=IMP_TRUST_RESTARTS,
    identity_restarts=imp_identity_restarts,
    identities={"tomcat": "{fqdn}", "cup": "{fqdn}", "cup-xmpp": "{fqdn}", "ipsec": "{fqdn}"},
    seeded_trust=("tomcat", "cup-xmpp"),  # an MRA deployment: the Expressway-C CA is there
    cli_services=(
        "Cisco Tomcat", "Cisco DB", "Cisco Intercluster Sync Agent", "Cisco XCP Router",
        "Cisco XCP Connection Manager", "Cisco SIP Proxy", "Cisco Presence Engine", *DRF,
    ),
    soap=False,
)

CUC = VosProduct(
    type="cuc",
    realm="Cisco Unity Connection",
    version=VOS_VERSION,
    services=("tomcat", "callmanager", "ipsec"),
    trust_restarts=CUC_TRUST_RESTARTS,
    identity_restarts=cuc_identity_restarts,
    identities={"tomcat": "{fqdn}", "ipsec": "{fqdn}"},
    seeded_trust=("tomcat", "callmanager"),
    cli_services=(  # as ``utils service list`` on Unity Connection shows them [3P]
        "Cisco Tomcat", "A Cisco DB", "Connection Conversation Manager", "Connection Mixer",
        "Connection Notifier", "Connection IMAP Server", "Connection Jetty", *DRF,
    ),
    soap=False,
)

# Registration: one line per VOS product (node type -> product).
VOS_PRODUCTS: dict[str, VosProduct] = {
    "cucm": CUCM,
    "imp": IMP,
    "cuc": CUC,
}
