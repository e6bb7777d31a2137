"""Fixtures of the attack suite: the in-process lab and a private copy of the desired state.

Every test here is one attack from issue 16 (a hostile pull request, a hostile plan file, a
second apply, a misbehaving node) with the refusal certops must give.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from labfixtures import desired, lab

__all__ = ["desired", "lab"]
