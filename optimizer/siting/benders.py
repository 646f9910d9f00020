"""Benders decomposition of the siting model, for sets too large for the extensive form.

Master: the first stage (sites open, storage added, stock per site and item; stock taken
as continuous) and one value θ_s per scenario, bounded above by cuts. Subproblem s: the
scenario's second stage as an LP (served flags relaxed, shelters grouped over their most
shuttles: a relaxation) with the stock fixed; its value φ_s(q) is concave in the stock, and
the reduced costs of the fixed stock columns give the cut θ_s ≤ φ_s(q̄) + g·(q − q̄). One
cut per scenario per round (multi-cut), each subproblem re-solved from its last basis.

The master's bound is an upper bound on the real optimum (everything in it is relaxed).
The best round's sites and stock (rounded down to whole units) are then planned per
scenario with whole served flags over the groups' fewest shuttles (every plan works), which
gives the solution and its value; the gap is measured between the two.
"""

import math
import time
from dataclasses import dataclass

import numpy as np

from optimizer.siting.lp import Block, LpHandle, SparseModel
from optimizer.siting.problem import Objective, SitingSet
from optimizer.siting.stages import first_stage_cost, first_stage_rows

#: Rounds stop when the master's bound is within this of the relaxed value found.
CUT_GAP = 1e-3
#: The master MIP's own gap: its dual bound is what the bound uses, so a loose gap costs
#: nothing in validity; solving each master to 1e-6 took 1.8 s a round on the benchmark.
MASTER_GAP = 1e-3


@dataclass(frozen=True, slots=True)
class FirstStage:
    opened: np.ndarray  # (K,) 0/1
    extra: np.ndarray  # (K,) m³ added
    stock: np.ndarray  # (K × I,) whole units
    bound: float  # upper bound on the objective (expected or CVaR residents − tie × cost)
    rounds: int
    marginal: np.ndarray  # (K × I,) expected residents per unit more stock, last round


def benders(
    sset: SitingSet,
    subproblems: list[tuple[SparseModel, Block, Block]],
    most: np.ndarray,
    *,
    objective: Objective,
    alpha: float,
    budget: float,
    tie: float,
    time_limit_s: float,
) -> FirstStage:
    """Multi-cut L-shaped rounds until the bound meets the relaxed value or time runs out.

    `subproblems[s]` is scenario s's LP (maximising residents served) with its stock block
    (fixed each round to the master's stock) and its served flags.
    """
    started = time.perf_counter()
    probs = np.array([s.probability for s in sset.scenarios])
    n_s = len(subproblems)
    cost = first_stage_cost(sset)
    handles = [LpHandle(model) for model, _, _ in subproblems]
    cuts: list[tuple[int, float, np.ndarray]] = []  # scenario, value at zero stock, slope
    # a scenario serves at most its residents: the cap keeps the first masters bounded
    caps = np.array([_residents_cap(model, y) for model, _, y in subproblems])
    bound, best_value, rounds = math.inf, -math.inf, 0
    values = None
    kept, kept_marginal = np.zeros(0), np.zeros(0)
    # first cuts at every site stocked to the most any scenario needs: concave φ_s makes a
    # cut there valid everywhere, and it tells the first master what stock is worth
    full = np.tile(most, len(sset.candidates))
    for s, (_model, sub_stock, _y) in enumerate(subproblems):
        cols = sub_stock.at(np.arange(sub_stock.size))
        sol = handles[s].solve(cols, full, full, time_limit_s)
        if sol.found and len(sol.reduced):
            slope = sol.reduced[cols]
            cuts.append((s, sol.objective - float(slope @ full), slope))
    while True:
        rounds += 1
        m = SparseModel(maximize=True)
        open_, extra, stock = first_stage_rows(m, sset, most, whole_stock=False)
        theta = m.variables(n_s, lo=0.0, hi=caps)
        first = np.arange(open_.start, stock.start + stock.size)
        row = m.rows(-math.inf, budget, 1)[0]
        paid = np.flatnonzero(cost)
        m.terms(np.full(len(paid), row), first[paid], cost[paid])
        for s, at_zero, slope in cuts:
            r = m.rows(-math.inf, at_zero, 1)[0]
            m.terms(np.array([r]), np.array([theta.start + s]), 1.0)
            nz = np.flatnonzero(slope)
            m.terms(np.full(len(nz), r), stock.at(nz), -slope[nz])
        objective_vec = np.concatenate(m.cost)
        if objective == Objective.EXPECTED:
            objective_vec[theta.at(np.arange(n_s))] = probs
            m.cost = [objective_vec]
        else:
            m.cost = [objective_vec]
            eta = m.variables(1, lo=-math.inf, hi=math.inf, objective=1.0)
            short = m.variables(n_s, lo=0.0, hi=math.inf, objective=-probs / alpha)
            rows = m.rows(0.0, math.inf, n_s)
            m.terms(rows, theta.at(np.arange(n_s)), 1.0)
            m.terms(rows, short.at(np.arange(n_s)), 1.0)
            m.terms(rows, np.full(n_s, eta.start), -1.0)
        vec = np.concatenate(m.cost)
        vec[first[paid]] -= tie * cost[paid]
        m.cost = [vec]
        left = time_limit_s - (time.perf_counter() - started)
        master = m.solve(time_limit_s=max(left, 0.5), relative_gap=MASTER_GAP)
        if not master.found:
            break
        bound = min(bound, master.bound)
        values = master.values
        q = values[stock.start : stock.start + stock.size]
        phis = np.zeros(n_s)
        marginal = np.zeros(stock.size)
        for s, ((_model, sub_stock, _y), handle) in enumerate(
            zip(subproblems, handles, strict=True)
        ):
            cols = sub_stock.at(np.arange(sub_stock.size))
            sol = handle.solve(cols, q, q, max(left, 0.5))
            if not sol.found or not len(sol.reduced):
                continue
            slope = sol.reduced[cols]
            marginal += probs[s] * slope
            phis[s] = sol.objective
            cuts.append((s, sol.objective - float(slope @ q), slope))
        value = _value(phis, probs, objective, alpha) - tie * float(cost @ values[first])
        if value > best_value:  # rounds oscillate: keep the best first stage seen
            best_value, kept, kept_marginal = value, values.copy(), marginal.copy()
        spent = time.perf_counter() - started
        if bound - best_value <= CUT_GAP * max(abs(best_value), 1.0) or spent > time_limit_s:
            break
    if values is None or not len(kept):
        n_k, n_i = len(sset.candidates), len(sset.items)
        empty = np.zeros(n_k * n_i)
        return FirstStage(np.zeros(n_k), np.zeros(n_k), empty, bound, rounds, empty)
    return FirstStage(
        np.rint(kept[open_.start : open_.start + open_.size]),
        kept[extra.start : extra.start + extra.size],
        np.floor(kept[stock.start : stock.start + stock.size] + 1e-6),
        bound,
        rounds,
        kept_marginal,
    )


def _residents_cap(model: SparseModel, y: Block) -> float:
    cost = np.concatenate(model.cost)
    return float(cost[y.at(np.arange(y.size))].sum())


def _value(phis: np.ndarray, probs: np.ndarray, objective: Objective, alpha: float) -> float:
    if objective == Objective.EXPECTED:
        return float(probs @ phis)
    order = np.argsort(phis)
    mass, total = 0.0, 0.0
    for s in order:
        take = min(probs[s], alpha - mass)
        if take <= 0:
            break
        total += take * phis[s]
        mass += take
    return total / alpha
