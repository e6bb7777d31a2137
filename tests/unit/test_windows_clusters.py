"""Change windows on the clustered lab (an E pair, a C pair, a Unified CM publisher with two
subscribers): merged with the window closed, nothing restarts; in the window the owed
restarts roll within each cluster's max_unavailable, and the lab's availability timeline
finds the cluster invariant held at every instant of both runs."""

from __future__ import annotations

import shutil
from pathlib import Path

from unitkit import REPO, allow_csr_replacement, apply, use_certificate
from windowkit import NIGHT, NOON, at, run, with_window

from reconciler.lab.availability import violations
from reconciler.lab.inprocess import InProcessLab

CUCM = ("cucm-pub", "cucm-sub1", "cucm-sub2")
NODES = ("expe1", "expe2", "expc1", "expc2", *CUCM)


async def test_a_clustered_renewal_waits_for_the_window_and_rolls_in_it(
        clab: InProcessLab, tmp_path: Path) -> None:
    root = tmp_path / "desired-state-clusters"
    shutil.copytree(REPO / "desired-state-clusters", root)
    for node in CUCM:
        allow_csr_replacement(root, node)
    _, csrs = await apply(clab, root)
    assert csrs is not None and csrs.ok
    for node in NODES:
        use_certificate(root, node, clab.sign((root / "csrs" / f"{node}.csr.pem").read_text(),
                                              "new"))
    with_window(root)
    timeline = clab.lab.timeline
    start = {n: s for n in NODES if (s := timeline.last(n)) is not None}
    mark = timeline.mark()

    closed = await run(at(clab, root, NOON), root)
    assert closed.result is not None and closed.result.ok and closed.result.owed
    assert [s for s in timeline.since(mark) if not s.up] == []  # nobody went down

    opened = await run(at(clab, root, NIGHT), root)
    assert opened.result is not None and opened.result.ok and not opened.result.owed
    await clab.wait_idle()
    samples = timeline.since(mark)
    assert violations(samples, clab.lab.clusters, clab.lab.links, start) == []
    assert {s.node for s in samples if not s.up} == set(NODES)
    last = {n: timeline.last(n) for n in NODES}
    assert all(s is not None and "New" in s.served_issuer for s in last.values())
