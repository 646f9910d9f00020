"""Classic facility location on the siting model's core (`optimizer.siting.lp`): the
capacitated warehouse location problem (multi-source) and the p-median problem.

They are the siting model's first stage and second stage in their barest form (open sites,
then assign demand), so the published optima of OR-Library's instances check the core, and
how it is solved, against known answers (`relief bench facility`, `python -m bench facility`).
"""

import math
import time
from dataclasses import dataclass

import numpy as np

from optimizer.siting.lp import Block, SparseModel

#: Subgradient rounds without a better bound before the step is halved.
STALL_ROUNDS = 50


@dataclass(frozen=True)
class FacilityProblem:
    """`cost[i, j]`: cost of serving all of customer j from site i.

    `capacity` None: uncapacitated; `p` set: exactly p sites open (p-median).
    """

    name: str
    fixed_cost: np.ndarray  # (m,)
    cost: np.ndarray  # (m, n)
    demand: np.ndarray  # (n,)
    capacity: np.ndarray | None = None  # (m,)
    p: int | None = None


@dataclass(frozen=True, slots=True)
class FacilityResult:
    name: str
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    opened: tuple[int, ...]

    def document(self) -> dict[str, object]:
        return {
            "instance": self.name,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "seconds": round(self.seconds, 3),
            "status": self.status,
        }


def solve_pmedian(
    fp: FacilityProblem, *, time_limit_s: float, relative_gap: float = 1e-7, threads: int = 1
) -> FacilityResult:
    """The p-median, proven: a vertex-substitution heuristic gives an upper bound, the
    textbook LP (x_ij ≤ y_i) a lower bound and reduced costs; every site and assignment whose
    reduced cost exceeds the gap cannot be in a better solution and is dropped; HiGHS then
    solves what is left. On OR-Library's pmed files the LP alone is 0.5 % short and the full
    MIP takes minutes; the reduced one a few seconds.
    """
    if fp.p is None or not 0 < fp.p <= fp.cost.shape[0]:
        raise ValueError("p: the p-median needs 0 < p <= sites")
    if time_limit_s <= 0:
        raise ValueError("time_limit_s: must be positive")
    started = time.perf_counter()
    weighted = fp.cost * fp.demand[None, :]
    chosen, upper = _interchange(weighted, fp.p)
    m_sites, n = weighted.shape
    keep = np.ones((m_sites, n), dtype=bool)
    model, x = _assignment_model(fp, weighted, keep)
    lp = model.solve(time_limit_s=time_limit_s, relax=True, threads=threads)

    def result(
        status: str, objective: float, bound: float, opened: tuple[int, ...]
    ) -> FacilityResult:
        gap = max(objective - bound, 0.0) / max(abs(objective), 1e-9)
        return FacilityResult(
            fp.name, status, objective, bound, gap, time.perf_counter() - started, opened
        )

    if not lp.found or not len(lp.reduced):
        return result("feasible", upper, -math.inf, chosen)
    lower = lp.objective
    slack = upper - lower
    if slack <= relative_gap * abs(upper):
        return result("optimal", upper, lower, chosen)
    site_rc = lp.reduced[:m_sites]
    arc_rc = np.full((m_sites, n), np.inf)
    arc_rc[keep] = lp.reduced[x.at(np.arange(x.size))]
    sites = site_rc < slack - 1e-9
    keep = (arc_rc < slack - 1e-9) & sites[:, None]
    if not keep.any(axis=0).all():  # some customer has no arc left: nothing beats `upper`
        return result("optimal", upper, upper, chosen)
    left = max(time_limit_s - (time.perf_counter() - started), 0.05)
    reduced, _ = _assignment_model(fp, weighted, keep)
    mip = reduced.solve(
        time_limit_s=left, relative_gap=relative_gap, threads=threads, cutoff=upper - 1e-6
    )
    if mip.status == "infeasible":
        return result("optimal", upper, upper, chosen)
    if not mip.found:
        return result("feasible", upper, lower, chosen)
    # Every solution better than `upper` lies in the reduced model.
    bound = max(lower, min(upper, mip.bound))
    if mip.objective < upper:
        opened = tuple(int(i) for i in np.flatnonzero(mip.values[:m_sites] > 0.5))
        upper, chosen = mip.objective, opened
    status = "optimal" if mip.status == "optimal" else "feasible"
    return result(status, upper, bound if status == "feasible" else min(bound, upper), chosen)


def _assignment_model(
    fp: FacilityProblem, weighted: np.ndarray, keep: np.ndarray
) -> tuple[SparseModel, Block]:
    """min Σ c_ij x_ij, Σ_i x_ij = 1, x_ij ≤ y_i, Σ y = p, over the arcs `keep`."""
    m_sites, _ = weighted.shape
    ii, jj = np.nonzero(keep)
    model = SparseModel(maximize=False)
    y = model.variables(m_sites, lo=0.0, hi=np.where(keep.any(axis=1), 1.0, 0.0), integer=True)
    x = model.variables(len(ii), lo=0.0, hi=1.0, objective=weighted[ii, jj])
    arcs = x.at(np.arange(len(ii)))
    rows = model.rows(1.0, 1.0, weighted.shape[1])
    model.terms(rows[jj], arcs, 1.0)
    rows = model.rows(-math.inf, 0.0, len(ii))
    model.terms(rows, arcs, 1.0)
    model.terms(rows, y.at(ii), -1.0)
    row = model.rows(float(fp.p or 0), float(fp.p or 0), 1)[0]
    model.terms(np.full(m_sites, row), y.at(np.arange(m_sites)), 1.0)
    return model, x


def _interchange(weighted: np.ndarray, p: int) -> tuple[tuple[int, ...], float]:
    """Greedy p sites, then the best single swap while one improves (Teitz and Bart)."""
    n = weighted.shape[1]
    chosen: list[int] = []
    nearest = np.full(n, np.inf)
    for _ in range(p):
        totals = np.minimum(weighted, nearest[None, :]).sum(axis=1)
        totals[chosen] = np.inf
        best = int(np.argmin(totals))
        chosen.append(best)
        nearest = np.minimum(nearest, weighted[best])
    cost = float(nearest.sum())
    while True:
        move = None
        for r in range(p):
            others = [c for k, c in enumerate(chosen) if k != r]
            base = weighted[others].min(axis=0) if others else np.full(n, np.inf)
            totals = np.minimum(weighted, base[None, :]).sum(axis=1)
            totals[chosen] = np.inf
            i = int(np.argmin(totals))
            if totals[i] < cost - 1e-9 and (move is None or totals[i] < move[0]):
                move = (float(totals[i]), r, i)
        if move is None:
            return tuple(sorted(chosen)), cost
        cost, r, i = move
        chosen[r] = i


def solve_facility(
    fp: FacilityProblem,
    *,
    time_limit_s: float,
    strong: bool = True,
    relative_gap: float = 1e-7,
    threads: int = 1,
    cutoff: float | None = None,
) -> FacilityResult:
    """min Σ f_i y_i + Σ c_ij x_ij,  Σ_i x_ij = 1,  Σ_j d_j x_ij ≤ s_i y_i,  0 ≤ x ≤ 1,
    y binary (and Σ y = p for the p-median).

    `strong` adds x_ij ≤ y_i, which closes most of the LP gap (the siting model's own
    rows do the same: stock only at open sites); without it, the plain textbook model.
    """
    if time_limit_s <= 0:
        raise ValueError("time_limit_s: must be positive")
    m_sites, n = fp.cost.shape
    model = SparseModel(maximize=False)
    y = model.variables(m_sites, lo=0.0, hi=1.0, objective=fp.fixed_cost, integer=True)
    x = model.variables(m_sites * n, lo=0.0, hi=1.0, objective=fp.cost.ravel())
    ii, jj = np.divmod(np.arange(m_sites * n), n)
    rows = model.rows(1.0, 1.0, n)  # each customer served in full
    model.terms(rows[jj], x.at(np.arange(m_sites * n)), 1.0)
    if fp.capacity is not None:
        rows = model.rows(-math.inf, 0.0, m_sites)
        model.terms(rows[ii], x.at(np.arange(m_sites * n)), fp.demand[jj])
        model.terms(rows, y.at(np.arange(m_sites)), -fp.capacity)
        if strong:  # the open sites must hold all demand (a cut solvers derive late)
            row = model.rows(float(fp.demand.sum()), math.inf, 1)[0]
            model.terms(np.full(m_sites, row), y.at(np.arange(m_sites)), fp.capacity)
    elif not strong:
        rows = model.rows(-math.inf, 0.0, m_sites)  # aggregated linking: Σ_j x_ij ≤ n y_i
        model.terms(rows[ii], x.at(np.arange(m_sites * n)), 1.0)
        model.terms(rows, y.at(np.arange(m_sites)), -float(n))
    if strong:
        rows = model.rows(-math.inf, 0.0, m_sites * n)
        model.terms(rows, x.at(np.arange(m_sites * n)), 1.0)
        model.terms(rows, y.at(ii), -1.0)
    if fp.p is not None:
        row = model.rows(float(fp.p), float(fp.p), 1)[0]
        model.terms(np.full(m_sites, row), y.at(np.arange(m_sites)), 1.0)
    solution = model.solve(
        time_limit_s=time_limit_s, relative_gap=relative_gap, threads=threads, cutoff=cutoff
    )
    if not solution.found:
        return FacilityResult(fp.name, solution.status, None, None, None, solution.seconds, ())
    opened = tuple(int(i) for i in np.flatnonzero(solution.values[:m_sites] > 0.5))
    return FacilityResult(
        fp.name,
        solution.status,
        solution.objective,
        solution.bound,
        solution.gap,
        solution.seconds,
        opened,
    )


def solve_cflp_large(
    fp: FacilityProblem,
    *,
    time_limit_s: float,
    iterations: int = 400,
    kernel: int = 30,
    relative_gap: float = 1e-4,
) -> FacilityResult:
    """The capacitated problem by structure, for instances whose strong LP alone is too big
    (OR-Library capa: 100 × 1,000). A Lagrangian relaxation of the demand rows (sites'
    continuous knapsacks, and the open capacity covering all demand) gives a bound and the
    sites worth opening; the transportation LP over such a choice a solution; and HiGHS then
    solves the strong model restricted to the `kernel` sites the relaxation ranks best,
    cut off at the best solution found. The bound is the relaxation's.
    """
    if fp.capacity is None:
        raise ValueError("capacity: the capacitated problem needs capacities")
    started = time.perf_counter()
    m_sites, n = fp.cost.shape
    demand, capacity, fixed = fp.demand, fp.capacity, fp.fixed_cost
    total = float(demand.sum())
    lam = fp.cost.min(axis=0).astype(float)  # start: each customer's cheapest cost
    best_lower, upper, best_open = -math.inf, math.inf, np.zeros(0, dtype=int)
    score = np.zeros(m_sites)
    step_scale = 2.0
    stall = 0
    for it in range(iterations):
        if time.perf_counter() - started > 0.4 * time_limit_s:
            break
        reduced = fp.cost - lam[None, :]  # (m, n): cost of serving all of j from i, less λ_j
        value, use = _site_knapsacks(reduced, demand, capacity)
        site_value = fixed + value  # what opening i is worth at these multipliers
        opened, covered, weight = _cover(site_value, capacity, total)
        lower = float(lam.sum()) + covered
        if lower > best_lower + 1e-9:
            best_lower, stall = lower, 0
        else:
            stall += 1
            if stall >= STALL_ROUNDS:
                step_scale, stall = step_scale / 2, 0
        score = 0.9 * score + 0.1 * np.isin(np.arange(m_sites), opened)
        if it % 20 == 0 or it == iterations - 1:
            cost_, ok = _transport(fp, np.flatnonzero(np.isin(np.arange(m_sites), opened)))
            if ok and cost_ < upper:
                upper, best_open = cost_, opened.copy()
        # the relaxation's own solution: the last site only in the share it is taken
        served = (weight[:, None] * use[opened]).sum(axis=0) if len(opened) else np.zeros(n)
        grad = 1.0 - served
        norm = float(grad @ grad)
        if norm < 1e-12:
            break
        target = upper if math.isfinite(upper) else lower * 1.05 + 1
        lam = lam + step_scale * (target - lower) / norm * grad
    # the kernel: sites the relaxation opened most often, then the cheapest per unit
    order = np.lexsort((fixed / capacity, -score))
    keep = np.zeros(m_sites, dtype=bool)
    keep[order[:kernel]] = True
    keep[best_open] = True
    left = time_limit_s - (time.perf_counter() - started)
    sub = FacilityProblem(fp.name, fixed[keep], fp.cost[keep], demand, capacity[keep], None)
    status = "feasible"
    if left > 1:
        result = solve_facility(
            sub,
            time_limit_s=left,
            relative_gap=relative_gap,
            cutoff=upper if math.isfinite(upper) else None,
        )
        if result.objective is not None and result.objective < upper:
            upper = result.objective
            best_open = np.flatnonzero(keep)[list(result.opened)]
    gap = (upper - best_lower) / upper if math.isfinite(upper) else None
    if gap is not None and gap <= relative_gap:
        status = "optimal"
    return FacilityResult(
        fp.name, status if math.isfinite(upper) else "timed_out",
        upper if math.isfinite(upper) else None, best_lower, gap,
        time.perf_counter() - started, tuple(int(i) for i in sorted(best_open)),
    )  # fmt: skip


def _site_knapsacks(
    reduced: np.ndarray, demand: np.ndarray, capacity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each site's best continuous knapsack: fractions of customers with negative reduced
    cost, by reduced cost per unit of demand, until its capacity is full."""
    ratio = np.where(reduced < 0, reduced / demand[None, :], np.inf)
    order = np.argsort(ratio, axis=1)
    d_sorted = demand[order]
    r_sorted = np.take_along_axis(reduced, order, axis=1)
    usable = np.isfinite(np.take_along_axis(ratio, order, axis=1))
    before = np.cumsum(d_sorted, axis=1) - d_sorted
    room = np.clip((capacity[:, None] - before) / d_sorted, 0.0, 1.0) * usable
    value = (room * r_sorted).sum(axis=1)
    use = np.zeros_like(reduced)
    np.put_along_axis(use, order, room, axis=1)
    return value, use


def _cover(
    site_value: np.ndarray, capacity: np.ndarray, total: float
) -> tuple[np.ndarray, float, np.ndarray]:
    """Sites to open at these multipliers, and the relaxation's value of that choice.

    Every site worth opening (negative value), then the cheapest per unit of capacity until
    the open capacity holds all demand. The value takes the last site only in the fraction
    needed: the LP optimum of the covering knapsack, so the bound stays a lower bound.
    """
    chosen = [int(i) for i in np.flatnonzero(site_value < 0)]
    weight = [1.0] * len(chosen)
    value = float(site_value[chosen].sum())
    held = float(capacity[chosen].sum())
    if held < total:
        taken = set(chosen)
        for i in np.argsort(site_value / capacity):
            if int(i) in taken:
                continue
            share = min(1.0, (total - held) / float(capacity[i]))
            value += share * float(site_value[i])
            chosen.append(int(i))
            weight.append(share)
            held += float(capacity[i])
            if held >= total:
                break
    order = np.argsort(chosen)
    return np.array(chosen, dtype=int)[order], value, np.array(weight)[order]


def _transport(fp: FacilityProblem, opened: np.ndarray) -> tuple[float, bool]:
    """Fixed costs of `opened` plus the cheapest split of every customer over them."""
    if fp.capacity is None or fp.capacity[opened].sum() < fp.demand.sum() - 1e-9:
        return math.inf, False
    model = SparseModel(maximize=False)
    k, n = len(opened), fp.cost.shape[1]
    x = model.variables(k * n, lo=0.0, hi=1.0, objective=fp.cost[opened].ravel())
    ii, jj = np.divmod(np.arange(k * n), n)
    rows = model.rows(1.0, 1.0, n)
    model.terms(rows[jj], x.at(np.arange(k * n)), 1.0)
    rows = model.rows(-math.inf, fp.capacity[opened], k)
    model.terms(rows[ii], x.at(np.arange(k * n)), fp.demand[jj])
    solution = model.solve(time_limit_s=30, relax=True)
    if not solution.found:
        return math.inf, False
    return solution.objective + float(fp.fixed_cost[opened].sum()), True
