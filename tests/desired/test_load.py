"""load() on whole directories: the happy path, what the result holds, and edge cases."""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator
from pathlib import Path

import pytest
from corpus_support import CORPUS, throwaway_key

from reconciler.desired import LoadResult, desired_digest, load
from reconciler.desired.loader import ParsedNode, load_steps
from reconciler.model import Severity
from reconciler.pki import CertCache


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The valid corpus case as ``desired-state`` under the current directory."""
    shutil.copytree(CORPUS / "valid", tmp_path / "desired-state",
                    ignore=shutil.ignore_patterns("expected.txt"))
    monkeypatch.chdir(tmp_path)
    return Path("desired-state")


def codes(result: LoadResult) -> list[str]:
    return [f.code for f in result.findings]


def test_valid_directory_loads_everything(fleet: Path) -> None:
    result = load(fleet, CertCache())
    assert result.findings == ()
    desired = result.desired
    assert desired is not None
    assert desired.root == "desired-state"
    assert [n.name for n in desired.nodes] == ["cucm-pub", "expc1", "expe1"]
    assert sorted(desired.files) == [
        "cas/issuing.pem", "cas/root.pem", "certs/expc1.der", "certs/expe1.pem",
        "csrs/expc1.csr.pem",
    ]
    assert desired.files["certs/expc1.der"].data == (fleet / "certs/expc1.der").read_bytes()
    assert desired.fleet.links == (("expc1", "expe1"), ("expc1", "cucm-pub"))
    assert desired.fleet.policy.renew_before == "33%"
    assert len(desired.digest) == 64


def test_node_fields_and_references(fleet: Path) -> None:
    desired = load(fleet, CertCache()).desired
    assert desired is not None
    expc1 = desired.node("expc1")
    assert expc1 is not None and expc1.file == "nodes/expc1.yml"
    assert expc1.spec.tls_verify is False and expc1.spec.derive_trust is False
    assert expc1.spec.server_certificate is not None
    assert expc1.resolve(expc1.spec.server_certificate.file or "") == "certs/expc1.der"
    cucm = desired.node("cucm-pub")
    assert cucm is not None
    assert [cucm.resolve(r) for r in cucm.spec.stores()["tomcat-trust"].cas] == [
        "cas/root.pem", "cas/issuing.pem"]


def test_positions_name_files_as_the_user_passed_the_root(fleet: Path) -> None:
    desired = load(fleet, CertCache()).desired
    assert desired is not None
    expe1 = desired.node("expe1")
    assert expe1 is not None
    assert str(expe1.pos("name")) == "desired-state/nodes/expe1.yaml:2:7"
    assert str(expe1.pos("server_certificate", "subject_alt_names", 1)) == (
        "desired-state/nodes/expe1.yaml:11:7")
    assert str(desired.fleet_pos("links", 1, 1)) == "desired-state/certops.yaml:9:13"


def test_model_paths_find_items_of_bare_trust_lists(fleet: Path) -> None:
    desired = load(fleet, CertCache()).desired
    assert desired is not None
    expe1, cucm = desired.node("expe1"), desired.node("cucm-pub")
    assert expe1 is not None and cucm is not None
    # expe1 writes `trust:` as a bare list; the model path still finds the item.
    assert str(expe1.pos("trust", "cas", 1)) == "desired-state/nodes/expe1.yaml:15:5"
    assert str(cucm.pos("trust", "tomcat-trust", "cas", 1)) == (
        "desired-state/nodes/cucm-pub.yaml:8:35")
    assert str(cucm.pos("trust", "callmanager-trust", "cas", 0)) == (
        "desired-state/nodes/cucm-pub.yaml:10:11")


def test_absolute_root_gives_absolute_positions(fleet: Path) -> None:
    root = fleet.resolve()
    desired = load(root, CertCache()).desired
    assert desired is not None and desired.root == str(root)
    assert str(desired.nodes[0].pos("name")).startswith(str(root) + os.sep)


def test_digest_is_stable_across_places_and_tracks_content(fleet: Path, tmp_path: Path) -> None:
    first = load(fleet, CertCache()).desired
    elsewhere = shutil.copytree(fleet, tmp_path / "other" / "place")
    second = load(elsewhere, CertCache()).desired
    assert first is not None and second is not None
    assert first.digest == second.digest
    (elsewhere / "cas" / "README.md").write_text("changed, but not desired state\n")
    assert load(elsewhere, CertCache()).desired.digest == first.digest  # type: ignore[union-attr]
    cert = elsewhere / "certs" / "expe1.pem"
    cert.write_bytes(cert.read_bytes() + b"\n")
    assert load(elsewhere, CertCache()).desired.digest != first.digest  # type: ignore[union-attr]


def test_desired_digest_is_order_independent_and_unambiguous() -> None:
    a = desired_digest({"x": b"1", "y": b"2"})
    assert a == desired_digest({"y": b"2", "x": b"1"})
    assert desired_digest({"ab": b"c"}) != desired_digest({"a": b"bc"})


def test_missing_directory(tmp_path: Path) -> None:
    result = load(tmp_path / "nope", CertCache())
    assert result.desired is None
    [finding] = result.findings
    assert finding.code == "input.missing" and "certops import" in finding.message
    assert finding.location is not None and finding.location.file == str(tmp_path / "nope")


def test_a_file_as_root(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    result = load(tmp_path / "f", CertCache())
    assert result.desired is None and codes(result) == ["input.missing"]


def test_invalid_certops_yaml_still_checks_the_nodes(fleet: Path) -> None:
    (fleet / "certops.yaml").write_text("policy: 5\nlinks:\n  - [expc1, nobody]\n")
    result = load(fleet, CertCache())
    assert result.desired is not None
    assert [n.name for n in result.desired.nodes] == ["cucm-pub", "expc1", "expe1"]
    assert codes(result) == ["input.schema", "link.unknown_node"]


def test_nodes_with_errors_are_left_out(fleet: Path) -> None:
    path = fleet / "nodes" / "expe1.yaml"
    path.write_text(path.read_text().replace("../cas/issuing.pem", "../cas/gone.pem"))
    result = load(fleet, CertCache())
    assert codes(result) == ["input.file_missing"]
    assert result.desired is not None
    assert [n.name for n in result.desired.nodes] == ["cucm-pub", "expc1"]


def test_symlink_out_of_the_tree_is_outside(fleet: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.pem"
    outside.write_bytes((fleet / "cas" / "root.pem").read_bytes())
    (fleet / "cas" / "linked.pem").symlink_to(outside)
    path = fleet / "nodes" / "expe1.yaml"
    path.write_text(path.read_text().replace("../cas/issuing.pem", "../cas/linked.pem"))
    result = load(fleet, CertCache())
    assert "input.file_outside" in codes(result)
    # at the reference: where the link really leads (its own path would look inside)
    at_reference = [f.message for f in result.findings
                    if f.code == "input.file_outside" and "'../cas/linked.pem'" in f.message]
    assert at_reference and f"resolves to {outside.resolve()}, outside" in at_reference[0]


def test_absolute_file_path_inside_the_tree_is_accepted(fleet: Path) -> None:
    path = fleet / "nodes" / "expe1.yaml"
    absolute = (fleet / "cas" / "issuing.pem").resolve()
    path.write_text(path.read_text().replace("../cas/issuing.pem", str(absolute)))
    result = load(fleet, CertCache())
    assert codes(result) == [], [f.message for f in result.findings]


def test_absolute_file_path_outside_is_named_as_written(fleet: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.pem"
    outside.write_bytes((fleet / "cas" / "root.pem").read_bytes())
    path = fleet / "nodes" / "expe1.yaml"
    path.write_text(path.read_text().replace("../cas/issuing.pem", str(outside)))
    [finding] = [f for f in load(fleet, CertCache()).findings if f.code == "input.file_outside"]
    assert f"resolves to {outside}, outside the desired-state directory" in finding.message


def test_key_scan_reads_large_binaries_and_large_text(fleet: Path) -> None:
    """A key inside a binary over 1 MB counts too (it used to be skipped: issue 16)."""
    key = throwaway_key()
    blob = b"\0" * 10 + key + b"\0" * (1 << 20)
    (fleet / "image.bin").write_bytes(blob)
    [finding] = load(fleet, CertCache()).findings
    assert finding.code == "repo.private_key" and finding.location is not None
    assert finding.location.file.endswith("image.bin")
    (fleet / "image.bin").unlink()
    (fleet / "dump.txt").write_bytes(b"x" * (1 << 20) + b"\n" + key)
    result = load(fleet, CertCache())
    [finding] = result.findings
    assert finding.code == "repo.private_key" and finding.severity is Severity.ERROR


def test_load_steps_hand_over_each_valid_node_before_the_result(fleet: Path) -> None:
    """Each node file that validates is handed over as it is parsed (a reader can start on it),
    with the PEM folders' files; what the steps return is what ``load`` returns."""
    steps = load_steps(fleet, CertCache())
    handed: list[ParsedNode] = []
    while True:
        try:
            handed.append(next(steps))
        except StopIteration as done:
            result: LoadResult = done.value
            break
    assert result == load(fleet, CertCache())
    assert result.desired is not None
    assert [p.node.name for p in handed] == ["cucm-pub", "expc1", "expe1"]
    assert [p.node for p in handed] == list(result.desired.nodes)
    assert dict(handed[0].files) == result.desired.files


def test_load_steps_hand_over_no_node_whose_file_is_invalid(fleet: Path) -> None:
    (fleet / "nodes" / "expe1.yaml").write_text("name: expe1\ntype: expressway-e\n")
    handed = [p.node.name for p in _drain(load_steps(fleet, CertCache()))]
    assert handed == ["cucm-pub", "expc1"]


def _drain(steps: Generator[ParsedNode, None, LoadResult]) -> list[ParsedNode]:
    return list(steps)
