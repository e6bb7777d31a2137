"""A role's install records the restart the plan makes after it (owed-restarts.json), so a
run after a closed window still restarts it: a CallManager identity is served on SIP TLS,
which certops does not read, so no live state shows that its restart is owed (found by the
soak run, docs/soak.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from reconciler.apply.role_steps import _owe_restarts
from reconciler.apply.steps import StepContext
from reconciler.desired.pending import clear_pending, read_pending
from reconciler.model import Action, Plan

SERVICES = ("Cisco CallManager", "Cisco HAProxy")


def context(tmp_path: Path, actions: list[Action]) -> StepContext:
    plan = Plan(created_at=datetime.now(UTC), desired_digest="d", actions=tuple(actions))
    return StepContext(plan=plan, fleet=cast(Any, None), drivers={}, desired_root=tmp_path)


def test_a_role_install_records_the_restarts_that_wait_for_it(tmp_path: Path) -> None:
    install = Action(id="cucm-pub/cert.install/callmanager/issued", kind="cert.install",
                     node="cucm-pub", reason="r", role="callmanager")
    restart = Action(id="cucm-pub/service.restart/callmanager", kind="service.restart",
                     node="cucm-pub", reason="r", services=SERVICES, depends_on=(install.id,))
    other = Action(id="cucm-sub1/service.restart/callmanager", kind="service.restart",
                   node="cucm-sub1", reason="r", services=("Cisco TFTP",),
                   depends_on=(install.id,))  # another node's restart is its own business
    _owe_restarts(context(tmp_path, [install, restart, other]), install)
    assert read_pending(tmp_path) == {"cucm-pub": tuple(sorted(SERVICES))}
    clear_pending(tmp_path, "cucm-pub", SERVICES)  # what the restart step does when it runs
    assert read_pending(tmp_path) == {}


def test_an_install_no_restart_waits_for_records_nothing(tmp_path: Path) -> None:
    install = Action(id="expe1/cert.install/client/issued", kind="cert.install", node="expe1",
                     reason="r", role="client")
    _owe_restarts(context(tmp_path, [install]), install)
    assert read_pending(tmp_path) == {}
    assert not (tmp_path / "owed-restarts.json").exists()
