"""The certificate roles of the Cisco VOS products (issue 22): Unified CM's identities
(``tomcat``, ``callmanager``, ``capf``, ``tvs``, ``itlrecovery`` and the ECDSA forms), IM and
Presence's and Unity Connection's, as kind data (``kinds.roles``).

Role names are lower-case node-file keys; the product's unit names (``CallManager``,
``tomcat-ECDSA``, ``ITLRecovery``) are the driver's (``drivers.cucm.ROLE_UNIT``). Every row
carries its source (docs/device-evidence-vos.md, "Unified CM identities and the phones'
trust"); [U] marks our reading where no public text says it:

- EKUs: FN74345 [C]: up to 15SU4 and all of 14, tomcat, CallManager, TVS, ipsec, cup and
  cup-xmpp-s2s are also TLS clients, so they need serverAuth and clientAuth; the ECDSA forms
  serve the same connections [U: by analogy]; CAPF and ITLRecovery are no TLS identity
  (CAPF signs phones' LSCs, ITLRecovery signs the ITL from 12.0) [U]: serverAuth only is
  asked of a CA-signed one.
- restarts: the CallManager identity needs Cisco HAProxy from 14SU1 and Cisco CallManager,
  Cisco CTIManager and Cisco HAProxy on 14.0 (the CUCM certificate tables) [C]; TAC 214231
  restarts Cisco TFTP after a CallManager, TVS, CAPF or ITLRecovery change so the ITL is
  rebuilt [C] (the Security Guide 15 says no manual TFTP restart is needed after a
  CallManager regeneration: the two disagree, certops keeps the restart, the safe side); TVS
  needs Cisco Trust Verification Service, CAPF Cisco Certificate Authority Proxy Function
  [C TAC 214231].
- who trusts it: the CallManager identity is presented on SIP TLS (5061) to the
  Expressway-C (MRA, its trusted CA list) [C MRA guide, TAC 225746], to other Unified CM
  clusters (callmanager-trust: trunks, inter-cluster links) [C FN74345], to Unity Connection
  (CallManager-trust, secure SIP) [C TAC 211622] and IM and Presence (cup-trust) [C
  IMP-CFG-125]; TVS, CAPF and ITLRecovery only to phones (through the ITL) [C TAC 214231].
- where it exists: ITLRecovery on the publisher only from 12.5, CAPF on the publisher only
  from 14 [C TAC 214231].
"""

from __future__ import annotations

from typing import Any

from reconciler.kinds.expressway_roles import SIP_EKU_CHECKING
from reconciler.kinds.roles import (
    BOTH,
    SERVER_ONLY,
    EkuRow,
    LinkUse,
    RoleProfile,
    RoleRestart,
    RoleTable,
)

CUCM_14SU1 = (14, 0, 1, 11900)  # 14SU1 is 14.0.1.11900 [C release notes]
FN = "[C] FN74345 (to 15SU4 and 14); 15SU5 [U]"
TAC_REGEN = "[C] TAC 214231"
TFTP = "Cisco TFTP"
PHONES_ONLY = (("phone", ()),)  # presented to phones through the ITL, to no linked node

CALLMANAGER_PEERS = (
    ("cucm", ("callmanager-trust",)),
    ("expressway-c", ("trusted-ca-list",)),
    ("cuc", ("callmanager-trust",)),
    ("imp", ("cup-trust",)),
)
CALLMANAGER_RESTARTS = (
    RoleRestart(("Cisco CallManager", "Cisco CTIManager", "Cisco HAProxy", TFTP),
                "[C] CUCM certificate table (14.0); TFTP: TAC 214231", until=CUCM_14SU1),
    RoleRestart(("Cisco HAProxy", TFTP), "[C] CUCM certificate table (14SU1+); TFTP: TAC "
                "214231", since=CUCM_14SU1),
)
_OS = "Cisco Unified OS Administration > Security > Certificate Management"


def _gui(purpose: str) -> tuple[str, str]:
    """The GUI paths of an install and a CSR by hand for the certificate purpose."""
    return (f"{_OS} > Upload Certificate/Certificate chain (Certificate Purpose: {purpose}, "
            "file: {file})",
            f"{_OS} > Generate CSR (Certificate Purpose: {purpose}, Distribution: this "
            "server, SANs: {sans})")


def _role(name: str, purpose: str, **kw: Any) -> RoleProfile:
    install, csr = _gui(purpose)
    # [C] CLI reference 12.5: set cert regen <unit>; ITLRecovery asks "Proceed with
    # regeneration (yes|no)?" (a tokenless CTL warning), so the driver leaves it to a person.
    regen = f"CLI (admin) on the node: set cert regen {purpose}" + (
        " (answer yes to 'Proceed with regeneration')" if purpose == "ITLRecovery" else "")
    return RoleProfile(name, manual_install=install, manual_csr=csr, self_signed_ok=True,
                       manual_regenerate=regen, imported=False, **kw)


CUCM_ROLES = {
    "tomcat": _role("tomcat", "tomcat"),
    "tomcat-ecdsa": _role("tomcat-ecdsa", "tomcat-ECDSA", own_stores=("tomcat-trust",),
                          restarts=(RoleRestart(("Cisco Tomcat",), TAC_REGEN),)),
    "callmanager": _role("callmanager", "CallManager", own_stores=("callmanager-trust",),
                         presented_to=CALLMANAGER_PEERS, restarts=CALLMANAGER_RESTARTS,
                         itl="signer"),
    "callmanager-ecdsa": _role("callmanager-ecdsa", "CallManager-ECDSA",
                               own_stores=("callmanager-trust",),
                               presented_to=CALLMANAGER_PEERS,
                               restarts=CALLMANAGER_RESTARTS, itl="signer"),
    "capf": _role("capf", "CAPF", own_stores=("capf-trust",), presented_to=PHONES_ONLY, itl="capf",
                  restarts=(RoleRestart(("Cisco Certificate Authority Proxy Function", TFTP),
                                        TAC_REGEN),), publisher_only=True),
    # [U] no tvs-trust store is modelled: a CA-signed TVS's chain is not derived.
    "tvs": _role("tvs", "TVS", own_stores=(), presented_to=PHONES_ONLY,
                 restarts=(RoleRestart(("Cisco Trust Verification Service", TFTP),
                                       TAC_REGEN),), itl="tvs"),
    "itlrecovery": _role("itlrecovery", "ITLRecovery", own_stores=(), presented_to=PHONES_ONLY,
                         restarts=(RoleRestart((TFTP,), TAC_REGEN),), itl="signer",
                         publisher_only=True),
}
CUCM_ROWS = (
    EkuRow("tomcat", BOTH, FN, why="Tomcat is also a TLS client (LDAP, SIP OAuth over MRA)"),
    EkuRow("tomcat-ecdsa", BOTH, FN + "; ECDSA form [U]", why="as tomcat"),
    EkuRow("callmanager", BOTH, FN, why="SIP trunks and inter-node links are mutual TLS"),
    EkuRow("callmanager-ecdsa", BOTH, FN + "; ECDSA form [U]", why="as callmanager"),
    EkuRow("tvs", BOTH, FN, why="online CAPF"),
    EkuRow("capf", SERVER_ONLY, "[U] no TLS client role published"),
    EkuRow("itlrecovery", SERVER_ONLY, "[U] signs the ITL; no TLS role"),
)
VOS_LINKS = (
    LinkUse("cucm", "inter-node and inter-cluster links (CallManager, SIP)", "[C] FN74345"),
    LinkUse("expressway-c", "SIP trunk / neighbour zone with mutual TLS", "[C] FN74362",
            ignore_setting=SIP_EKU_CHECKING),
)
CUCM_TABLE = RoleTable(primary="tomcat", roles=CUCM_ROLES, eku_rows=CUCM_ROWS,
                       connects_to=VOS_LINKS)

_IMP_XMPP = ("cup-xmpp-trust",)
IMP_ROLES = {
    "tomcat": _role("tomcat", "tomcat"),
    "tomcat-ecdsa": _role("tomcat-ecdsa", "tomcat-ECDSA", own_stores=("tomcat-trust",),
                          restarts=(RoleRestart(("Cisco Tomcat",), "[C] IMP-CFG-125"),)),
    "cup": _role("cup", "cup", own_stores=("cup-trust",),
                 restarts=(RoleRestart(("Cisco SIP Proxy", "Cisco Presence Engine"),
                                       "[U] the users are [C] IMP-CFG-125, no restart step"),)),
    "cup-xmpp": _role("cup-xmpp", "cup-xmpp", own_stores=_IMP_XMPP,
                      restarts=(RoleRestart(("Cisco XCP Router",), "[C] IMP-CFG-125"),)),
    "cup-xmpp-s2s": _role("cup-xmpp-s2s", "cup-xmpp-s2s", own_stores=_IMP_XMPP,
                          restarts=(RoleRestart(
                              ("Cisco XCP XMPP Federation Connection Manager",),
                              "[C] IMP-CFG-125, IMP-FED-125"),)),
}
IMP_ROWS = (
    EkuRow("tomcat", BOTH, FN, why="Tomcat is also a TLS client"),
    EkuRow("tomcat-ecdsa", BOTH, FN + "; ECDSA form [U]", why="as tomcat"),
    EkuRow("cup", BOTH, FN, why="secure SIP to Unified CM and third parties"),
    EkuRow("cup-xmpp", BOTH, "[C] IMP-CFG-125 (its CSR asks both)", why="XMPP router links"),
    EkuRow("cup-xmpp-s2s", BOTH, FN, why="XMPP federation"),
)
IMP_TABLE = RoleTable(primary="tomcat", roles=IMP_ROLES, eku_rows=IMP_ROWS,
                      connects_to=VOS_LINKS)

CUC_ROLES = {
    "tomcat": _role("tomcat", "tomcat"),
    "tomcat-ecdsa": _role("tomcat-ecdsa", "tomcat-ECDSA", own_stores=("tomcat-trust",),
                          restarts=(RoleRestart(("Cisco Tomcat",
                                                 "Connection Conversation Manager"),
                                                "[C] CUC-OS-15"),)),
}
CUC_ROWS = (
    EkuRow("tomcat", BOTH, FN, why="Tomcat is also a TLS client (and serves SIP TLS)"),
    EkuRow("tomcat-ecdsa", BOTH, FN + "; ECDSA form [U]", why="as tomcat (NGE SIP TLS)"),
)
CUC_TABLE = RoleTable(primary="tomcat", roles=CUC_ROLES, eku_rows=CUC_ROWS,
                      connects_to=VOS_LINKS)
