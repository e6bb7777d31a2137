"""``--log-file``: one JSON line per request and apply step, and never a credential."""

from __future__ import annotations

import json
from pathlib import Path

from fleet import apply_args, certops
from ruamel.yaml import YAML

from reconciler.lab import LabThread


def test_apply_log_file_is_an_audit_trail_without_secrets(
    lab: LabThread, desired: Path, inventory: Path, tmp_path: Path
) -> None:
    log = tmp_path / "certops.log"
    code, out = certops("--log-file", str(log), *apply_args(desired, inventory))
    assert code == 0, out
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    requests = [r for r in lines if r["event"] == "request"]
    steps = [r for r in lines if r["event"] == "step"]
    assert requests and steps
    for record in requests + steps:
        assert {"time", "node", "operation", "status", "duration_ms"} <= set(record), record
    assert {r["node"] for r in requests} == {"expe1", "expc1", "cucm-pub"}
    assert any(r["operation"].startswith("POST ") for r in requests)
    done = {(r["node"], r["status"]) for r in steps if r["operation"].endswith("csr.generate")}
    assert ("expe1", "done") in done
    # no credential, in any form the lab's inventory holds
    text = log.read_text()
    nodes = YAML(typ="safe").load(inventory.read_text())["nodes"]
    secrets = {v for entry in nodes.values() for k, v in entry.items()
               if k in ("password", "app_password") and v}
    assert secrets and not [s for s in secrets if s in text]
    assert "Authorization" not in text and "Basic " not in text
