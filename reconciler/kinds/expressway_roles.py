"""Expressway's certificate roles and EKU rules by version (the clientAuth sunset).

Every row is tagged; the sources are listed in docs/device-evidence.md ("Certificate roles
and the clientAuth sunset"):

- up to X15.3.2: one certificate per node that needs serverAuth and clientAuth on the C and
  the E (FN74362; TAC 225482: the GUI refuses an upload without clientAuth) [C];
- X15.4: the E accepts a serverAuth-only certificate only after ``xConfiguration XCP TLS
  Certificate CVS EnableServerEkuUpload: On``; the C still needs both (TAC 225482) [C];
- X15.5: a ``server`` and a ``client`` store; the server certificate needs serverAuth, the
  client certificate clientAuth (TAC 225693; the X15.5 certificate guide) [C]; the E's client
  store may take a copy of the server certificate ("Upload server certificate file as client
  certificate"), valid only where every far end ignores clientAuth [C]; certops makes the
  copy an explicit opt-in (``copy_from: server``) [U: design];
- who connects to whom: the C opens the UC traversal zone (and its SSH tunnels on TCP 2222)
  to the E and the traffic-server ports 6971/6972 to Unified CM (TAC 225693, 225476) [C];
  the E sends its certificate to the C in MRA's SIP SERVICE, which the C stops checking for
  clientAuth from X15.4 (TAC 225482) [C]; cluster peers replicate over mutual TLS, which
  stops checking clientAuth from X15.4 (TAC 225482) [C].

Whether a client-certificate upload needs a restart is not published [U]: certops restarts
the node after it, as after a server-certificate upload (the safe reading).
"""

from __future__ import annotations

from reconciler.kinds.roles import (
    BOTH,
    CLIENT_ONLY,
    SERVER_ONLY,
    EkuRow,
    LinkUse,
    RoleProfile,
    RoleTable,
    Setting,
)

X15_4 = (15, 4)
X15_5 = (15, 5)
TAG_FN = "[C] FN74362; TAC 225482"
TAG_X154 = "[C] TAC 225482"
TAG_X155 = "[C] TAC 225693; X15.5 certificate guide"

SERVER_EKU_UPLOAD = Setting(
    name="XCP TLS Certificate CVS EnableServerEkuUpload",
    relaxed="On",
    default="Off",  # [U]: the default is not stated; Off is the reading that blocks nothing
    command="xConfiguration XCP TLS Certificate CVS EnableServerEkuUpload: On",
    tag=TAG_X154,
)
SIP_EKU_CHECKING = Setting(
    name="SIP TLS Certificate ExtendedKeyUsage Checking Mode",
    relaxed="Off",
    default="On",  # [C] TAC 225693: default On
    command="xConfiguration SIP TLS Certificate ExtendedKeyUsage Checking Mode: Off",
    tag=TAG_X155,
)

CLIENT_GUI = "Maintenance > Security > Client certificate"
SERVER_ROLE = RoleProfile(name="server")
CLIENT_ROLE = RoleProfile(
    name="client",
    since=X15_5,
    manual_install=f"{CLIENT_GUI} > Upload new certificate (file: {{file}}, PEM, leaf only) "
    "> Upload client certificate data",
    manual_csr=f"{CLIENT_GUI} > Generate CSR (Additional alternative names: {{sans}}) > "
    "Generate CSR, then Download",
    may_copy=("server",),
    restart_tag="[U] not published whether a client upload needs a restart: certops restarts",
    # TAC 225693's order of the migration [C]: the private client certificate first, then
    # the public server certificates.
    install_first=True,
    # [U] no public document names it: the server store's shape, found in /api/raml
    api_resource="/certs/client",
)
ROLES = {"server": SERVER_ROLE, "client": CLIENT_ROLE}

_BEFORE_SPLIT = EkuRow(
    "server", BOTH, TAG_FN, until=X15_4,
    why="the one certificate is also presented as a TLS client (traversal zones, MRA, "
    "cluster replication, neighbour zones)",
)
_SPLIT_SERVER = EkuRow("server", SERVER_ONLY, TAG_X155, since=X15_5,
                       why="the server certificate is presented only as the TLS server")
_C_CLIENT = EkuRow("client", CLIENT_ONLY, TAG_X155, since=X15_5,
                   why="the UC traversal zone, SSH tunnels on TCP 2222, MRA login and the "
                   "WebRTC proxy need clientAuth")
_E_CLIENT = EkuRow("client", CLIENT_ONLY, TAG_X155, since=X15_5,
                   why="the E connects out with it (B2B, federation, neighbour zones)")

C_ROWS = (
    _BEFORE_SPLIT,
    EkuRow("server", BOTH, TAG_X154, since=X15_4, until=X15_5,
           why="the C is the TLS client of the UC traversal zone (X15.4 changes nothing "
           "on the C)"),
    _SPLIT_SERVER,
    _C_CLIENT,
)
E_ROWS = (
    _BEFORE_SPLIT,
    EkuRow("server", BOTH, TAG_X154, since=X15_4, until=X15_5,
           setting=SERVER_EKU_UPLOAD, relaxed_eku=SERVER_ONLY,
           why="X15.4 takes a serverAuth-only certificate on the E only with the upload switch"),
    _SPLIT_SERVER,
    _E_CLIENT,
)

# Cluster peers: ClusterDB mutual TLS checks clientAuth before X15.4 [C] TAC 225482.
_C_LINKS = (
    LinkUse("expressway-e", "UC traversal zone and its SSH tunnels (TCP 2222)", TAG_X155),
    LinkUse("cucm", "traffic-server ports 6971/6972 and SIP to Unified CM",
            "[C] TAC 225693, 225476"),
    LinkUse("expressway-c", "cluster replication", TAG_X154, checks_client_auth_until=X15_4),
)
_E_LINKS = (
    LinkUse("expressway-c", "MRA SIP SERVICE (the E's certificate to the C)", TAG_X154,
            checks_client_auth_until=X15_4, ignore_setting=SIP_EKU_CHECKING),
    LinkUse("expressway-e", "cluster replication", TAG_X154, checks_client_auth_until=X15_4),
)

EXPRESSWAY_C_ROLES = RoleTable(
    primary="server", roles=ROLES, eku_rows=C_ROWS, connects_to=_C_LINKS,
    client_role="client", settings=(SIP_EKU_CHECKING,),
)
EXPRESSWAY_E_ROLES = RoleTable(
    primary="server", roles=ROLES, eku_rows=E_ROWS, connects_to=_E_LINKS,
    client_role="client", settings=(SERVER_EKU_UPLOAD, SIP_EKU_CHECKING),
)
