"""How and when one node's disruptive steps run: its restart settings, resolved (pure).

``restart_window``, ``drain``, ``drain_timeout`` and ``on_drain_timeout`` can be set on a
node file, on the cluster the node belongs to and under ``defaults:`` in certops.yaml; each
one is taken from the nearest level that sets it (node file, then cluster, then defaults).
This is the one place that rule lives: the drain rule (``planning.drain``), the drain step,
and the change-window checks and policy ask ``restart_settings``. It lives in the model,
the lowest layer, so that ``checks`` may ask it as well as ``planning``. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from reconciler.model.desired import Desired, OnDrainTimeout, RestartSettings, parse_span


@dataclass(frozen=True)
class ResolvedRestart:
    """One node's restart settings, each from the nearest level that sets it."""

    restart_window: str | None
    drain: bool
    drain_timeout: timedelta
    on_drain_timeout: OnDrainTimeout
    drain_timeout_text: str  # as written, for plans and messages ("30m")


def restart_settings(desired: Desired, node: str) -> ResolvedRestart:
    """``node``'s settings: its node file, else its cluster, else ``defaults``."""
    defaults = desired.fleet.defaults
    levels: list[RestartSettings] = []
    spec = desired.node(node)
    if spec is not None:
        levels.append(spec.spec)
    cluster = desired.cluster_of(node)
    if cluster is not None:
        levels.append(desired.fleet.clusters[cluster])

    def nearest(key: str, fallback: object) -> object:
        return next((v for v in (getattr(s, key) for s in levels) if v is not None), fallback)

    timeout = str(nearest("drain_timeout", defaults.drain_timeout))
    on_timeout = nearest("on_drain_timeout", defaults.on_drain_timeout)
    window = nearest("restart_window", defaults.restart_window)
    return ResolvedRestart(
        restart_window=window if isinstance(window, str) else None,
        drain=bool(nearest("drain", defaults.drain)),
        drain_timeout=parse_span(timeout),
        on_drain_timeout="restart" if on_timeout == "restart" else "stop",
        drain_timeout_text=timeout,
    )
