"""Reading in worker processes (reconciler.drivers.workers): how many, and how the nodes and
the parallelism are shared out."""

from __future__ import annotations

import pytest

from reconciler.drivers.errors import ConfigError
from reconciler.drivers.workers import MAX_WORKERS, WORKERS_FROM, read_workers, split


def test_how_many_workers() -> None:
    assert read_workers(1000, None, cores=8) == 0  # unset: none (opt-in)
    assert read_workers(1000, "", cores=8) == 0
    assert read_workers(1000, "auto", cores=2) == 1  # auto: one per spare core
    assert read_workers(1000, " AUTO ", cores=16) == MAX_WORKERS
    assert read_workers(1000, "auto", cores=1) == 0
    assert read_workers(WORKERS_FROM - 1, "1") == 0  # too few nodes to pay for a worker
    assert read_workers(1000, "1") == 1
    assert read_workers(1000, "0", cores=8) == 0
    assert read_workers(1000, "50") == MAX_WORKERS
    assert read_workers(2 * WORKERS_FROM, "4") == 2  # at least WORKERS_FROM nodes each


def test_a_setting_that_is_neither_a_number_nor_auto_is_refused_with_what_to_set() -> None:
    with pytest.raises(ConfigError, match="CERTOPS_READ_WORKERS is 'two': set a number"):
        read_workers(1000, "two", cores=8)


def test_parallelism_is_shared_in_proportion_and_never_exceeded() -> None:
    assert split(16, [500, 500]) == [8, 8]
    assert split(16, [334, 333, 333]) == [6, 5, 5]
    gates = split(3, [1, 100, 100])
    assert sum(gates) >= 3 and min(gates) >= 1
    assert sum(split(16, [667, 333])) == 16
