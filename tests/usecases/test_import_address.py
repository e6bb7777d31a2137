"""``certops import`` writes a node's real address, never an inventory's local mapping."""

from __future__ import annotations

from reconciler.drivers.fleet import InventoryEntry
from reconciler.usecases.importing import address


def test_loopback_mapping_becomes_the_name_the_node_has() -> None:
    inv = InventoryEntry(api="https://127.0.0.1:8443", tls_server_name="expe1.example.com")
    assert address("https://127.0.0.1:8443", inv) == ("https://expe1.example.com", {})


def test_an_ip_address_gets_its_tls_server_name() -> None:
    inv = InventoryEntry(api="https://192.0.2.10", tls_server_name="expc1.example.com",
                         ssh_host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA comment")
    api, conn = address("https://192.0.2.10", inv)
    assert api == "https://192.0.2.10"
    assert conn == {"tls_server_name": "expc1.example.com",
                    "ssh_host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA"}


def test_a_name_is_kept_as_it_is() -> None:
    inv = InventoryEntry(api="https://expc1.example.com", tls_server_name="expc1.example.com")
    assert address("https://expc1.example.com", inv) == ("https://expc1.example.com", {})
