"""``certops import`` results as text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reconciler.model.layout import CAS_DIR


def import_text(root: Path, nodes: Sequence[str], ca_files: int) -> list[str]:
    """What was imported where, and what to run next."""
    return [
        f"Imported {len(nodes)} node(s) into {root} "
        f"({ca_files} CA files under {CAS_DIR}/): {', '.join(nodes)}.",
        f"Next: certops validate {root} && certops plan {root}",
    ]
