"""ACME Renewal Information (RFC 9773) and the directory facts an ACME issuer plans with.

``AcmeDirectory`` is what certops reads from a CA's directory: the ``renewalInfo`` URL (absent:
the CA has no ARI, renewal falls back to ``renew_before``) and ``meta.profiles``. ``window``
GETs ``renewalInfo/<certID>`` (unauthenticated, as RFC 9773 section 4.2 allows) and turns the
answer into a ``model.RenewalWindow``, ``next_check`` from the CA's ``Retry-After`` (seconds
or an HTTP date; 6 hours when absent, as RFC 9773 section 4.3.3 suggests; bounded to a minute
and a week). The window itself is kept, not a random time inside it as the ``acme`` library's
``ClientV2.renewal_time()`` returns: a plan must be the same when re-derived.

``read_cache``/``write_cache`` keep the answers in ``model.layout.RENEWAL_INFO_FILE`` (written
atomically, only when it changed), which every run reads first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.desired.safewrite import write_inside
from reconciler.model.common import printable
from reconciler.model.layout import RENEWAL_INFO_FILE
from reconciler.model.renewal import RenewalCache, RenewalWindow

DEFAULT_RETRY = timedelta(hours=6)
QUOTED_MAX = 200  # characters of a CA-given text (a profile's description, a URL) quoted
MIN_RETRY, MAX_RETRY = timedelta(minutes=1), timedelta(days=7)


@dataclass(frozen=True)
class AcmeDirectory:
    """What an ACME CA's directory offers beyond RFC 8555's basics."""

    url: str
    renewal_info: str | None = None
    profiles: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, url: str, data: Mapping[str, Any]) -> AcmeDirectory:
        meta = data.get("meta") or {}
        profiles = meta.get("profiles") if isinstance(meta, dict) else None
        ari = data.get("renewalInfo")
        return cls(url=url, renewal_info=str(ari).rstrip("/") if ari else None,
                   profiles={quoted(k): quoted(v) for k, v in (profiles or {}).items()})

    def profile_problem(self, issuer: str, profile: str | None) -> str | None:
        """Why ``profile`` cannot be ordered from this CA (None: it can)."""
        if profile is None or profile in self.profiles:
            return None
        if not self.profiles:
            return (f"issuer {issuer}: profile '{profile}' is set, but the CA at {self.url} "
                    "offers no profiles (no meta.profiles in its directory): remove profile:")
        offered = ", ".join(f"{n} ({d})" if d else n for n, d in sorted(self.profiles.items()))
        return (f"issuer {issuer}: the CA at {self.url} offers no profile '{profile}'; it "
                f"offers: {offered}. Set profile: to one of them")


def quoted(value: object) -> str:
    """A CA-given text as findings may quote it: one printable line, at most QUOTED_MAX."""
    text = printable(str(value))
    return text if len(text) <= QUOTED_MAX else text[:QUOTED_MAX - 1] + "…"


def retry_after(header: str | None, now: datetime) -> datetime:
    """When the CA may be asked again: its Retry-After, bounded; 6 hours without one."""
    wait = DEFAULT_RETRY
    if header and header.strip().isdigit():
        wait = timedelta(seconds=int(header.strip()))
    elif header:
        try:
            wait = parsedate_to_datetime(header) - now
        except (TypeError, ValueError):
            wait = DEFAULT_RETRY
    return now + min(max(wait, MIN_RETRY), MAX_RETRY)


def window_from(issuer: str, node: str, cert_id: str, body: Mapping[str, Any],
                header: str | None, now: datetime) -> RenewalWindow:
    """The RenewalWindow of a renewalInfo answer (ValueError when it has no valid window)."""
    window = body.get("suggestedWindow")
    if not isinstance(window, dict):
        raise ValueError("the answer has no suggestedWindow")
    start, end = (_rfc3339(str(window.get(k, ""))) for k in ("start", "end"))
    if end <= start:
        raise ValueError("its suggestedWindow ends before it starts")
    explanation = quoted(body.get("explanationURL") or "")
    return RenewalWindow(cert_id=cert_id, issuer=issuer, node=node, start=start, end=end,
                         explanation_url=explanation if explanation.startswith(
                             ("https://", "http://")) else None,
                         checked_at=now, next_check=retry_after(header, now))


def _rfc3339(text: str) -> datetime:
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return when.astimezone(UTC)


def read_cache(root: Path) -> RenewalCache:
    """The renewal-info file of the desired-state directory (empty when absent or unreadable:
    the CA is then asked again, which is safe)."""
    try:
        return RenewalCache.model_validate_json((root / RENEWAL_INFO_FILE).read_bytes())
    except (OSError, ValidationError, ValueError):
        return RenewalCache()


def write_cache(root: Path, cache: RenewalCache) -> bool:
    """Write ``cache`` (sorted, stable) when it differs from the file; whether it wrote.
    An empty cache creates no file."""
    text = json.dumps(json.loads(cache.model_dump_json()), indent=2, sort_keys=True) + "\n"
    path = root / RENEWAL_INFO_FILE
    try:
        if path.read_text() == text:
            return False
    except OSError:
        if not (cache.windows or cache.revoked):  # nothing to remember: no file at all
            return False
    write_inside(root, RENEWAL_INFO_FILE, text)
    return True
