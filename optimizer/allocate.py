"""The 10-hour allocation: which source sends how much of what to which shelter.

Lexicographic objectives, by sequential solves, each stage keeping what the one before won:

1. residents in shelters whose critical needs all arrive by the deadline (max);
2. fairness: the least on-time share of any critical item at any shelter that some source
   can reach in time (max);
3. priority-weighted on-time coverage (max), with vehicle tonne-hours as a tie-break whose
   weight cannot outweigh one unit of coverage;
4. late units over unmet ones (earliest arrival first), then first-expiry lots.

Why it is fast. A shelter's critical need is residents × norm, so every resident served
costs the same kit of critical items wherever the shelter is: the LP relaxation of stage 1
is nearly integral (on the province benchmark one shelter of 3,000 is fractional). Stage 1
therefore solves the LP, then a small MIP over the arcs the LP used, whose optimum is
compared with the LP's bound: the reported gap is a proven one. Stages 2 and 3 keep stage
1's served shelters and are LPs, made whole by a MIP over their support.

Why it scales. Shelters whose arrival times from every source differ by at most
`cluster_hours` (and which the same sources reach in time) share their flow variables; a
cluster's arcs use its members' *longest* drive, so every plan of the clustered model is
feasible for the real one; the same model with the *shortest* drive is a relaxation whose
LP bound enters the gap. Small instances are solved unclustered (exactly).

Each depot's fleet bounds what it can deliver in time: its trucks shuttle between the depot
and a shelter a whole number of times by the deadline (`optimizer.sources.deliveries`), so a
unit sent there takes that fraction of a truck's capacity. Depot stock is pooled per depot
and item; lots are assigned afterwards, first expiry first.
"""

import math
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver.python import model_builder as mb
from scipy.cluster.hierarchy import fcluster, linkage

from optimizer.coverage import late_shipments, shelter_plans
from optimizer.demand import Need, needs
from optimizer.lp import Rows, quiet_stdout
from optimizer.params import AllocationParams
from optimizer.plan import Plan, Shipment, SolveStatus, SourceKind
from optimizer.problem import Problem
from optimizer.sources import (
    EPS,
    LotPool,
    Reach,
    Source,
    deliveries,
    en_route_shipments,
    reach,
    ship,
    source_records,
)

OBJECTIVE_ORDER = [
    "residents whose critical needs all arrive by the deadline",
    "least on-time share among reachable shelters (fairness)",
    "priority-weighted on-time coverage, then fewest vehicle tonne-hours",
    "late units over unmet ones (earliest arrival first)",
    "first-expiry lots first within each depot",
]
#: Above this many on-time critical arcs, shelters are clustered (unless told otherwise).
EXACT_ARCS = 150_000
#: Cluster width used above EXACT_ARCS, in hours of arrival time.
DEFAULT_CLUSTER_HOURS = 0.5
#: Share of the time limit kept for the work after the last solve.
POST_SHARE = 0.15
#: Relative gap at which the coverage stage's whole-unit model may stop.
COVERAGE_GAP = 1e-3
#: Nearest sources per group and critical item added to the LP's arcs for whole units.
STAGE1_NEAREST = 2
#: Sources per group and item offered to the coverage stage above EXACT_ARCS.
COVERAGE_SOURCES = 8
#: The full (not support-restricted) stage-1 MIP is tried only on models this small.
FULL_MIP_ARCS = 60_000
#: What a plan says when the time limit stopped one of its allocation's solver calls.
CUT_NOTE = (
    "the time limit stopped an allocation solve before its proof (a busy machine or too "
    "short a limit): another run may give another plan"
)
_LATE_CAP = 0.5  # arrivals later than deadline + this look alike when grouping
_BACKEND = {"SCIP": "scip", "HIGHS": "highs", "CP-SAT": "sat", "GLOP": "glop", "PDLP": "pdlp"}


# --------------------------------------------------------------------------- the data


@dataclass(slots=True)
class _Data:
    """The problem as arrays: sources × shelters × items."""

    srcs: list[Source]
    items: list[str]
    need: np.ndarray  # (J, C) whole units
    critical: np.ndarray  # (C,) bool
    priority_weight: np.ndarray  # (C,) max priority − priority + 1
    supply: np.ndarray  # (S, C)
    ready: np.ndarray  # (S,)
    hours: np.ndarray  # (S, J) driving hours, inf where unreachable
    in_time: np.ndarray  # (S, J) a delivering source arrives by the deadline
    depot: np.ndarray  # (S,) bool
    weight: np.ndarray  # (C,) kg per unit
    volume: np.ndarray  # (C,) m³ per unit
    kg_capacity: np.ndarray  # (S,) all trucks of a depot
    m3_capacity: np.ndarray  # (S,)
    extra: np.ndarray  # (S,) hours per delivery cycle beyond driving
    kg_limit: np.ndarray  # (S,) on-time kg a depot's tours were seen to manage (inf: none)
    m3_limit: np.ndarray  # (S,)
    residents: np.ndarray  # (J,)
    deadline: float
    tier: np.ndarray  # (S,) index into `tiers` of a depot's tier with a first-batch target, -1
    tiers: list[str]  # tiers with a first-batch target
    batch_hours: np.ndarray  # (S,) latest first arrival for the tier's target (since t = 0)


@dataclass(slots=True)
class _Clusters:
    label: np.ndarray  # (J,) cluster of each shelter
    count: int
    far: np.ndarray  # (S, G) longest drive to a member: the feasible model
    near: np.ndarray  # (S, G) shortest drive: the relaxation
    ok: np.ndarray  # (S, G) in time for every member: the feasible model's arcs
    ok_any: np.ndarray  # (S, G) in time for some member: the relaxation's arcs
    need: np.ndarray  # (G, C)
    residents: np.ndarray  # (G,)

    @property
    def exact(self) -> bool:
        return bool(np.array_equal(self.far, self.near) and np.array_equal(self.ok, self.ok_any))


@dataclass(slots=True)
class _Arcs:
    """Cluster-level arcs, one per (source, cluster, item) that arrives in time."""

    src: np.ndarray
    grp: np.ndarray
    item: np.ndarray

    def __len__(self) -> int:
        return len(self.src)

    def take(self, keep: np.ndarray) -> "_Arcs":
        return _Arcs(self.src[keep], self.grp[keep], self.item[keep])

    def keys(self, groups: int, items: int) -> np.ndarray:
        return (self.src * groups + self.grp) * items + self.item


def _data(
    problem: Problem,
    srcs: list[Source],
    hours: np.ndarray,
    deadline: float,
    limits: Mapping[str, tuple[float, float]] | None = None,
    blocked: Collection[tuple[str, str]] = (),
) -> _Data:
    items = [n.item for n in problem.norms]
    col = {code: c for c, code in enumerate(items)}
    row = {h.code: j for j, h in enumerate(problem.shelters)}
    need = np.zeros((len(problem.shelters), len(items)), dtype=np.int64)
    for n in needs(problem):
        need[row[n.shelter], col[n.item]] = n.qty
    for e in problem.en_route:  # loads on the road that arrive in time need no more stock
        if e.arrival_hours <= deadline + EPS and e.shelter in row and e.item in col:
            j, c = row[e.shelter], col[e.item]
            need[j, c] = max(need[j, c] - e.qty, 0)
    specs = {it.code: it for it in problem.items}
    priorities = np.array([n.priority for n in problem.norms], dtype=float)
    supply = np.zeros((len(srcs), len(items)))
    for i, s in enumerate(srcs):
        for item, qty in s.supply.items():
            if item in col:
                supply[i, col[item]] = qty
    ready = np.array([s.ready_hours for s in srcs], dtype=float)
    deliver = np.array([s.can_deliver for s in srcs], dtype=bool)
    hours = hours.reshape(len(srcs), len(problem.shelters))
    limits = limits or {}
    in_time = (ready[:, None] + hours <= deadline + EPS) & deliver[:, None]
    if blocked:
        src_row = {s.code: i for i, s in enumerate(srcs) if s.kind == SourceKind.DEPOT}
        for code, shelter in blocked:
            if code in src_row and shelter in row:
                in_time[src_row[code], row[shelter]] = False

    targets = dict(problem.first_batch_hours)
    tiers = sorted(targets)
    depot_tier = {dp.code: dp.tier for dp in problem.depots}
    tier_of = [depot_tier.get(s.code, "") if s.kind == SourceKind.DEPOT else "" for s in srcs]

    def limit(s: Source) -> tuple[float, float]:
        if s.kind != SourceKind.DEPOT:
            return (math.inf, math.inf)
        return limits.get(s.code, (math.inf, math.inf))

    return _Data(
        srcs=srcs,
        items=items,
        need=need,
        critical=np.array([n.critical for n in problem.norms], dtype=bool),
        priority_weight=(priorities.max(initial=1) - priorities + 1),
        supply=supply,
        ready=ready,
        hours=hours,
        in_time=in_time,
        depot=np.array([s.kind == SourceKind.DEPOT for s in srcs], dtype=bool),
        weight=np.array([specs[c].unit_weight_kg for c in items]),
        volume=np.array([specs[c].unit_volume_m3 for c in items]),
        kg_capacity=np.array([s.kg_capacity for s in srcs], dtype=float),
        m3_capacity=np.array([s.m3_capacity for s in srcs], dtype=float),
        extra=np.array([s.cycle_extra_hours for s in srcs], dtype=float),
        kg_limit=np.array([limit(s)[0] for s in srcs], dtype=float),
        m3_limit=np.array([limit(s)[1] for s in srcs], dtype=float),
        residents=np.array([h.residents for h in problem.shelters], dtype=float),
        deadline=deadline,
        tier=np.array([tiers.index(t) if t in targets else -1 for t in tier_of], dtype=np.int64),
        tiers=tiers,
        batch_hours=np.array(
            [problem.now_hours + targets[t] if t in targets else -np.inf for t in tier_of]
        ),
    )


def _critical_arc_count(d: _Data) -> int:
    crit = np.flatnonzero(d.critical)
    has = d.supply[:, crit] > 0  # (S, Cc)
    wants = d.need[:, crit] > 0  # (J, Cc)
    per_item = d.in_time.astype(np.int64).T @ has.astype(np.int64)  # (J, Cc) sources
    return int((per_item * wants).sum())


def _clusters(d: _Data, hours_wide: float) -> _Clusters:
    """Group shelters whose arrival times from every source differ by ≤ `hours_wide`.

    Complete linkage under the Chebyshev distance bounds every pair in a group, so a group's
    longest and shortest drives from a source differ by at most `hours_wide` (arrivals well
    after the deadline count as equal: they matter to no on-time arc). With `hours_wide` 0
    only identical shelters are grouped, and the model is exact.
    """
    deliver = np.array([s.can_deliver for s in d.srcs], dtype=bool)
    cap = d.deadline + _LATE_CAP
    arrival = np.where(deliver[:, None], np.minimum(d.ready[:, None] + d.hours, cap), cap).T
    n = arrival.shape[0]
    if n > 1 and hours_wide > 0:
        tree = linkage(arrival, method="complete", metric="chebyshev")
        label = fcluster(tree, t=hours_wide, criterion="distance") - 1
    elif n:
        _, label = np.unique(arrival, axis=0, return_inverse=True)
        label = label.ravel()
    else:
        label = np.zeros(0, dtype=int)
    count = int(label.max()) + 1 if n else 0
    order = np.argsort(label, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(label[order]) > 0]) if n else np.zeros(0, int)
    hours = np.where(np.isfinite(d.hours), d.hours, np.inf)[:, order]
    if len(d.srcs) and n:
        far = np.maximum.reduceat(hours, starts, axis=1)
        near = np.minimum.reduceat(hours, starts, axis=1)
        ok = np.logical_and.reduceat(d.in_time[:, order], starts, axis=1)
        ok_any = np.logical_or.reduceat(d.in_time[:, order], starts, axis=1)
    else:
        far = near = np.zeros((len(d.srcs), count))
        ok = ok_any = np.zeros((len(d.srcs), count), dtype=bool)
    need = np.zeros((count, d.need.shape[1]))
    np.add.at(need, label, d.need)
    residents = np.bincount(label, weights=d.residents, minlength=count)
    return _Clusters(label, count, far, near, ok, ok_any, need, residents)


def _arcs(
    d: _Data,
    cl: _Clusters,
    items: np.ndarray,
    relaxed: bool = False,
    nearest: int | None = None,
) -> _Arcs:
    """On-time arcs of the feasible model (or the relaxation's), optionally only each
    group's `nearest` sources per item."""
    ok = cl.ok_any if relaxed else cl.ok
    parts = []
    for c in items:
        mask = ok & (d.supply[:, c] > 0)[:, None] & (cl.need[:, c] > 0)[None, :]
        if nearest is not None and nearest < mask.shape[0]:
            drive = np.where(mask, cl.far, np.inf)
            rank = np.argsort(np.argsort(drive, axis=0, kind="stable"), axis=0)
            mask &= rank < nearest
        ii, gg = np.nonzero(mask)
        parts.append((ii, gg, np.full(len(ii), c)))
    if not parts:
        return _Arcs(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int))
    return _Arcs(*(np.concatenate([p[k] for p in parts]) for k in range(3)))


# --------------------------------------------------------------------------- models


@dataclass(slots=True)
class _Result:
    ok: bool  # a solution is available
    optimal: bool
    values: np.ndarray
    objective: float
    bound: float


#: Set by `solve_allocation` for its solver calls: whether any was stopped by its time limit
#: (then its answer, and the plan's, may differ on another run or machine).
_CUT: ContextVar[list[bool] | None] = ContextVar("allocation_cut", default=None)


def _solve(model: mb.Model, backend: str, seconds: float, gap: float = 0.0) -> _Result:
    solver = mb.Solver(_BACKEND[backend])
    limit = max(seconds, 0.05)
    solver.set_time_limit_in_seconds(limit)
    if gap > 0 and backend == "SCIP":
        solver.set_solver_specific_parameters(f"limits/gap = {gap}")
    elif gap > 0 and backend == "HIGHS":
        solver.set_solver_specific_parameters(f"mip_rel_gap={gap}")
    began = time.perf_counter()
    with quiet_stdout():
        status = solver.solve(model)
    cut = _CUT.get()
    if cut is not None and status != mb.SolveStatus.OPTIMAL:
        # Not proven (within `gap`) and out of time: the clock, not the model, ended it.
        cut.append(time.perf_counter() - began >= 0.9 * limit)
    ok = status in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE)
    if not ok:
        return _Result(False, False, np.zeros(0), math.nan, math.nan)
    values = solver.values(model.get_variables()).to_numpy(dtype=float)
    objective = float(solver.objective_value)
    bound = float(solver.best_objective_bound)
    if not math.isfinite(bound):
        bound = objective if status == mb.SolveStatus.OPTIMAL else math.inf
    return _Result(True, status == mb.SolveStatus.OPTIMAL, values, objective, bound)


def _common_rows(
    rows: Rows, d: _Data, arcs: _Arcs, drive: np.ndarray, items: np.ndarray
) -> np.ndarray:
    """Supply per source and item, and the fleet budgets; returns each arc's tonne-hours."""
    n = len(arcs)
    position = -np.ones(len(d.items), dtype=np.int64)
    position[items] = np.arange(len(items))
    first = rows.add(np.full(len(d.srcs) * len(items), -np.inf), d.supply[:, items].ravel())
    rows.terms(first + arcs.src * len(items) + position[arcs.item], np.arange(n), 1.0)
    on_road = np.flatnonzero(d.depot[arcs.src])
    src, grp = arcs.src[on_road], arcs.grp[on_road]
    hours = drive[src, grp]
    # A unit to a place its trucks can reach n times by the deadline takes 1/n of a
    # truck-capacity unit (see `optimizer.sources.fleet_use`).
    shuttles = np.maximum(deliveries(d.ready[src], hours, d.extra[src], d.deadline), 1.0)
    item = arcs.item[on_road]
    first = rows.add(np.full(len(d.srcs), -np.inf), d.kg_capacity)
    rows.terms(first + src, on_road, d.weight[item] / shuttles)
    first = rows.add(np.full(len(d.srcs), -np.inf), d.m3_capacity)
    rows.terms(first + src, on_road, d.volume[item] / shuttles)
    # What routing showed a depot's trucks can bring by the deadline, when it is known.
    for cap, per_unit in ((d.kg_limit, d.weight), (d.m3_limit, d.volume)):
        capped = np.flatnonzero(np.isfinite(cap))
        if capped.size:
            row = -np.ones(len(d.srcs), dtype=np.int64)
            row[capped] = rows.add(np.full(capped.size, -np.inf), cap[capped]) + np.arange(
                capped.size
            )
            limited = on_road[row[src] >= 0]
            rows.terms(row[arcs.src[limited]], limited, per_unit[arcs.item[limited]])
    tonne_hours = np.zeros(n)
    tonne_hours[on_road] = d.weight[item] * 2 * hours / 1000
    return tonne_hours


# --------------------------------------------------------------------------- stage 1


@dataclass(slots=True)
class _Stage1:
    served: np.ndarray  # (J,) bool
    flows: np.ndarray  # whole units per arc of `arcs`
    arcs: _Arcs
    best: float
    bound: float
    proven: bool  # the bound is a proven upper bound (an LP or MIP bound, not a timeout)


def _reachable(d: _Data, cl: _Clusters, arcs: _Arcs, crit: np.ndarray) -> np.ndarray:
    """Shelters every critical need of which some source can meet in time."""
    covered = np.zeros((cl.count, len(d.items)), dtype=bool)
    covered[arcs.grp, arcs.item] = True
    wants = cl.need[:, crit] > 0
    group_ok = np.asarray((covered[:, crit] | ~wants).all(axis=1))
    return group_ok[cl.label] & (d.residents > 0) & (d.need[:, crit] > 0).any(axis=1)


def _stage1_model(
    d: _Data,
    cl: _Clusters,
    arcs: _Arcs,
    drive: np.ndarray,
    ys: np.ndarray,
    crit: np.ndarray,
    integer: bool,
    y_range: tuple[np.ndarray, np.ndarray] | None = None,
    hint: np.ndarray | None = None,
) -> tuple[mb.Model, int]:
    """Stage 1 over `arcs`: flows x, then one y per shelter of `ys` (1 = served on time)."""
    n = len(arcs)
    rows = Rows(n + len(ys))
    link = -np.ones((cl.count, len(d.items)), dtype=np.int64)
    gg, cc = np.nonzero(cl.need[:, crit] > 0)
    cc = crit[cc]
    first = rows.add(np.zeros(len(gg)), np.full(len(gg), np.inf))
    link[gg, cc] = first + np.arange(len(gg))
    rows.terms(link[arcs.grp, arcs.item], np.arange(n), 1.0)
    for c in crit:
        has = np.flatnonzero(d.need[ys, c] > 0)
        rows.terms(link[cl.label[ys[has]], c], n + has, -d.need[ys[has], c])
    _common_rows(rows, d, arcs, drive, crit)
    cap = np.minimum(cl.need[arcs.grp, arcs.item], d.supply[arcs.src, arcs.item])
    y_lo, y_hi = y_range if y_range is not None else (np.zeros(len(ys)), np.ones(len(ys)))
    var_lo = np.concatenate([np.zeros(n), y_lo])
    var_hi = np.concatenate([cap, y_hi])
    objective = np.concatenate([np.zeros(n), d.residents[ys]])
    model = rows.model(
        var_lo, var_hi, objective, np.ones(n + len(ys), bool) if integer else None, hint
    )
    return model, n


def _stage1(
    d: _Data,
    cl: _Clusters,
    params: AllocationParams,
    seconds: Callable[[], float],
    say: Callable[[str], None],
) -> _Stage1 | None:
    """Residents served on time: LP, then an integer model over the LP's support."""
    crit = np.flatnonzero(d.critical)
    arcs = _arcs(d, cl, crit)
    ys = np.flatnonzero(_reachable(d, cl, arcs, crit))
    bound, proven = 0.0, True
    if not cl.exact:
        wide = _arcs(d, cl, crit, relaxed=True)
        everyone = np.flatnonzero(_reachable(d, cl, wide, crit))
        if len(wide) and len(everyone):
            say(f"stage 1 bound: {len(wide):,} arcs in time for some member, shortest drives")
            relaxed, _ = _stage1_model(d, cl, wide, cl.near, everyone, crit, integer=False)
            upper = _solve(relaxed, params.lp_solver, seconds())
            bound, proven = (upper.objective, upper.optimal) if upper.ok else (math.inf, False)
    if not len(arcs) or not len(ys):
        served = np.zeros(len(d.residents), dtype=bool)
        return _Stage1(served, np.zeros(0), arcs, 0.0, bound, proven)
    say(f"stage 1 LP: {len(arcs):,} on-time arcs, {cl.count:,} shelter groups")
    model, n = _stage1_model(d, cl, arcs, cl.far, ys, crit, integer=False)
    lp = _solve(model, params.lp_solver, seconds())
    if not lp.ok:
        return None
    if cl.exact:
        bound, proven = lp.objective, lp.optimal

    # The LP's arcs alone rarely let whole units fill shelters exactly; each group's
    # nearest sources give the integer model that room at little cost (city benchmark:
    # 37,417 residents from the LP's arcs, 37,818 = the LP bound with the 2 nearest).
    near = _arcs(d, cl, crit, nearest=STAGE1_NEAREST).keys(cl.count, len(d.items))
    offered = (lp.values[:n] > EPS) | np.isin(arcs.keys(cl.count, len(d.items)), near)
    support = np.flatnonzero(offered)
    say(f"stage 1 whole units: {len(support):,} arcs (the LP's and the nearest)")
    small = arcs.take(support)
    # Whole units, from cheap to thorough, each step only while the gap is above target:
    # (1) over those arcs, with the shelters the LP serves whole kept served (what is left
    # is which of the rest fill the remaining stock, a small problem); (2) the same arcs,
    # nothing kept; (3) every arc, on models small enough. A fixed step's own bound says
    # nothing of the real optimum; the others' do when their arcs are all the model's.
    lp_y = lp.values[n:]
    attempts = [(small, np.where(lp_y > 1 - EPS, 1.0, 0.0)), (small, None)]
    if len(small) < len(arcs) <= FULL_MIP_ARCS:
        attempts.append((arcs, None))
    best_arcs, flows, y, best = small, np.zeros(len(small)), np.zeros(len(ys)), 0.0
    for offered_arcs, keep_served in attempts:
        top = math.floor(bound + 1e-6)
        if best > 0 and top - best <= params.relative_gap * max(top, 1):
            break
        if offered_arcs is arcs:
            say(f"stage 1 MIP over all {len(arcs):,} arcs")
        lo = np.zeros(len(ys)) if keep_served is None else keep_served
        hint = None
        if best > 0 and params.solver != "HIGHS":  # HiGHS crashes on hints (OR-Tools 9.15)
            position = {k: r for r, k in enumerate(offered_arcs.keys(cl.count, len(d.items)))}
            hint = np.zeros(len(offered_arcs) + len(ys))
            for k, q in zip(best_arcs.keys(cl.count, len(d.items)), flows, strict=True):
                hint[position[k]] = q
            hint[len(offered_arcs) :] = y
        model, m = _stage1_model(
            d, cl, offered_arcs, cl.far, ys, crit, True, (lo, np.ones(len(ys))), hint
        )
        mip = _solve(model, params.solver, seconds(), params.relative_gap)
        if not mip.ok:
            continue
        if mip.objective > best + 0.5 or best == 0:
            best_arcs, flows, y, best = offered_arcs, mip.values[:m], mip.values[m:], mip.objective
        if keep_served is None and cl.exact and len(offered_arcs) == len(arcs):
            bound = min(bound, mip.bound)  # a bound of the real model
        say(f"stage 1: bound {bound:,.1f}, whole units {best:,.0f}")
    served = np.zeros(len(d.residents), dtype=bool)
    served[ys[y > 0.5]] = True
    return _Stage1(served, np.rint(flows), best_arcs, best, bound, proven)


# --------------------------------------------------------------------------- first batches


@dataclass(slots=True)
class _Batches:
    """(group, tier) pairs whose first batch of critical goods the plan keeps on target."""

    grp: np.ndarray
    tier: np.ndarray
    count: int  # shelters (group members) on target


def _early(d: _Data, cl: _Clusters, arcs: _Arcs) -> np.ndarray:
    """Which arcs bring a critical item from a tier with a target within it (a group's
    longest drive, so that every member's first batch is on time)."""
    src, grp = arcs.src, arcs.grp
    return (
        (d.tier[src] >= 0)
        & d.critical[arcs.item]
        & (d.ready[src] + cl.far[src, grp] <= d.batch_hours[src] + EPS)
    )


def _batch_rows(rows: Rows, d: _Data, cl: _Clusters, arcs: _Arcs, kept: _Batches) -> None:
    """At least one unit on an on-target arc of each kept (group, tier) pair."""
    if not len(kept.grp):
        return
    pair = -np.ones((cl.count, len(d.tiers)), dtype=np.int64)
    first = rows.add(np.ones(len(kept.grp)), np.full(len(kept.grp), np.inf))
    pair[kept.grp, kept.tier] = first + np.arange(len(kept.grp))
    on = np.flatnonzero(_early(d, cl, arcs))
    row = pair[arcs.grp[on], d.tier[arcs.src[on]]]
    use = row >= 0
    rows.terms(row[use], on[use], 1.0)


def _first_batches(
    d: _Data,
    cl: _Clusters,
    must: np.ndarray,
    params: AllocationParams,
    seconds: float,
) -> _Batches | None:
    """Most shelters whose first batch from each depot tier that can make its target does
    (county 6 h, city 8 h, province 10 h by default), keeping stage 1's served shelters.

    The LP's pairs with a whole unit on target are kept: the later stages must keep them.
    """
    crit = np.flatnonzero(d.critical)
    arcs = _arcs(d, cl, crit)
    early = np.flatnonzero(_early(d, cl, arcs))
    if not len(early):
        return _Batches(np.zeros(0, int), np.zeros(0, int), 0)
    pairs, which = np.unique(
        arcs.grp[early] * len(d.tiers) + d.tier[arcs.src[early]], return_inverse=True
    )
    n, k = len(arcs), len(pairs)
    rows = Rows(n + k)
    gg, cc = np.nonzero(must > 0)
    row = -np.ones_like(must, dtype=np.int64)
    first = rows.add(must[gg, cc], np.full(len(gg), np.inf))
    row[gg, cc] = first + np.arange(len(gg))
    keep = row[arcs.grp, arcs.item] >= 0
    rows.terms(row[arcs.grp[keep], arcs.item[keep]], np.flatnonzero(keep), 1.0)
    _common_rows(rows, d, arcs, cl.far, crit)
    first = rows.add(np.full(k, -np.inf), np.zeros(k))  # m_p ≤ on-target units of p
    rows.terms(first + np.arange(k), n + np.arange(k), 1.0)
    rows.terms(first + which, early, -1.0)
    members = np.bincount(cl.label, minlength=cl.count).astype(float)
    cap = np.minimum(cl.need[arcs.grp, arcs.item], d.supply[arcs.src, arcs.item])
    objective = np.concatenate([np.zeros(n), members[pairs // len(d.tiers)]])
    model = rows.model(np.zeros(n + k), np.concatenate([cap, np.ones(k)]), objective)
    result = _solve(model, params.lp_solver, seconds)
    if not result.ok:
        return None
    got = np.zeros(k)
    np.add.at(got, which, result.values[early])
    on = got >= 1 - EPS
    kept = pairs[on]
    return _Batches(
        kept // len(d.tiers), kept % len(d.tiers), int(members[kept // len(d.tiers)].sum())
    )


# --------------------------------------------------------------------------- stages 2-3


def _fixed_rows(
    d: _Data, cl: _Clusters, served: np.ndarray, reach: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per group and item: units the served members must get, and the others' need."""
    must = np.zeros_like(cl.need)
    rest = np.zeros_like(cl.need)
    crit = d.critical[None, :]
    np.add.at(must, cl.label[served], d.need[served] * crit)
    waiting = reach & ~served
    np.add.at(rest, cl.label[waiting], d.need[waiting] * crit)
    return must, rest


def _fairness(
    d: _Data,
    cl: _Clusters,
    arcs: _Arcs,
    must: np.ndarray,
    rest: np.ndarray,
    params: AllocationParams,
    seconds: float,
    batches: _Batches,
) -> tuple[float, _Arcs] | None:
    """The highest share of their critical needs every unserved reachable shelter can get,
    and the arcs that reach it."""
    n = len(arcs)
    rows = Rows(n + 1)
    _batch_rows(rows, d, cl, arcs, batches)
    gg, cc = np.nonzero(cl.need * d.critical[None, :] > 0)
    row = -np.ones_like(must, dtype=np.int64)
    first = rows.add(must[gg, cc], cl.need[gg, cc])
    row[gg, cc] = first + np.arange(len(gg))
    rows.terms(row[arcs.grp, arcs.item], np.arange(n), 1.0)
    waiting = np.flatnonzero(rest[gg, cc] > 0)
    rows.terms(first + waiting, np.full(len(waiting), n), -rest[gg[waiting], cc[waiting]])
    _common_rows(rows, d, arcs, cl.far, np.flatnonzero(d.critical))
    cap = np.minimum(cl.need[arcs.grp, arcs.item], d.supply[arcs.src, arcs.item])
    objective = np.zeros(n + 1)
    objective[n] = 1.0
    model = rows.model(np.zeros(n + 1), np.append(cap, 1.0), objective)
    result = _solve(model, params.lp_solver, seconds)
    if not result.ok:
        return None
    return float(result.values[n]), arcs.take(np.flatnonzero(result.values[:n] > EPS))


def _coverage_model(
    d: _Data,
    cl: _Clusters,
    arcs: _Arcs,
    floor_units: np.ndarray,
    integer: bool,
    batches: _Batches,
) -> mb.Model:
    n = len(arcs)
    rows = Rows(n)
    _batch_rows(rows, d, cl, arcs, batches)
    gg, cc = np.nonzero(cl.need > 0)
    row = -np.ones_like(floor_units, dtype=np.int64)
    first = rows.add(floor_units[gg, cc], cl.need[gg, cc])
    row[gg, cc] = first + np.arange(len(gg))
    rows.terms(row[arcs.grp, arcs.item], np.arange(n), 1.0)
    tonne_hours = _common_rows(rows, d, arcs, cl.far, np.arange(len(d.items)))
    per_unit = d.priority_weight[arcs.item] * cl.residents[arcs.grp]
    per_unit /= cl.need[arcs.grp, arcs.item]
    # One unit of coverage outweighs every tonne-hour of the plan together.
    tie = per_unit.min(initial=1.0) / max(tonne_hours.sum(), 1.0) * 1e-3
    cap = np.minimum(cl.need[arcs.grp, arcs.item], d.supply[arcs.src, arcs.item])
    return rows.model(
        np.zeros(n), cap, per_unit - tie * tonne_hours, np.ones(n, bool) if integer else None
    )


def _coverage(
    d: _Data,
    cl: _Clusters,
    first: _Stage1,
    must: np.ndarray,
    fair_units: np.ndarray,
    fair_arcs: _Arcs | None,
    params: AllocationParams,
    seconds: Callable[[], float],
    say: Callable[[str], None],
    notes: list[str],
    batches: _Batches,
) -> tuple[_Arcs, np.ndarray]:
    """Priority-weighted coverage of every item, stage 1's shelters and the fairness kept.

    On large models only each group's nearest sources per item are offered, plus the arcs
    stages 1 and 2 used (which alone keep their results feasible).
    """
    every = np.arange(len(d.items))
    arcs = _arcs(d, cl, every)
    if len(arcs) > EXACT_ARCS:
        keys = arcs.keys(cl.count, len(d.items))
        crit_arcs = _arcs(d, cl, np.flatnonzero(d.critical))
        chosen = [
            _arcs(d, cl, every, nearest=COVERAGE_SOURCES),
            first.arcs,
            crit_arcs.take(np.flatnonzero(_early(d, cl, crit_arcs))),  # first batches' arcs
        ]
        if fair_arcs is not None:
            chosen.append(fair_arcs)
        wanted = np.concatenate([a.keys(cl.count, len(d.items)) for a in chosen])
        pruned = arcs.take(np.flatnonzero(np.isin(keys, wanted)))
        say(f"stage 3: {len(pruned):,} of {len(arcs):,} arcs (nearest sources per item)")
        arcs = pruned
    say(f"stage 3 LP: {len(arcs):,} on-time arcs, all items")
    lp = _solve(
        _coverage_model(d, cl, arcs, must + fair_units, False, batches),
        params.lp_solver,
        seconds(),
    )
    if not lp.ok:
        notes.append("coverage stage found no solution in time; stage-1 flows kept")
        return first.arcs, first.flows
    # Whole units over the LP's support plus stage 1's arcs (which alone meet `must`).
    key = arcs.keys(cl.count, len(d.items))
    used = first.arcs.keys(cl.count, len(d.items))
    keep = np.flatnonzero((lp.values > EPS) | np.isin(key, used[first.flows > 0]))
    small = arcs.take(keep)
    if np.allclose(lp.values[keep], np.rint(lp.values[keep]), atol=1e-6):
        return small, np.rint(lp.values[keep])
    say(f"stage 3 whole units: {len(small):,} arcs")
    floor_units = must + np.floor(fair_units + EPS)
    # Half the stage's time at most: rounding the LP is the fallback, and it needs little.
    mip = _solve(
        _coverage_model(d, cl, small, floor_units, True, batches),
        params.solver,
        seconds() / 2,
        COVERAGE_GAP,
    )
    if mip.ok:
        return small, np.rint(mip.values)
    flows = _rounded(d, cl, small, lp.values[keep], must)
    notes.append("coverage stage: whole units by rounding the LP (the MIP found none in time)")
    return small, flows


def _rounded(
    d: _Data, cl: _Clusters, arcs: _Arcs, values: np.ndarray, must: np.ndarray
) -> np.ndarray:
    """LP flows floored, then rounded up where a served shelter's group would fall short.

    Floors keep supply, need and fleet; the few units put back (at most one per arc, where
    the LP had a fraction and the source has stock left) keep stage 1's shelters served.
    """
    flows = np.floor(values + 1e-6)
    left = d.supply.copy()
    np.subtract.at(left, (arcs.src, arcs.item), flows)
    got = np.zeros_like(cl.need)
    np.add.at(got, (arcs.grp, arcs.item), flows)
    short = np.argwhere(got < must - EPS)
    for g, c in short:
        missing = round(float(must[g, c] - got[g, c]))
        candidates = np.flatnonzero((arcs.grp == g) & (arcs.item == c))
        for k in candidates[np.argsort(flows[candidates] - values[candidates])]:
            if missing <= 0:
                break
            if values[k] - flows[k] > 1e-6 and left[arcs.src[k], c] >= 1:
                flows[k] += 1
                left[arcs.src[k], c] -= 1
                missing -= 1
    return flows


# --------------------------------------------------------------------------- shipments


def _split(
    d: _Data,
    cl: _Clusters,
    arcs: _Arcs,
    flows: np.ndarray,
    served: np.ndarray,
    problem: Problem,
    pool: LotPool,
) -> list[Shipment]:
    """Group flows to shelters: served members get their need, the rest shares in
    proportion to need; each source's units go to members soonest-arriving first."""
    members: dict[int, np.ndarray] = {}
    order = np.argsort(cl.label, kind="stable")
    bounds = np.searchsorted(cl.label[order], np.arange(cl.count + 1))
    for g in range(cl.count):
        members[g] = order[bounds[g] : bounds[g + 1]]
    by_key: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for k in np.flatnonzero(flows > 0.5):
        by_key[(int(arcs.grp[k]), int(arcs.item[k]))].append((int(arcs.src[k]), int(flows[k])))
    plan: list[tuple[float, int, int, int, int]] = []  # arrival, source, shelter, item, qty
    for (g, c), parts in by_key.items():
        who = members[g]
        want = d.need[who, c].astype(np.int64)
        total = sum(q for _, q in parts)
        give = np.zeros(len(who), dtype=np.int64)
        if d.critical[c]:
            first = served[who]
            give[first] = want[first]
        left = max(total - int(give.sum()), 0)
        open_ = (give < want) & (want > 0)
        if left and open_.any():
            share = min(left / want[open_].sum(), 1.0)
            exact = want[open_] * share
            part = np.floor(exact + 1e-9).astype(np.int64)
            spare = left - int(part.sum())
            for r in np.argsort(-(exact - part), kind="stable")[: max(spare, 0)]:
                if part[r] < want[open_][r]:
                    part[r] += 1
            give[open_] = part
        for i, qty in sorted(parts, key=lambda p: d.ready[p[0]] + cl.far[p[0], g]):
            for r in np.argsort(d.hours[i, who], kind="stable"):
                if qty == 0:
                    break
                units = int(min(qty, give[r]))
                if units:
                    give[r] -= units
                    qty -= units
                    j = int(who[r])
                    plan.append((float(d.ready[i] + d.hours[i, j]), i, j, c, units))
    out: list[Shipment] = []
    for arrival, i, j, c, qty in sorted(plan):
        out.extend(ship(d.srcs[i], pool, problem.shelters[j].code, d.items[c], qty, arrival))
    return out


# --------------------------------------------------------------------------- entry point


def solve_allocation(
    problem: Problem,
    params: AllocationParams = AllocationParams(),
    *,
    time_limit_s: float = 10.0,
    deadline_hours: float | None = None,
    progress: Callable[[str], None] | None = None,
    fleet_limits: Mapping[str, tuple[float, float]] | None = None,
    travel: Reach | None = None,
    blocked: Collection[tuple[str, str]] = (),
) -> Plan:
    """Plan shipments from depots and agreement reserves to shelters.

    Parameters
    ----------
    problem
        The disaster and what we hold.
    params
        Backends and stage settings.
    time_limit_s
        Wall-clock budget for everything; each solver call gets what is left of its
        stage's share, so the whole overruns only by what a solver overruns its own limit.
    deadline_hours
        Overrides `problem.deadline_hours`.
    fleet_limits
        Depot code -> (kg, m³) its trucks can bring by the deadline at most, beyond the
        shuttle model: what routing revealed (`optimizer.planner`).
    travel
        `optimizer.sources.reach(problem)`, when the caller has it already.
    blocked
        (depot code, shelter code) pairs that may not deliver on time: tours showed the
        depot's trucks could not bring that shelter's load by the deadline alongside the
        rest (`optimizer.planner`); they may still deliver late.

    Returns
    -------
    Plan
        With `status` optimal, feasible (with a proven `gap`), or timed_out (no solution
        in time: the plan then holds the greedy baseline's shipments, and says so).
    """
    if time_limit_s <= 0:
        raise ValueError("time_limit_s: must be positive")
    started = time.perf_counter()
    cut: list[bool] = []
    token = _CUT.set(cut)
    try:
        plan = _solve_allocation(
            problem, params, started, time_limit_s, deadline_hours, progress, fleet_limits,
            travel, blocked,
        )  # fmt: skip
    finally:
        _CUT.reset(token)
    if any(cut):
        plan.clock_cut = True
        plan.notes.append(CUT_NOTE)
    return plan


def _solve_allocation(
    problem: Problem,
    params: AllocationParams,
    started: float,
    time_limit_s: float,
    deadline_hours: float | None,
    progress: Callable[[str], None] | None,
    fleet_limits: Mapping[str, tuple[float, float]] | None,
    travel: Reach | None,
    blocked: Collection[tuple[str, str]],
) -> Plan:
    say = progress or (lambda _msg: None)
    deadline = problem.deadline_hours if deadline_hours is None else deadline_hours
    if deadline <= 0:
        raise ValueError("deadline_hours: must be positive")

    def left() -> float:
        return time_limit_s - (time.perf_counter() - started)

    say("travel times")
    travel = travel or reach(problem)
    srcs, times = travel.sources, travel.times
    d = _data(problem, srcs, times.hours, deadline, fleet_limits, blocked)
    width = params.cluster_hours
    if width is None:
        width = 0.0 if _critical_arc_count(d) <= EXACT_ARCS else DEFAULT_CLUSTER_HOURS
    cl = _clusters(d, width)
    shares = params.stage_shares
    # Turning flows into shipments, late trips and reasons takes time too (1.5 s on the
    # province benchmark): the stages end early enough to leave it.
    reserve = POST_SHARE * time_limit_s
    stage_end = [
        time.perf_counter() + (left() - reserve) * sum(shares[: k + 1]) / sum(shares)
        for k in range(3)
    ]

    def until(stage: int) -> Callable[[], float]:
        return lambda: max(min(stage_end[stage] - time.perf_counter(), left()), 0.05)

    notes: list[str] = []
    if width > 0:
        notes.append(
            f"{len(problem.shelters):,} shelters in {cl.count:,} groups of arrival times "
            f"within {width:g} h; the gap is against the groups' shortest-drive bound"
        )
    first = _stage1(d, cl, params, until(0), say)
    need = {(n.shelter, n.item): n for n in needs(problem)}
    pool = LotPool(problem)
    if first is None:
        from optimizer.greedy import greedy_shipments  # the fallback only

        status, gap = SolveStatus.TIMED_OUT, None
        notes.append("no solution within the time limit: the greedy baseline's plan is shown")
        shipments = greedy_shipments(problem, srcs, times.hours, list(need.values()), pool)
    else:
        top = math.floor(first.bound + 1e-6)
        gap = max((top - first.best) / max(top, 1), 0.0) if first.proven else None
        optimal = gap is not None and gap <= params.relative_gap
        status = SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE
        if gap is not None and not optimal:
            notes.append(f"residents served on time within {gap:.2%} of the bound")
        reachable = _reachable(
            d, cl, _arcs(d, cl, np.flatnonzero(d.critical)), np.flatnonzero(d.critical)
        )
        must, rest = _fixed_rows(d, cl, first.served, reachable)
        batches = _Batches(np.zeros(0, int), np.zeros(0, int), 0)
        if params.tiered_targets:
            say("stage 1b LP: first batches on target per depot tier")
            found_batches = _first_batches(d, cl, must, params, until(1)())
            if found_batches is None:
                notes.append("first-batch stage found no solution in time; not enforced")
            else:
                batches = found_batches
                notes.append(
                    f"first batches on target (--tiered-targets): {len(batches.grp):,} "
                    f"shelter-tier pairs kept on target after residents served"
                )
        fair, fair_arcs = 1.0, None
        if rest.sum() > 0:
            say("stage 2 LP: fairness")
            arcs = _arcs(d, cl, np.flatnonzero(d.critical))
            found = _fairness(d, cl, arcs, must, rest, params, until(1)(), batches)
            if found is None:
                notes.append("fairness stage found no solution in time; not enforced")
                fair = 0.0
            else:
                fair, fair_arcs = max(found[0] - 1e-7, 0.0), found[1]
        arcs, flows = _coverage(
            d, cl, first, must, fair * rest, fair_arcs, params, until(2), say, notes, batches
        )
        say("shipments")
        shipments = _split(d, cl, arcs, flows, first.served, problem, pool)
    shipments.extend(en_route_shipments(problem))
    shipments.extend(
        late_shipments(deadline, srcs, list(problem.shelters), times, need, shipments, pool)
    )
    return Plan(
        name=problem.name,
        status=status,
        deadline_hours=deadline,
        solve_seconds=time.perf_counter() - started,
        gap=gap,
        shelters=shelter_plans(problem, srcs, times, need, shipments, deadline),
        shipments=sorted(shipments, key=lambda s: (s.arrival_hours, s.shelter, s.item)),
        sources=source_records(srcs),
        objective_order=OBJECTIVE_ORDER,
        notes=notes,
    )


__all__ = ["OBJECTIVE_ORDER", "Need", "solve_allocation"]
