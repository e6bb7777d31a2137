"""``certops import`` results as text."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from reconciler.model.layout import CA_SETS_DIR, CAS_DIR


class ImportOutcome(Protocol):
    """What ``certops import`` did (``reconciler.usecases.importing.ImportResult``)."""

    @property
    def nodes(self) -> tuple[str, ...]: ...
    @property
    def ca_files(self) -> int: ...
    @property
    def ca_sets(self) -> int: ...
    @property
    def root(self) -> Path: ...
    @property
    def written(self) -> tuple[str, ...]: ...
    @property
    def diffs(self) -> tuple[str, ...]: ...
    @property
    def unmanaged_cas(self) -> int: ...
    @property
    def superseded(self) -> tuple[str, ...]: ...
    @property
    def applied(self) -> bool: ...


def import_text(result: ImportOutcome) -> list[str]:
    """The diffs of existing files, what was imported where, and what to run next."""
    root, nodes = result.root, result.nodes
    lines = [d.rstrip("\n") for d in result.diffs]
    sets = f", {result.ca_sets} CA sets under {CA_SETS_DIR}/" if result.ca_sets else ""
    lines.append(
        f"Imported {len(nodes)} node(s) into {root} "
        f"({result.ca_files} CA files under {CAS_DIR}/{sets}): {', '.join(nodes)}."
    )
    if result.unmanaged_cas:
        lines.append(f"Left {result.unmanaged_cas} CA(s) that no live certificate of the fleet "
                     "chains to unmanaged (--skip-builtin): not written, not listed.")
    if result.superseded:
        shown = ", ".join(result.superseded[:3]) + (", …" if len(result.superseded) > 3 else "")
        lines.append(f"{len(result.superseded)} file(s) under {CAS_DIR}/ hold only built-in CAs "
                     f"that the node files name through {CA_SETS_DIR}/ now ({shown}): delete "
                     "them once no node file names them (certops validate says if one does).")
    if not result.applied:
        lines.append(f"{len(result.diffs)} existing file(s) would change (diff above): nothing "
                     "of them was written; run again with --write to apply the diff.")
        return lines
    lines.append(f"Wrote {len(result.written)} file(s).")
    lines.append(f"Next: certops validate {root} && certops plan {root}")
    return lines
