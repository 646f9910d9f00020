"""The two-stage siting model, solved as one extensive-form MIP with HiGHS.

First stage (here and now): which candidates open, how many m³ each adds, how many units of
each item are prepositioned there (volume within storage, cost within the budget).
Second stage, per scenario: the planner's coverage rule. A shelter counts when every one of
its critical items arrives by the deadline; sources are the scenario's own depots and
agreement reserves (today's network, fixed) plus the open candidates' new stock.

Shelters share flow variables by group (`optimizer.siting.stages`); on sets too large for
the extensive form the decomposition (`optimizer.siting.benders`) takes over. The
evaluation (`optimizer.siting.evaluate`) then runs the real planner on every scenario.
"""

import math
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from optimizer.plan import SolveStatus
from optimizer.siting.lp import Block, Solution, SparseModel

if TYPE_CHECKING:
    pass
from optimizer.siting.problem import Mode, Objective, SitingSet, Target
from optimizer.siting.stages import (
    Stage2,
    first_stage_cost,
    first_stage_rows,
    most_needed,
    reach,
    scenario_data,
    stage2_rows,
    usable,
)

#: The cost tie-break in the coverage mode is worth at most this many residents in total.
COST_TIE_RESIDENTS = 0.01
#: Above this many flow variables (all scenarios), shelters are grouped (unless told).
EXACT_FLOWS = 60_000
#: Group width used above EXACT_FLOWS, in hours of first arrival.
DEFAULT_CLUSTER_HOURS = 0.5
#: Share of the time limit the grouped model's feasible side gets; its relaxation the rest.
FEASIBLE_SHARE = 0.7
#: Share of the time limit for the Benders rounds; planning each scenario gets the rest.
BENDERS_SHARE = 0.75
#: Share of the gap asked for that the Benders rounds aim at (relaxed served flags): the
#: rest is room for planning with whole flags, which lost 0.03 % on the benchmark.
BENDERS_GAP = 0.9


@dataclass(frozen=True, slots=True)
class SitingParams:
    """How a siting model is solved.

    mode: coverage (most residents within the budget) or cost (cheapest network that meets
        the target).
    objective / alpha: override the set's; alpha is the worst share of scenarios CVaR means.
    budget / target: override the set's.
    relative_gap: HiGHS stops when the proven gap is below it (0.1 %: on Haicheng HiGHS
        finds a 0.03 % solution in 2 s and spends minutes on the last residents).
    threads: HiGHS threads (1 keeps runs repeatable on a shared machine).
    cluster_hours: shelters whose first arrivals from every source differ by at most this
        share flows; 0 is exact; None picks 0 up to `EXACT_FLOWS` flows, else
        `DEFAULT_CLUSTER_HOURS`, and then solves a feasible model and a relaxation.
    method: extensive (one MIP), benders (`optimizer.siting.benders`; the coverage mode),
        or auto: benders where shelters are grouped in the coverage mode, else extensive.
        Benders groups shelters exactly unless `cluster_hours` is given above 0.
    max_rounds: Benders rounds at most (work, not time, bounds the search, so its answer
        does not depend on the machine's load; the time limit is a safety cap).
    """

    mode: Mode = Mode.COVERAGE
    objective: Objective | None = None
    alpha: float | None = None
    budget: float | None = None
    target: Target | None = None
    relative_gap: float = 1e-3
    threads: int = 1
    cluster_hours: float | None = None
    method: str = "auto"
    max_rounds: int = 200

    def __post_init__(self) -> None:
        if self.alpha is not None and not 0 < self.alpha <= 1:
            raise ValueError("alpha: in (0, 1]")
        if self.budget is not None and self.budget < 0:
            raise ValueError("budget: must not be negative")
        if not 0 <= self.relative_gap < 1:
            raise ValueError("relative_gap: in [0, 1)")
        if self.max_rounds < 1:
            raise ValueError("max_rounds: at least 1")
        if self.threads < 1:
            raise ValueError("threads: at least 1")
        if self.method not in ("auto", "extensive", "benders"):
            raise ValueError("method: auto, extensive or benders")
        if self.cluster_hours is not None and not 0 <= self.cluster_hours < 24:
            raise ValueError("cluster_hours: between 0 and 24 hours, or None")
        if self.target is not None:
            _check_target(self.target)


def _check_target(target: Target) -> None:
    if not 0 < target.coverage <= 1:
        raise ValueError("target.coverage: in (0, 1]")
    if target.probability is not None and not 0 < target.probability <= 1:
        raise ValueError("target.probability: in (0, 1]")


@dataclass(frozen=True, slots=True)
class SiteDecision:
    code: str
    name: str
    kind: str
    existing: bool
    opened: bool
    added_m3: float
    used_m3: float
    cost: float  # fixed (when newly opened) + storage + stock, ¥
    stock: dict[str, int]


@dataclass(frozen=True, slots=True)
class ScenarioOutcome:
    name: str
    probability: float
    residents_total: int
    residents_served: int
    baseline_served: int | None = None  # today's network alone, when asked for

    @property
    def share(self) -> float:
        return self.residents_served / self.residents_total if self.residents_total else 1.0


@dataclass(frozen=True, slots=True)
class Marginal:
    """Expected residents one more unit of `item` at `site` would serve (LP dual)."""

    site: str
    item: str
    residents_per_unit: float
    residents_per_yuan: float


@dataclass(frozen=True, slots=True)
class SitingResult:
    """What the siting model chose and what it proved.

    `objective` is in the mode's unit: expected (or CVaR) residents served on time, or ¥ for
    the cost mode. `bound` is proven: an upper bound on residents, a lower bound on cost.
    """

    name: str
    mode: Mode
    objective_kind: Objective
    status: SolveStatus
    objective: float
    bound: float | None
    gap: float | None
    runtime_s: float
    budget: float | None
    cost: float
    expected_served: float
    expected_total: float
    sites: list[SiteDecision]
    scenarios: list[ScenarioOutcome]
    marginals: list[Marginal] = field(default_factory=list)
    size: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        gap = f", gap {self.gap:.2%}" if self.gap is not None else ""
        opened = ", ".join(s.code for s in self.sites if s.opened and not s.existing) or "none"
        return (
            f"{self.name}: {self.status.value}{gap} in {self.runtime_s:.1f} s; cost "
            f"¥{self.cost:,.0f}; expected {self.expected_served:,.0f} of "
            f"{self.expected_total:,.0f} residents served on time; new sites: {opened}"
        )

    def stock(self) -> dict[tuple[str, str], int]:
        return {(s.code, item): q for s in self.sites for item, q in s.stock.items() if q > 0}


# --------------------------------------------------------------------------- the model


@dataclass(slots=True)
class _Built:
    model: SparseModel
    open_: Block
    extra: Block
    stock: Block
    served: list[tuple[Block, np.ndarray]]  # per scenario: y block, residents of its shelters
    cand_rows: list[tuple[np.ndarray, list[int], list[str]]]  # rows, (k) and items, per scenario
    cost: np.ndarray  # per variable, ¥ (first stage only)
    tie: float
    total: np.ndarray  # residents per scenario


def _build(
    sset: SitingSet,
    data: list[Stage2],
    mode: Mode,
    objective: Objective,
    alpha: float,
    budget: float | None,
    target: Target | None,
    wide: float = 0.0,
    relaxed: bool = False,
) -> _Built:
    items = [it.item for it in sset.items]
    n_i = len(items)
    probs = np.array([s.probability for s in sset.scenarios])
    m = SparseModel(maximize=mode == Mode.COVERAGE)
    open_, extra, stock = first_stage_rows(m, sset, most_needed(sset, data))
    served: list[tuple[Block, np.ndarray]] = []
    cand_rows: list[tuple[np.ndarray, list[int], list[str]]] = []
    for d in data:
        served.append(stage2_rows(m, d, items, stock, n_i, cand_rows, wide, relaxed))

    totals = np.array([d.total for d in data], dtype=float)
    if mode == Mode.COVERAGE:
        _coverage_objective(m, served, probs, objective, alpha)
    elif target is None:
        raise ValueError("target: the cost mode needs a coverage target")
    else:
        _coverage_target(m, served, probs, totals, target)
    cost = np.zeros(m.n_vars)  # ¥ per unit of each first-stage variable
    cost[open_.start : stock.start + stock.size] = first_stage_cost(sset)
    paid = np.flatnonzero(cost)
    objective_vec = np.concatenate(m.cost)
    if mode == Mode.COVERAGE:
        if budget is not None:
            row = m.rows(-math.inf, budget, 1)
            m.terms(np.full(len(paid), row[0]), paid, cost[paid])
        # the cheapest of equally good networks: cost can never outweigh one resident
        tie = COST_TIE_RESIDENTS / max(budget or cost[paid].sum(), 1.0)
        objective_vec[paid] -= tie * cost[paid]
    else:
        # the most residents among equally cheap networks: all of them are worth < ¥0.01
        tie = COST_TIE_RESIDENTS / max(float(probs @ totals), 1.0)
        for (block, residents), p in zip(served, probs, strict=True):
            objective_vec[block.at(np.arange(block.size))] -= tie * p * residents
        objective_vec[paid] += cost[paid]
    m.cost = [objective_vec]
    return _Built(m, open_, extra, stock, served, cand_rows, cost, tie, totals)


def _served_rows(
    m: SparseModel, served: list[tuple[Block, np.ndarray]], extra_col: Block | None
) -> np.ndarray:
    """One row per scenario: Σ residents × y (+ extra column) ≥ 0; returns the rows."""
    rows = m.rows(0.0, math.inf, len(served))
    for r, (block, residents) in zip(rows, served, strict=True):
        m.terms(np.full(block.size, r), block.at(np.arange(block.size)), residents)
    return rows


def _coverage_objective(
    m: SparseModel,
    served: list[tuple[Block, np.ndarray]],
    probs: np.ndarray,
    objective: Objective,
    alpha: float,
) -> None:
    if objective == Objective.EXPECTED:
        for (block, residents), p in zip(served, probs, strict=True):
            _add_cost(m, block, p * residents)
        return
    # CVaR of the lower tail: max η − (1/α) Σ p_s u_s,  u_s ≥ η − served_s,  u_s ≥ 0
    eta = m.variables(1, lo=-math.inf, hi=math.inf, objective=1.0)
    short = m.variables(len(served), lo=0.0, hi=math.inf, objective=-probs / alpha)
    rows = _served_rows(m, served, None)
    m.terms(rows, short.at(np.arange(len(served))), 1.0)
    m.terms(rows, np.full(len(rows), eta.start), -1.0)


def _coverage_target(
    m: SparseModel,
    served: list[tuple[Block, np.ndarray]],
    probs: np.ndarray,
    totals: np.ndarray,
    target: Target,
) -> None:
    if target.probability is None:
        row = m.rows(target.coverage * float(probs @ totals) - 1e-6, math.inf, 1)[0]
        for (block, residents), p in zip(served, probs, strict=True):
            m.terms(np.full(block.size, row), block.at(np.arange(block.size)), p * residents)
        return
    # chance: z_s = 1 only where scenario s reaches the coverage; Σ p_s z_s ≥ probability
    z = m.variables(len(served), lo=0.0, hi=1.0, integer=True)
    rows = _served_rows(m, served, None)
    m.terms(rows, z.at(np.arange(len(served))), -target.coverage * totals)
    row = m.rows(target.probability - 1e-9, math.inf, 1)[0]
    m.terms(np.full(len(served), row), z.at(np.arange(len(served))), probs)


def _add_cost(m: SparseModel, block: Block, values: np.ndarray) -> None:
    """Add objective coefficients to a block's variables."""
    vec = np.concatenate(m.cost) if m.cost else np.zeros(0)
    vec[block.at(np.arange(block.size))] += values
    m.cost = [vec]


# --------------------------------------------------------------------------- solving


def solve_siting(
    sset: SitingSet,
    params: SitingParams = SitingParams(),
    *,
    time_limit_s: float = 60.0,
    marginals: bool = True,
) -> SitingResult:
    """Choose sites and prepositioned stock over every scenario of the set.

    Parameters
    ----------
    sset
        Candidates, costs, scenarios with probabilities.
    params
        Mode, objective and overrides of the set's budget, alpha and target.
    time_limit_s
        For the MIP; building the model and the travel times come on top.
    marginals
        Also report each site's and item's marginal value (an LP with the sites fixed).

    Returns
    -------
    SitingResult
        `status` optimal (within `relative_gap`), feasible (with the proven gap),
        infeasible (the target cannot be met), or timed_out (no solution in time).

    Raises
    ------
    ValueError
        A time limit that is not positive, or the cost mode without a target.
    """
    if time_limit_s <= 0:
        raise ValueError("time_limit_s: must be positive")
    started = time.perf_counter()
    objective = params.objective or sset.objective
    alpha = params.alpha if params.alpha is not None else sset.alpha
    budget = params.budget if params.budget is not None else sset.budget
    target = params.target or sset.target
    data = [scenario_data(sset, s) for s in sset.scenarios]
    wide = params.cluster_hours
    if wide is None:
        flows = sum(int((d.shuttles > 0).sum()) * len(d.items) for d in data)
        wide = 0.0 if flows <= EXACT_FLOWS else DEFAULT_CLUSTER_HOURS
    decompose = params.method == "benders" or (params.method == "auto" and wide > 0)
    if decompose and params.mode == Mode.COVERAGE and budget is not None:
        return _solve_decomposed(
            sset, data, params, objective, alpha, budget, time_limit_s, started
        )
    args = (sset, data, params.mode, objective, alpha, budget, target, wide)
    built = _build(*args)
    share = 1.0 if wide == 0 else FEASIBLE_SHARE
    solution = built.model.solve(
        time_limit_s=time_limit_s * share, relative_gap=params.relative_gap, threads=params.threads
    )
    bound = None
    if wide > 0:  # the same model over the groups' most shuttles bounds the real optimum
        left = max(time_limit_s - (time.perf_counter() - started), 1.0)
        upper = _build(*args, relaxed=True).model.solve(
            time_limit_s=left, relative_gap=params.relative_gap, threads=params.threads
        )
        bound = upper.bound if upper.status != "infeasible" else None
        if upper.status == "infeasible" and not solution.found:
            solution = upper  # the cost mode's target is out of reach even in the relaxation
    result = _result(
        sset, built, data, solution, params.mode, objective, budget,
        time.perf_counter() - started, bound, wide,
    )  # fmt: skip
    if marginals and solution.found and params.mode == Mode.COVERAGE:
        result = _with_marginals(sset, built, solution, result, time_limit_s)
    return result


def _result(
    sset: SitingSet,
    built: _Built,
    data: list[Stage2],
    solution: Solution,
    mode: Mode,
    objective: Objective,
    budget: float | None,
    seconds: float,
    relaxed_bound: float | None = None,
    wide: float = 0.0,
) -> SitingResult:
    status = SolveStatus(solution.status) if solution.status != "error" else SolveStatus.TIMED_OUT
    probs = np.array([s.probability for s in sset.scenarios])
    size = {
        "variables": built.model.n_vars,
        "rows": built.model.n_rows,
        "scenarios": len(data),
        "candidates": len(sset.candidates),
        "cluster_hours": wide,
    }
    if not solution.found:
        return SitingResult(
            sset.name,
            mode,
            objective,
            status,
            math.nan,
            None,
            None,
            seconds,
            budget,
            0.0,
            0.0,
            float(probs @ built.total),
            [],
            [],
            size=size,
        )
    v = solution.values
    cost = float(built.cost @ v)
    outcomes = []
    for sc, (block, residents), d in zip(sset.scenarios, built.served, data, strict=True):
        y = np.rint(v[block.at(np.arange(block.size))])
        outcomes.append(
            ScenarioOutcome(sc.name, sc.probability, d.total, round(float(residents @ y)))
        )
    sites = _sites(sset, built, v)
    served = float(sum(o.probability * o.residents_served for o in outcomes))
    raw = solution.bound if relaxed_bound is None else relaxed_bound
    if relaxed_bound is not None and status == SolveStatus.OPTIMAL:
        status = SolveStatus.FEASIBLE  # optimal for the grouped model only, until proven
    if mode == Mode.COVERAGE:
        # the solver's objective carries the cost tie-break; undo it for a residents figure
        value = solution.objective + built.tie * cost
        bound = raw + COST_TIE_RESIDENTS
    else:
        value = cost
        bound = raw
    gap = None
    if math.isfinite(bound):
        gap = max(abs(bound - value), 0.0) / max(abs(value), 1e-9)
        if mode == Mode.COVERAGE and bound - value < COST_TIE_RESIDENTS + 1e-6:
            gap = 0.0 if status == SolveStatus.OPTIMAL else gap
    return SitingResult(
        sset.name,
        mode,
        objective,
        status,
        value,
        bound,
        gap,
        seconds,
        budget,
        cost,
        served,
        float(probs @ built.total),
        sites,
        outcomes,
        size=size,
    )


def _sites(sset: SitingSet, built: _Built, v: np.ndarray) -> list[SiteDecision]:
    return site_decisions(
        sset,
        v[built.open_.start : built.open_.start + built.open_.size],
        v[built.extra.start : built.extra.start + built.extra.size],
        v[built.stock.start : built.stock.start + built.stock.size],
    )


def site_decisions(
    sset: SitingSet, opened_: np.ndarray, extra: np.ndarray, stock_: np.ndarray
) -> list[SiteDecision]:
    """Each candidate's decision and cost from the first stage's values."""
    n_i = len(sset.items)
    out = []
    for k, c in enumerate(sset.candidates):
        opened = bool(opened_[k] > 0.5)
        q = np.rint(stock_[k * n_i : (k + 1) * n_i])
        stock = {it.item: int(q[i]) for i, it in enumerate(sset.items) if q[i] > 0}
        used = float(sum(q[i] * it.unit_volume_m3 for i, it in enumerate(sset.items)))
        added = max(float(extra[k]), 0.0) + 0.0  # no -0.0
        cost = (0.0 if c.existing or not opened else c.fixed_cost) + c.cost_per_m3 * added
        cost += float(sum(q[i] * it.unit_cost for i, it in enumerate(sset.items)))
        out.append(
            SiteDecision(
                c.code,
                c.name,
                c.kind.value,
                c.existing,
                opened,
                round(added, 3),
                round(used, 3),
                round(cost, 2),
                stock,
            )
        )
    return out


def _with_marginals(
    sset: SitingSet,
    built: _Built,
    solution: Solution,
    result: SitingResult,
    time_limit_s: float,
) -> SitingResult:
    """Duals of the candidate stock rows with the first stage fixed and the served flags
    relaxed: expected residents one more unit would serve (an LP estimate; whole shelters
    need whole kits, so read it as a ranking, not a promise)."""
    model = built.model
    first = np.concatenate(
        [built.open_.at(np.arange(built.open_.size)), built.extra.at(np.arange(built.extra.size))]
    )
    first = np.concatenate([first, built.stock.at(np.arange(built.stock.size))])
    saved_lo, saved_hi = list(model.lo), list(model.hi)
    model.set_bounds(first, solution.values[first], solution.values[first])
    lp = model.solve(time_limit_s=max(time_limit_s / 4, 1.0), relax=True)
    model.lo, model.hi = saved_lo, saved_hi
    if not lp.found or not len(lp.duals):
        return result
    unit_cost = {it.item: it.unit_cost for it in sset.items}
    value: dict[tuple[str, str], float] = {}
    for (rows, ks, items), _sc in zip(built.cand_rows, sset.scenarios, strict=True):
        for r, k, item in zip(rows, ks, items, strict=True):
            key = (sset.candidates[k].code, item)
            # a ≤ row's dual in a maximisation is ≥ 0: residents per unit of slack
            value[key] = value.get(key, 0.0) + abs(float(lp.duals[r]))
    out = [
        Marginal(site, item, round(v, 4), round(v / unit_cost[item], 8) if unit_cost[item] else 0)
        for (site, item), v in value.items()
        if v > 1e-9
    ]
    out.sort(key=lambda mg: -mg.residents_per_unit)
    return replace(result, marginals=out)


def _scenario_model(
    sset: SitingSet,
    d: Stage2,
    stock_lo: np.ndarray,
    stock_hi: np.ndarray,
    wide: float,
    relaxed: bool,
) -> tuple[SparseModel, Block, Block, np.ndarray]:
    """One scenario's second stage with the stock bounded (fixed, for a plan): the model,
    its stock and served-flag blocks, and the flags' residents."""
    items = [it.item for it in sset.items]
    n_i, n_k = len(items), len(sset.candidates)
    m = SparseModel(maximize=True)
    stock = m.variables(n_k * n_i, lo=stock_lo, hi=stock_hi)
    y, residents = stage2_rows(m, d, items, stock, n_i, [], wide, relaxed=relaxed)
    _add_cost(m, y, residents)
    return m, stock, y, residents


def _whole_plan(
    m: SparseModel, y: Block, residents: np.ndarray, relative_gap: float, seconds: float
) -> tuple[int, bool]:
    """Residents a plan with whole served flags reaches, and whether the clock cut it.

    The scenario's own MIP, to a tenth of the set's gap: on the benchmark it lands 0.03 %
    under its LP, where keeping the LP's whole flags and deciding only its fractional ones
    lost 1.8 % (the LP's choice of which shelters to serve is one of many). Should the clock
    stop it without a solution, the LP's whole flags are still a plan (dropping a shelter
    only lowers demand).
    """
    cols = y.at(np.arange(y.size))
    mip = m.solve(time_limit_s=seconds, relative_gap=relative_gap)
    if mip.found:
        return round(float(residents @ np.rint(mip.values[cols]))), mip.status != "optimal"
    lp = m.solve(time_limit_s=seconds, relax=True)
    if not lp.found:
        return 0, True
    return round(float(residents[lp.values[cols] >= 1 - 1e-6].sum())), True


def _solve_decomposed(
    sset: SitingSet,
    data: list[Stage2],
    params: SitingParams,
    objective: Objective,
    alpha: float,
    budget: float,
    time_limit_s: float,
    started: float,
) -> SitingResult:
    """Benders rounds (`optimizer.siting.benders`) give the bound and the first stage; each
    scenario is then planned with whole served flags at that stock, which gives the value.

    Subproblems group shelters exactly (`cluster_hours` 0: the exact LP of all 50 scenarios
    of the benchmark solves in 1.6 s) unless `cluster_hours` asks for wider groups, whose
    relaxation is weaker (3 % on the benchmark at 0.5 h) and whose plans then use groups
    half as wide, from their fewest shuttles (plans that work).
    """
    from optimizer.siting.benders import benders

    width = params.cluster_hours or 0.0
    n_k, n_i = len(sset.candidates), len(sset.items)
    zero = np.zeros(n_k * n_i)
    subproblems = []
    for d in data:
        m, stock, y, _residents = _scenario_model(sset, d, zero, zero, width, relaxed=True)
        subproblems.append((m, stock, y))

    def best_stock(opened: np.ndarray) -> np.ndarray | None:
        """The extensive LP (flags relaxed) over these open sites only: their best stock.

        Built for the open sites alone: with all 30 candidates' flows and the closed ones
        fixed shut the LP took 6 s for three sites on a quiet machine, 26–55 s for four
        under load.
        """
        keep = np.flatnonzero(opened > 0.5)
        if not len(keep):
            return zero.copy()
        few = replace(sset, candidates=tuple(sset.candidates[k] for k in keep))
        sub = [_only(d, keep) for d in data]
        built = _build(few, sub, Mode.COVERAGE, objective, alpha, budget, None, width, True)
        cols = built.open_.at(np.arange(len(keep)))
        built.model.set_bounds(cols, 1.0, 1.0)
        lp = built.model.solve(time_limit_s=max(time_limit_s - elapsed(), 1.0), relax=True)
        if not lp.found or lp.status != "optimal":
            return None
        out = np.zeros((n_k, n_i))
        out[keep] = lp.values[built.stock.start : built.stock.start + built.stock.size].reshape(
            len(keep), n_i
        )
        return out.ravel()

    def elapsed() -> float:
        return time.perf_counter() - started

    spent = elapsed()
    first = benders(
        sset, subproblems, usable(sset, data), objective=objective, alpha=alpha,
        budget=budget, tie=COST_TIE_RESIDENTS / max(budget, 1.0),
        time_limit_s=max(time_limit_s * BENDERS_SHARE - spent, 1.0),
        max_rounds=params.max_rounds, gap=params.relative_gap * BENDERS_GAP, best_stock=best_stock,
        reach=[reach(sset, d, width) for d in data],
    )  # fmt: skip
    probs = np.array([s.probability for s in sset.scenarios])
    outcomes, clock = [], first.clock_cut
    for sc, d in zip(sset.scenarios, data, strict=True):
        m, _stock, y, residents = _scenario_model(
            sset, d, first.stock, first.stock, width / 2, relaxed=False
        )
        # a safety cap only: starving these solves by the clock lost 1.8 % of the answer
        got, cut = _whole_plan(m, y, residents, params.relative_gap / 10, time_limit_s)
        clock |= cut
        outcomes.append(ScenarioOutcome(sc.name, sc.probability, d.total, got))
    served = np.array([o.residents_served for o in outcomes], dtype=float)
    expected = objective == Objective.EXPECTED
    value = float(probs @ served) if expected else _cvar(served, probs, alpha)
    bound = first.bound + COST_TIE_RESIDENTS
    sites = site_decisions(sset, first.opened, first.extra, first.stock)
    cost = float(sum(s.cost for s in sites))
    gap = max(bound - value, 0.0) / max(abs(value), 1e-9) if math.isfinite(bound) else None
    ok = gap is not None and gap <= params.relative_gap
    status = SolveStatus.OPTIMAL if ok else SolveStatus.FEASIBLE
    unit_cost = {it.item: it.unit_cost for it in sset.items}
    marginals = [
        Marginal(c.code, it.item, round(float(first.marginal[k * n_i + i]), 4),
                 round(float(first.marginal[k * n_i + i]) / unit_cost[it.item], 8)
                 if unit_cost[it.item] else 0.0)
        for k, c in enumerate(sset.candidates)
        for i, it in enumerate(sset.items)
        if len(first.marginal) and first.marginal[k * n_i + i] > 1e-9
    ]  # fmt: skip
    marginals.sort(key=lambda mg: -mg.residents_per_unit)
    size = {
        "variables": sum(m.n_vars for m, _, _ in subproblems),
        "rows": sum(m.n_rows for m, _, _ in subproblems),
        "scenarios": len(data),
        "candidates": len(sset.candidates),
        "cluster_hours": width,
        "benders_rounds": first.rounds,
        "benders_lp_rounds": first.lp_rounds,
        "relaxed_value": round(first.value, 3),
        "clock_cut": float(clock),
    }
    return SitingResult(
        sset.name, Mode.COVERAGE, objective, status, value, bound, gap,
        time.perf_counter() - started, budget, cost, float(probs @ served),
        float(probs @ np.array([d.total for d in data], dtype=float)), sites, outcomes,
        marginals, size,
    )  # fmt: skip


def _only(d: Stage2, keep: np.ndarray) -> Stage2:
    """A scenario's data with only the candidates `keep` (today's sources all kept)."""
    rows = np.r_[np.arange(d.n_fixed), d.n_fixed + keep]
    return replace(d, shuttles=d.shuttles[rows], arrival=d.arrival[rows], fleet=d.fleet[rows])


def _cvar(served: np.ndarray, probs: np.ndarray, alpha: float) -> float:
    """Mean of the worst `alpha` probability mass of scenarios."""
    mass, total = 0.0, 0.0
    for s in np.argsort(served):
        take = min(float(probs[s]), alpha - mass)
        if take <= 0:
            break
        total += take * float(served[s])
        mass += take
    return total / alpha
