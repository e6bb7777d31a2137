"""An expired API certificate read under its pin, through the apply use case and the executor
on the in-process lab: the plan says node.api_cert_expired, and the node's restart is an
emergency (emergency.expired) that runs outside its closed window, while the other nodes'
restarts stay owed; wait-for-window keeps it owed too.

The in-process lab has no TLS (its transport is the node's app): what the driver's pinned
handshake would have recorded (drivers/tlsrecovery.py, tested against a real TLS server in
tests/drivers/test_tlsrecovery.py) is given to the reads here while expe1 still serves its
first certificate.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from windowkit import NOON, RESTARTS, at, renewal, restarts, run

from reconciler.drivers import fleet
from reconciler.drivers.base import Driver
from reconciler.lab.inprocess import InProcessLab
from reconciler.model import Code, ExpiredApiCertificate


def _expired_while_unchanged(lab: InProcessLab, monkeypatch: pytest.MonkeyPatch) -> None:
    first = lab.nodes["expe1"].state.served.cert_pem
    note = ExpiredApiCertificate(sha256="sha256:" + "ab" * 32, subject="CN=expe1.nart.com",
                                 not_before="2026-01-01T00:00:00+00:00",
                                 not_after="2026-12-05T00:00:00+00:00",
                                 pinned_by="certs/expe1.pem")

    def seen(driver: Driver) -> ExpiredApiCertificate | None:
        still = lab.nodes["expe1"].state.served.cert_pem == first
        return note if driver.endpoint.name == "expe1" and still else None

    monkeypatch.setattr(fleet, "expired_api_certificate", seen)


async def test_the_expired_node_restarts_outside_its_window(
        lab: InProcessLab, desired: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    timeline = await renewal(lab, desired)
    _expired_while_unchanged(lab, monkeypatch)
    done = await run(at(lab, desired, NOON), desired)
    assert Code.NODE_API_CERT_EXPIRED in {f.code for f in done.plan.findings}
    result = done.result
    assert result is not None and result.ok
    assert any(s.startswith("expe1:") for s in restarts(timeline)), restarts(timeline)
    assert result.outside_window is not None and "emergency.expired" in result.outside_window
    by_id = {a.id: a for a in done.plan.actions}
    owed = {by_id[r.id].node for r in result.owed if by_id[r.id].kind in RESTARTS}
    assert "expe1" not in owed and owed  # the others wait for their window


async def test_wait_for_window_keeps_it_owed(
        lab: InProcessLab, desired: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    timeline = await renewal(lab, desired)
    config = desired / "certops.yaml"
    config.write_text(config.read_text() + "emergency: {expired: wait-for-window}\n")
    _expired_while_unchanged(lab, monkeypatch)
    done = await run(at(lab, desired, NOON), desired)
    assert done.result is not None and done.result.ok
    assert restarts(timeline) == []
    emergency = [f for f in done.plan.findings if f.code == Code.CERT_EMERGENCY]
    assert emergency and "wait-for-window" in emergency[0].message
