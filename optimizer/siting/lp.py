"""A sparse MIP handed to HiGHS (highspy) in one call.

The siting model and the facility benchmarks share this core: variables come in named
blocks, rows are added as coordinate triplets, and the whole matrix goes across as one scipy
CSR matrix (building rows term by term through the wrapper costs more than solving at the
sizes of a 50-scenario set). The result says what was proved: objective, best bound, gap.
"""

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from optimizer.lp import quiet_stdout

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
    reduced: np.ndarray = field(default_factory=lambda: np.zeros(0))  # LP reduced costs

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
        cutoff: float | None = None,
        options: Mapping[str, int | float | str] | None = None,
    ) -> Solution:
        """Solve with HiGHS; `relax` drops integrality (an LP, whose row duals are read);
        `cutoff` prunes every node that cannot beat it (a known solution's objective), so
        "infeasible" then means "nothing better"; `options` are further HiGHS options.

        highspy directly, not OR-Tools' model_builder: at a time limit the latter (9.15)
        returns no values even when HiGHS holds an incumbent, and no LP duals at all.
        """
        h, mip = self.highs(relax=relax, relative_gap=relative_gap, threads=threads)
        if cutoff is not None:
            h.setOptionValue("objective_bound", float(cutoff))
        for name, value in (options or {}).items():
            h.setOptionValue(name, value)
        h.setOptionValue("time_limit", float(max(time_limit_s, 0.05)))
        started = time.perf_counter()
        with quiet_stdout():  # HiGHS prints debug lines on the C stdout even when quiet
            h.run()
        seconds = time.perf_counter() - started
        return _read(h, seconds, self.maximize, mip)

    def highs(self, *, relax: bool, relative_gap: float = 1e-4, threads: int = 1) -> Any:
        """The model loaded into a quiet `highspy.Highs` (and whether it is a MIP): re-run it
        after changing bounds and HiGHS starts from its last basis (`LpHandle`)."""
        import highspy

        cat = np.concatenate
        rows = cat([e[0] for e in self.entries]) if self.entries else np.zeros(0, np.int64)
        cols = cat([e[1] for e in self.entries]) if self.entries else np.zeros(0, np.int64)
        vals = cat([e[2] for e in self.entries]) if self.entries else np.zeros(0)
        matrix = sp.csc_matrix((vals, (rows, cols)), shape=(self.n_rows, self.n_vars))
        matrix.sum_duplicates()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n_vars, self.n_rows
        lp.col_cost_ = cat(self.cost) if self.cost else np.zeros(0)
        lp.col_lower_ = cat(self.lo) if self.lo else np.zeros(0)
        lp.col_upper_ = cat(self.hi) if self.hi else np.zeros(0)
        lp.row_lower_ = cat(self.row_lo) if self.row_lo else np.zeros(0)
        lp.row_upper_ = cat(self.row_hi) if self.row_hi else np.zeros(0)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = self.n_vars, self.n_rows
        lp.sense_ = highspy.ObjSense.kMaximize if self.maximize else highspy.ObjSense.kMinimize
        integer = cat(self.integer) if self.integer else np.zeros(0, bool)
        mip = not relax and bool(integer.any())
        if mip:
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if k else highspy.HighsVarType.kContinuous
                for k in integer
            ]
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", float(relative_gap))
        h.setOptionValue("threads", int(threads))
        h.setOptionValue("random_seed", 0)
        h.passModel(lp)
        return h, mip


class LpHandle:
    """An LP kept loaded in HiGHS, re-solved after bound changes from its last basis (the
    Benders subproblems: same scenario, new first-stage stock each round)."""

    def __init__(self, model: SparseModel) -> None:
        self.h, _ = model.highs(relax=True)
        self.maximize = model.maximize

    def solve(self, cols: np.ndarray, lo: np.ndarray, hi: np.ndarray, seconds: float) -> Solution:
        cols = np.asarray(cols, dtype=np.int32)
        self.h.changeColsBounds(len(cols), cols, np.asarray(lo, float), np.asarray(hi, float))
        self.h.setOptionValue("time_limit", float(max(seconds, 0.05)))
        started = time.perf_counter()
        with quiet_stdout():
            self.h.run()
        return _read(self.h, time.perf_counter() - started, self.maximize, False)


def _read(h: Any, seconds: float, maximize: bool, mip: bool) -> Solution:
    import highspy

    empty = np.zeros(0)
    status = h.getModelStatus()
    info = h.getInfo()
    if status in (highspy.HighsModelStatus.kInfeasible,):
        return Solution("infeasible", math.nan, math.nan, None, seconds, empty, empty)
    has_values = info.primal_solution_status == 2  # kSolutionStatusFeasible
    if not has_values:
        name = "timed_out" if status == highspy.HighsModelStatus.kTimeLimit else "error"
        return Solution(name, math.nan, math.nan, None, seconds, empty, empty)
    solution = h.getSolution()
    values = np.asarray(solution.col_value, dtype=float)
    objective = float(info.objective_function_value)
    optimal = status == highspy.HighsModelStatus.kOptimal
    if mip:
        bound = float(info.mip_dual_bound)
    else:
        bound = objective if optimal else (math.inf if maximize else -math.inf)
    if not math.isfinite(bound):
        bound = math.inf if maximize else -math.inf
    gap = abs(bound - objective) / max(abs(objective), 1e-9) if math.isfinite(bound) else None
    duals = reduced = empty
    if not mip and optimal and solution.dual_valid:
        duals = np.asarray(solution.row_dual, dtype=float)
        reduced = np.asarray(solution.col_dual, dtype=float)
    return Solution(
        "optimal" if optimal else "feasible",
        objective,
        bound,
        gap,
        seconds,
        values,
        duals,
        reduced,
    )
