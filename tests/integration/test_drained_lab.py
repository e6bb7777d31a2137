"""``certops apply --drained`` end to end over HTTPS and the CLI.

The example fleet with calls on both Expressways, whose RAML lists no maintenance-mode
resource (``maintenance_api: false``): the plan's drain is a manual step, so ``certops
apply`` stops before it (exit 1). The person switches maintenance mode on by hand
(``certops lab maintenance NODE on``, as at the GUI) and runs ``certops apply --drained
expe1,expc1 --reason ...``: the calls are waited for (``/getxml``), the nodes restart and
serve the new certificate, ``certops lab timeline`` counts no call dropped on them, and the
confirmation (who, why) is in the report and the ``--log-file`` audit trail. The other
cases run in process: tests/unit/test_drained_inprocess.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet import apply_args, certops, generate_csrs, report, served, sign_all
from test_drain_lab import dropped

from reconciler.lab import LabThread, start_lab
from reconciler.lab.topology import TopologyCalls, example_topology

EXPRESSWAYS = ("expe1", "expc1")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabThread]:
    topology = example_topology()
    for node in topology.nodes:
        if node.name in EXPRESSWAYS:
            node.calls = TopologyCalls(per_minute=600, duration_seconds=(0.3, 0.3))
            node.maintenance_api = False
    with start_lab(tmp_path / "lab", restart_seconds=0.2, builtin_cas=20,
                   topology=topology) as running:
        yield running


def test_apply_drained_after_maintenance_mode_by_hand(
    lab: LabThread, desired: Path, inventory: Path, tmp_path: Path
) -> None:
    generate_csrs(desired, inventory)
    sign_all(lab, desired, "new")
    root = str(lab.lab.paths.root)
    code, out = certops(*apply_args(desired, inventory, "--drained", "cucm-pub"))
    assert code == 1 and "--drained cucm-pub: the plan has no drain" in out, out
    code, out = certops(*apply_args(desired, inventory))
    assert code == 1 and "stopped before the manual step" in out, out
    assert "then run: certops apply --drained" in out, out
    for node in EXPRESSWAYS:
        code, out = certops("lab", "maintenance", node, "on", "--dir", root)
        assert code == 0 and f"{node}: maintenance mode on" in out, out
    code, mark = certops("lab", "timeline", "--dir", root, "--mark")
    assert code == 0, mark
    rep, log = tmp_path / "report.json", tmp_path / "audit.log"
    code, out = certops("--log-file", str(log), *apply_args(
        desired, inventory, "--drained", "expe1,expc1", "--reason", "CHG-7 night",
        "--report", str(rep)))
    assert code == 0, out
    assert "Drained by hand (--drained expc1,expe1)" in out and "CHG-7 night" in out, out
    got = report(rep)
    assert got["drained"]["nodes"] == ["expc1", "expe1"]
    assert got["drained"]["reason"] == "CHG-7 night"
    results = {r["id"]: r for r in got["results"]}
    for node in EXPRESSWAYS:
        assert "no active call left" in results[f"{node}/node.drain"]["detail"]
        assert "Issuing CA New" in served(lab, node).issuer.rfc4514_string()
        assert lab.node(node).state.maintenance is False
    events = [json.loads(line) for line in log.read_text().splitlines()]
    confirmed = {e["node"]: e["detail"] for e in events if e.get("event") == "drained"}
    assert set(confirmed) == set(EXPRESSWAYS)
    assert all("CHG-7 night" in d for d in confirmed.values()), confirmed
    count, timeline = dropped(lab, mark)
    assert count == 0, timeline  # only the Expressways carry calls here
