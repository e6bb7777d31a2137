"""When a renewal the CA times (ARI) lands: at the node's first restart window inside it.

RFC 9773 gives a window [start, end] to renew in. On a node with a ``restart_window``,
renewing at ``start`` would issue and install a certificate whose restart (the step that
makes the node serve it) then waits for the window, perhaps for days, with a new
certificate installed but not served and an old one the CA wants gone. So certops renews at
the first moment inside the CA's window where the node may also restart:

- the restart window is open at ``start``: ``start`` itself;
- else the first opening after ``start`` that begins before ``end``;
- no opening begins inside the CA's window: ``start`` (never later: the CA's window is the
  deadline); the restart then waits for its window, after ``end``, and
  ``renewal.few_windows`` says so at plan time;
- the CA says "now" (an urgent window: a revocation is coming): ``start``, and the
  emergency policy (``planning.emergency``) decides whether the restart may run outside.

"Renew" means the whole renewal in one apply: the order, the install and the drained
restart, all inside that opening (issuing earlier would only leave a certificate installed
and not served: a node that restarts for another reason would switch to it unplanned).
Pure: the time is an argument.
"""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.model.renewal import RenewalWindow
from reconciler.planning.lifecycle import RenewalTime
from reconciler.planning.windows import Window, local_and_utc


def first_opening(window: Window, start: datetime, end: datetime) -> datetime | None:
    """The first moment in [start, end) at which ``window`` is open (None: it never is)."""
    if window.is_open(start):
        return start
    opens = window.next_open(start).astimezone(UTC)
    return opens if opens < end else None


def in_restart_window(when: RenewalTime, ari: RenewalWindow | None, window: Window | None,
                      now: datetime) -> RenewalTime:
    """``when`` (``lifecycle.renewal_time``) moved to the node's first restart window inside
    the CA's ARI window; unchanged without ARI, without a window, or when the CA is urgent."""
    if ari is None or window is None or when.source != "ari" or ari.urgent(now):
        return when
    at = first_opening(window, ari.start, ari.end)
    if at is None:
        later = window.next_open(ari.start)
        return RenewalTime(ari.start, "ari", (
            f"{ari.describe()}; restart window {window.name} does not open inside it (next "
            f"{local_and_utc(later, window.tz)}): the restart waits past its end"))
    if at == ari.start:
        return RenewalTime(at, "ari", f"{ari.describe()}, restart window {window.name} "
                                      "open at its start")
    return RenewalTime(at, "ari", f"in restart window {window.name} "
                                  f"{local_and_utc(at, window.tz)}, the first opening inside "
                                  f"{ari.describe()}")
