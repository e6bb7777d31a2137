"""Trust lists against live nodes: what is never uploaded, whatever the list says."""

from __future__ import annotations

import sys
from pathlib import Path

from unitkit import plan

from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Severity

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
from pkitools import make_ca, utc


async def test_an_expired_listed_ca_blocks_the_plan_and_is_never_uploaded(
    lab: InProcessLab, desired: Path
) -> None:
    expired = make_ca("Retired Corp Root CA", not_before=utc(2015, 1, 1), not_after=utc(2025, 1, 1))
    (desired / "cas" / "retired-root.pem").write_bytes(expired.pem)
    node = desired / "nodes" / "expe1.yaml"
    node.write_text(node.read_text().replace("trust: []", "trust: [../cas/retired-root.pem]"))
    run, _ = await plan(lab, desired)
    errors = [f for f in run.plan.findings if f.severity is Severity.ERROR]
    assert [f.code for f in errors] == ["ca.expired"]
    where = errors[0].location
    assert where is not None and where.file.endswith("nodes/expe1.yaml") and where.line == 24
    assert not [a for a in run.plan.actions if a.kind == "trust.add"
                and a.certificate and a.certificate.subject.startswith("CN=Retired")]
