"""Pure planning: dataclasses in, a Plan out. Knows no database and no HTTP."""

from optimizer.allocate import solve_allocation
from optimizer.params import AllocationParams
from optimizer.plan import Plan, SolveStatus
from optimizer.problem import Problem

__all__ = ["AllocationParams", "Plan", "Problem", "SolveStatus", "solve_allocation"]
