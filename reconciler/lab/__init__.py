"""The lab: emulated Expressway and CUCM nodes over real HTTPS, a lab CA, fault injection.

A development, test and demo tool (docs/architecture.md); production code never imports
it. It emulates docs/device-apis.md, including its [U] parts, which each module's
docstring names. Python API for tests::

    from reconciler.lab import Fault, start_lab
    with start_lab(tmp_path, restart_seconds=0.2) as lab:      # example topology
        lab.url("expe1"); lab.set_fault("expe1", Fault(match="restart", status=503, count=1))
        lab.counters("expe1")  # {"GET": 3, "non_get": 0, "writes": 0, "total": 3}

Other processes reach a running lab with ``LabClient(DIR)``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.lab.control import LabClient
    from reconciler.lab.faults import DroppedConnection, Fault
    from reconciler.lab.server import Lab, LabOptions, LabThread, start_lab
    from reconciler.lab.topology import (
        Topology,
        TopologyNode,
        example_topology,
        synthetic_topology,
    )

# Imported when first asked for (PEP 562): a lab helper run as its own process (the soak's
# command CA, once per certificate) imports only what it uses, not the whole lab server.
_HOME = {
    "LabClient": "control", "DroppedConnection": "faults", "Fault": "faults",
    "Lab": "server", "LabOptions": "server", "LabThread": "server", "start_lab": "server",
    "Topology": "topology", "TopologyNode": "topology", "example_topology": "topology",
    "synthetic_topology": "topology",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'reconciler.lab' has no attribute {name!r}")
    return getattr(importlib.import_module(f"reconciler.lab.{_HOME[name]}"), name)


__all__ = [
    "DroppedConnection",
    "Fault",
    "Lab",
    "LabClient",
    "LabOptions",
    "LabThread",
    "Topology",
    "TopologyNode",
    "example_topology",
    "start_lab",
    "synthetic_topology",
]
