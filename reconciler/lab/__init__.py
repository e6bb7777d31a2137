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

from reconciler.lab.control import LabClient
from reconciler.lab.faults import DroppedConnection, Fault
from reconciler.lab.server import Lab, LabOptions, LabThread, start_lab
from reconciler.lab.topology import Topology, TopologyNode, example_topology, synthetic_topology

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
