"""Prepositioned stock against expected travel time: the siting core with the stock given
(or only its total), minimising Σ_k P_k Σ_i τ_ki y_ki over the units y_ki sent from site i
to scenario k's disaster.

This is the allocation model of the ESUPS Madagascar case study (`python -m bench esups`):
it checks the siting core on a published prepositioning study. With the stock fixed each
scenario is a transportation problem; with `reallocate` the stock per site is a first-stage
decision whose total is kept, each scenario's shipments bounded by it (y_ki ≤ X_i for every
site and scenario), which is the study's national reallocation written as its prose says.
"""

import math
from dataclasses import dataclass

import numpy as np

from optimizer.siting.lp import SparseModel


@dataclass(frozen=True)
class TravelTimeCase:
    """Sites with stock, and scenarios each with one demand and its hours from every site.

    `hours[k, i]` is the time per unit from site i to scenario k's disaster (inf: cannot
    reach); `demand[k]` units must all be sent; `probability[k]` weighs scenario k.
    """

    name: str
    sites: tuple[str, ...]
    stock: np.ndarray  # (I,) units
    hours: np.ndarray  # (K, I)
    demand: np.ndarray  # (K,) units
    probability: np.ndarray  # (K,)
    scenarios: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n_k, n_i = self.hours.shape
        if self.stock.shape != (n_i,) or len(self.sites) != n_i:
            raise ValueError("stock: one entry per site")
        if self.demand.shape != (n_k,) or self.probability.shape != (n_k,):
            raise ValueError("demand, probability: one entry per scenario")
        if (self.stock < 0).any() or (self.demand < 0).any():
            raise ValueError("stock, demand: must not be negative")


@dataclass(frozen=True, slots=True)
class TravelTimeResult:
    """`objective` is the expected unit-hours; `bound` the solver's proven lower bound."""

    name: str
    status: str  # optimal, infeasible, timed_out, error
    objective: float
    bound: float
    seconds: float
    shipped: np.ndarray  # (K, I) units; empty without a solution
    stock: np.ndarray  # (I,) the stock used: the case's, or the reallocated one
    variables: int
    rows: int


def solve_travel_time(
    case: TravelTimeCase,
    *,
    reallocate: bool = False,
    keep_endowment: bool = True,
    time_limit_s: float = 60.0,
) -> TravelTimeResult:
    """Minimise the expected travel time of meeting every scenario's demand.

    Parameters
    ----------
    case
        Sites, their stock, scenarios with demand, hours and probability.
    reallocate
        Decide the stock per site (X_i ≥ 0, Σ X_i = the case's total) with y_ki ≤ X_i for
        every site and scenario; otherwise the case's stock is fixed.
    keep_endowment
        With `reallocate`, also keep y_ki ≤ today's stock of site i (the study's model keeps
        both rows); False lets a site hold more than it holds today.
    time_limit_s
        For HiGHS.

    Returns
    -------
    TravelTimeResult
        Status optimal only when HiGHS proved it; infeasible when some demand exceeds what
        can reach it.
    """
    if time_limit_s <= 0:
        raise ValueError("time_limit_s: must be positive")
    n_k, n_i = case.hours.shape
    reach = np.isfinite(case.hours)
    m = SparseModel(maximize=False)
    cap = np.where(reach, case.stock[None, :], 0.0)
    if reallocate and not keep_endowment:
        cap = np.where(reach, float(case.stock.sum()), 0.0)
    cost = np.where(reach, case.hours, 0.0) * case.probability[:, None]
    y = m.variables(n_k * n_i, lo=0.0, hi=cap.ravel(), objective=cost.ravel())
    demand = m.rows(case.demand, case.demand, n_k)
    m.terms(np.repeat(demand, n_i), y.at(np.arange(n_k * n_i)), 1.0)
    x = None
    if reallocate:
        total = float(case.stock.sum())
        x = m.variables(n_i, lo=0.0, hi=total)
        row = m.rows(total, total, 1)
        m.terms(np.full(n_i, row[0]), x.at(np.arange(n_i)), 1.0)
        link = m.rows(-math.inf, 0.0, n_k * n_i)  # y_ki − X_i ≤ 0
        m.terms(link, y.at(np.arange(n_k * n_i)), 1.0)
        m.terms(link, x.at(np.tile(np.arange(n_i), n_k)), -1.0)
    solution = m.solve(time_limit_s=time_limit_s, relax=True)
    if not solution.found:
        return TravelTimeResult(
            case.name, solution.status, math.nan, math.nan, solution.seconds,
            np.zeros(0), case.stock, m.n_vars, m.n_rows,
        )  # fmt: skip
    v = solution.values
    shipped = v[y.start : y.start + y.size].reshape(n_k, n_i)
    stock = case.stock if x is None else v[x.start : x.start + x.size]
    return TravelTimeResult(
        case.name, solution.status, solution.objective, solution.bound, solution.seconds,
        shipped, stock, m.n_vars, m.n_rows,
    )  # fmt: skip
