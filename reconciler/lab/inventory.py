"""``DIR/inventory.yaml``: what clients need to reach a running lab.

Format::

    lab_dir: /abs/path/.certops-lab
    ca_bundle: /abs/path/.certops-lab/ca/lab-cas.pem   # root + old + new issuing CAs
    control: http://127.0.0.1:PORT                      # token in control.json
    nodes:
      expe1:
        type: expressway-e
        api: https://127.0.0.1:PORT
        tls_server_name: expe1.nart.com    # name to verify the served certificate against
        username: admin
        password: lab-...                  # lab-only, random per lab directory
        version: X15.0.2
        links: [expc1]
      cucm-pub:
        type: cucm
        api: https://127.0.0.1:PORT
        ssh: PORT
        ssh_host_key: ssh-ed25519 AAAA...   # the CLI's host key, to verify
        username: admin                     # the platform (OS) administrator: REST, SSH
        app_username: ccmadmin              # the application user: SOAP service control
        app_password: app-...
        ...
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML

from reconciler.lab.files import LabPaths, atomic_write

if TYPE_CHECKING:
    from reconciler.lab.server import Lab


def inventory_of(lab: Lab) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    for name, node in lab.nodes.items():
        entry: dict[str, Any] = {"type": node.state.type, "api": lab.url(name)}
        if name in lab.ssh_ports:
            entry["ssh"] = lab.ssh_ports[name]
            # The CLI's host key, so that clients check it instead of trusting any key.
            entry["ssh_host_key"] = _public_host_key(lab)
        entry.update({
            "tls_server_name": node.state.fqdn, "username": node.username,
            "password": node.password, "version": node.state.version,
            "links": list(node.state.links),
        })
        if node.state.sip_port:  # Unified CM: SIP TLS presenting the CallManager identity
            entry["sip_tls"] = node.state.sip_port
        if node.state.is_vos:  # the application user, for SOAP (username: the OS admin)
            entry.update({"app_username": node.app_username,
                          "app_password": node.app_password})
        nodes[name] = entry
    return {
        "lab_dir": str(lab.paths.root.resolve()),
        "ca_bundle": str(lab.paths.ca_bundle.resolve()),
        "control": lab.control_url,
        "nodes": nodes,
    }


def _public_host_key(lab: Lab) -> str:
    import asyncssh

    key = asyncssh.read_private_key(str(lab.paths.ssh_host_key))
    return str(key.export_public_key("openssh").decode().strip())


def write_inventory(lab: Lab) -> None:
    yaml = YAML()
    yaml.default_flow_style = False
    buf = io.StringIO()
    yaml.dump(inventory_of(lab), buf)
    atomic_write(lab.paths.inventory, buf.getvalue(), private=True)


def read_inventory(paths: LabPaths) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(paths.inventory.read_text())
    return data
