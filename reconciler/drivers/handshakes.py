"""TLS handshakes' public-key work in threads beside the event loop (issue 24 §2).

A node's TLS handshake costs its client ~2 ms of CPU on the benchmark machine, nearly all
of it in one ``SSLObject.do_handshake`` call: the one that gets the node's answer and
verifies its chain's signatures and the key exchange (the lab's P-384 ECDSA chain). OpenSSL
does that work with the GIL released, so in a thread it runs on another core while the
loop goes on parsing the answers of the nodes already connected, instead of stalling all
of them. ``netstream`` runs the first step (the ClientHello, cheap) on the loop and every
later step here.

``CERTOPS_HANDSHAKE_THREADS`` sets the number of threads: ``0`` keeps every step on the
loop (one core, or to measure the difference). Unset: one per core beyond the first, at
most ``MAX_THREADS``, and none on one core, where a thread can only add switching.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from reconciler.drivers.errors import ConfigError

SETTING = "CERTOPS_HANDSHAKE_THREADS"
MAX_THREADS = 4

T = TypeVar("T")

_POOL: dict[str, ThreadPoolExecutor | None] = {}


def thread_count(setting: str | None, cores: int | None = None) -> int:
    """How many handshake threads ``setting`` (the variable's value) asks for."""
    setting = (setting or "").strip()
    if not setting:
        return min(max((cores or os.cpu_count() or 1) - 1, 0), MAX_THREADS)
    if not setting.isdigit():
        raise ConfigError(f"{SETTING} is {setting!r}: set a number of threads for TLS "
                          "handshakes (0: none, on the event loop), or unset it")
    return min(int(setting), MAX_THREADS)


def _pool() -> ThreadPoolExecutor | None:
    if "pool" not in _POOL:
        count = thread_count(os.environ.get(SETTING))
        _POOL["pool"] = (ThreadPoolExecutor(count, thread_name_prefix="certops-tls")
                         if count else None)
    return _POOL["pool"]


async def step(work: Callable[[], T]) -> T:
    """``work()`` in a handshake thread (or here, without threads)."""
    pool = _pool()
    if pool is None:
        return work()
    return await asyncio.get_running_loop().run_in_executor(pool, work)
