"""What the CLI sets for its process: the audit trail's level and the collector's pace."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli.collector import OLDER, YOUNG, pace
from reconciler.cli.logs import AUDIT, configure


@pytest.fixture
def restore_audit() -> Iterator[None]:
    level, handlers, propagate = AUDIT.level, list(AUDIT.handlers), AUDIT.propagate
    yield
    configure(False, None)
    for handler in list(AUDIT.handlers):
        AUDIT.removeHandler(handler)
    for handler in handlers:
        AUDIT.addHandler(handler)
    AUDIT.setLevel(level)
    AUDIT.propagate = propagate


@pytest.mark.usefixtures("restore_audit")
def test_no_audit_record_is_made_when_no_option_asks_for_the_trail() -> None:
    configure(False, None)
    assert not AUDIT.isEnabledFor(logging.INFO)
    assert not AUDIT.isEnabledFor(logging.WARNING)


@pytest.mark.usefixtures("restore_audit")
@pytest.mark.parametrize("verbose", [True, False])
def test_the_trail_records_every_request_when_asked(verbose: bool, tmp_path: Path) -> None:
    log = None if verbose else tmp_path / "audit.jsonl"
    configure(verbose, log)
    assert AUDIT.isEnabledFor(logging.INFO)
    AUDIT.info("request", extra={"event": "request", "node": "n", "operation": "GET /x",
                                 "status": 200, "duration_ms": 1.0})
    if log is not None:
        for handler in AUDIT.handlers:
            handler.flush()
        assert '"node": "n"' in log.read_text()


def test_the_collector_runs_at_certops_pace() -> None:
    before = gc.get_threshold()
    try:
        pace()
        assert gc.get_threshold() == (YOUNG, OLDER, OLDER)
        assert YOUNG > 700  # fewer collections than CPython's default (700), never more
    finally:
        gc.set_threshold(*before)
