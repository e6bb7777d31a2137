"""Positions of keys and values, and how pydantic error locations land on them."""

from __future__ import annotations

from reconciler.desired.locate import position, walk
from reconciler.desired.yamlsource import YamlDoc, parse_yaml
from reconciler.model import Finding, SourcePos

NODE = b"""\
# a comment first
name: expe1
server_certificate:
  file: ../certs/expe1.pem
  subject_alt_names: [a.example.com, b.example.com,
    c.example.com]
  renew_before:
trust:
  - ../cas/root.pem
  -   ../cas/issuing.pem
labels: {2: two, site: dc1}
stores:
  tomcat-trust:
    cas: [x.pem]
"""


def doc(text: bytes = NODE) -> YamlDoc:
    parsed = parse_yaml("nodes/expe1.yaml", text)
    assert isinstance(parsed, YamlDoc), parsed
    return parsed


def at(d: YamlDoc, path: str) -> tuple[int, int]:
    pos = d.positions[path]
    assert pos.file == "nodes/expe1.yaml"
    return pos.line, pos.col


def test_document_start_is_line_one() -> None:
    assert at(doc(), "") == (1, 1)


def test_keys_and_values_are_one_based() -> None:
    d = doc()
    assert at(d, "name#key") == (2, 1)
    assert at(d, "name") == (2, 7)
    assert at(d, "server_certificate#key") == (3, 1)
    assert at(d, "server_certificate.file") == (4, 9)


def test_flow_and_block_list_items() -> None:
    d = doc()
    assert at(d, "server_certificate.subject_alt_names") == (5, 22)
    assert at(d, "server_certificate.subject_alt_names.2") == (6, 5)
    assert at(d, "trust.0") == (9, 5)
    assert at(d, "trust.1") == (10, 7)


def test_empty_value_points_at_its_key() -> None:
    # ruamel would place it at the next token, two lines further down.
    assert at(doc(), "server_certificate.renew_before") == (7, 3)


def test_non_string_keys_are_recorded_by_their_text() -> None:
    d = doc()
    assert at(d, "labels.2#key") == (11, 10)
    assert d.data["labels"] == {2: "two", "site": "dc1"}


def test_plain_data_uses_tuples_and_builtins() -> None:
    d = doc()
    assert d.data["trust"] == ("../cas/root.pem", "../cas/issuing.pem")
    assert type(d.data["name"]) is str


def test_walk_follows_the_model_through_a_bare_list() -> None:
    # TrustStoreSpec's loc has "cas"; the file has a bare list: the item is still found.
    d = doc()
    found = walk(d.data, ("trust", "cas", 1))
    assert (found.path, found.complete) == ("trust.1", False)
    assert position(d.positions, found.path, key=False) == d.positions["trust.1"]


def test_walk_through_the_long_form() -> None:
    found = walk(doc().data, ("stores", "tomcat-trust", "cas", 0))
    assert (found.path, found.complete) == ("stores.tomcat-trust.cas.0", True)


def test_walk_stops_at_the_deepest_existing_node() -> None:
    found = walk(doc().data, ("server_certificate", "missing_key"))
    assert (found.path, found.complete) == ("server_certificate", False)


def test_walk_dict_key_errors_point_at_the_key() -> None:
    d = doc()
    found = walk(d.data, ("labels", 2, "[key]"))
    assert found.at_key and found.path == "labels.2"
    assert position(d.positions, found.path, key=True) == d.positions["labels.2#key"]


def test_position_falls_back_to_parents() -> None:
    d = doc()
    assert position(d.positions, "trust.7.x", key=False) == d.positions["trust"]
    assert position(d.positions, "nowhere", key=True) == SourcePos(
        file="nodes/expe1.yaml", line=1, col=1)


def test_syntax_error_position_is_one_based() -> None:
    bad = parse_yaml("certops.yaml", b"policy:\n  renew_before: 30d\n bad: [\n")
    assert isinstance(bad, Finding) and bad.code == "input.yaml"
    assert bad.location is not None and bad.location.file == "certops.yaml"
    assert bad.location.line >= 2


def test_not_utf8() -> None:
    bad = parse_yaml("certops.yaml", b"name: ok\nx: \xff\n")
    assert isinstance(bad, Finding) and "UTF-8" in bad.message
    assert str(bad.location) == "certops.yaml:2:4"


def test_control_character() -> None:
    bad = parse_yaml("certops.yaml", b"name: ok\nx: a\x01b\n")
    assert isinstance(bad, Finding) and bad.code == "input.yaml"
    assert str(bad.location) == "certops.yaml:2:5"


def test_duplicate_key_message_never_quotes_values() -> None:
    bad = parse_yaml("n.yaml", b"key: s3cr3t-one\nkey: s3cr3t-two\n")
    assert isinstance(bad, Finding) and "s3cr3t" not in bad.message
    assert "'key'" in bad.message and str(bad.location) == "n.yaml:2:1"
