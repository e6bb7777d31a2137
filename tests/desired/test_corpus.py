"""The bad-input corpus: each case under corpus/ is a desired-state directory whose findings
must be exactly the ``file:line:col: severity[code]`` lines of its ``expected.txt``."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_support import cases, expected, key_fragments, prepare

from reconciler.desired import load
from reconciler.model import Finding
from reconciler.pki import CertCache


def short(finding: Finding) -> str:
    where = f"{finding.location}: " if finding.location else ""
    return f"{where}{finding.severity.value}[{finding.code}]"


@pytest.mark.parametrize("case", cases())
def test_case(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / case
    keys = prepare(case, target)
    monkeypatch.chdir(target)  # findings then name files as the case's expected.txt does

    result = load(Path("."), CertCache())

    assert [short(f) for f in result.findings] == expected(case), "\n".join(
        f.render() for f in result.findings
    )
    assert list(result.findings) == sorted(result.findings, key=Finding.sort_key)
    for finding in result.findings:
        assert finding.message and finding.message[-1] != "."
        for key in keys:
            for fragment in key_fragments(key):
                assert fragment not in finding.render()
    if result.desired is not None:
        for pem in result.desired.files.values():
            assert b"PRIVATE KEY" not in pem.data
