"""The two-stage siting model, solved as one extensive-form MIP with HiGHS.

First stage (here and now): which candidates open, how many m³ each adds, how many units of
each item are prepositioned there (volume within storage, cost within the budget).
Second stage, per scenario: the planner's coverage rule. A shelter counts when every one of
its critical items arrives by the deadline; sources are the scenario's own depots and
agreement reserves (today's network, fixed) plus the open candidates' new stock.

Why the second stage stays small. Without routing costs, what a shelter can get depends
only on how many loads each source's trucks can bring it by the deadline (the planner's
shuttle rule, `optimizer.sources.deliveries`; 0 = not in time), so shelters alike in that
share their flow variables (one flow per source, group and critical item, against the sum
of the members' needs × their served flags). The aggregation is exact, fleet rows included:
a group's total can be split among its members any way, each being reached alike. The
evaluation (`optimizer.siting.evaluate`) then runs the real planner on every scenario.
"""

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from optimizer.demand import needs
from optimizer.network import Place, travel_times
from optimizer.plan import SolveStatus, SourceKind
from optimizer.siting.lp import Block, Solution, SparseModel
from optimizer.siting.problem import Mode, Objective, SetScenario, SitingSet, Target
from optimizer.sources import (
    RELOAD_HOURS,
    STOP_HOURS,
    UNLOAD_HOURS_PER_TONNE,
    deliveries,
    source_travel_times,
    sources,
)

#: The cost tie-break in the coverage mode is worth at most this many residents in total.
COST_TIE_RESIDENTS = 0.01
#: Above this many flow variables (all scenarios), shelters are grouped (unless told).
EXACT_FLOWS = 60_000
#: Group width used above EXACT_FLOWS, in hours of first arrival.
DEFAULT_CLUSTER_HOURS = 0.5
#: Share of the time limit the grouped model's feasible side gets; its relaxation the rest.
FEASIBLE_SHARE = 0.7


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
    """

    mode: Mode = Mode.COVERAGE
    objective: Objective | None = None
    alpha: float | None = None
    budget: float | None = None
    target: Target | None = None
    relative_gap: float = 1e-3
    threads: int = 1
    cluster_hours: float | None = None

    def __post_init__(self) -> None:
        if self.alpha is not None and not 0 < self.alpha <= 1:
            raise ValueError("alpha: in (0, 1]")
        if self.budget is not None and self.budget < 0:
            raise ValueError("budget: must not be negative")
        if not 0 <= self.relative_gap < 1:
            raise ValueError("relative_gap: in [0, 1)")
        if self.threads < 1:
            raise ValueError("threads: at least 1")
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


# --------------------------------------------------------------------------- scenario data


@dataclass(slots=True)
class _Stage2:
    """One scenario as arrays over its shelters, sources (today's S, then the K candidates)
    and critical items."""

    items: list[str]  # critical item codes, the columns
    residents: np.ndarray  # (J,)
    need: np.ndarray  # (J, C) critical units
    shuttles: np.ndarray  # (S + K, J) loads a truck brings by the deadline; 0: not in time
    arrival: np.ndarray  # (S + K, J) hours of the first arrival; inf: cannot deliver
    fixed_supply: np.ndarray  # (S, C)
    fleet: np.ndarray  # (S + K,) index of the fleet that carries a source's stock; -1: none
    fleet_kg: np.ndarray  # (F,) all its trucks' kg
    fleet_m3: np.ndarray  # (F,)
    weight: np.ndarray  # (C,) kg per unit
    volume: np.ndarray  # (C,) m³ per unit
    total: int

    @property
    def n_fixed(self) -> int:
        return self.fixed_supply.shape[0]


def scenario_data(sset: SitingSet, scenario: SetScenario) -> _Stage2:
    """Critical needs, and how often each source's trucks can reach each shelter in time.

    Fleets follow the planner's shuttle rule (`optimizer.sources.deliveries`): a unit to a
    shelter a truck reaches n times by the deadline takes 1/n of a truck's capacity. A
    candidate that is one of the scenario's depots shares that depot's fleet; a new one gets
    the set's trucks (`Candidate.vehicles`); agreements bring their own.
    """
    problem = scenario.problem
    deadline = sset.deadline_hours
    items = [n.item for n in problem.norms if n.critical]
    column = {c: k for k, c in enumerate(items)}
    row = {h.code: j for j, h in enumerate(problem.shelters)}
    need = np.zeros((len(problem.shelters), len(items)))
    for n in needs(problem):
        if n.item in column:
            need[row[n.shelter], column[n.item]] = n.qty
    srcs = sources(problem)
    shelters = [h.code for h in problem.shelters]
    if scenario.travel is not None:
        hours = scenario.travel.matrix([s.code for s in srcs], shelters)
    else:
        hours = source_travel_times(problem, srcs).hours
    hours = hours.reshape(len(srcs), len(shelters))
    fleets: list[tuple[float, float]] = []
    owner: dict[str, int] = {}
    fleet = []
    for s in srcs:
        if s.kind == SourceKind.DEPOT:
            owner[s.code] = len(fleets)
            fleets.append((s.kg_capacity, s.m3_capacity))
        fleet.append(owner.get(s.code, -1) if s.kind == SourceKind.DEPOT else -1)
    ready = np.array([s.ready_hours for s in srcs])
    extra = np.array([s.cycle_extra_hours for s in srcs])
    deliver = np.array([s.can_deliver for s in srcs], dtype=bool)
    shuttles = deliveries(ready, hours, extra, deadline) * deliver[:, None]
    arrival = np.where(deliver[:, None], ready[:, None] + hours, np.inf)
    supply = np.zeros((len(srcs), len(items)))
    for i, s in enumerate(srcs):
        for item, qty in s.supply.items():
            if item in column:
                supply[i, column[item]] = qty
    cand = _candidates(sset, scenario, shelters, owner, fleets)
    specs = {it.code: it for it in problem.items}
    return _Stage2(
        items=items,
        residents=np.array([h.residents for h in problem.shelters], dtype=float),
        need=need,
        shuttles=np.vstack([shuttles, cand[0]]).reshape(len(srcs) + len(sset.candidates), -1),
        arrival=np.vstack([arrival, cand[2]]).reshape(len(srcs) + len(sset.candidates), -1),
        fixed_supply=supply,
        fleet=np.array(fleet + cand[1], dtype=np.int64),
        fleet_kg=np.array([f[0] for f in fleets]),
        fleet_m3=np.array([f[1] for f in fleets]),
        weight=np.array([specs[c].unit_weight_kg for c in items]),
        volume=np.array([specs[c].unit_volume_m3 for c in items]),
        total=sum(h.residents for h in problem.shelters),
    )


def _candidates(
    sset: SitingSet,
    scenario: SetScenario,
    shelters: list[str],
    owner: dict[str, int],
    fleets: list[tuple[float, float]],
) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Each candidate's shuttles per shelter in this scenario, its fleet (appended to
    `fleets` when new) and first arrivals. An existing depot of the scenario loads as the
    scenario says and drives at its own fleet's speed."""
    problem = scenario.problem
    depots = {d.code: d for d in problem.depots}
    trucks: dict[str, list] = {}
    for v in problem.fleet:
        if v.count > 0:
            trucks.setdefault(v.depot, []).append(v)
    places, ready, extra, fleet = [], [], [], []
    for c in sset.candidates:
        depot = depots.get(c.code)
        lat, lon = (depot.lat, depot.lon) if depot else (c.lat, c.lon)
        ready.append(max(depot.loading_hours if depot else c.loading_hours, problem.now_hours))
        own = trucks.get(c.code, [])
        if own:  # the scenario's fleet of this depot
            kg = sum(v.count * v.capacity_kg for v in own)
            m3 = sum(v.count * v.capacity_m3 for v in own)
            count, speed = sum(v.count for v in own), max(v.speed_kmh for v in own)
        else:  # the set's trucks
            spec = sset.vehicle
            count, speed = c.vehicles, spec.speed_kmh
            kg, m3 = count * spec.capacity_kg, count * spec.capacity_m3
        if c.code not in owner and count > 0:
            owner[c.code] = len(fleets)
            fleets.append((kg, m3))
        fleet.append(owner.get(c.code, -1) if count > 0 else -1)
        tonnes = kg / 1000 / max(count, 1)
        extra.append(RELOAD_HOURS + STOP_HOURS + UNLOAD_HOURS_PER_TONNE * tonnes)
        places.append(Place(c.code, lat, lon, speed))
    if scenario.travel is not None:
        hours = scenario.travel.matrix([c.code for c in sset.candidates], shelters)
    else:
        shelter_places = [Place(h.code, h.lat, h.lon) for h in problem.shelters]
        hours = travel_times(problem, places, shelter_places).hours
    hours = hours.reshape(len(places), len(shelters))
    count = deliveries(np.array(ready), hours, np.array(extra), sset.deadline_hours)
    drives = (np.array(fleet) >= 0)[:, None]
    arrival = np.where(drives, np.array(ready)[:, None] + hours, np.inf)
    return count * drives, fleet, arrival


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
    data: list[_Stage2],
    mode: Mode,
    objective: Objective,
    alpha: float,
    budget: float | None,
    target: Target | None,
    wide: float = 0.0,
    relaxed: bool = False,
) -> _Built:
    cands = sset.candidates
    items = [it.item for it in sset.items]
    unit_cost = np.array([it.unit_cost for it in sset.items])
    unit_volume = np.array([it.unit_volume_m3 for it in sset.items])
    n_k, n_i = len(cands), len(items)
    probs = np.array([s.probability for s in sset.scenarios])
    # No site needs more of an item than the largest total need of any scenario.
    most = np.zeros(n_i)
    for d in data:
        for c, item in enumerate(d.items):
            if item in items:
                most[items.index(item)] = max(most[items.index(item)], d.need[:, c].sum())
    m = SparseModel(maximize=mode == Mode.COVERAGE)
    existing = np.array([c.existing for c in cands], dtype=bool)
    free = np.array([c.free_m3 for c in cands])
    top = np.array([c.max_m3 for c in cands])
    open_ = m.variables(n_k, lo=existing.astype(float), hi=1.0, integer=True)
    extra = m.variables(n_k, lo=0.0, hi=np.maximum(top - free, 0.0))
    stock = m.variables(n_k * n_i, lo=0.0, hi=np.tile(most, n_k), integer=True)
    kk, ii = np.divmod(np.arange(n_k * n_i), n_i)
    # storage: volume of new stock within free space + added m³; added m³ only if open
    rows = m.rows(-math.inf, 0.0, n_k)
    m.terms(rows[kk], stock.at(np.arange(n_k * n_i)), unit_volume[ii])
    m.terms(rows, extra.at(np.arange(n_k)), -1.0)
    m.terms(rows, open_.at(np.arange(n_k)), -free)
    rows = m.rows(-math.inf, 0.0, n_k)
    m.terms(rows, extra.at(np.arange(n_k)), 1.0)
    m.terms(rows, open_.at(np.arange(n_k)), -np.maximum(top - free, 0.0))
    rows = m.rows(-math.inf, 0.0, n_k * n_i)  # stock only at open sites
    m.terms(rows, stock.at(np.arange(n_k * n_i)), 1.0)
    m.terms(rows, open_.at(kk), -most[ii])
    served: list[tuple[Block, np.ndarray]] = []
    cand_rows: list[tuple[np.ndarray, list[int], list[str]]] = []
    for d in data:
        served.append(_stage2(m, d, items, stock, n_i, cand_rows, wide, relaxed))

    totals = np.array([d.total for d in data], dtype=float)
    if mode == Mode.COVERAGE:
        _coverage_objective(m, served, probs, objective, alpha)
    elif target is None:
        raise ValueError("target: the cost mode needs a coverage target")
    else:
        _coverage_target(m, served, probs, totals, target)
    cost = np.zeros(m.n_vars)  # ¥ per unit of each first-stage variable
    cost[open_.at(np.arange(n_k))] = np.where(existing, 0.0, [c.fixed_cost for c in cands])
    cost[extra.at(np.arange(n_k))] = [c.cost_per_m3 for c in cands]
    cost[stock.at(np.arange(n_k * n_i))] = unit_cost[ii]
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


def _stage2(
    m: SparseModel,
    d: _Stage2,
    items: list[str],
    stock: Block,
    n_i: int,
    cand_rows: list[tuple[np.ndarray, list[int], list[str]]],
    wide: float,
    relaxed: bool,
) -> tuple[Block, np.ndarray]:
    """One scenario's served flags and flows; returns the flags and their residents.

    Shelters share flow variables by group (`_groups`). A group's arcs and fleet use come
    from its members' fewest shuttles, arcs only where every member is in time (a model
    whose plans all work), or with `relaxed` from the most shuttles, arcs where any member
    is (a relaxation: its optimum bounds the real one). Exact groups make both the same.
    """
    n_c = len(d.items)
    stocked = np.array([it in items for it in d.items], dtype=bool)
    in_time = d.shuttles > 0  # (S + K, J)
    n_s = d.n_fixed
    n_k = d.shuttles.shape[0] - n_s
    supply = np.vstack([d.fixed_supply, np.where(stocked, np.inf, 0.0)[None, :].repeat(n_k, 0)])
    # a shelter can be served when every critical item it needs has a source in time
    can = np.ones(len(d.residents), dtype=bool)
    for c in range(n_c):
        holders = supply[:, c] > 0
        wants = d.need[:, c] > 0
        can &= ~wants | (in_time[holders].any(axis=0))
    ys = np.flatnonzero(can & (d.residents > 0) & (d.need.sum(axis=1) > 0))
    y = m.variables(len(ys), lo=0.0, hi=1.0, integer=True)
    if not len(ys):
        cand_rows.append((np.zeros(0, np.int64), [], []))
        return y, np.zeros(0)
    group = _groups(d, ys, wide)
    n_g = int(group.max()) + 1
    group_need = np.zeros((n_g, n_c))
    np.add.at(group_need, group, d.need[ys])
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[order]) > 0])
    members = d.shuttles[:, ys[order]]
    reduce = np.maximum if relaxed else np.minimum
    group_shuttles = reduce.reduceat(members, starts, axis=1)  # (S + K, G)
    group_in_time = group_shuttles > 0
    # demand rows per (group, item): flows in − Σ need × y ≥ 0
    gg, cc = np.nonzero(group_need > 0)
    demand = -np.ones((n_g, n_c), dtype=np.int64)
    demand[gg, cc] = m.rows(0.0, math.inf, len(gg))
    members_c = [(np.flatnonzero(d.need[ys, c] > 0), c) for c in range(n_c)]
    for members, c in members_c:
        m.terms(demand[group[members], c], y.at(members), -d.need[ys[members], c])
    # flows per (source, group, item) in time with something to give
    ss, gs, cs = [], [], []
    for c in range(n_c):
        ok = group_in_time & (supply[:, c] > 0)[:, None] & (group_need[:, c] > 0)[None, :]
        si, gi = np.nonzero(ok)
        ss.append(si)
        gs.append(gi)
        cs.append(np.full(len(si), c))
    src, grp, itm = np.concatenate(ss), np.concatenate(gs), np.concatenate(cs)
    cap = np.minimum(group_need[grp, itm], supply[src, itm])
    x = m.variables(len(src), lo=0.0, hi=cap)
    arcs = np.arange(len(src))
    m.terms(demand[grp, itm], x.at(arcs), 1.0)
    fixed = src < n_s
    rows = m.rows(-math.inf, d.fixed_supply.ravel(), n_s * n_c)
    m.terms(rows[src[fixed] * n_c + itm[fixed]], x.at(arcs[fixed]), 1.0)
    # fleets: a unit to a place its trucks reach n times takes 1/n of a truck's capacity
    carried = np.flatnonzero(d.fleet[src] >= 0)
    if carried.size:
        owner = d.fleet[src[carried]]
        per_trip = 1.0 / group_shuttles[src[carried], grp[carried]]
        rows = m.rows(-math.inf, d.fleet_kg, len(d.fleet_kg))
        m.terms(rows[owner], x.at(carried), d.weight[itm[carried]] * per_trip)
        rows = m.rows(-math.inf, d.fleet_m3, len(d.fleet_m3))
        m.terms(rows[owner], x.at(carried), d.volume[itm[carried]] * per_trip)
    # candidate stock: Σ flows of (k, item) − prepositioned units ≤ 0
    pairs = [(k, c) for k in range(n_k) for c in range(n_c) if stocked[c]]
    rows = m.rows(-math.inf, 0.0, len(pairs))
    index = -np.ones((n_k, n_c), dtype=np.int64)
    for r, (k, c) in zip(rows, pairs, strict=True):
        index[k, c] = r
    cand = ~fixed
    m.terms(index[src[cand] - n_s, itm[cand]], x.at(arcs[cand]), 1.0)
    if pairs:
        kp = np.array([p[0] for p in pairs])
        cp = np.array([items.index(d.items[p[1]]) for p in pairs])
        m.terms(rows, stock.at(kp * n_i + cp), -1.0)
    cand_rows.append((rows, [p[0] for p in pairs], [d.items[p[1]] for p in pairs]))
    return y, d.residents[ys]


def _groups(d: _Stage2, ys: np.ndarray, wide: float) -> np.ndarray:
    """Group of each shelter of `ys`. With `wide` 0, shelters alike in every source's
    shuttles (exact); otherwise complete linkage on first arrivals, so a group's arrivals
    from any source differ by at most `wide` hours (arrivals after the deadline look alike).
    """
    if wide <= 0 or len(ys) < 2:
        _, group = np.unique(d.shuttles[:, ys].T, axis=0, return_inverse=True)
        return np.asarray(group).ravel()
    late = np.nanmax(np.where(d.shuttles > 0, d.arrival, 0.0)) + 1.0
    arrival = np.minimum(d.arrival[:, ys], late).T
    tree = linkage(arrival, method="complete", metric="chebyshev")
    return np.asarray(fcluster(tree, t=wide, criterion="distance") - 1).ravel()


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
    data: list[_Stage2],
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
    n_i = len(sset.items)
    out = []
    for k, c in enumerate(sset.candidates):
        opened = bool(v[built.open_.start + k] > 0.5)
        q = np.rint(v[built.stock.start + k * n_i : built.stock.start + (k + 1) * n_i])
        stock = {it.item: int(q[i]) for i, it in enumerate(sset.items) if q[i] > 0}
        used = float(sum(q[i] * it.unit_volume_m3 for i, it in enumerate(sset.items)))
        added = max(float(v[built.extra.start + k]), 0.0) + 0.0  # no -0.0
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
