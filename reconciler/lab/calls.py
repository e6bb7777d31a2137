"""Calls through the lab's nodes: seeded arrivals, durations, maintenance mode, drops.

Each node with a ``calls:`` profile in the topology gets calls: arrivals at a steady rate
(``per_minute``) with durations drawn evenly from ``duration_seconds: [min, max]``, both from
a random generator seeded by the topology's ``seed`` and the node's name, so the same
topology offers the same calls in every run. A call that arrives at a node that does not
take calls (an Expressway down or in maintenance mode; a Unified CM node whose Cisco
CallManager is restarting) goes to the cluster peer that takes calls and has the fewest
(failover to another peer, a CM group's next node), or is refused when none does. A call
ends at its end time; an Expressway restart drops every call on it (the reboot ends all
calls [C]). A Unified CM CallManager restart drops none: call preservation keeps active
calls up without mid-call features while new calls go to the CM group's next node [C]. What
the lab assumes beyond Cisco's text is [U]: that an Expressway in maintenance mode refuses
every new call (Cisco: new calls go to other peers [C]).

Time is the lab's monotonic clock; the book is advanced to "now" before any change of a
node's state (``advance``), so each arrival is routed by the state at its arrival time.
"""

from __future__ import annotations

import heapq
import random
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CallProfile:
    """One node's offered calls: arrivals a minute and how long each lasts (seconds)."""

    per_minute: float
    min_seconds: float
    max_seconds: float


def arrivals(profile: CallProfile, seed: int, node: str) -> Iterator[tuple[float, float]]:
    """(arrival offset, duration) of the node's calls, for ever, the same for one seed."""
    rng = random.Random(seed * 1_000_003 + zlib.crc32(node.encode()))
    gap = 60.0 / profile.per_minute
    t = 0.0
    while True:
        t += gap * (0.5 + rng.random())  # steady, jittered: an average of per_minute
        yield t, rng.uniform(profile.min_seconds, profile.max_seconds)


@dataclass
class CallBook:
    """Every node's active calls, and what happened to the calls offered since the start."""

    profiles: Mapping[str, CallProfile]
    peers: Mapping[str, Sequence[str]]  # node -> the cluster members its calls may go to
    takes_calls: Callable[[str], bool]
    seed: int = 1
    clock: Callable[[], float] = time.monotonic
    started: float = 0.0
    active: dict[str, list[float]] = field(default_factory=dict)  # node -> end times
    dropped: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    moved: Counter[str] = field(default_factory=Counter)  # went to a peer of this node
    _next: list[tuple[float, str, float]] = field(default_factory=list)  # heap
    _streams: dict[str, Iterator[tuple[float, float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started = self.started or self.clock()
        for node, profile in sorted(self.profiles.items()):
            if profile.per_minute > 0:
                self._streams[node] = arrivals(profile, self.seed, node)
                self._push(node)

    def _push(self, node: str) -> None:
        offset, duration = next(self._streams[node])
        heapq.heappush(self._next, (self.started + offset, node, duration))

    def advance(self) -> None:
        """Route every call that has arrived by now (by the nodes' state now)."""
        now = self.clock()
        while self._next and self._next[0][0] <= now:
            at, node, duration = heapq.heappop(self._next)
            self._push(node)
            self._route(node, at, at + duration)

    def _route(self, node: str, at: float, end: float) -> None:
        target = node if self.takes_calls(node) else self._peer_for(node, at)
        if target is None:
            self.refused[node] += 1
            return
        if target != node:
            self.moved[node] += 1
        self.active.setdefault(target, []).append(end)

    def _peer_for(self, node: str, at: float) -> str | None:
        up = [p for p in self.peers.get(node, ()) if self.takes_calls(p)]
        return min(up, key=lambda p: (self._count(p, at), p), default=None)

    def _count(self, node: str, at: float) -> int:
        ends = [e for e in self.active.get(node, []) if e > at]
        self.active[node] = ends
        return len(ends)

    def current(self, node: str) -> int:
        """The calls on ``node`` now."""
        self.advance()
        return self._count(node, self.clock())

    def drop(self, node: str) -> int:
        """A restart: every call on ``node`` ends now; how many (counted as dropped)."""
        count = self.current(node)
        self.active[node] = []
        self.dropped[node] += count
        return count

    def summary(self) -> dict[str, dict[str, int]]:
        """Per node: calls on it now, dropped, moved to a peer, refused (for the control API)."""
        self.advance()
        now = self.clock()
        names = sorted(set(self.profiles) | set(self.active))
        return {n: {"active": self._count(n, now), "dropped": self.dropped[n],
                    "moved": self.moved[n], "refused": self.refused[n]} for n in names}
