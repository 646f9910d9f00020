"""Pure planning: dataclasses in, a Plan out. Knows no database and no HTTP.

The public names load on first use: `optimizer.fefo` (which the ledger's picking shares)
must not pull in OR-Tools, SciPy and networkx for a keeper's `relief stock balance`.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optimizer.allocate import solve_allocation
    from optimizer.params import AllocationParams
    from optimizer.plan import Plan, SolveStatus
    from optimizer.problem import Problem

_WHERE = {
    "solve_allocation": "optimizer.allocate",
    "AllocationParams": "optimizer.params",
    "Plan": "optimizer.plan",
    "SolveStatus": "optimizer.plan",
    "Problem": "optimizer.problem",
}

__all__ = ["AllocationParams", "Plan", "Problem", "SolveStatus", "solve_allocation"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'optimizer' has no attribute {name!r}")
