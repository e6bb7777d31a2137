"""The Cisco VOS platform shared by Unified CM, IM and Presence and Unity Connection.

On VOS a node has one trust store per service (tomcat-trust, ...), an identity certificate
per service installed with its chain (the install is refused while the issuing CA is not
in the matching trust store), service restarts instead of a node restart (Cisco Tomcat only
through the SSH CLI), and no documented REST read of a pending CSR (so the CSR certops saved
under ``csrs/`` stands for it, unless the node is read over the platform CLI, which shows
it). A product on VOS is one call of ``vos_kind`` with its own tables;
``reconciler.kinds.cucm`` is the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from pydantic import Field

from reconciler.kinds.base import Profile, Restart
from reconciler.kinds.roles import RoleTable
from reconciler.kinds.vos_roles import CUCM_TABLE
from reconciler.model import CredentialsSpec, MultiStoreSpec, NodeSpecBase

# The role tables (FN74345's EKUs, the identities' restarts and trust) are per product:
# ``reconciler.kinds.vos_roles``.


class VosNodeSpec(MultiStoreSpec):
    """A node of a VOS product: per-service trust stores and **two accounts**.

    ``credentials`` name the platform (OS) administrator, which the Certificate Management
    REST API and the SSH CLI take; ``app_credentials`` name the application user (the CCM
    administrator or an AXL-enabled user), which the ControlCenterServices SOAP API takes
    [3P: two independent projects; device-apis.md, "Two accounts"]. certops never sends one
    account's password to the other's API.
    """

    app_credentials: CredentialsSpec | None = Field(
        None,
        description="Environment variables holding the application user (CCM administrator) "
        "for SOAP service control; `credentials` hold the platform (OS) administrator for the "
        "REST API and the SSH CLI. Needed where services restart over SOAP (Unified CM).",
    )

# The GUI/CLI names of the trust stores every VOS product has (the "Certificate Purpose").
COMMON_STORE_LABELS = {"tomcat-trust": "tomcat-trust", "ipsec-trust": "ipsec-trust"}

# [C] for every VOS product: a tomcat-trust change needs Cisco Tomcat, ipsec-trust DRF.
COMMON_TRUST_RESTARTS: dict[str, tuple[str, ...]] = {
    "tomcat-trust": ("Cisco Tomcat",),
    "ipsec-trust": ("Cisco DRF Master", "Cisco DRF Local"),
}

# Expected seconds each service restart takes, for the plan's restart timeline. Cisco Tomcat:
# 60-120 s [3P] (docs/device-evidence.md, "restart over the CLI"; Unity Connection's can take
# longer, netSSL allows it 10 minutes [3P, weak]); the others are guesses [U]: no public
# figure was found. Services a product names beyond these count DEFAULT_SERVICE_DOWNTIME [U].
SERVICE_RESTART_SECONDS: dict[str, int] = {
    "Cisco Tomcat": 120,  # [3P]
    "Cisco CallManager": 120,  # [U]
    "Cisco TFTP": 60,  # [U]
    "Cisco HAProxy": 30,  # [U]
    "Cisco Certificate Authority Proxy Function": 60,  # [U]
    "Cisco DRF Master": 30,  # [U]
    "Cisco DRF Local": 30,  # [U]
}

# Templates of the manual steps; {os_admin} is the product's OS administration GUI.
MANUAL_TEMPLATES = {
    "trust.add": "{os_admin} > Security > Certificate Management > Upload "
    "Certificate/Certificate chain (Certificate Purpose: {{store_file}}, file: {{file}})",
    "trust.remove": "CLI on the publisher: set cert delete {{store_file_lower}} <file name of "
    "'{{subject}}' as shown by 'show cert list trust'>.pem",
    "service.restart": "CLI on each node, publisher first: {{commands}}",
    "csr.generate": "{os_admin} > Security > Certificate Management > "
    "Generate CSR (Certificate Purpose: tomcat, Distribution: this server, SANs: {{sans}})",
    "cert.install": "{os_admin} > Security > Certificate Management > Upload "
    "Certificate/Certificate chain (Certificate Purpose: tomcat, file: {{file}})",
}

# One node's service restarts (Cisco Tomcat, CallManager, TFTP, one after the other): a
# Tomcat restart takes 60–120 s [3P: two independent CLI clients, docs/device-apis.md];
# 5 minutes for the services of one node is certops' estimate for window.short [U] (the sum of
# SERVICE_RESTART_SECONDS for a trust change's CallManager, TFTP, HAProxy and Tomcat: 330 s;
# the plan's restart chart weighs each restart by the services it names).
RESTART_ESTIMATE = timedelta(minutes=5)

# What the Certificate Management REST API (release 14+), SOAP and the CLI are evidenced to
# do; a node without the REST API (12.5) does the same over the platform CLI (its driver adds
# csr.read: the CLI shows the pending CSR).
CAPABILITIES = frozenset({"trust.add", "service.restart", "csr.generate", "cert.install"})


def vos_kind(
    *,
    type_: str,
    title: str,
    spec_model: type[NodeSpecBase],
    os_admin: str,
    peer_stores: tuple[str, ...],
    store_labels: Mapping[str, str],
    trust_restarts: Mapping[str, tuple[str, ...]],
    identity_restart: tuple[str, ...],
    service_order: tuple[str, ...],
    capabilities: frozenset[str] = CAPABILITIES,
    api_stores: frozenset[str] | None = None,
    cluster_group: str = "",
    replicated_stores: frozenset[str] = frozenset(),
    downtime: Mapping[str, int] | None = None,
    role_table: RoleTable = CUCM_TABLE,
) -> Profile:
    """A VOS product: the platform's rules with the product's stores, services and GUI.

    ``api_stores``: the stores whose REST ``service`` value is evidenced (None: all of them);
    a trust change to another store is planned as a manual step. ``downtime``: the
    product's expected seconds per service restart (default ``SERVICE_RESTART_SECONDS``).
    """
    return Profile(
        type=type_,
        title=title,
        spec_model=spec_model,
        stores=spec_model.STORES,
        # The tomcat identity install is refused while its issuing CA is not in tomcat-trust.
        own_stores=("tomcat-trust",),
        peer_stores=peer_stores,
        install_with_chain=True,
        after_install=Restart("service.restart", identity_restart, "identity"),
        committed_csr_stands_for_pending=True,
        capabilities=capabilities,
        manual_steps={k: v.format(os_admin=os_admin) for k, v in MANUAL_TEMPLATES.items()},
        trust_restarts=trust_restarts,
        service_order=service_order,
        store_labels=store_labels,
        api_stores=api_stores,
        cluster_group=cluster_group or type_,
        cluster_has_publisher=True,  # publisher first, then subscribers one at a time [C]
        replicated_stores=replicated_stores,
        # [U] no public list of the platform's default trust certificates is cited here: this
        # only decides how import writes the CAs no live leaf chains to (sets, not files).
        ships_builtin_cas=True,
        role_table=role_table,
        restart_estimate=RESTART_ESTIMATE,
        # The OS administrator: the REST API (14+) and the platform CLI (every release).
        admin_role="OS administrator",
        admin_apis="REST API, SSH CLI",
        downtime=SERVICE_RESTART_SECONDS if downtime is None else downtime,
    )
