"""The exact GUI path or CLI command for steps that no API of a node can do.

Where a driver lacks a capability (deleting one trusted CA on Expressway; anything on a
Unified CM 12.5 without the REST API), the planner emits a ``manual`` action with this text
and ``certops apply`` stops before it (device-apis.md, "Rules for the code").
"""

from __future__ import annotations

EXPRESSWAY_GUI = {
    "trust.add": "Maintenance > Security > Trusted CA certificate > Browse (select {file}) > "
    "Append CA certificate",
    "trust.remove": "Maintenance > Security > Trusted CA certificate > select '{subject}' > Delete",
    "csr.generate": "Maintenance > Security > Server certificate > Generate CSR (Additional "
    "alternative names: {sans}) > Generate CSR, then Download",
    "cert.install": "Maintenance > Security > Server certificate > Upload new certificate "
    "(Select the server certificate file: {file}, PEM, leaf only) > Upload server certificate data",
    "node.restart": "Maintenance > Restart options > Restart",
}

CUCM_STORE_FILE = {
    "tomcat-trust": "tomcat-trust",
    "callmanager-trust": "CallManager-trust",
    "capf-trust": "CAPF-trust",
    "ipsec-trust": "ipsec-trust",
}

CUCM_MANUAL = {
    "trust.add": "Cisco Unified OS Administration > Security > Certificate Management > Upload "
    "Certificate/Certificate chain (Certificate Purpose: {store_file}, file: {file})",
    "trust.remove": "CLI on the publisher: set cert delete {store_file_lower} <file name of "
    "'{subject}' as shown by 'show cert list trust'>.pem",
    "service.restart": "CLI on each node, publisher first: {commands}",
    "csr.generate": "Cisco Unified OS Administration > Security > Certificate Management > "
    "Generate CSR (Certificate Purpose: tomcat, Distribution: this server, SANs: {sans})",
    "cert.install": "Cisco Unified OS Administration > Security > Certificate Management > Upload "
    "Certificate/Certificate chain (Certificate Purpose: tomcat, file: {file})",
}


def manual_text(node_type: str, kind: str, **values: str) -> str:
    """The instruction for ``kind`` on a node of ``node_type``, with values filled in."""
    table = CUCM_MANUAL if node_type == "cucm" else EXPRESSWAY_GUI
    template = table.get(kind, "do '{kind}' by hand on the node")
    store = values.get("store", "")
    filled = {
        "file": "(the CA certificate file)",
        "subject": "",
        "sans": "",
        "commands": "",
        "kind": kind,
        "store_file": CUCM_STORE_FILE.get(store, store),
        "store_file_lower": CUCM_STORE_FILE.get(store, store).lower(),
        **values,
    }
    return template.format(**filled)
