"""The lab's options for the CLI transport: every Unified CM at 12.5 (``--cucm-version``),
and the CLI faults of ``certops lab fault``."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from reconciler.lab.ca import reuse_rsa_keys
from reconciler.lab.cli import app
from reconciler.lab.files import LabPaths
from reconciler.lab.server import Lab, LabOptions
from reconciler.lab.state import load_node
from reconciler.lab.topology import clustered_topology

runner = CliRunner()


def test_cucm_version_sets_every_unified_cm_node(tmp_path: Path) -> None:
    options = LabOptions(topology=clustered_topology(), cucm_version="12.5.1.16900-48")
    topology = Lab(tmp_path, options).topology()
    versions = {n.name: n.version for n in topology.nodes}
    assert {versions[n] for n in ("cucm-pub", "cucm-sub1", "cucm-sub2")} == {"12.5.1.16900-48"}
    assert versions["expe1"] is None  # the Expressways keep theirs


def test_cli_faults_from_the_command_line(tmp_path: Path) -> None:
    reuse_rsa_keys()
    lab = Lab(tmp_path / "lab", LabOptions(ssh=False, builtin_cas=2))
    lab.build()
    res = runner.invoke(app, ["fault", "cucm-pub", "--dir", str(tmp_path / "lab"), "--match",
                              "cert.import", "--cli-hang", "--count", "1"])
    assert res.exit_code == 0, res.output
    state = load_node(LabPaths(tmp_path / "lab"), "cucm-pub")
    assert state is not None
    [fault] = state.faults
    assert fault.cli_hang and fault.match == "cert.import" and fault.count == 1
