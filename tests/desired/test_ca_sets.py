"""CA set files (``ca-sets/``): a PEM bundle of CA certificates that a trust list names like a
CA file. The loader checks each set once; the fleet view lists every member."""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from corpus_support import CORPUS

from reconciler.checks import build_view, offline_findings
from reconciler.desired import LoadResult, load, pemfiles
from reconciler.model import Severity
from reconciler.pki import CertCache

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
from pkitools import make_ca, make_leaf, utc

SET = "ca-sets/cucm-tomcat-trust.pem"
NOW = datetime(2026, 11, 26, tzinfo=UTC)
MEMBERS = [make_ca(f"Cisco Built-in CA {i}") for i in range(3)]


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The valid corpus case, its CUCM's stores naming a set of three CAs besides the root."""
    root = tmp_path / "desired-state"
    shutil.copytree(CORPUS / "valid", root, ignore=shutil.ignore_patterns("expected.txt"))
    write_set(root, *(m.pem for m in MEMBERS))
    node = root / "nodes" / "cucm-pub.yaml"
    node.write_text(node.read_text()
                    .replace("tomcat-trust: [../cas/root.pem, ../cas/issuing.pem]",
                             f"tomcat-trust: [../cas/root.pem, ../{SET}, ../cas/issuing.pem]")
                    .replace("cas: [../cas/root.pem]", f"cas: [../{SET}]"))
    monkeypatch.chdir(tmp_path)
    return Path("desired-state")


def write_set(root: Path, *pems: bytes, name: str = SET) -> None:
    (root / name).parent.mkdir(exist_ok=True)
    (root / name).write_bytes(b"# a comment before each certificate is fine\n".join(pems))


def problems(result: LoadResult) -> list[tuple[str, str, str]]:
    return [(f.code, str(f.location), f.message) for f in result.findings]


def test_a_good_set_is_loaded_and_every_member_listed(fleet: Path) -> None:
    result = load(fleet, CertCache())
    assert result.findings == ()
    desired = result.desired
    assert desired is not None and SET in desired.files
    assert [n.name for n in desired.nodes] == ["cucm-pub", "expc1", "expe1"]
    view = build_view(desired, CertCache())
    cucm = view.nodes["cucm-pub"]
    members = {CertCache().parse(m.pem)[0].sha256 for m in MEMBERS}
    assert {c.sha256 for c in cucm.listed["callmanager-trust"]} == members
    tomcat = cucm.trust["tomcat-trust"]
    assert members < set(tomcat)
    assert {tomcat[m].file for m in members} == {SET}
    assert all(tomcat[m].listed for m in members)
    about_trust = [f for f in offline_findings(view, CertCache(), NOW)
                   if f.code.startswith(("ca.", "trust."))]
    assert about_trust == []


def test_a_set_is_checked_once_however_many_lists_name_it(
    fleet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = fleet / "nodes" / "cucm-sub.yaml"
    copy.write_text((fleet / "nodes" / "cucm-pub.yaml").read_text()
                    .replace("cucm-pub", "cucm-sub"))
    seen: list[bytes] = []
    real = pemfiles.classify

    def counting(data: bytes, cache: CertCache) -> pemfiles.Content:
        seen.append(data)
        return real(data, cache)

    monkeypatch.setattr(pemfiles, "classify", counting)
    result = load(fleet, CertCache())
    assert result.findings == ()
    assert seen.count((fleet / SET).read_bytes()) == 1  # four references, one check


def test_nodes_naming_the_same_files_share_their_entries(fleet: Path) -> None:
    for name in ("cucm-sub1", "cucm-sub2"):  # not linked: nothing derived into their stores
        (fleet / "nodes" / f"{name}.yaml").write_text(
            (fleet / "nodes" / "cucm-pub.yaml").read_text().replace("cucm-pub", name))
    desired = load(fleet, CertCache()).desired
    assert desired is not None
    view = build_view(desired, CertCache())
    pub, sub1, sub2 = (view.nodes[n] for n in ("cucm-pub", "cucm-sub1", "cucm-sub2"))
    # callmanager-trust lists only the set: one mapping, the set's own
    assert sub1.trust["callmanager-trust"] is sub2.trust["callmanager-trust"]
    assert sub1.trust["callmanager-trust"] is view.listed_files[SET].entries
    assert sub1.trust["tomcat-trust"] is sub2.trust["tomcat-trust"]
    assert sub1.listed["tomcat-trust"] is pub.listed["tomcat-trust"]
    # the publisher, linked to expc1, gets expc1's chain in its own copy
    assert pub.trust["callmanager-trust"] is not sub1.trust["callmanager-trust"]
    assert set(pub.trust["callmanager-trust"]) > set(sub1.trust["callmanager-trust"])
    assert not view.listed_files[SET].entries.keys() - set(pub.trust["callmanager-trust"])


def test_a_non_ca_member_is_an_error_at_the_set(fleet: Path) -> None:
    leaf = make_leaf("phone.example.com", ["phone.example.com"], MEMBERS[0])
    write_set(fleet, MEMBERS[0].pem, leaf.pem, MEMBERS[1].pem)
    result = load(fleet, CertCache())
    [(code, where, message)] = problems(result)
    assert code == "input.pem" and where == f"desired-state/{SET}"
    assert message.startswith("certificate 2 of 3 ('CN=phone.example.com,O=NART Lab') is not "
                              "a CA certificate")
    assert "remove it from the set" in message
    # the node that names it is left out, as with any unusable file
    assert result.desired is not None
    assert [n.name for n in result.desired.nodes] == ["expc1", "expe1"]


def test_a_duplicate_member_is_a_warning(fleet: Path) -> None:
    write_set(fleet, MEMBERS[0].pem, MEMBERS[1].pem, MEMBERS[0].pem)
    result = load(fleet, CertCache())
    [finding] = result.findings
    assert finding.code == "ca.duplicate" and finding.severity is Severity.WARNING
    assert str(finding.location) == f"desired-state/{SET}"
    assert "'CN=Cisco Built-in CA 0,O=NART Lab'" in finding.message
    assert "is 2 times in this CA set: keep one copy" in finding.message
    assert result.desired is not None and len(result.desired.nodes) == 3


def test_a_broken_pem_block_is_an_error(fleet: Path) -> None:
    broken = MEMBERS[1].pem.replace(b"\n", b"\n!!", 2)
    write_set(fleet, MEMBERS[0].pem, broken)
    [(code, where, message)] = problems(load(fleet, CertCache()))
    assert code == "input.pem" and where == f"desired-state/{SET}"
    assert message.endswith("it must hold one or more CA certificates (a PEM bundle)")


def test_an_empty_set_is_an_error(fleet: Path) -> None:
    write_set(fleet, b"")
    [(code, _, message)] = problems(load(fleet, CertCache()))
    assert code == "input.pem" and "the file is empty" in message


def test_too_many_members(fleet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pemfiles, "MAX_CA_SET", 2)
    [(code, _, message)] = problems(load(fleet, CertCache()))
    assert code == "input.pem"
    assert message.startswith("holds 3 certificates, more than 2: a CA set holds the CAs of "
                              "one trust store; split it into several set files")


def test_a_bundle_under_cas_points_at_ca_sets(fleet: Path) -> None:
    (fleet / "cas" / "bundle.pem").write_bytes(MEMBERS[0].pem + MEMBERS[1].pem)
    [(code, _, message)] = problems(load(fleet, CertCache()))
    assert code == "input.pem"
    assert message.endswith("or move it under ca-sets/ to list it as a set of CAs")


def test_an_expired_member_is_reported_at_the_list_item_naming_the_set(fleet: Path) -> None:
    retired = make_ca("Retired Built-in CA", not_before=utc(2015, 1, 1),
                      not_after=utc(2025, 1, 1))
    write_set(fleet, MEMBERS[0].pem, retired.pem)
    desired = load(fleet, CertCache()).desired
    assert desired is not None
    view = build_view(desired, CertCache())
    expired = [f for f in offline_findings(view, CertCache(), NOW) if f.code == "ca.expired"]
    assert [(str(f.location), f.message.split(":")[0]) for f in expired] == [
        ("desired-state/nodes/cucm-pub.yaml:8:35",
         "'CN=Retired Built-in CA,O=NART Lab' in tomcat-trust expired on 2025-01-01"),
        ("desired-state/nodes/cucm-pub.yaml:10:11",
         "'CN=Retired Built-in CA,O=NART Lab' in callmanager-trust expired on 2025-01-01"),
    ]
    assert all(f"remove it from the CA set {SET}" in f.message for f in expired)
