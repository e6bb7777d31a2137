"""The session: everything a use case needs besides its own request, in one frozen object.

Where the desired state is, how to reach nodes (inventory, environment, ``DriverFactory``,
HTTP settings), what time it is, the certificate cache, how many nodes at once and how long
to wait for restarts. The drivers and the executor load only when a use case asks for them:
``certops validate`` builds a session too and must not pay for httpx.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.model import Desired
from reconciler.pki import CertCache

if TYPE_CHECKING:
    from reconciler.apply.steps import Timing
    from reconciler.drivers import Driver, HttpSettings, Inventory
    from reconciler.drivers.seams import DriverFactory


def utc_now() -> datetime:
    return datetime.now(UTC)


def fixed(moment: datetime) -> Callable[[], datetime]:
    """A clock that always says ``moment`` (``--at``)."""
    return lambda: moment


@dataclass(frozen=True)
class Session:
    """One run's settings; ``None`` means the default (no inventory, the real network...)."""

    root: Path
    env: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], datetime] = utc_now
    cache: CertCache = field(default_factory=CertCache)
    inventory: Inventory | None = None
    drivers: DriverFactory | None = None
    http: HttpSettings | None = None
    parallelism: int = 16
    timing: Timing | None = None

    def now(self) -> datetime:
        return self.clock()

    def at(self, root: Path) -> Session:
        """The same session on another desired-state directory."""
        return replace(self, root=root)

    def the_inventory(self) -> Inventory:
        from reconciler.drivers import Inventory

        return self.inventory if self.inventory is not None else Inventory()

    def the_http(self) -> HttpSettings:
        from reconciler.drivers import HttpSettings

        return self.http if self.http is not None else HttpSettings()

    def the_factory(self) -> DriverFactory:
        from reconciler.drivers.seams import NETWORK

        return self.drivers if self.drivers is not None else NETWORK

    def the_timing(self) -> Timing:
        from reconciler.apply.steps import Timing

        return self.timing if self.timing is not None else Timing()

    def connect(self, desired: Desired, names: Sequence[str]) -> dict[str, Driver]:
        """Drivers for ``names``; every configuration problem is raised before any request."""
        from reconciler.drivers import make_drivers

        return make_drivers(desired, list(names), self.the_inventory(), self.env,
                            self.driver_settings(), self.the_factory())

    def driver_settings(self) -> HttpSettings:
        """The HTTP settings, with ``--restart-timeout`` and ``--poll-interval`` (the timing)
        carried to the drivers that wait for restarts themselves (the CUCM service restarts)."""
        if self.timing is None:
            return self.the_http()
        return replace(self.the_http(), restart_timeout=self.timing.up_timeout,
                       poll=self.timing.poll)
