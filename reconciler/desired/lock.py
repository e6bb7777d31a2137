"""One apply at a time per desired-state directory: ``fcntl.flock`` on ``.certops/apply.lock``.

Two applies of the same plan a moment apart would both pass the freshness check and both run
every action. The lock makes the second one wait (up to ``timeout``) and then re-check
freshness against what the first one did, or refuse naming the process that holds it. It
serialises applies on one machine; across machines, CI's ``concurrency`` group does
(docs/ci.md).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from reconciler.desired.safewrite import open_inside
from reconciler.model import CertopsError
from reconciler.model.layout import LOCK_FILE

POLL = 0.1


class LockBusy(CertopsError):
    """Another apply holds the directory's lock."""


def _holder(fd: int) -> str:
    """What the holder wrote into the lock file (its pid), for the message."""
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text.isdigit() else "another process"


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@asynccontextmanager
async def apply_lock(root: Path, timeout: float) -> AsyncIterator[None]:
    """Hold the exclusive apply lock of ``root`` for the block; LockBusy after ``timeout`` s."""
    fd = open_inside(root, LOCK_FILE)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while not _try_lock(fd):
            if loop.time() >= deadline:
                raise LockBusy(
                    f"another certops apply ({_holder(fd)}) holds {root / LOCK_FILE}: waited "
                    f"{timeout:.0f}s (--lock-timeout). Let it finish, then run certops plan "
                    "and apply again; nothing was changed"
                )
            await asyncio.sleep(POLL)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
