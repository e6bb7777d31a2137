"""The garbage collector's pace for one certops process (the CLI owns the process).

CPython collects its youngest generation every 700 new container objects, and every tenth
and hundredth of those collections also walks the older generations. A fleet-scale run
allocates millions of short-lived objects (decoded JSON, parsed YAML, one request's httpx
objects), nearly all freed by reference counting, not by the collector; with the default
pace the collector walked the whole heap (the desired state, the live state, the loaded
modules) nine times in a plan of 1,000 nodes: 1.5 s of its ~14 s of CPU, to free almost
nothing. Collecting every 10,000 objects left the older generations alone for such a run
(measured: 0.4 s of collector time, the same peak memory); every 100,000 (issue 24 §2, fourth
pass) gives a read's short-lived objects (a node's decoded answer, its parsed certificates'
intermediates) time to die before a collection sees them, so fewer reach the middle
generation: the same plan's collector time 0.58–0.65 → 0.32–0.37 s, peak RSS 230 → 238 MB.
Reference cycles in a long ``apply`` are still freed. Nothing certops computes depends on
when a collection runs.
"""

from __future__ import annotations

import gc

YOUNG = 100_000  # new container objects between collections of the youngest generation
OLDER = 10  # collections of one generation between collections of the next


def pace() -> None:
    """Set the collector's thresholds for this process (once, at the start of a command)."""
    gc.set_threshold(YOUNG, OLDER, OLDER)
