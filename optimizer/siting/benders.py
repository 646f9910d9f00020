"""Benders decomposition of the siting model, for sets too large for the extensive form.

Master: the first stage (sites open, storage added, stock per site and item; stock taken
as continuous) and one value θ_s per scenario, bounded above by cuts. Subproblem s: the
scenario's second stage as an LP (served flags relaxed; shelters in exact groups, unless
told to group them over their most shuttles: a relaxation) with the stock fixed; its value
φ_s(q) is concave in the stock, and the reduced costs of the fixed stock columns give the
cut θ_s ≤ φ_s(q̄) + g·(q − q̄), valid at every q. One cut per scenario per round (multi-cut),
each subproblem re-solved from its last basis.

Why two phases and a stabilised point. Cutting at the master's own solutions (Kelley) spent
32 rounds and 75 s on the 30 × 50 × 200 benchmark with the bound still 15 % above the
answer: the masters were MIPs of growing size, each jumping to a far corner of the stock
space. The first phase therefore solves the master as an LP (sites open fractionally), and
cuts at a point between its solution and a running centre of the points seen (in-out
separation): cheap rounds whose cuts shape φ where the optimum is. The second phase reads a
set of sites off the LP master (those open by half or more), or, once that set was tried,
off the master solved as a MIP; each new set is given its own best stock (`best_stock`: the
extensive LP over those sites alone), cut there rounded down, and kept if it is the best
first stage yet. Rounding the master's own stock instead kept 16,585 expected residents
where the same three sites' best stock gives 17,053.

Why the master caps what it credits each site with (`_master`, `Reach`). A cut is a
tangent of φ_s taken where the stock was; far from there it is loose, and without more the
master put 8,356 quilts at a new site whose two trucks bring about 3,500 in a scenario, and
rated site sets it had not seen ~5 % too high: each round removed about one set, and 28
rounds left a 4.9 % gap. Capping each scenario's credit by what a site's trucks can bring to
its shelters in time, scaled by the site's opening, made the master's LP relaxation nearly
equal its MIP (17,725 both, on cuts where they were 18,124 and 17,896), so the LP rounds
give the bound and the site sets.

The master's bound is an upper bound on the real optimum in either phase (everything in it
is relaxed and every cut is valid). Rounds are bounded by count, not by the clock; the time
limit only stops a run that would overrun it, and says so (`FirstStage.clock_cut`).
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from optimizer.siting.lp import Block, LpHandle, SparseModel
from optimizer.siting.problem import Objective, SitingSet
from optimizer.siting.stages import (
    Reach,
    Usable,
    first_stage_cost,
    first_stage_rows,
    site_budget_rows,
    usable_rows,
)

#: The master MIP's own gap: its dual bound is what the bound uses, so a loose gap costs
#: nothing in validity; solving each master to 1e-6 took 1.8 s a round on the benchmark.
MASTER_GAP = 1e-3
#: In-out separation: the share of the master's point in the cut point (the rest is the
#: centre's), and the share of the new cut point in the next centre.
IN_OUT = 0.5
#: The LP phase ends when its bound is within this share of its best value, or after
#: `STALL` rounds that improved it by less than a tenth of the gap asked for (on the
#: benchmark the last five of fifteen rounds gained 0.3 residents of 17,691).
LP_PHASE_GAP = 1e-3
STALL = 2
#: The masters' LPs by primal simplex: with the reach rows HiGHS's default dual simplex
#: took 25 s on the benchmark's master where the primal took 3.7 s (load average 6).
PRIMAL = {"simplex_strategy": 4}
#: A site set is read off the LP master's sites open by at least this share.
ROUND_UP = 0.5
#: Seconds each subproblem may take, whatever the clock, when it values a first stage to
#: keep (a warm one takes 0.01–0.06 s): a run cut by the clock still returns its best.
KEEP_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class FirstStage:
    opened: np.ndarray  # (K,) 0/1
    extra: np.ndarray  # (K,) m³ added
    stock: np.ndarray  # (K × I,) whole units
    bound: float  # upper bound on the objective (expected or CVaR residents − tie × cost)
    rounds: int
    marginal: np.ndarray  # (K × I,) expected residents per unit more stock, at the kept point
    value: float = -math.inf  # the subproblems' value at the kept first stage (relaxed flags)
    lp_rounds: int = 0
    clock_cut: bool = False


@dataclass(slots=True)
class _Round:
    """What the subproblems said at one point: values, cuts and the expected marginal."""

    phis: np.ndarray
    marginal: np.ndarray
    complete: bool


def benders(
    sset: SitingSet,
    subproblems: list[tuple[SparseModel, Block, Block]],
    use: Usable,
    *,
    objective: Objective,
    alpha: float,
    budget: float,
    tie: float,
    time_limit_s: float,
    max_rounds: int = 200,
    gap: float = 1e-3,
    best_stock: Callable[[np.ndarray], np.ndarray | None] | None = None,
    reach: list[Reach] | None = None,
) -> FirstStage:
    """Multi-cut L-shaped rounds, LP phase then whole sites, until the bound is within `gap`
    of the best first stage's relaxed value, `max_rounds` rounds, or the clock.

    `subproblems[s]` is scenario s's LP (maximising residents served) with its stock block
    (fixed each round to the point cut at) and its served flags. `best_stock(opened)`, when
    given, returns the best stock for a set of open sites (the extensive LP with the sites
    fixed): each new set the MIP master proposes is then valued at its own best stock, and
    cut there, which tells the master that set's true worth in one round. `reach[s]`,
    when given, caps what the master credits each site's stock with in scenario s
    (`_master`).
    """
    started = time.perf_counter()
    probs = np.array([s.probability for s in sset.scenarios])
    n_s = len(subproblems)
    n_k, n_i = len(sset.candidates), len(sset.items)
    cost = first_stage_cost(sset)
    handles = [LpHandle(model) for model, _, _ in subproblems]
    cuts: list[tuple[int, float, np.ndarray]] = []  # scenario, value at zero stock, slope
    # a scenario serves at most its residents: the cap keeps the first masters bounded
    caps = np.array([_residents_cap(model, y) for model, _, y in subproblems])
    clock = False
    bound, best_value, rounds, lp_rounds = math.inf, -math.inf, 0, 0
    kept: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None

    def left() -> float:
        return time_limit_s - (time.perf_counter() - started)

    def done() -> bool:
        """The bound is within `gap` of the best first stage kept."""
        return math.isfinite(best_value) and bound - best_value <= gap * max(abs(best_value), 1)

    def consider(opened: np.ndarray, q: np.ndarray) -> None:
        """Cut at this first stage, its stock rounded down (and scaled into the budget,
        should rounding the sites up have spent more), and keep it if it is the best."""
        nonlocal best_value, kept
        q = q * opened.repeat(n_i)  # an LP point may hold stock at sites left closed
        fixed = float(cost[:n_k] @ opened)
        whole = np.floor(q + 1e-6)
        storage = _storage(sset, opened, whole)
        spent = float(cost @ np.concatenate([opened, storage, whole]))
        if spent > budget and spent > fixed:
            whole = np.floor(q * max(budget - fixed, 0.0) / (spent - fixed) + 1e-6)
            storage = _storage(sset, opened, whole)
            spent = float(cost @ np.concatenate([opened, storage, whole]))
        # the clock may not starve a first stage's own values: a safety floor per LP
        at = cut_at(whole, KEEP_SECONDS)
        value = _value(at.phis, probs, objective, alpha) - tie * spent
        feasible = spent <= budget * (1 + 1e-9)
        if at.complete and feasible and value > best_value:  # rounds oscillate: keep the best
            best_value = value
            kept = (opened, storage, whole, at.marginal)

    def cut_at(q: np.ndarray, floor_s: float = 0.5) -> _Round:
        nonlocal clock
        phis, marginal = np.zeros(n_s), np.zeros(len(q))
        complete = True
        for s, ((_model, sub_stock, _y), handle) in enumerate(
            zip(subproblems, handles, strict=True)
        ):
            cols = sub_stock.at(np.arange(sub_stock.size))
            sol = handle.solve(cols, q, q, max(left(), floor_s))
            if not sol.found or not len(sol.reduced):
                complete = False  # no cut, and no value to trust at this point
                clock = clock or left() <= 0
                continue
            slope = sol.reduced[cols]
            marginal += probs[s] * slope
            phis[s] = sol.objective
            cuts.append((s, sol.objective - float(slope @ q), slope))
        return _Round(phis, marginal, complete)

    # first cuts at every site stocked to the most any scenario needs: concave φ_s makes a
    # cut there valid everywhere, and it tells the first master what stock is worth
    cut_at(use.units)
    lp_phase, centre, lp_best, stall, previous = True, None, -math.inf, 0, math.inf
    tried: set[bytes] = set()
    while rounds < max_rounds:
        if left() <= 0:
            clock = True
            break
        rounds += 1
        m, open_, _extra, stock, first = _master(
            sset, use, cuts, probs, objective, alpha, budget, tie, cost, caps, reach
        )
        master = m.solve(time_limit_s=max(left(), 0.5), relax=True, options=PRIMAL)
        if not master.found:
            clock = clock or left() <= 0
            break
        if master.status == "optimal":  # an LP relaxation of a valid master: a bound
            bound = min(bound, master.objective)
        v = master.values
        q = v[stock.start : stock.start + stock.size]
        if lp_phase:
            lp_rounds += 1
            centre = q if centre is None else centre
            point = IN_OUT * q + (1 - IN_OUT) * centre
            at = cut_at(point)
            centre = 0.5 * (centre + point)
            if at.complete:  # the tie term at the master's sites: only steers the switch
                value = _value(at.phis, probs, objective, alpha) - tie * float(cost @ v[first])
                lp_best = max(lp_best, value)
            # a round that gains less than a tenth of the gap target is a stall
            better = math.isinf(previous) or master.objective < previous - gap / 10 * abs(previous)
            stall = 0 if better else stall + 1
            previous = master.objective
            close = bound - lp_best <= LP_PHASE_GAP * max(abs(lp_best), 1.0)
            # half the rounds at most: only whole sites yield first stages to keep
            if close or stall >= STALL or rounds >= max_rounds // 2:
                lp_phase = False
            continue
        if done():
            break
        # the sites the LP opens most; once those were tried, the master's own MIP
        opened = (v[open_.start : open_.start + open_.size] >= ROUND_UP).astype(float)
        if opened.astype(bool).tobytes() in tried:
            relative = max(MASTER_GAP, gap / 2)
            mip = m.solve(time_limit_s=max(left(), 0.5), relative_gap=relative)
            if not mip.found:
                clock = clock or left() <= 0
                break
            bound = min(bound, mip.bound)  # the master's dual bound
            v = mip.values
            q = v[stock.start : stock.start + stock.size]
            opened = np.rint(v[open_.start : open_.start + open_.size])
            if done():
                break
        key = opened.astype(bool).tobytes()
        if best_stock is not None and key not in tried:
            tried.add(key)
            if kept is None:  # a first stage at once, should the clock stop what follows
                consider(opened, q)
            best = best_stock(opened)
            if best is not None:  # cut at its floor: nearly the tangent at its optimum
                consider(opened, best)
        else:
            consider(opened, q)
        if done():
            break
    if kept is None:
        empty = np.zeros(n_k * n_i)
        return FirstStage(
            np.zeros(n_k), np.zeros(n_k), empty, bound, rounds, empty, -math.inf, lp_rounds, clock
        )
    opened, extra_m3, whole, marginal = kept
    return FirstStage(
        opened, extra_m3, whole, bound, rounds, marginal, best_value, lp_rounds, clock
    )


def _storage(sset: SitingSet, opened: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """The m³ each open site must add for the stock: what the stock's volume needs beyond
    the site's free space (the least it can pay for)."""
    volume = np.array([it.unit_volume_m3 for it in sset.items])
    free = np.array([c.free_m3 for c in sset.candidates]) * opened
    used = whole.reshape(len(sset.candidates), -1) @ volume
    return np.maximum(used - free, 0.0) + 0.0


def _master(
    sset: SitingSet,
    use: Usable,
    cuts: list[tuple[int, float, np.ndarray]],
    probs: np.ndarray,
    objective: Objective,
    alpha: float,
    budget: float,
    tie: float,
    cost: np.ndarray,
    caps: np.ndarray,
    reach: list[Reach] | None,
) -> tuple[SparseModel, Block, Block, Block, np.ndarray]:
    """The master over the cuts so far: first stage, θ per scenario, the objective.

    With `reach`, scenario s's cuts credit a site's stock only up to what the site's trucks
    could hand out in s: its cuts are on w_s (what is shipped) instead of the stock q, with
    w_s ≤ q, w_s ≤ reach units × open, weight and volume of w_s within the trucks' reach ×
    open. Valid: with q, scenario s's LP ships some x ≤ q that meets all of these, its value
    is φ_s(x) = φ_s(q), and every cut (a tangent of the concave φ_s) holds at x. Without
    them the master credited a site with stock its two trucks could never bring (8,356
    quilts where they bring about 3,500 in a scenario), and rated site sets it had not seen
    ~5 % too high; with them, and scaled by the site's opening, the LP relaxation of the
    master nearly equals its MIP (on the benchmark 17,725 both, against 18,124 / 17,896).
    """
    n_s = len(probs)
    m = SparseModel(maximize=True)
    open_, extra, stock = first_stage_rows(m, sset, use.units, whole_stock=False)
    site_budget_rows(m, sset, open_, extra, stock, budget)
    usable_rows(m, open_, stock, use)
    theta = m.variables(n_s, lo=0.0, hi=caps)
    first = np.arange(open_.start, stock.start + stock.size)
    paid = np.flatnonzero(cost)
    credited = [stock.at(np.arange(stock.size))] * n_s
    if reach is not None:
        credited = [_shipped(m, open_, stock, use, r) for r in reach]
    for s, at_zero, slope in cuts:
        r = m.rows(-math.inf, at_zero, 1)[0]
        m.terms(np.array([r]), np.array([theta.start + s]), 1.0)
        # a site-item the scenario never ships from has no term (x = 0 there)
        nz = np.flatnonzero((slope != 0) & (credited[s] >= 0))
        m.terms(np.full(len(nz), r), credited[s][nz], -slope[nz])
    vec = np.concatenate(m.cost)
    if objective == Objective.EXPECTED:
        vec[theta.at(np.arange(n_s))] = probs
        m.cost = [vec]
    else:
        m.cost = [vec]
        eta = m.variables(1, lo=-math.inf, hi=math.inf, objective=1.0)
        short = m.variables(n_s, lo=0.0, hi=math.inf, objective=-probs / alpha)
        rows = m.rows(0.0, math.inf, n_s)
        m.terms(rows, theta.at(np.arange(n_s)), 1.0)
        m.terms(rows, short.at(np.arange(n_s)), 1.0)
        m.terms(rows, np.full(n_s, eta.start), -1.0)
    vec = np.concatenate(m.cost)
    vec[first[paid]] -= tie * cost[paid]
    m.cost = [vec]
    return m, open_, extra, stock, first


def _shipped(m: SparseModel, open_: Block, stock: Block, use: Usable, r: Reach) -> np.ndarray:
    """One scenario's shipped amounts w (see `_master`): the column of each (site, item),
    -1 where the scenario ships none from it."""
    n_i = len(use.weight)
    hi = np.minimum(r.units, use.units)
    cells = np.flatnonzero(hi > 0)
    column = np.full(stock.size, -1, dtype=np.int64)
    if not len(cells):
        return column
    w = m.variables(len(cells), lo=0.0, hi=hi[cells])
    column[cells] = w.at(np.arange(len(cells)))
    site = cells // n_i
    rows = m.rows(-math.inf, 0.0, len(cells))  # w ≤ q
    m.terms(rows, column[cells], 1.0)
    m.terms(rows, stock.at(cells), -1.0)
    rows = m.rows(-math.inf, 0.0, len(cells))  # w ≤ units × open
    m.terms(rows, column[cells], 1.0)
    m.terms(rows, open_.at(site), -hi[cells])
    sites = np.unique(site)
    for per_unit, load in ((use.weight, r.kg), (use.volume, r.m3)):
        rows = m.rows(-math.inf, 0.0, len(sites))  # the trucks' reach, scaled by open
        m.terms(rows[np.searchsorted(sites, site)], column[cells], per_unit[cells % n_i])
        m.terms(rows, open_.at(sites), -load[sites])
    return column


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
