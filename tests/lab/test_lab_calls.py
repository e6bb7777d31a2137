"""The lab's calls (``reconciler.lab.calls``) on a clock the test moves: the same seed
offers the same calls; maintenance mode sends new calls to a peer, or refuses them when
none takes calls; calls on a node run to their end; a restart drops the ones on it."""

from __future__ import annotations

from itertools import islice, pairwise

from reconciler.lab.calls import CallBook, CallProfile, arrivals

PROFILE = CallProfile(per_minute=60, min_seconds=5, max_seconds=5)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def book(up: dict[str, bool], clock: Clock, peers: bool = True) -> CallBook:
    return CallBook({"a": PROFILE}, {"a": ["b"], "b": ["a"]} if peers else {},
                    lambda n: up.get(n, False), seed=3, clock=clock)


def test_the_same_seed_offers_the_same_calls() -> None:
    first = list(islice(arrivals(PROFILE, 3, "a"), 20))
    assert first == list(islice(arrivals(PROFILE, 3, "a"), 20))
    assert first != list(islice(arrivals(PROFILE, 4, "a"), 20))
    gaps = [b[0] - a[0] for a, b in pairwise(first)]
    assert all(0.5 <= g <= 1.5 for g in gaps)  # 60 a minute, jittered


def test_maintenance_moves_new_calls_and_keeps_the_old_ones() -> None:
    clock, up = Clock(), {"a": True, "b": True}
    calls = book(up, clock)
    clock.now += 10
    on_a = calls.current("a")
    assert on_a >= 3  # five-second calls, about one a second
    up["a"] = False  # maintenance mode: a takes no new call
    clock.now += 2
    assert calls.current("b") >= 1 and calls.moved["a"] >= 1
    assert 0 < calls.current("a") <= on_a  # old calls run on, none new
    clock.now += 5
    assert calls.current("a") == 0  # every call on a has ended: drained
    assert calls.drop("a") == 0 and calls.dropped["a"] == 0


def test_no_peer_up_refuses_and_a_restart_drops() -> None:
    clock, up = Clock(), {"a": True}
    calls = book(up, clock, peers=False)
    clock.now += 10
    on_a = calls.current("a")
    assert calls.drop("a") == on_a > 0 and calls.dropped["a"] == on_a
    up["a"] = False
    clock.now += 3
    assert calls.current("a") == 0 and calls.refused["a"] >= 2
    assert calls.summary()["a"] == {"active": 0, "dropped": on_a, "moved": 0,
                                    "refused": calls.refused["a"]}
