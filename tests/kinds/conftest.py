"""The kinds tests build their certificates with the scenario generator's ``pkitools``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scenarios"))
