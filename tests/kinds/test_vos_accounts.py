"""VOS node files carry two accounts: the OS administrator and the application user."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_vos_kinds import node_findings

from reconciler.drivers.errors import ConfigError
from reconciler.drivers.fleet import Inventory, InventoryEntry, endpoint_for
from reconciler.kinds.vos import VosNodeSpec
from reconciler.model import DesiredNode

CUCM = """\
name: n1
type: {type}
api: https://n1.example:8443
credentials: {{username_env: N1_USER, password_env: N1_PASSWORD}}
app_credentials: {{username_env: N1_APP_USER, password_env: N1_APP_PASSWORD}}
"""
ENV = {"N1_USER": "osadmin", "N1_PASSWORD": "os-pw", "N1_APP_USER": "ccmadmin",
       "N1_APP_PASSWORD": "app-pw"}


@pytest.mark.parametrize("node_type", ["cucm", "imp", "cuc"])
def test_vos_node_files_take_both_accounts(node_type: str) -> None:
    spec, findings = node_findings(CUCM.format(type=node_type))
    assert findings == []
    assert isinstance(spec, VosNodeSpec) and spec.app_credentials is not None
    assert spec.app_credentials.username_env == "N1_APP_USER"


def test_an_expressway_has_one_account_only() -> None:
    _, findings = node_findings(CUCM.format(type="expressway-c"))
    assert len(findings) == 1 and "app_credentials" in findings[0]
    assert findings[0].startswith("nodes/n1.yaml:5:1")


def test_app_credentials_are_variable_names_too() -> None:
    text = CUCM.format(type="cucm").replace("N1_APP_USER", "not a name")
    _, findings = node_findings(text)
    assert len(findings) == 1 and findings[0].startswith("nodes/n1.yaml:5:")
    assert "name of an environment variable" in findings[0] and "not a name" not in findings[0]


def _node(text: str) -> DesiredNode:
    spec, _ = node_findings(text)
    assert isinstance(spec, VosNodeSpec)
    return DesiredNode(spec=spec, file="nodes/n1.yaml")


def test_each_account_comes_from_its_own_variables() -> None:
    ep = endpoint_for(_node(CUCM.format(type="cucm")), Inventory(), ENV)
    assert (ep.username, ep.password) == ("osadmin", "os-pw")
    assert (ep.app_username, ep.app_password) == ("ccmadmin", "app-pw")
    assert "pw" not in repr(ep)


def test_reads_need_no_application_user_and_never_borrow_the_os_admin() -> None:
    """Plan and drift read over REST only; SOAP then refuses (tests/drivers/test_cucm.py)."""
    env = {k: v for k, v in ENV.items() if "APP" not in k}
    ep = endpoint_for(_node(CUCM.format(type="cucm")), Inventory(), env)
    assert ep.app_username is None and ep.app_password is None
    with pytest.raises(ConfigError, match="N1_USER and N1_PASSWORD"):
        endpoint_for(_node(CUCM.format(type="cucm")), Inventory(), {})


def test_the_inventory_may_carry_both_accounts(tmp_path: Path) -> None:
    inv = Inventory(nodes={"n1": InventoryEntry(api="https://127.0.0.1:1", username="a",
                                                password="b", app_username="c",
                                                app_password="d")})
    ep = endpoint_for(_node(CUCM.format(type="cucm")), inv, {})
    assert (ep.username, ep.password, ep.app_username, ep.app_password) == ("a", "b", "c", "d")
