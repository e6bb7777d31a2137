"""The Unified CM SIP TLS port over real TLS on loopback: it presents the CallManager identity
and switches to a regenerated one only after the restart the version names (lab.sip,
lab.phones); the inventory names it sip_tls."""

from __future__ import annotations

import hashlib
import socket
import ssl

from reconciler.lab import LabThread
from reconciler.lab.ca import load_certs, sha256_hex
from reconciler.lab.platform_cli import run_command


def sip_sha256(lab: LabThread, name: str) -> str:
    """SHA-256 of the certificate the node's SIP TLS port presents (self-signed or lab CA:
    the handshake is not verified, the certificate is what the test looks at)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    port = lab.node(name).state.sip_port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=lab.node(name).state.fqdn) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


def test_sip_tls_presents_callmanager_and_switches_on_haproxy(lab: LabThread) -> None:
    node = lab.node("cucm-pub")  # 14SU1+: HAProxy switches the SIP TLS identity
    first = sha256_hex(load_certs(node.state.identities["callmanager"].cert_pem)[0])
    assert sip_sha256(lab, "cucm-pub") == first
    inventory = lab.lab.paths.inventory.read_text()
    assert f"sip_tls: {node.state.sip_port}" in inventory

    out: list[str] = []
    assert lab.run(run_command(node, "set cert regen CallManager", out.append)) == 0
    new = sha256_hex(load_certs(node.state.identities["callmanager"].cert_pem)[0])
    assert new != first and sip_sha256(lab, "cucm-pub") == first
    lab.run(node.restart_service("Cisco HAProxy"))
    assert sip_sha256(lab, "cucm-pub") == new
