"""Planning: the pure function desired × live × time → ordered Plan."""

from reconciler.planning.planner import make_plan

__all__ = ["make_plan"]
