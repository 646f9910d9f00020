"""The 10-hour allocation: which source sends how much of what to which shelter.

An OR-Tools MIP solved lexicographically by sequential solves, each stage fixing the
previous stage's optimum as a constraint:

1. residents in shelters whose critical needs all arrive by the deadline (max);
2. fairness: the least on-time share of any critical item at any shelter that some source
   can reach in time (max);
3. priority-weighted on-time coverage (max), with vehicle tonne-hours as a tie-break whose
   weight cannot outweigh one unit of coverage.

Depot stock is aggregated per depot and item (every lot of a depot is ready at the same
time and travels the same roads); lots are assigned afterwards, first-expiry first, so
relief also rotates stock. Expired lots are never used. Each depot's fleet bounds what it
can deliver in time through tonne-hour and m³-hour budgets: every vehicle drives until the
deadline, its last leg needing no return. Units that cannot arrive in time but can arrive
later are then sent, earliest arrival first, from what is left (late beats unmet).
"""

import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from ortools.linear_solver import pywraplp

from optimizer.demand import Need, needs
from optimizer.network import Place, TravelTimes, travel_times
from optimizer.params import AllocationParams
from optimizer.plan import ItemCoverage, Plan, ShelterPlan, Shipment, SolveStatus, SourceKind
from optimizer.problem import Problem

EPS = 1e-6
_NONE = np.array([], dtype=int)
LATE_CANDIDATES = 8  # nearest sources considered for each late need
OBJECTIVE_ORDER = [
    "residents whose critical needs all arrive by the deadline",
    "least on-time share among reachable shelters (fairness)",
    "priority-weighted on-time coverage, then fewest vehicle tonne-hours",
    "late units over unmet ones (greedy, earliest arrival first)",
    "first-expiry lots first within each depot",
]


@dataclass(slots=True)
class _Source:
    key: str  # "depot:CODE" or "agreement:CODE"
    code: str
    kind: SourceKind
    lat: float
    lon: float
    ready_hours: float
    supply: dict[str, int]
    speed_cap_kmh: float | None
    kg_hours: float = 0.0  # fleet budgets until the deadline (depots only)
    m3_hours: float = 0.0
    has_fleet: bool = True


@dataclass(slots=True)
class _Arc:
    source: int
    shelter: int
    item: str
    arrival: float
    travel: float


def _sources(problem: Problem) -> list[_Source]:
    out: list[_Source] = []
    supply: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for lot in problem.lots:
        if lot.qty > 0 and (lot.expires_on is None or lot.expires_on >= problem.today):
            supply[lot.depot][lot.item] += lot.qty
    fleet = defaultdict(list)
    for v in problem.fleet:
        if v.count > 0:
            fleet[v.depot].append(v)
    for depot in problem.depots:
        if not supply.get(depot.code):
            continue
        vehicles = fleet.get(depot.code, [])
        out.append(
            _Source(
                key=f"depot:{depot.code}",
                code=depot.code,
                kind=SourceKind.DEPOT,
                lat=depot.lat,
                lon=depot.lon,
                ready_hours=depot.loading_hours,
                supply=dict(supply[depot.code]),
                speed_cap_kmh=max((v.speed_kmh for v in vehicles), default=60.0),
                has_fleet=bool(vehicles),
                kg_hours=sum(v.count * v.capacity_kg for v in vehicles),
                m3_hours=sum(v.count * v.capacity_m3 for v in vehicles),
            )
        )
    for ag in problem.agreements:
        if ag.qty > 0:
            out.append(
                _Source(
                    key=f"agreement:{ag.code}",
                    code=ag.code,
                    kind=SourceKind.AGREEMENT,
                    lat=ag.lat,
                    lon=ag.lon,
                    ready_hours=ag.lead_time_hours,
                    supply={ag.item: ag.qty},
                    speed_cap_kmh=None,
                )
            )
    return out


def solve_allocation(
    problem: Problem,
    params: AllocationParams = AllocationParams(),
    *,
    time_limit_s: float = 10.0,
    deadline_hours: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> Plan:
    """Plan shipments from depots and agreement reserves to shelters.

    Parameters
    ----------
    problem
        The disaster and what we hold.
    params
        Backend and stage settings.
    time_limit_s
        Wall-clock budget for building and solving; never exceeded by more than the last
        solver call's own overrun.
    deadline_hours
        Overrides `problem.deadline_hours`.

    Returns
    -------
    Plan
        With `status` optimal, feasible (with `gap`), infeasible or timed_out.
    """
    if time_limit_s <= 0:
        raise ValueError("time_limit_s: must be positive")
    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    deadline = problem.deadline_hours if deadline_hours is None else deadline_hours
    if deadline <= 0:
        raise ValueError("deadline_hours: must be positive")

    say("travel times")
    sources = _sources(problem)
    shelters = list(problem.shelters)
    times = travel_times(
        problem,
        [Place(s.key, s.lat, s.lon, s.speed_cap_kmh) for s in sources],
        [Place(h.code, h.lat, h.lon) for h in shelters],
    )
    need_list = needs(problem)
    need = {(n.shelter, n.item): n for n in need_list}
    sh_index = {h.code: j for j, h in enumerate(shelters)}

    arcs = _on_time_arcs(sources, shelters, times, need_list, sh_index, deadline, params)
    farthest: dict[int, float] = defaultdict(float)
    for a in arcs:
        farthest[a.source] = max(farthest[a.source], a.travel)
    for i, s in enumerate(sources):  # vehicles drive until the deadline; last leg one-way
        if s.kind == SourceKind.DEPOT:
            window = max(deadline - s.ready_hours + farthest[i], 0.0)
            s.kg_hours *= window
            s.m3_hours *= window

    say(f"model: {len(arcs):,} on-time arcs")
    status, gap, flows, notes = _solve(
        problem, sources, shelters, arcs, need, deadline, params, started, time_limit_s, say
    )
    pool = _LotPool(problem)
    shipments = _lots_first_expiry(problem, sources, arcs, flows, pool)
    late = _late_shipments(deadline, sources, shelters, times, need, shipments, pool)
    shipments.extend(late)
    plan_shelters = _shelter_plans(
        problem, sources, shelters, times, need, shipments, deadline, arcs, flows
    )
    return Plan(
        name=problem.name,
        status=status,
        deadline_hours=deadline,
        solve_seconds=time.perf_counter() - started,
        gap=gap,
        shelters=plan_shelters,
        shipments=sorted(shipments, key=lambda s: (s.arrival_hours, s.shelter, s.item)),
        sources=_source_records(sources),
        objective_order=OBJECTIVE_ORDER,
        notes=notes,
    )


def _source_records(sources: list[_Source]) -> list[dict[str, Any]]:
    """The sources as the Plan reports them (JSON, GeoJSON and the map use these)."""
    return [
        {
            "code": s.code,
            "kind": s.kind.value,
            "lat": s.lat,
            "lon": s.lon,
            "ready_hours": round(s.ready_hours, 3),
            "supply": s.supply,
        }
        for s in sources
    ]


def _on_time_arcs(
    sources: list[_Source],
    shelters: list,
    times: TravelTimes,
    need_list: list[Need],
    sh_index: dict[str, int],
    deadline: float,
    params: AllocationParams,
) -> list[_Arc]:
    by_item: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sources):
        if s.kind == SourceKind.DEPOT and not s.has_fleet:
            continue
        for item in s.supply:
            by_item[item].append(i)
    arcs: list[_Arc] = []
    for n in need_list:
        j = sh_index[n.shelter]
        cands = []
        for i in by_item.get(n.item, []):
            travel = float(times.hours[i, j])
            arrival = sources[i].ready_hours + travel
            if arrival <= deadline + EPS:
                cands.append(_Arc(i, j, n.item, arrival, travel))
        cands.sort(key=lambda a: a.arrival)
        if params.max_sources_per_need is not None:
            cands = cands[: params.max_sources_per_need]
        arcs.extend(cands)
    return arcs


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Keep native solver chatter off stdout, where `relief plan --json` writes the plan."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _whole_units(
    arcs: list[_Arc],
    x: dict[int, pywraplp.Variable],
    sources: list[_Source],
    shelters: list,
    need: dict[tuple[str, str], Need],
) -> dict[int, int]:
    """Round the LP flows to whole units without losing a shelter the model served.

    Flows are floored; then each shelter and item gets back the units it lost to rounding
    from the arcs with the largest fractional parts, while their source has stock left.
    Supply and need are never exceeded; a fleet budget may be by at most one unit per arc.
    """
    value = {k: max(v.solution_value(), 0.0) for k, v in x.items()}
    whole = {k: math.floor(v + 1e-6) for k, v in value.items()}
    left: dict[tuple[int, str], int] = {
        (i, item): qty for i, s in enumerate(sources) for item, qty in s.supply.items()
    }
    into: dict[tuple[int, str], list[int]] = defaultdict(list)
    for k, a in enumerate(arcs):
        left[(a.source, a.item)] -= whole[k]
        into[(a.shelter, a.item)].append(k)
    for (j, item), ks in into.items():
        wanted = min(
            need[(shelters[j].code, item)].qty, math.ceil(sum(value[k] for k in ks) - 1e-6)
        )
        missing = wanted - sum(whole[k] for k in ks)
        for k in sorted(ks, key=lambda k: whole[k] - value[k]):
            if missing <= 0:
                break
            key = (arcs[k].source, item)
            if value[k] - whole[k] > 1e-6 and left[key] > 0:
                whole[k] += 1
                left[key] -= 1
                missing -= 1
    return whole


def _solve(
    problem: Problem,
    sources: list[_Source],
    shelters: list,
    arcs: list[_Arc],
    need: dict[tuple[str, str], Need],
    deadline: float,
    params: AllocationParams,
    started: float,
    time_limit_s: float,
    say: Callable[[str], None],
) -> tuple[SolveStatus, float | None, dict[int, int], list[str]]:
    notes: list[str] = []
    if not arcs:
        notes.append("no source can reach any shelter by the deadline")
        return SolveStatus.OPTIMAL, 0.0, {}, notes
    solver = pywraplp.Solver.CreateSolver(params.solver)
    if solver is None:  # pragma: no cover - backends ship with ortools
        raise ValueError(f"solver: backend {params.solver!r} is not available")
    solver.SuppressOutput()
    weight = {it.code: it.unit_weight_kg for it in problem.items}
    volume = {it.code: it.unit_volume_m3 for it in problem.items}

    x: dict[int, pywraplp.Variable] = {}
    into: dict[tuple[int, str], list[int]] = defaultdict(list)
    out_of: dict[tuple[int, str], list[int]] = defaultdict(list)
    for k, a in enumerate(arcs):
        cap = min(sources[a.source].supply[a.item], need[(shelters[a.shelter].code, a.item)].qty)
        x[k] = solver.NumVar(0, cap, "")
        into[(a.shelter, a.item)].append(k)
        out_of[(a.source, a.item)].append(k)

    # Rows are built coefficient by coefficient: expression sums are far slower at scale.
    def row(lb: float, ub: float, terms: list[tuple[int, float]]) -> pywraplp.Constraint:
        con = solver.Constraint(lb, ub)
        for k, coef in terms:
            con.SetCoefficient(x[k], coef)
        return con

    inf = solver.infinity()
    for (i, item), ks in out_of.items():
        row(-inf, sources[i].supply[item], [(k, 1.0) for k in ks])
    for (j, item), ks in into.items():
        row(-inf, need[(shelters[j].code, item)].qty, [(k, 1.0) for k in ks])
    fleet_load: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    for k, a in enumerate(arcs):
        s = sources[a.source]
        if s.kind == SourceKind.DEPOT:
            fleet_load[a.source].append(
                (k, weight[a.item] * 2 * a.travel, volume[a.item] * 2 * a.travel)
            )
    for i, loads in fleet_load.items():
        row(-inf, sources[i].kg_hours, [(k, w) for k, w, _ in loads])
        row(-inf, sources[i].m3_hours, [(k, v) for k, _, v in loads])

    position = {h.code: j for j, h in enumerate(shelters)}
    critical: dict[int, list[str]] = defaultdict(list)
    for (code, item), n in need.items():
        if n.critical:
            critical[position[code]].append(item)
    y: dict[int, pywraplp.Variable] = {}
    for j, items in critical.items():
        if all(into.get((j, item)) for item in items):
            y[j] = solver.BoolVar("")
            for item in items:
                con = row(0.0, inf, [(k, 1.0) for k in into[(j, item)]])
                con.SetCoefficient(y[j], -need[(shelters[j].code, item)].qty)

    def remaining() -> float:
        return time_limit_s - (time.perf_counter() - started)

    def run(share: float, stage: str) -> int:
        budget = max(remaining() * share, 0.05)
        solver.SetTimeLimit(int(budget * 1000))
        say(f"solving: {stage} ({budget:.1f} s at most)")
        mp = pywraplp.MPSolverParameters()
        mp.SetDoubleParam(pywraplp.MPSolverParameters.RELATIVE_MIP_GAP, params.relative_gap)
        with _stdout_to_stderr():  # HiGHS prints banners on the C stdout whatever we ask
            return solver.Solve(mp)

    def keep_hint() -> None:
        if params.solver == "HIGHS":  # its pywraplp interface crashes on hints (ortools 9.15)
            return
        variables = list(x.values()) + list(y.values())
        solver.SetHint(variables, [v.solution_value() for v in variables])

    residents = {j: shelters[j].residents for j in y}
    obj = solver.Objective()
    for j, var in y.items():
        obj.SetCoefficient(var, residents[j])
    obj.SetMaximization()
    shares = params.stage_shares
    total_share = sum(shares)
    outcome = run(shares[0] / total_share, "residents served on time")
    if outcome not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        if outcome == pywraplp.Solver.INFEASIBLE:
            return SolveStatus.INFEASIBLE, None, {}, ["the model is infeasible"]
        return SolveStatus.TIMED_OUT, None, {}, ["no solution within the time limit"]
    status = SolveStatus.OPTIMAL if outcome == pywraplp.Solver.OPTIMAL else SolveStatus.FEASIBLE
    best = obj.Value()
    bound = obj.BestBound() if status == SolveStatus.FEASIBLE else best
    gap = (bound - best) / max(abs(bound), 1.0) if status == SolveStatus.FEASIBLE else 0.0
    flows = _whole_units(arcs, x, sources, shelters, need)

    # Stage 2: fairness among shelters some source reaches in time for every critical item.
    keep_hint()
    keep = solver.Constraint(math.floor(best + EPS), solver.infinity())
    for j, v in y.items():
        keep.SetCoefficient(v, residents[j])
    floor_share = solver.NumVar(0, 1, "")
    for j, items in critical.items():
        if j not in y:
            continue
        for item in items:
            q = need[(shelters[j].code, item)].qty
            con = row(0.0, inf, [(k, 1.0) for k in into[(j, item)]])
            con.SetCoefficient(floor_share, -q)
    obj.Clear()
    obj.SetCoefficient(floor_share, 1)
    obj.SetMaximization()
    outcome = run(shares[1] / (shares[1] + shares[2]), "fairness")
    if outcome in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
        flows = _whole_units(arcs, x, sources, shelters, need)
        fair = floor_share.solution_value()
        if outcome != pywraplp.Solver.OPTIMAL:
            notes.append("fairness stage stopped at its time limit")
        keep_hint()
        solver.Add(floor_share >= fair - 1e-6)
        # Stage 3: priority-weighted coverage, tie-broken by fewest tonne-hours.
        obj.Clear()
        max_priority = max((n.priority for n in need.values()), default=1)
        budget = sum(s.kg_hours for s in sources) or 1.0
        smallest = math.inf
        for k, a in enumerate(arcs):
            n = need[(shelters[a.shelter].code, a.item)]
            coef = (max_priority - n.priority + 1) * shelters[a.shelter].residents / n.qty
            smallest = min(smallest, coef)
            obj.SetCoefficient(x[k], coef)
        tie = 1e-3 * smallest / max(len(arcs), 1)
        for k, a in enumerate(arcs):
            if sources[a.source].kind == SourceKind.DEPOT:
                ton_hours = weight[a.item] * 2 * a.travel / budget
                obj.SetCoefficient(x[k], obj.GetCoefficient(x[k]) - tie * ton_hours)
        obj.SetMaximization()
        outcome = run(1.0, "coverage by priority")
        if outcome in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            flows = _whole_units(arcs, x, sources, shelters, need)
            if outcome != pywraplp.Solver.OPTIMAL:
                notes.append("coverage stage stopped at its time limit")
    else:
        notes.append("fairness stage found no solution in time; stage-1 plan kept")
    if status == SolveStatus.FEASIBLE:
        notes.append(f"residents-served stage stopped at its time limit, gap {gap:.2%}")
    return status, gap, flows, notes


class _LotPool:
    """Usable lots per depot and item, handed out soonest expiry first."""

    def __init__(self, problem: Problem) -> None:
        self.lots: dict[tuple[str, str], list[list]] = defaultdict(list)
        for lot in sorted(problem.lots, key=lambda t: (t.expires_on or date.max, t.lot)):
            if lot.qty > 0 and (lot.expires_on is None or lot.expires_on >= problem.today):
                self.lots[(lot.depot, lot.item)].append([lot.lot, lot.qty])

    def take(self, depot: str, item: str, qty: int) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for entry in self.lots[(depot, item)]:
            if qty == 0:
                break
            units = min(qty, entry[1])
            if units:
                entry[1] -= units
                qty -= units
                out.append((entry[0], units))
        return out


def _ship(
    source: _Source, pool: _LotPool, shelter: str, item: str, qty: int, arrival: float
) -> list[Shipment]:
    """Shipments for `qty` units: agreements ship as themselves, depots lot by lot."""
    if source.kind == SourceKind.AGREEMENT:
        return [
            Shipment(
                source.code, source.kind, None, shelter, item, qty, source.ready_hours, arrival
            )
        ]
    return [
        Shipment(source.code, source.kind, lot, shelter, item, units, source.ready_hours, arrival)
        for lot, units in pool.take(source.code, item, qty)
    ]


def _lots_first_expiry(
    problem: Problem,
    sources: list[_Source],
    arcs: list[_Arc],
    flows: dict[int, int],
    pool: _LotPool,
) -> list[Shipment]:
    """Turn the MIP's flows into shipments, soonest-arriving first."""
    out: list[Shipment] = []
    for k in sorted((k for k, q in flows.items() if q > 0), key=lambda k: arcs[k].arrival):
        a = arcs[k]
        out.extend(
            _ship(
                sources[a.source],
                pool,
                _shelter_code(problem, a.shelter),
                a.item,
                flows[k],
                a.arrival,
            )
        )
    return out


def _shelter_code(problem: Problem, j: int) -> str:
    return problem.shelters[j].code


def _late_shipments(
    deadline: float,
    sources: list[_Source],
    shelters: list,
    times: TravelTimes,
    need: dict[tuple[str, str], Need],
    shipped: list[Shipment],
    pool: _LotPool,
) -> list[Shipment]:
    """Leftover stock to still-unmet needs, earliest arrival first (late beats unmet)."""
    index = {(s.kind, s.code): i for i, s in enumerate(sources)}
    left = {(i, item): qty for i, s in enumerate(sources) for item, qty in s.supply.items()}
    got: dict[tuple[str, str], int] = defaultdict(int)
    for sh in shipped:
        left[(index[(sh.source_kind, sh.source)], sh.item)] -= sh.qty
        got[(sh.shelter, sh.item)] += sh.qty
    column = {h.code: j for j, h in enumerate(shelters)}
    # Arrival of a late trip per source: depots' vehicles are busy until the deadline (or
    # the MIP would have sent it on time), so their next trip leaves then.
    ready = np.array([s.ready_hours for s in sources])
    depot = np.array([s.kind == SourceKind.DEPOT for s in sources])
    fleetless = np.array([s.kind == SourceKind.DEPOT and not s.has_fleet for s in sources])
    arrival_all = ready[:, None] + times.hours
    arrival_all = np.where(
        depot[:, None], np.maximum(arrival_all, deadline + times.hours), arrival_all
    )
    holders: dict[str, np.ndarray] = {}
    for item in {item for (_, item) in need}:
        holders[item] = np.array(
            [i for i in range(len(sources)) if left.get((i, item), 0) > 0 and not fleetless[i]],
            dtype=int,
        )
    options = []
    for (code, item), n in need.items():
        candidates = holders[item]
        if got[(code, item)] >= n.qty or candidates.size == 0:
            continue
        arrivals = arrival_all[candidates, column[code]]
        nearest = np.argsort(arrivals)[:LATE_CANDIDATES]
        for r in nearest:
            if np.isfinite(arrivals[r]):
                options.append((float(arrivals[r]), n.priority, code, item, int(candidates[r])))
    options.sort()
    out: list[Shipment] = []
    for arrival, _, code, item, i in options:
        qty = min(need[(code, item)].qty - got[(code, item)], left[(i, item)])
        if qty <= 0:
            continue
        left[(i, item)] -= qty
        got[(code, item)] += qty
        out.extend(_ship(sources[i], pool, code, item, qty, arrival))
    return out


def _shelter_plans(
    problem: Problem,
    sources: list[_Source],
    shelters: list,
    times: TravelTimes,
    need: dict[tuple[str, str], Need],
    shipments: list[Shipment],
    deadline: float,
    arcs: list[_Arc],
    flows: dict[int, int],
) -> list[ShelterPlan]:
    on_time: dict[tuple[str, str], int] = defaultdict(int)
    late: dict[tuple[str, str], int] = defaultdict(int)
    last: dict[str, float] = {}
    for sh in shipments:
        if sh.arrival_hours <= deadline + EPS:
            on_time[(sh.shelter, sh.item)] += sh.qty
        else:
            late[(sh.shelter, sh.item)] += sh.qty
        last[sh.shelter] = max(last.get(sh.shelter, 0.0), sh.arrival_hours)
    weight = {it.code: it.unit_weight_kg for it in problem.items}
    volume = {it.code: it.unit_volume_m3 for it in problem.items}
    used_kg: dict[int, float] = defaultdict(float)
    used_m3: dict[int, float] = defaultdict(float)
    reach: dict[tuple[int, str], set[int]] = defaultdict(set)
    for k, a in enumerate(arcs):
        reach[(a.shelter, a.item)].add(a.source)
        used_kg[a.source] += flows.get(k, 0) * weight[a.item] * 2 * a.travel
        used_m3[a.source] += flows.get(k, 0) * volume[a.item] * 2 * a.travel
    full = {
        i
        for i, s in enumerate(sources)
        if s.kind == SourceKind.DEPOT
        and (used_kg[i] >= 0.98 * s.kg_hours or used_m3[i] >= 0.98 * s.m3_hours)
        and (s.kg_hours > 0)
    }
    holding: dict[str, list[int]] = defaultdict(list)
    for i, src in enumerate(sources):
        for item, qty in src.supply.items():
            if qty > 0:
                holding[item].append(i)
    holders_of = {item: np.array(rows, dtype=int) for item, rows in holding.items()}
    can_drive = np.array(
        [s.kind == SourceKind.AGREEMENT or s.has_fleet for s in sources], dtype=bool
    )
    ready = np.array([s.ready_hours for s in sources], dtype=float)
    by_shelter: dict[str, list[Need]] = defaultdict(list)
    for (code, _), n in need.items():
        by_shelter[code].append(n)
    out = []
    for j, h in enumerate(shelters):
        items = [
            ItemCoverage(
                n.item, n.qty, min(on_time[(h.code, n.item)], n.qty), late[(h.code, n.item)]
            )
            for n in by_shelter[h.code]
        ]
        crit = [c for c in items if need[(h.code, c.item)].critical]
        served = all(c.on_time >= c.need for c in crit)
        plan = ShelterPlan(
            h.code, h.name, h.lat, h.lon, h.residents, served, last.get(h.code), items
        )
        plan.reasons = _reasons(
            sources,
            j,
            h.code,
            times,
            need,
            items,
            deadline,
            reach,
            full,
            holders_of,
            can_drive,
            ready,
        )
        out.append(plan)
    return out


def _reasons(
    sources: list[_Source],
    j: int,
    code: str,
    times: TravelTimes,
    need: dict[tuple[str, str], Need],
    items: list[ItemCoverage],
    deadline: float,
    reach_in_time: dict[tuple[int, str], set[int]],
    fleet_full: set[int],
    holders_of: dict[str, np.ndarray],
    can_drive: np.ndarray,
    ready: np.ndarray,
) -> list[str]:
    """Why a shelter is short, one line per cause, naming the items each cause affects.

    Causes, most basic first: unreachable, no stock, no vehicle, deadline, fleet capacity,
    shortage. Critical items are marked with `*`.
    """
    column = times.hours[:, j] if len(sources) else np.array([])
    if len(column) and not np.isfinite(column).any():
        return ["unreachable: every road to the shelter is closed"]
    causes: dict[str, list[str]] = {}
    for c in items:
        if c.on_time >= c.need:
            continue
        star = "*" if need[(code, c.item)].critical else ""
        short = f"{c.item}{star} {c.on_time}/{c.need}"
        holders = holders_of.get(c.item, _NONE)
        reach = holders[np.isfinite(column[holders])]
        usable = reach[can_drive[reach]]
        soonest = float((ready[usable] + column[usable]).min()) if usable.size else np.inf
        if not holders.size:
            cause = "no stock: no depot or agreement holds"
        elif not reach.size:
            cause = "unreachable: no source that holds it can reach the shelter by road"
        elif not usable.size:
            cause = "no vehicle: the depots that hold it have no fleet"
        elif soonest > deadline + EPS:
            cause = f"deadline: the soonest can arrive at {soonest:.1f} h"
        elif busy := sorted(sources[i].code for i in reach_in_time[(j, c.item)] & fleet_full):
            cause = f"fleet capacity: vehicles of {', '.join(busy)} fully used by {deadline:g} h"
        else:
            cause = f"shortage: all that can arrive by {deadline:g} h is allocated"
        causes.setdefault(cause, []).append(short)
    return [f"{cause} ({', '.join(shorts)} on time)" for cause, shorts in causes.items()]
