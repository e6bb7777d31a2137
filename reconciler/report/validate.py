"""``certops validate`` results as text lines and as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from reconciler.model import Finding
from reconciler.report.findings import finding_data, render_findings, summary_line


def validate_text(root: Path, ok: bool, nodes: Sequence[str],
                  findings: Sequence[Finding], node_files: int = 0) -> list[str]:
    """Every finding, then the verdict line: how many node files, and how many are unusable."""
    verdict = "valid" if ok else "INVALID"
    lines = render_findings(findings)
    total = max(node_files, len(nodes))
    unusable = f" ({total - len(nodes)} unusable)" if total > len(nodes) else ""
    return [*lines, f"{root}: {verdict}: {total} nodes{unusable}; {summary_line(findings)}"]


def validate_json(root: Path, ok: bool, nodes: Sequence[str], findings: Sequence[Finding]) -> str:
    data = {
        "valid": ok,
        "directory": str(root),
        "nodes": list(nodes),
        "findings": [finding_data(f) for f in findings],
    }
    return json.dumps(data, indent=2, sort_keys=False)
