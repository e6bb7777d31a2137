"""A certificate's renewal period against its node's restart windows.

Renewing a certificate on a node with a ``restart_window`` takes one opening of that window
(the install waits for the restart, the restart for the window, a drain inside it); a
missed one (a failed apply, a drain that timed out, a freeze) needs another before the
certificate expires. So the renewal period, from the moment renewal is due (``renew_before``
or the CA's ARI window, ``lifecycle.renewal_time``) to the certificate's end, must hold at
least ``MIN_WINDOWS`` complete openings of the node's window, for each certificate certops
renews on it (the primary one and each declared role's). Fewer is
``renewal.few_windows``: an error where ``renew_before`` decides (the desired state can be
fixed: renew earlier, or open the window more often), a warning where the CA's window does
(the CA decides). Pure: the windows are counted from the renewal moment, whatever ``now``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from reconciler.checks.fleet import FleetView, renew_before
from reconciler.model import Code, Finding, ServerCertificateSpec, Severity
from reconciler.model.layout import role_stem
from reconciler.model.renewal import RenewalWindow
from reconciler.pki import CertInfo
from reconciler.pki.ari import cert_id
from reconciler.planning.lifecycle import RenewalTime, renewal_time
from reconciler.planning.windows import Window, WindowPolicy

if TYPE_CHECKING:
    from reconciler.planning.live import LiveView

MIN_WINDOWS = 2  # one to renew, drain and restart in; one to retry in


def openings(window: Window, start: datetime, end: datetime, enough: int) -> list[datetime]:
    """The first ``enough`` openings of ``window`` that open at or after ``start`` and close
    by ``end`` (fewer when fewer fit)."""
    found: list[datetime] = []
    moment = start - timedelta(seconds=1)
    while len(found) < enough:
        opens = window.next_open(moment)
        if opens + window.duration > end:
            break
        found.append(opens)
        moment = opens
    return found


def few_window_findings(fleet: FleetView, lives: Mapping[str, LiveView],
                        renewal: Mapping[str, RenewalWindow],
                        policy: WindowPolicy) -> list[Finding]:
    """``renewal.few_windows`` for each certificate certops renews (no committed ``file``:
    the primary one and each declared role's) whose renewal period holds fewer than
    ``MIN_WINDOWS`` openings of its node's restart window (``renewal``: the ARI windows by
    ``<node>[.<role>]``)."""
    out: list[Finding] = []
    for name, lv in sorted(lives.items()):
        view = fleet.nodes.get(name)
        window = policy.window(name)
        if view is None or window is None:
            continue
        certs: list[tuple[str | None, ServerCertificateSpec | None, CertInfo | None]]
        certs = [(None, view.node.spec.server_certificate, lv.installed)]
        certs += [(role, view.node.spec.certificates.get(role), lv.role_installed.get(role))
                  for role in sorted(view.roles)]
        for role, spec, cert in certs:
            if spec is None or spec.file or cert is None:
                continue
            ari = renewal.get(role_stem(name, role))
            if ari is not None and ari.cert_id != cert_id(cert.cert):
                ari = None
            when = renewal_time(cert, renew_before(fleet.desired, view, role), ari)
            fits = openings(window, when.at, cert.not_after, MIN_WINDOWS)
            if len(fits) < MIN_WINDOWS:
                out.append(_finding(fleet, name, role, cert, when, window, len(fits)))
    return out


def _finding(fleet: FleetView, name: str, role: str | None, cert: CertInfo, when: RenewalTime,
             window: Window, count: int) -> Finding:
    life = cert.not_after - cert.not_before
    by_ca = when.source == "ari"
    fix = ("the CA's window decides: open the restart window more often, or restart this node "
           "outside it by hand" if by_ca else
           "renew earlier (renew_before: 1/2, or a longer time) or open the window more often")
    which = f"the {role} certificate" if role else "the certificate"
    at = ("server_certificate",) if role is None else ("certificates", role)
    return Finding(
        code=Code.RENEWAL_FEW_WINDOWS,
        severity=Severity.WARNING if by_ca else Severity.ERROR,
        node=name,
        message=f"{which} lives {life.days} days ({life.total_seconds() / 3600:.0f} "
        f"hours) and is renewed from {when.at:%Y-%m-%d %H:%M} UTC ({when.why}); restart window "
        f"{window.name} ({window.cron}, {window.tz.key}) opens {count} time(s) in full before it "
        f"expires on {cert.not_after:%Y-%m-%d %H:%M} UTC: renewing, draining and restarting "
        f"needs {MIN_WINDOWS} (one to retry). {fix[0].upper()}{fix[1:]}.",
        location=fleet.nodes[name].node.pos(*at, "renew_before"),
    )
