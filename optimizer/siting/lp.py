"""A sparse MIP handed to HiGHS (through OR-Tools' model_builder) in one call.

The siting model and the facility benchmarks share this core: variables come in named
blocks, rows are added as coordinate triplets, and the whole matrix goes across as one scipy
CSR matrix (building rows term by term through the wrapper costs more than solving at the
sizes of a 50-scenario set). The result says what was proved: objective, best bound, gap.
"""

import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder as mb

INF = math.inf


@dataclass(frozen=True, slots=True)
class Block:
    """A range of variable columns: `start + index` for index in `range(size)`."""

    start: int
    size: int

    def at(self, index: np.ndarray | int) -> np.ndarray:
        return self.start + np.asarray(index, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Solution:
    """A solve's outcome. `bound` is the solver's proven bound on the optimum (for a
    maximisation an upper bound), `gap` relative to the objective; `values` and `duals` are
    empty when no solution was found in time."""

    status: str  # optimal, feasible, infeasible, timed_out, error
    objective: float
    bound: float
    gap: float | None
    seconds: float
    values: np.ndarray
    duals: np.ndarray

    @property
    def found(self) -> bool:
        return self.status in ("optimal", "feasible")


@dataclass
class SparseModel:
    """Variables (bounds, objective, integrality) and rows lo <= A x <= hi."""

    maximize: bool = True
    lo: list[np.ndarray] = field(default_factory=list)
    hi: list[np.ndarray] = field(default_factory=list)
    cost: list[np.ndarray] = field(default_factory=list)
    integer: list[np.ndarray] = field(default_factory=list)
    n_vars: int = 0
    row_lo: list[np.ndarray] = field(default_factory=list)
    row_hi: list[np.ndarray] = field(default_factory=list)
    n_rows: int = 0
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def variables(
        self,
        size: int,
        lo: np.ndarray | float = 0.0,
        hi: np.ndarray | float = INF,
        objective: np.ndarray | float = 0.0,
        integer: bool = False,
    ) -> Block:
        block = Block(self.n_vars, size)
        self.lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (size,)).copy())
        self.hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (size,)).copy())
        self.cost.append(np.broadcast_to(np.asarray(objective, dtype=float), (size,)).copy())
        self.integer.append(np.full(size, integer))
        self.n_vars += size
        return block

    def rows(self, lo: np.ndarray | float, hi: np.ndarray | float, count: int) -> np.ndarray:
        """`count` new rows; returns their indices, to put terms on."""
        first = self.n_rows
        self.row_lo.append(np.broadcast_to(np.asarray(lo, dtype=float), (count,)).copy())
        self.row_hi.append(np.broadcast_to(np.asarray(hi, dtype=float), (count,)).copy())
        self.n_rows += count
        return np.arange(first, first + count, dtype=np.int64)

    def terms(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> None:
        rows = np.asarray(rows, dtype=np.int64).ravel()
        cols = np.asarray(cols, dtype=np.int64).ravel()
        vals = np.broadcast_to(np.asarray(vals, dtype=float), rows.shape).ravel()
        self.entries.append((rows, cols, vals))

    def set_bounds(self, cols: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float) -> None:
        """Fix or narrow some variables (the first stage, when re-solving for duals)."""
        var_lo, var_hi = np.concatenate(self.lo), np.concatenate(self.hi)
        var_lo[cols], var_hi[cols] = lo, hi
        self.lo, self.hi = [var_lo], [var_hi]

    def solve(
        self,
        *,
        time_limit_s: float,
        relative_gap: float = 1e-4,
        relax: bool = False,
        threads: int = 1,
    ) -> Solution:
        """Solve with HiGHS; `relax` drops integrality and solves the LP with GLOP, whose row
        duals are read (OR-Tools 9.15 hands back zeros for HiGHS's duals)."""
        cat = np.concatenate
        rows = cat([e[0] for e in self.entries]) if self.entries else np.zeros(0, np.int64)
        cols = cat([e[1] for e in self.entries]) if self.entries else np.zeros(0, np.int64)
        vals = cat([e[2] for e in self.entries]) if self.entries else np.zeros(0)
        matrix = sp.csr_matrix((vals, (rows, cols)), shape=(self.n_rows, self.n_vars))
        model = mb.Model()
        lo, hi, cost, row_lo, row_hi = (
            cast(Any, cat(part) if part else np.zeros(0))
            for part in (self.lo, self.hi, self.cost, self.row_lo, self.row_hi)
        )
        model.helper.fill_model_from_sparse_data(lo, hi, cost, row_lo, row_hi, matrix)
        model.helper.set_maximize(self.maximize)
        integer = cat(self.integer) if self.integer else np.zeros(0, bool)
        if not relax:
            for k in np.flatnonzero(integer):
                model.helper.set_var_integrality(int(k), True)
        solver = mb.Solver("glop" if relax else "highs")
        solver.set_time_limit_in_seconds(max(time_limit_s, 0.05))
        if not relax:
            solver.set_solver_specific_parameters(
                f"mip_rel_gap={relative_gap}\nthreads={threads}\nrandom_seed=0"
            )
        started = time.perf_counter()
        with _quiet_stdout():
            status = solver.solve(model)
        seconds = time.perf_counter() - started
        return _read(solver, model, status, seconds, self.maximize, relax or not integer.any())


def _read(
    solver: mb.Solver,
    model: mb.Model,
    status: mb.SolveStatus,
    seconds: float,
    maximize: bool,
    linear: bool,
) -> Solution:
    empty = np.zeros(0)
    if status == mb.SolveStatus.INFEASIBLE:
        return Solution("infeasible", math.nan, math.nan, None, seconds, empty, empty)
    if status not in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
        name = "timed_out" if status == mb.SolveStatus.NOT_SOLVED else "error"
        return Solution(name, math.nan, math.nan, None, seconds, empty, empty)
    values = solver.values(model.get_variables()).to_numpy(dtype=float)
    objective = float(solver.objective_value)
    optimal = status == mb.SolveStatus.OPTIMAL
    bound = float(solver.best_objective_bound)
    if (optimal and linear) or not math.isfinite(bound):
        bound = objective if optimal else (math.inf if maximize else -math.inf)
    gap = abs(bound - objective) / max(abs(objective), 1e-9) if math.isfinite(bound) else None
    duals = empty
    if linear and optimal and model.num_constraints:
        duals = solver.dual_values(model.get_linear_constraints()).to_numpy(dtype=float)
    return Solution(
        "optimal" if optimal else "feasible", objective, bound, gap, seconds, values, duals
    )


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS prints banners on the C stdout, where `--json` output goes."""
    sys.stdout.flush()
    saved = os.dup(1)
    sink = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(sink, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(sink)
