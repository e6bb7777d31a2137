"""``certops import`` writes a Unified CM's built-in CAs as CA sets, and plans list their CAs.

The in-process lab's Unified CM holds three "built-in" CAs in each store (no certificate of
the fleet chains to them) beside the lab's own root and issuing CA.
"""

from __future__ import annotations

import re
from pathlib import Path

from unitkit import apply, plan, session_of

from reconciler.lab.inprocess import InProcessLab
from reconciler.pki import CertCache, CertInfo
from reconciler.report.importing import import_text
from reconciler.usecases.importing import ImportRequest, ImportResult, import_fleet

STORES = ("callmanager-trust", "capf-trust", "ipsec-trust", "tomcat-trust")
SETS = [f"cucm-{store}.pem" for store in STORES]


async def imported(lab: InProcessLab, root: Path, **options: bool) -> ImportResult:
    return await import_fleet(session_of(lab, root), ImportRequest(**options))


def builtin_pems(lab: InProcessLab) -> list[str]:
    node = lab.nodes["cucm-pub"]
    return [entry.pem for entry in node.builtins[: node.state.builtin_cas]]


async def imported_then_one_builtin_less(lab: InProcessLab,
                                         tmp_path: Path) -> tuple[Path, CertInfo]:
    """The lab imported, then the Unified CM's third built-in CA gone from every store."""
    root = tmp_path / "imported"
    await imported(lab, root)
    gone = CertCache().parse(builtin_pems(lab)[-1].encode())[0]
    lab.nodes["cucm-pub"].state.builtin_cas = 2
    return root, gone


async def test_builtins_become_one_set_per_store_and_managed_cas_stay_files(
    lab: InProcessLab, tmp_path: Path
) -> None:
    root = tmp_path / "imported"
    result = await imported(lab, root)
    assert result.ca_files == 2 and result.ca_sets == 4
    assert sorted(p.name for p in (root / "ca-sets").iterdir()) == SETS
    assert sorted(p.name for p in (root / "cas").iterdir()) == [
        "certops-lab-issuing-ca-old.pem", "certops-lab-root-ca.pem"]
    node = (root / "nodes" / "cucm-pub.yaml").read_text()
    assert ("  tomcat-trust:\n    - ../ca-sets/cucm-tomcat-trust.pem\n"
            "    - ../cas/certops-lab-issuing-ca-old.pem\n") in node
    assert "  capf-trust:\n    - ../ca-sets/cucm-capf-trust.pem\n" in node
    # every member under a comment a reviewer can read; the PEM is the node's own
    text = (root / "ca-sets" / "cucm-tomcat-trust.pem").read_text()
    builtins = [CertCache().parse(p.encode())[0] for p in builtin_pems(lab)]
    assert text.count("# subject:  ") == 3 == text.count("-----BEGIN CERTIFICATE-----")
    for cert in builtins:
        assert f"# subject:  {cert.subject}\n" in text and cert.pem in text
        fingerprint = ":".join(re.findall("..", cert.sha256.upper()))
        assert f"# SHA-256:  {fingerprint}\n# notAfter: {cert.not_after:%Y-%m-%d}" in text
    assert "expressway" not in " ".join(p.name for p in (root / "ca-sets").iterdir())


async def test_reimport_changes_nothing(lab: InProcessLab, tmp_path: Path) -> None:
    root = tmp_path / "imported"
    await imported(lab, root)
    again = await imported(lab, root)
    assert again.written == () and again.diffs == () and again.applied


async def test_skip_builtin_writes_no_sets(lab: InProcessLab, tmp_path: Path) -> None:
    root = tmp_path / "imported"
    result = await imported(lab, root, skip_builtin=True)
    assert result.ca_sets == 0 and result.unmanaged_cas == 3
    assert not (root / "ca-sets").exists()
    assert "ca-sets" not in (root / "nodes" / "cucm-pub.yaml").read_text()


async def test_an_imported_fleet_is_in_sync_and_prune_keeps_the_set(
    lab: InProcessLab, tmp_path: Path
) -> None:
    root = tmp_path / "imported"
    await imported(lab, root)
    node = root / "nodes" / "cucm-pub.yaml"
    node.write_text(node.read_text().replace(
        "  capf-trust:\n    - ../ca-sets/cucm-capf-trust.pem\n",
        "  capf-trust:\n    prune: true\n    cas:\n      - ../ca-sets/cucm-capf-trust.pem\n"))
    run, _ = await plan(lab, root)
    assert not run.plan.blocked, [f.render() for f in run.plan.findings]
    assert {a.kind for a in run.plan.actions} <= {"csr.generate"}
    assert "trust.unmanaged" not in {f.code for f in run.plan.findings}


async def test_a_deleted_builtin_is_uploaded_again_from_the_set(
    lab: InProcessLab, tmp_path: Path
) -> None:
    root, lost = await imported_then_one_builtin_less(lab, tmp_path)  # someone deleted it
    run, _ = await plan(lab, root)
    adds = [a for a in run.plan.actions if a.kind == "trust.add"]
    assert sorted(a.store or "" for a in adds) == list(STORES)
    assert {a.certificate.sha256 for a in adds if a.certificate} == {lost.sha256}
    assert all(f"(ca-sets/cucm-{a.store}.pem): listed in the node file" in a.reason
               for a in adds)
    _, result = await apply(lab, root)
    assert result is not None and result.ok, result
    again, _ = await plan(lab, root)
    assert not [a for a in again.plan.actions if a.kind == "trust.add"]


async def test_a_changed_builtin_set_is_a_diff_to_review(
    lab: InProcessLab, tmp_path: Path
) -> None:
    root, gone = await imported_then_one_builtin_less(lab, tmp_path)  # a release ships fewer
    result = await imported(lab, root)
    assert not result.applied and len(result.diffs) == 4
    diff = next(d for d in result.diffs if "cucm-tomcat-trust.pem" in d)
    assert f"-# subject:  {gone.subject}\n" in diff
    assert "+# subject:" not in diff
    written = await imported(lab, root, write=True)
    assert sorted(written.written) == [f"ca-sets/{name}" for name in SETS]
    assert (root / "ca-sets" / "cucm-tomcat-trust.pem").read_text().count("# subject:") == 2


async def test_several_contents_of_a_store_get_digest_names(
    clab: InProcessLab, tmp_path: Path
) -> None:
    root = tmp_path / "imported"
    clab.nodes["cucm-sub2"].state.builtin_cas = 2  # one node of an older release
    result = await imported(clab, root)
    names = sorted(p.name for p in (root / "ca-sets").iterdir())
    assert result.ca_sets == 8 and len(names) == 8
    assert all(re.fullmatch(r"cucm-[a-z]+-trust-[0-9a-f]{8}\.pem", n) for n in names), names
    tomcat = {n: (root / "nodes" / f"{n}.yaml").read_text().split("  tomcat-trust:\n")[1]
              .splitlines()[0] for n in ("cucm-pub", "cucm-sub1", "cucm-sub2")}
    assert tomcat["cucm-pub"] == tomcat["cucm-sub1"] != tomcat["cucm-sub2"]
    again = await imported(clab, root)
    assert again.written == () and again.diffs == ()
    # the node catches up: it names the set the others name, no new file
    clab.nodes["cucm-sub2"].state.builtin_cas = 3
    caught_up = await imported(clab, root, write=True)
    assert caught_up.written == ("nodes/cucm-sub2.yaml",)
    assert tomcat["cucm-pub"] in (root / "nodes" / "cucm-sub2.yaml").read_text()


async def test_builtins_of_an_older_import_move_to_sets(
    lab: InProcessLab, tmp_path: Path
) -> None:
    root = tmp_path / "imported"
    (root / "cas").mkdir(parents=True)  # as an import before CA sets wrote them
    for number, pem in enumerate(builtin_pems(lab)):
        (root / "cas" / f"builtin-{number}.pem").write_text(pem)
    result = await imported(lab, root)
    assert result.superseded == ("cas/builtin-0.pem", "cas/builtin-1.pem", "cas/builtin-2.pem")
    assert "../cas/builtin-" not in (root / "nodes" / "cucm-pub.yaml").read_text()
    assert "../ca-sets/cucm-tomcat-trust.pem" in (root / "nodes" / "cucm-pub.yaml").read_text()
    lines = import_text(result)
    assert any(line.startswith("3 file(s) under cas/ hold only built-in CAs that the node "
                               "files name through ca-sets/ now (cas/builtin-0.pem, "
                               "cas/builtin-1.pem, cas/builtin-2.pem): delete them")
               for line in lines), lines


async def test_an_expressway_ca_no_leaf_chains_to_stays_a_file_of_its_own(
    lab: InProcessLab, tmp_path: Path
) -> None:
    """Expressway ships no built-in CAs: a partner's CA in its list was someone's decision,
    so import writes it under cas/ where a change to it is reviewed on its own."""
    partner = builtin_pems(lab)[0]  # any CA that no certificate of the fleet chains to
    lab.nodes["expe1"].state.trusted_cas.append(partner)
    root = tmp_path / "imported"
    result = await imported(lab, root)
    sha = CertCache().parse(partner.encode())[0].sha256
    assert result.ca_sets == 4  # the Unified CM's only
    assert not [p for p in (root / "ca-sets").iterdir() if p.name.startswith("expressway")]
    node = (root / "nodes" / "expe1.yaml").read_text()
    listed = re.findall(r"\.\./cas/([^\s]+\.pem)", node)
    assert len(listed) == 3, node  # the lab's root, issuing CA and the partner's
    cache = CertCache()
    assert sha in {cache.parse((root / "cas" / f).read_bytes())[0].sha256 for f in listed}
    skipped = await imported(lab, tmp_path / "skipped", skip_builtin=True)
    assert "../cas/" in (tmp_path / "skipped" / "nodes" / "expe1.yaml").read_text()
    assert skipped.unmanaged_cas == 3  # the partner CA is also held by the CUCM's sets
