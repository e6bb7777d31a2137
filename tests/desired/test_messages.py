"""What the schema findings say: plain words, the expected and the found, allowed keys."""

from __future__ import annotations

import pytest

from reconciler.desired.schema_check import validate, validate_node
from reconciler.desired.yamlsource import YamlDoc, parse_yaml
from reconciler.kinds import KINDS
from reconciler.model import FleetSpec

HEAD = "name: expe1\ntype: expressway-e\napi: https://expe1.example.com\n"


def node_messages(body: str, head: str = HEAD) -> list[str]:
    doc = parse_yaml("nodes/expe1.yaml", (head + body).encode())
    assert isinstance(doc, YamlDoc)
    spec, findings = validate_node(doc)
    assert spec is None or not findings
    return [f"{f.location}: {f.message}" for f in findings]


def fleet_messages(text: str) -> list[str]:
    doc = parse_yaml("certops.yaml", text.encode())
    assert isinstance(doc, YamlDoc)
    return [f"{f.location}: {f.message}" for f in validate(FleetSpec, doc)[1]]


def test_every_node_type_has_a_model_that_accepts_it() -> None:
    for node_type, kind in KINDS.items():
        spec = kind.spec_model.model_validate(
            {"name": "n1", "type": node_type, "api": "https://n1.example.com"}, strict=True
        )
        assert spec.type == node_type
        assert set(spec.STORES) == set(kind.stores)


def test_unknown_key_lists_the_allowed_keys_and_a_near_miss() -> None:
    [msg] = node_messages("server_certificate:\n  subject_alt_names: [a]\n  fiel: x.pem\n")
    assert msg == (
        "nodes/expe1.yaml:6:3: unknown key 'fiel'; did you mean 'file'? "
        "(allowed: file, issuer, renew_before, replace_pending_csr, subject_alt_names)"
    )


def test_missing_key_at_the_mapping_that_lacks_it() -> None:
    [msg] = node_messages("credentials:\n  username_env: U\n")
    assert msg == "nodes/expe1.yaml:4:1: missing required key 'password_env'"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("tls_verify: 'true'\n", "expected true or false, got the string 'true'"),
        ("tls_verify: 1\n", "expected true or false, got 1"),
        ("labels: [a]\n", "expected a mapping, got a list of 1 item"),
        ("server_certificate: {subject_alt_names: 5}\n", "expected a list, got 5"),
        (
            "server_certificate: {subject_alt_names: []}\n",
            "list at least one name: the certificate's SANs",
        ),
        ("tls_verify:\n", "expected true or false, got nothing (an empty value)"),
    ],
)
def test_type_errors_say_expected_and_got(body: str, expected: str) -> None:
    assert [m.split(": ", 1)[1] for m in node_messages(body)] == [expected]


def test_long_values_are_described_not_echoed() -> None:
    secret = "x" * 80
    [msg] = node_messages(f"tls_verify: {secret}\n")
    assert secret not in msg and "80-character string" in msg


def test_unknown_and_missing_type() -> None:
    [msg] = node_messages("", head="name: expe1\ntype: cube\n")
    assert msg == (
        "nodes/expe1.yaml:2:7: unknown node type 'cube' "
        "(valid types: expressway-c, expressway-e, vcs, cucm, imp, cuc)"
    )
    [msg] = node_messages("", head="name: expe1\n")
    assert msg.startswith("nodes/expe1.yaml:1:1: missing required key 'type'")


def test_vcs_is_an_expressway_kind() -> None:
    assert node_messages("trust: [a.pem]\n", head="name: vcs1\ntype: vcs\napi: https://v\n") == []


def test_cucm_store_names() -> None:
    head = "name: cucm\ntype: cucm\napi: https://cucm\n"
    [msg] = node_messages("trust:\n  tomcat: [a.pem]\n", head=head)
    assert msg.startswith(
        "nodes/expe1.yaml:5:3: unknown key 'tomcat': expected one of 'tomcat-trust'"
    )


def test_fleet_strict_numbers_and_link_shapes() -> None:
    msgs = fleet_messages(
        "policy:\n  min_rsa_bits: 2048.0\n  max_rsa_bits: 1024\nlinks:\n  - [a]\n  - []\n"
    )
    assert msgs == [
        "certops.yaml:2:17: expected a whole number, got 2048.0",
        "certops.yaml:3:17: must be at least 2048, got 1024",
        "certops.yaml:5:5: expected exactly 2 items, got a list of 1 item",
        "certops.yaml:6:5: expected exactly 2 items, got a list of 0 items",
    ]


def test_value_errors_keep_the_model_wording() -> None:
    [msg] = node_messages("server_certificate:\n  subject_alt_names: ['DNS:a.example.com']\n")
    assert msg.endswith("write 'a.example.com' without the type prefix")
