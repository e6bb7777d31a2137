"""Reading in worker processes (CERTOPS_READ_WORKERS): how many, and how the nodes and the
parallelism are shared out. The reads themselves are the drivers' own."""

from __future__ import annotations

from reconciler.drivers.fleet import WORKERS_FROM, _split, read_workers


def test_no_workers_unless_asked_and_the_fleet_is_large() -> None:
    assert read_workers(1000, None) == 0
    assert read_workers(1000, "") == 0
    assert read_workers(1000, "two") == 0
    assert read_workers(WORKERS_FROM - 1, "1") == 0
    assert read_workers(1000, "1") == 1
    assert read_workers(1000, "0") == 0
    assert read_workers(1000, "50") == 7  # at most 7
    assert read_workers(2 * WORKERS_FROM, "4") == 2  # at least WORKERS_FROM nodes each


def test_parallelism_is_shared_in_proportion_and_never_exceeded() -> None:
    assert _split(16, [500, 500]) == [8, 8]
    assert _split(16, [334, 333, 333]) == [6, 5, 5]
    gates = _split(3, [1, 100, 100])
    assert sum(gates) >= 3 and min(gates) >= 1
    assert sum(_split(16, [667, 333])) == 16
