"""The expected restart timeline (``reconciler.planning.schedule``) and each kind's expected
downtime: a restart starts when everything it depends on is done, restarts take their kind's
figure, every other step none."""

from __future__ import annotations

from reconciler.kinds import kind_of
from reconciler.kinds.base import DEFAULT_SERVICE_DOWNTIME
from reconciler.kinds.expressway import RESTART_ESTIMATE
from reconciler.kinds.vos import SERVICE_RESTART_SECONDS
from reconciler.model import Action
from reconciler.planning.schedule import expected_slots


def act(aid: str, kind: str, *deps: str, services: tuple[str, ...] = ()) -> Action:
    return Action(id=aid, kind=kind, node=aid.split("/")[0], reason="test",  # type: ignore[arg-type]
                  depends_on=deps, services=services)


def test_restarts_start_when_what_they_wait_for_ends() -> None:
    actions = [
        act("e1/trust.add", "trust.add"),
        act("e1/cert.install", "cert.install", "e1/trust.add"),
        act("e1/node.restart", "node.restart", "e1/cert.install"),
        act("e2/node.restart", "node.restart", "e1/node.restart"),  # linked: one at a time
        act("c1/service.restart", "service.restart", "e1/trust.add"),  # independent of e1's
    ]
    down = {"node.restart": 600.0, "service.restart": 120.0}
    slots = expected_slots(actions, lambda a: down[a.kind])
    assert [(s.action.id, s.start, s.end) for s in slots] == [
        ("e1/node.restart", 0.0, 600.0),  # plan order breaks the tie at 0
        ("c1/service.restart", 0.0, 120.0),
        ("e2/node.restart", 600.0, 1200.0),
    ]


def test_kinds_expected_downtime() -> None:
    expressway, cucm = kind_of("expressway-e"), kind_of("cucm")
    assert expressway.expected_downtime("node.restart", ()) == RESTART_ESTIMATE.total_seconds()
    services = ("Cisco CallManager", "Cisco Tomcat", "Some Other Service")
    assert cucm.expected_downtime("service.restart", services) == (
        SERVICE_RESTART_SECONDS["Cisco CallManager"] + SERVICE_RESTART_SECONDS["Cisco Tomcat"]
        + DEFAULT_SERVICE_DOWNTIME)


def test_unity_connection_tomcat_is_slower_than_unified_cms() -> None:
    tomcat = ("Cisco Tomcat",)
    assert (kind_of("cuc").expected_downtime("service.restart", tomcat)
            > kind_of("cucm").expected_downtime("service.restart", tomcat))
