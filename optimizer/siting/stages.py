"""The siting model's two stages as rows of a sparse model, shared by the extensive form
(`optimizer.siting.model`) and the decomposition (`optimizer.siting.benders`).

Why the second stage stays small. Without routing costs, what a shelter can get depends
only on how many loads each source's trucks can bring it by the deadline (the planner's
shuttle rule, `optimizer.sources.deliveries`; 0 = not in time), so shelters alike in that
share their flow variables (one flow per source, group and critical item, against the sum
of the members' needs × their served flags). The aggregation is exact, fleet rows included:
a group's total can be split among its members any way, each being reached alike. On large
sets shelters are grouped more coarsely by first arrival (`groups`), with a feasible and a
relaxed side.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from optimizer.demand import needs
from optimizer.network import Place, travel_times
from optimizer.plan import SourceKind
from optimizer.siting.lp import Block, SparseModel
from optimizer.siting.problem import SetScenario, SitingSet
from optimizer.sources import (
    RELOAD_HOURS,
    STOP_HOURS,
    UNLOAD_HOURS_PER_TONNE,
    deliveries,
    source_travel_times,
    sources,
)


@dataclass(slots=True)
class Stage2:
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


def scenario_data(sset: SitingSet, scenario: SetScenario) -> Stage2:
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
    return Stage2(
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


def most_needed(sset: SitingSet, data: list["Stage2"]) -> np.ndarray:
    """Per costed item, the largest total need of any scenario: no site needs more."""
    items = [it.item for it in sset.items]
    most = np.zeros(len(items))
    for d in data:
        for c, item in enumerate(d.items):
            if item in items:
                k = items.index(item)
                most[k] = max(most[k], d.need[:, c].sum())
    return most


def first_stage_rows(
    m: SparseModel, sset: SitingSet, most: np.ndarray, *, whole_stock: bool = True
) -> tuple[Block, Block, Block]:
    """Sites open, m³ added and stock per (site, item), with their storage rows: the new
    stock's volume within free space plus what is added; added m³ and stock only where open.
    """
    cands = sset.candidates
    n_k, n_i = len(cands), len(sset.items)
    unit_volume = np.array([it.unit_volume_m3 for it in sset.items])
    existing = np.array([c.existing for c in cands], dtype=bool)
    free = np.array([c.free_m3 for c in cands])
    room = np.maximum(np.array([c.max_m3 for c in cands]) - free, 0.0)
    per_site = most if most.size == n_k * n_i else np.tile(most, n_k)
    open_ = m.variables(n_k, lo=existing.astype(float), hi=1.0, integer=True)
    extra = m.variables(n_k, lo=0.0, hi=room)
    stock = m.variables(n_k * n_i, lo=0.0, hi=per_site, integer=whole_stock)
    kk, ii = np.divmod(np.arange(n_k * n_i), n_i)
    rows = m.rows(-math.inf, 0.0, n_k)
    m.terms(rows[kk], stock.at(np.arange(n_k * n_i)), unit_volume[ii])
    m.terms(rows, extra.at(np.arange(n_k)), -1.0)
    m.terms(rows, open_.at(np.arange(n_k)), -free)
    rows = m.rows(-math.inf, 0.0, n_k)
    m.terms(rows, extra.at(np.arange(n_k)), 1.0)
    m.terms(rows, open_.at(np.arange(n_k)), -room)
    # stock only where open, at most what any scenario needs and what the site can hold
    # (the second bound tightens the relaxation, where sites open by a fraction)
    held = np.divide(
        (free + room)[kk], unit_volume[ii], out=np.full(n_k * n_i, np.inf),
        where=unit_volume[ii] > 0,
    )  # fmt: skip
    rows = m.rows(-math.inf, 0.0, n_k * n_i)
    m.terms(rows, stock.at(np.arange(n_k * n_i)), 1.0)
    m.terms(rows, open_.at(kk), -np.minimum(per_site, held))
    return open_, extra, stock


@dataclass(frozen=True, slots=True)
class Usable:
    """The most stock a site could ever hand out, over every scenario of the set.

    `units[k × I + i]`: the critical need of the shelters site k reaches in time, capped by
    what its trucks carry in their most shuttles; `kg[k]`, `m3[k]`: its trucks' load times
    their most shuttles, for all items together. Stock beyond these can never be shipped,
    so an optimum never holds it (it costs money): bounding the stock by them keeps every
    optimum, and ties it to the site being open much more tightly than the scenarios' whole
    need does (on the benchmark: tents 9 %, quilts 18 % of it).
    """

    units: np.ndarray
    kg: np.ndarray
    m3: np.ndarray
    weight: np.ndarray  # (I,) kg per unit of the set's items (0 where never critical)
    volume: np.ndarray  # (I,) m³ per unit


def usable(sset: SitingSet, data: list[Stage2]) -> Usable:
    """Each candidate's usable stock per item and its trucks' reach (see `Usable`)."""
    items = [it.item for it in sset.items]
    n_k, n_i = len(sset.candidates), len(items)
    units = np.zeros((n_k, n_i))
    kg, m3 = np.zeros(n_k), np.zeros(n_k)
    weight, volume = np.zeros(n_i), np.zeros(n_i)
    for d in data:
        n_s = d.n_fixed
        for k in range(n_k):
            shuttles = d.shuttles[n_s + k]
            fleet = d.fleet[n_s + k]
            if fleet < 0 or not (shuttles > 0).any():
                continue
            trips = float(shuttles.max())
            kg[k] = max(kg[k], d.fleet_kg[fleet] * trips)
            m3[k] = max(m3[k], d.fleet_m3[fleet] * trips)
            reach = shuttles > 0
            for i, item in enumerate(items):
                if item not in d.items:
                    continue
                c = d.items.index(item)
                weight[i], volume[i] = d.weight[c], d.volume[c]
                carried = min(
                    d.fleet_kg[fleet] * trips / d.weight[c] if d.weight[c] > 0 else np.inf,
                    d.fleet_m3[fleet] * trips / d.volume[c] if d.volume[c] > 0 else np.inf,
                )
                units[k, i] = max(units[k, i], min(float(d.need[reach, c].sum()), carried))
    return Usable(units.ravel(), kg, m3, weight, volume)


def usable_rows(m: SparseModel, open_: Block, stock: Block, use: Usable) -> None:
    """Per site: the stock's weight and volume within what its trucks could ever carry,
    and only when open (Σ_i w_i q_ki ≤ kg_k o_k, the same in m³)."""
    n_k, n_i = open_.size, len(use.weight)
    kk = np.repeat(np.arange(n_k), n_i)
    for per_unit, load in ((use.weight, use.kg), (use.volume, use.m3)):
        rows = m.rows(-math.inf, 0.0, n_k)
        m.terms(rows[kk], stock.at(np.arange(n_k * n_i)), np.tile(per_unit, n_k))
        m.terms(rows, open_.at(np.arange(n_k)), -load)


def site_budget_rows(
    m: SparseModel, sset: SitingSet, open_: Block, extra: Block, stock: Block, budget: float
) -> None:
    """The budget, and per site: what it spends beyond opening fits in what the budget
    leaves once it is open, Σ_i c_i q_ki + c_k e_k ≤ (B − F_k) o_k.

    Valid (an open site's spending is part of the budget, a closed one spends nothing), and
    it matters in relaxations: a site opened by a tenth otherwise spends like an open one
    for a tenth of its fixed cost.
    """
    cost = first_stage_cost(sset)
    n_k, n_i = len(sset.candidates), len(sset.items)
    first = np.arange(open_.start, stock.start + stock.size)
    paid = np.flatnonzero(cost)
    row = m.rows(-math.inf, budget, 1)[0]
    m.terms(np.full(len(paid), row), first[paid], cost[paid])
    fixed = cost[:n_k]
    rows = m.rows(-math.inf, 0.0, n_k)
    kk = np.repeat(np.arange(n_k), n_i)
    m.terms(rows[kk], stock.at(np.arange(n_k * n_i)), cost[2 * n_k :])
    m.terms(rows, extra.at(np.arange(n_k)), cost[n_k : 2 * n_k])
    m.terms(rows, open_.at(np.arange(n_k)), -(budget - fixed))


def first_stage_cost(sset: SitingSet) -> np.ndarray:
    """¥ per unit of the first stage's variables: open (new sites' fixed cost), m³, units."""
    fixed = np.array([0.0 if c.existing else c.fixed_cost for c in sset.candidates])
    per_m3 = np.array([c.cost_per_m3 for c in sset.candidates])
    unit = np.tile([it.unit_cost for it in sset.items], len(sset.candidates))
    return np.concatenate([fixed, per_m3, unit])


def stage2_rows(
    m: SparseModel,
    d: Stage2,
    items: list[str],
    stock: Block,
    n_i: int,
    cand_rows: list[tuple[np.ndarray, list[int], list[str]]],
    wide: float,
    relaxed: bool,
) -> tuple[Block, np.ndarray]:
    """One scenario's served flags and flows; returns the flags and their residents.

    Shelters share flow variables by group (`groups`). A group's arcs and fleet use come
    from its members' fewest shuttles, arcs only where every member is in time (a model
    whose plans all work), or with `relaxed` from the most shuttles, arcs where any member
    is (a relaxation: its optimum bounds the real one). Exact groups make both the same.
    """
    n_c = len(d.items)
    n_s = d.n_fixed
    n_k = d.shuttles.shape[0] - n_s
    stocked, supply, ys = _servable(d, items)
    y = m.variables(len(ys), lo=0.0, hi=1.0, integer=True)
    if not len(ys):
        cand_rows.append((np.zeros(0, np.int64), [], []))
        return y, np.zeros(0)
    group, group_need, group_shuttles = _grouped(d, ys, wide, relaxed)
    n_g = len(group_need)
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


def _servable(d: Stage2, items: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which critical items candidates may stock, every source's supply of each (candidates
    unbounded), and the shelters that can be served: each critical item they need has a
    source in time."""
    stocked = np.array([it in items for it in d.items], dtype=bool)
    in_time = d.shuttles > 0  # (S + K, J)
    n_k = d.shuttles.shape[0] - d.n_fixed
    supply = np.vstack([d.fixed_supply, np.where(stocked, np.inf, 0.0)[None, :].repeat(n_k, 0)])
    can = np.ones(len(d.residents), dtype=bool)
    for c in range(len(d.items)):
        holders = supply[:, c] > 0
        wants = d.need[:, c] > 0
        can &= ~wants | (in_time[holders].any(axis=0))
    ys = np.flatnonzero(can & (d.residents > 0) & (d.need.sum(axis=1) > 0))
    return stocked, supply, ys


def _grouped(
    d: Stage2, ys: np.ndarray, wide: float, relaxed: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each shelter's group (`groups`), each group's need (G, C) and each source's shuttles
    to it (S + K, G): the members' fewest, or with `relaxed` their most."""
    group = groups(d, ys, wide)
    n_g = int(group.max()) + 1
    group_need = np.zeros((n_g, len(d.items)))
    np.add.at(group_need, group, d.need[ys])
    order = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[order]) > 0])
    members = d.shuttles[:, ys[order]]
    reduce = np.maximum if relaxed else np.minimum
    return group, group_need, reduce.reduceat(members, starts, axis=1)


@dataclass(frozen=True, slots=True)
class Reach:
    """The most one scenario lets each candidate hand out, whatever it stocks.

    `units[k × I + i]`: the need of the shelter groups k reaches in time for item i (0 where
    i is not critical there); `kg[k]`, `m3[k]`: the most its trucks can bring in all by the
    deadline, filling the groups they reach most often first (a unit to a group reached n
    times takes 1/n of a truck's capacity, as in the scenario's fleet rows: a fractional
    knapsack, which the greedy solves). Whatever the scenario's LP ships from k fits in
    these, so the Benders master may cap what it credits a site's stock with by them
    (`optimizer.siting.benders`): stock beyond what its trucks can bring to this
    scenario's shelters is worth nothing in it.
    """

    units: np.ndarray
    kg: np.ndarray
    m3: np.ndarray


def reach(sset: SitingSet, d: Stage2, wide: float, relaxed: bool = True) -> Reach:
    """Scenario `d`'s `Reach`, on the shelter groups its subproblem is built with."""
    items = [it.item for it in sset.items]
    n_k, n_i, n_s = len(sset.candidates), len(items), d.n_fixed
    units, kg, m3 = np.zeros((n_k, n_i)), np.zeros(n_k), np.zeros(n_k)
    stocked, _supply, ys = _servable(d, items)
    if not len(ys):
        return Reach(units.ravel(), kg, m3)
    _group, group_need, group_shuttles = _grouped(d, ys, wide, relaxed)
    columns = [(c, items.index(it)) for c, it in enumerate(d.items) if stocked[c]]
    cs = np.array([c for c, _ in columns], dtype=np.int64)
    for k in range(n_k):
        fleet, trips = d.fleet[n_s + k], group_shuttles[n_s + k]
        if fleet < 0 or not (trips > 0).any() or not len(cs):
            continue
        for c, i in columns:
            units[k, i] = group_need[trips > 0, c].sum()
        order = np.argsort(-trips, kind="stable")
        order = order[trips[order] > 0]
        for out, capacity, per_unit in ((kg, d.fleet_kg[fleet], d.weight),
                                        (m3, d.fleet_m3[fleet], d.volume)):  # fmt: skip
            load = group_need[order][:, cs] @ per_unit[cs]  # per group reached
            # trip-capacity each group takes when filled, in the order of most trips
            used = np.cumsum(load / trips[order])
            full = used <= capacity
            out[k] = float(load[full].sum())
            if not full.all():  # the first group that does not fit takes the rest
                first = int(np.argmin(full))
                spare = capacity - (used[first - 1] if first else 0.0)
                out[k] += spare * trips[order][first]
    return Reach(units.ravel(), kg, m3)


def groups(d: Stage2, ys: np.ndarray, wide: float) -> np.ndarray:
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
