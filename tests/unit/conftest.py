"""Fixtures: the in-process labs (no sockets) and a copy of the desired state."""

from labfixtures import clab, desired, lab

__all__ = ["clab", "desired", "lab"]
