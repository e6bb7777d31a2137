"""Fixtures of the issuer tests: the in-process lab and a copy of the desired state, shared
with tests/unit (labfixtures)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from labfixtures import desired, lab

__all__ = ["desired", "lab"]
