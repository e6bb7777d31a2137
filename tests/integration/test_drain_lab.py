"""Drain before restart end to end over HTTPS and the CLI (issue 21, point 5).

The example fleet with calls on both Expressways (``reconciler.lab.calls``): ``certops
apply`` drains each Expressway before its restart (maintenance mode through the resource
the lab's RAML lists, active calls through ``/getxml``), and ``certops lab timeline``
counts no call dropped on them; ``certops lab restart`` (without warning) drops the calls
of a node that was not drained, and the timeline counts those. The other cases (timeouts,
a manual drain, garbage answers) run in process: tests/unit/test_drain_inprocess.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet import apply_args, certops, generate_csrs, report, served, sign_all

from reconciler.lab import LabThread, start_lab
from reconciler.lab.topology import TopologyCalls, example_topology

EXPRESSWAYS = ("expe1", "expc1")


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabThread]:
    topology = example_topology()
    for node in topology.nodes:
        if node.name in EXPRESSWAYS:  # always a call up: arrivals 0.05-0.15 s apart, 0.3 s long
            node.calls = TopologyCalls(per_minute=600, duration_seconds=(0.3, 0.3))
    with start_lab(tmp_path / "lab", restart_seconds=0.2, builtin_cas=20,
                   topology=topology) as running:
        yield running


def dropped(lab: LabThread, mark: str) -> tuple[int, str]:
    code, out = certops("lab", "timeline", "--dir", str(lab.lab.paths.root), "--since", mark)
    assert code == 0, out
    found = re.search(r"^dropped calls: (\d+)", out, re.M)
    assert found, out
    return int(found[1]), out


def test_apply_drains_each_expressway_and_drops_no_call(
    lab: LabThread, desired: Path, inventory: Path, tmp_path: Path
) -> None:
    generate_csrs(desired, inventory)
    sign_all(lab, desired, "new")
    code, mark = certops("lab", "timeline", "--dir", str(lab.lab.paths.root), "--mark")
    assert code == 0, mark
    rep = tmp_path / "report.json"
    code, out = certops(*apply_args(desired, inventory, "--report", str(rep)))
    assert code == 0, out
    results = {r["id"]: r for r in report(rep)["results"]}
    for node in EXPRESSWAYS:
        assert "no active call left" in results[f"{node}/node.drain"]["detail"]
        assert "maintenance mode is off" in results[f"{node}/node.restart"]["detail"]
        assert "Issuing CA New" in served(lab, node).issuer.rfc4514_string()
        assert lab.node(node).state.maintenance is False
    _, timeline = dropped(lab, mark.strip())
    assert not any(f"{n} " in timeline.split("dropped calls:")[1] for n in EXPRESSWAYS), timeline
    assert "maintenance mode" in timeline
    # An unplanned restart, without a drain, drops the calls on the node.
    code, mark = certops("lab", "timeline", "--dir", str(lab.lab.paths.root), "--mark")
    code, out = certops("lab", "restart", "expe1", "--dir", str(lab.lab.paths.root))
    assert code == 0 and "expe1 restarting" in out, out
    lab.wait_idle("expe1")  # the restart drops the calls as it begins
    after = dropped(lab, mark.strip())
    assert after[0] > 0 and "expe1 " in after[1].split("dropped calls:")[1], after[1]
