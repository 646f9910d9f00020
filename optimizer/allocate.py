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
LP bound enters the gap. Small instances are solved unclustered (exactly). Where the two
LPs stay apart, the groups that cost most are split and both LPs solved again from their
parents' arcs (`_refine`): a few rounds, bounded by work, took the province x 2 from 1.9 %
to under 0.1 %, and every round's relaxation is a valid bound.

Each depot's fleet bounds what it can deliver in time: its trucks shuttle between the depot
and a shelter a whole number of times by the deadline (`optimizer.sources.deliveries`), so a
unit sent there takes that fraction of a truck's capacity. Depot stock is pooled per depot
and item; lots are assigned afterwards, first expiry first.
"""

import contextvars
import math
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial

import numpy as np
from ortools.linear_solver.python import model_builder as mb
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial import cKDTree

from optimizer.arc_lp import (
    ROUNDS,
    ArcRows,
    ArcSpace,
    Cost,
    PricedLP,
    arc_entries,
    arc_objective,
    arc_upper,
    solve_priced,
)
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
#: Groups at most, where the planner picks the width: above, groups widen by half.
#: (The province x 2's 941 groups take 7 s per LP on a busy machine; x 4's 1,937 did not
#: finish stage 1 in a 120 s limit.)
MAX_GROUPS = 1_200
#: Shelters grouped by complete linkage up to this many, by leaders above (`_leaders`).
LINKAGE_UP_TO = 2_000
#: No road is faster: shelters farther apart than an hour of it arrive apart (for leaders).
LEADER_KMH = 130.0
#: Shelters kept apart (no groups) whatever their arcs, when the LPs are priced (HiGHS).
PRICED_EXACT_SHELTERS = 2_000
#: Cluster width used above EXACT_ARCS, in hours of arrival time.
DEFAULT_CLUSTER_HOURS = 0.5
#: Share of the time limit kept for the work after the last solve.
POST_SHARE = 0.15
#: ... and at least this per shelter (shipments, late trips, reasons: 2.5 s of the province
#: x 2's 6,000 shelters, 13 s of the x 4's 12,000 at load 4), up to half the limit.
POST_SECONDS_PER_SHELTER = 0.0015
#: Relative gap at which the coverage stage's whole-unit model may stop.
COVERAGE_GAP = 1e-3
#: Nearest sources per group and critical item added to the LP's arcs for whole units.
STAGE1_NEAREST = 2
#: Branch-and-bound nodes for a large model's whole units: work, not the clock, ends it.
LARGE_MIP_NODES = 500
#: The coverage stage's whole units come from a MIP up to this many arcs, above by rounding.
STAGE3_MIP_ARCS = 2_000
#: Groups are split (`_refine`) while the feasible LP is further than this below the
#: relaxation's bound, at most `REFINE_ROUNDS` times (province x 2: one round, 0.22 % in
#: 31 s; at 1e-3 two rounds, 0.10 % in 39 s).
REFINE_GAP = 2e-3
#: Two rounds fit a quiet machine's share of 120 s at x 4 (a third was cut by the clock).
REFINE_ROUNDS = 2
#: Above this many arcs, whole units come from rounding alone when it is this close to the
#: bound (the province's restricted MIPs take 0.4-3 s, the province x 2's 27-31 s).
ROUNDED_ONLY_ARCS = 12_000
LARGE_ROUNDED_GAP = 1e-2
#: Each refinement splits the groups that hold this share of the grouping's loss.
SPLIT_SHARE = 0.9
#: Pricing rounds for fairness and coverage, whose LPs need no proof (their answers stay
#: feasible for what follows): on the province, coverage was within 0.03 % after 4.
LATER_ROUNDS = 5
#: Sources per group and item each priced LP starts from (pricing adds what else pays).
START_NEAREST = 3
#: The full (not support-restricted) stage-1 MIP is tried only on models this small.
FULL_MIP_ARCS = 60_000
#: What a plan says when the time limit stopped one of its allocation's solver calls.
CUT_NOTE = (
    "the time limit stopped an allocation solve before its proof (a busy machine or too "
    "short a limit): another run may give another plan"
)
KM_PER_DEGREE = 111.195
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


def _planar_km(problem: Problem) -> np.ndarray:
    """Shelters on a flat map in km (equirectangular): near enough for `_leaders`."""
    lat = np.array([h.lat for h in problem.shelters], dtype=float)
    lon = np.array([h.lon for h in problem.shelters], dtype=float)
    mid = float(lat.mean()) if len(lat) else 0.0
    return np.column_stack([lat * KM_PER_DEGREE, lon * KM_PER_DEGREE * math.cos(math.radians(mid))])


def _stock_bound(d: _Data) -> float:
    """Residents no plan can beat, from the stock alone: per critical item, the most
    residents its in-time stock could cover, filling shelters cheapest per resident first
    and the last one in part (a fractional knapsack, so an upper bound); the least of those
    and of the residents some source reaches in time. Cheap, for when the LP ran out of time.
    """
    reached = d.in_time.any(axis=0) & (d.residents > 0)
    best = float(d.residents[reached].sum())
    for c in np.flatnonzero(d.critical):
        stock = float(d.supply[d.in_time.any(axis=1), c].sum())
        cost = d.need[reached, c].astype(float)
        residents = d.residents[reached]
        order = np.argsort(cost / np.maximum(residents, 1e-9), kind="stable")
        spent = np.cumsum(cost[order])
        whole = int(np.searchsorted(spent, stock, side="right"))
        covered = float(residents[order][:whole].sum())
        if whole < len(order):
            before = spent[whole - 1] if whole else 0.0
            covered += residents[order][whole] * (stock - before) / max(cost[order][whole], 1e-9)
        best = min(best, covered)
    return math.floor(best + 1e-6)


def _critical_arc_count(d: _Data) -> int:
    crit = np.flatnonzero(d.critical)
    has = d.supply[:, crit] > 0  # (S, Cc)
    wants = d.need[:, crit] > 0  # (J, Cc)
    per_item = d.in_time.astype(np.int64).T @ has.astype(np.int64)  # (J, Cc) sources
    return int((per_item * wants).sum())


def _leaders(arrival: np.ndarray, xy: np.ndarray, residents: np.ndarray, wide: float) -> np.ndarray:
    """Groups of diameter ≤ `wide` hours by leaders: the largest shelter not yet grouped
    takes every ungrouped one whose arrivals all lie within `wide` / 2 of its own.

    Complete linkage compares every pair (10 s and 1 GB at 6,000 shelters); a leader
    compares only shelters near enough on the map to arrive that close (`LEADER_KMH`).
    """
    n = arrival.shape[0]
    half = wide / 2
    arrival = arrival.astype(np.float32)
    tree = cKDTree(xy)
    label = -np.ones(n, dtype=np.int64)
    count = 0
    for j in np.lexsort((np.arange(n), -residents)):
        if label[j] >= 0:
            continue
        near = np.asarray(tree.query_ball_point(xy[j], half * LEADER_KMH), dtype=np.int64)
        near = near[label[near] < 0]
        far = np.abs(arrival[near] - arrival[j]).max(axis=1)
        label[near[far <= half + 1e-6]] = count
        label[j] = count
        count += 1
    return label


def _clusters(d: _Data, hours_wide: float, xy: np.ndarray | None = None) -> _Clusters:
    """`_labels` made groups."""
    return _grouped(d, _labels(d, hours_wide, xy))


def _labels(d: _Data, hours_wide: float, xy: np.ndarray | None = None) -> np.ndarray:
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
    if n > LINKAGE_UP_TO and hours_wide > 0 and xy is not None:
        label = _leaders(arrival, xy, d.residents, hours_wide)
    elif n > 1 and hours_wide > 0:
        tree = linkage(arrival, method="complete", metric="chebyshev")
        label = fcluster(tree, t=hours_wide, criterion="distance") - 1
    elif n:
        _, label = np.unique(arrival, axis=0, return_inverse=True)
        label = label.ravel()
    else:
        label = np.zeros(0, dtype=int)
    return np.asarray(label, dtype=np.int64)


def _count(label: np.ndarray) -> int:
    return int(label.max()) + 1 if len(label) else 0


def _grouped(d: _Data, label: np.ndarray) -> _Clusters:
    """The groups of a labelling (0 … count − 1): each group's drives, arcs and needs."""
    n = len(label)
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


def _trips(d: _Data) -> np.ndarray:
    """(S, J) what a source's arc to a shelter is worth to the models: a depot's truck
    loads by the deadline (its fleet rows divide by them), 1 for a supplier in time, 0 late."""
    with np.errstate(invalid="ignore", over="ignore"):
        loads = deliveries(d.ready, d.hours, d.extra, d.deadline)
    return np.where(d.in_time, np.where(d.depot[:, None], loads, 1.0), 0.0)


def _refined(
    d: _Data, cl: _Clusters, trips: np.ndarray, lps: Collection[PricedLP]
) -> tuple[_Clusters, np.ndarray]:
    """Each group split in two where the LPs' flows show its grouping costs most: by the
    source whose arcs into the group carry the most weight times the spread of its members'
    truck loads (members the source reaches with the fewest loads, or not in time, apart
    from the rest). Returns the finer groups and each one's parent group.

    Grouping loses twice, in the feasible model (every member gets the longest drive, so
    the fewest loads) and in the relaxation (the shortest drive, the most): the feasible
    LP's and the relaxation's arcs are where it shows. On the province x 2 one split
    brought the two LPs from 1.9 % apart to 0.16 %, with 1,476 groups instead of 941.
    """
    src = np.concatenate([lp.src for lp in lps])
    grp = np.concatenate([lp.grp for lp in lps])
    kg = np.concatenate([lp.arc_values * d.weight[lp.item] for lp in lps])
    used = kg > EPS
    pair, at = np.unique(grp[used] * len(d.srcs) + src[used], return_inverse=True)
    load = np.bincount(at.ravel(), kg[used], minlength=len(pair))
    g, s = pair // len(d.srcs), pair % len(d.srcs)
    order = np.argsort(cl.label, kind="stable")
    starts = np.searchsorted(cl.label[order], np.arange(cl.count + 1))
    size = starts[g + 1] - starts[g]
    owner = np.repeat(np.arange(len(pair)), size)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(size) - size, size)
    values = trips[s[owner], order[starts[g][owner] + offset]]
    first = np.cumsum(size) - size
    low = np.minimum.reduceat(values, first) if len(values) else np.zeros(0)
    high = np.maximum.reduceat(values, first) if len(values) else np.zeros(0)
    with np.errstate(divide="ignore"):
        loss = np.where(low > 0, load * (1 / np.maximum(low, 1) - 1 / np.maximum(high, 1)), load)
    split = high > low
    pick = np.flatnonzero(split)
    pick = pick[np.lexsort((s[pick], -loss[pick], g[pick]))]
    pick = pick[np.r_[True, np.diff(g[pick]) > 0]] if len(pick) else pick
    # Only the groups that hold most of the loss: on the province x 2, 189 of 454 hold 90 %.
    pick = pick[np.argsort(-loss[pick], kind="stable")]
    share = np.cumsum(loss[pick]) / max(float(loss[pick].sum()), EPS)
    pick = pick[: int(np.searchsorted(share, SPLIT_SHARE)) + 1]
    by = -np.ones(cl.count, dtype=np.int64)  # each split group's source
    lowest = np.zeros(cl.count)
    by[g[pick]], lowest[g[pick]] = s[pick], low[pick]
    cut = by[cl.label] >= 0
    members = np.flatnonzero(cut)
    apart = members[trips[by[cl.label[members]], members] > lowest[cl.label[members]]]
    child = -np.ones(cl.count, dtype=np.int64)
    moved = np.unique(cl.label[apart])
    child[moved] = cl.count + np.arange(len(moved))
    label = cl.label.copy()
    label[apart] = child[cl.label[apart]]
    parent = np.r_[np.arange(cl.count), moved]
    return _grouped(d, label), parent


def _inherited(arcs: _Arcs, parent: np.ndarray, space: ArcSpace) -> _Arcs:
    """`arcs` of parent groups given to each of their children where still in time."""
    order = np.argsort(arcs.grp, kind="stable")
    grp = arcs.grp[order]
    lo = np.searchsorted(grp, parent)
    hi = np.searchsorted(grp, parent, side="right")
    child = np.repeat(np.arange(len(parent)), hi - lo)
    at = order[np.repeat(lo - np.cumsum(hi - lo) + (hi - lo), hi - lo) + np.arange(child.size)]
    out = _Arcs(arcs.src[at], child, arcs.item[at])
    return out.take(np.flatnonzero(space.ok[out.src, out.grp]))


def _space(d: _Data, cl: _Clusters, items: np.ndarray, relaxed: bool = False) -> ArcSpace:
    """The arcs of the feasible model (each group's longest drive, in time for every
    member) or of the relaxation (shortest drive, in time for some member)."""
    drive = cl.near if relaxed else cl.far
    ok = cl.ok_any if relaxed else cl.ok
    with np.errstate(invalid="ignore", over="ignore"):
        shuttles = deliveries(d.ready, drive, d.extra, d.deadline)
    inv = np.where(d.depot[:, None] & ok, 1.0 / np.maximum(shuttles, 1.0), 0.0)
    crit_items = d.critical

    def early(c: int) -> np.ndarray:
        if not crit_items[c]:
            return np.zeros(cl.far.shape, dtype=bool)
        return (d.tier >= 0)[:, None] & (d.ready[:, None] + cl.far <= d.batch_hours[:, None] + EPS)

    return ArcSpace(
        ok=ok,
        stock=d.supply,
        need=np.where(np.isin(np.arange(len(d.items)), items)[None, :], cl.need, 0.0),
        items=np.asarray(items, dtype=np.int64),
        drive=drive,
        inv_shuttles=inv,
        on_road=d.depot,
        weight=d.weight,
        volume=d.volume,
        early=early,
        tier=d.tier,
    )


def _arcs(space: ArcSpace, nearest: int | None = None) -> _Arcs:
    """Every arc of `space`, or each group's `nearest` sources per item."""
    return _Arcs(*space.nearest(nearest if nearest is not None else space.ok.shape[0]))


def _start(space: ArcSpace) -> _Arcs:
    """Where a priced LP begins: each group's nearest sources per item and the arcs of a
    nearest-first fill."""
    return _union(_arcs(space, START_NEAREST), _Arcs(*space.greedy()))


def _no_arcs() -> _Arcs:
    return _Arcs(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))


def _union(*parts: _Arcs) -> _Arcs:
    """Arcs in any of `parts`, each once, in a fixed order (source, group, item)."""
    keys = np.unique(
        np.concatenate([np.column_stack([a.src, a.grp, a.item]) for a in parts]), axis=0
    )
    return _Arcs(keys[:, 0], keys[:, 1], keys[:, 2])


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


def _solve(
    model: mb.Model, backend: str, seconds: float, gap: float = 0.0, nodes: int | None = None
) -> _Result:
    """One solver call; `nodes` bounds a MIP's branching by work (SCIP and HiGHS)."""
    solver = mb.Solver(_BACKEND[backend])
    limit = max(seconds, 0.05)
    solver.set_time_limit_in_seconds(limit)
    if backend == "SCIP":
        lines = [f"limits/gap = {gap}"] if gap > 0 else []
        lines += [f"limits/nodes = {nodes}"] if nodes is not None else []
        solver.set_solver_specific_parameters("\n".join(lines))
    elif backend == "HIGHS":
        lines = [f"mip_rel_gap={gap}"] if gap > 0 else []
        lines += [f"mip_max_nodes={nodes}"] if nodes is not None else []
        solver.set_solver_specific_parameters("\n".join(lines))
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


@dataclass(slots=True)
class _Stage:
    """One stage's model without its arcs: rows (with the non-arc columns' terms), the
    non-arc columns (first), where arcs enter the rows, and what an arc is worth."""

    rows: Rows
    lo: np.ndarray
    hi: np.ndarray
    cost: np.ndarray
    arc_rows: ArcRows
    arc_cost: Cost = field(default=lambda _c: 0.0)


def _row_map(
    rows: Rows,
    d: _Data,
    items: np.ndarray,
    need_row: np.ndarray,
    batch: np.ndarray | None = None,
    batch_sign: float = 1.0,
) -> ArcRows:
    """Supply per source and item, and the fleet budgets: the rows every stage has."""
    s = len(d.srcs)
    supply = -np.ones((s, len(d.items)), dtype=np.int64)
    first = rows.add(np.full(s * len(items), -np.inf), d.supply[:, items].ravel())
    supply[:, items] = first + np.arange(s * len(items)).reshape(s, len(items))
    kg = rows.add(np.full(s, -np.inf), d.kg_capacity) + np.arange(s)
    m3 = rows.add(np.full(s, -np.inf), d.m3_capacity) + np.arange(s)
    caps = []
    # What routing showed a depot's trucks can bring by the deadline, when it is known.
    for cap in (d.kg_limit, d.m3_limit):
        row = -np.ones(s, dtype=np.int64)
        capped = np.flatnonzero(np.isfinite(cap))
        if capped.size:
            row[capped] = rows.add(np.full(capped.size, -np.inf), cap[capped]) + np.arange(
                capped.size
            )
        caps.append(row)
    return ArcRows(need_row, supply, kg, m3, caps[0], caps[1], batch, batch_sign)


def _model(
    stage: _Stage,
    space: ArcSpace,
    arcs: _Arcs,
    integer: bool = False,
    hint: np.ndarray | None = None,
    lower: np.ndarray | None = None,
) -> mb.Model:
    """The stage over exactly `arcs` (each at least `lower`), for a backend that takes a
    whole model."""
    rows, n = stage.rows, len(stage.lo)
    col, row, val = arc_entries(space, stage.arc_rows, arcs.src, arcs.grp, arcs.item)
    rows.terms(row, col + n, val)
    rows.n_vars = n + len(arcs)
    cost = arc_objective(stage.arc_cost, arcs.src, arcs.grp, arcs.item)
    upper = arc_upper(space, arcs.src, arcs.grp, arcs.item)
    return rows.model(
        np.concatenate([stage.lo, np.zeros(len(arcs)) if lower is None else lower]),
        np.concatenate([stage.hi, upper]),
        np.concatenate([stage.cost, cost]),
        np.ones(n + len(arcs), bool) if integer else None,
        hint,
    )


def _lp(
    build: Callable[[], _Stage],
    space: ArcSpace,
    start: _Arcs,
    backend: str,
    seconds: Callable[[], float],
    say: Callable[[str], None],
    label: str,
    floor: np.ndarray | None = None,
    rounds: int = ROUNDS,
) -> PricedLP:
    """A stage's LP: HiGHS prices arcs in from `start` (at least `floor` on each of them)
    for at most `rounds`; other backends get every arc."""
    stage = build()
    if backend == "HIGHS":
        priced = solve_priced(
            stage.rows, stage.lo, stage.hi, stage.cost, space, stage.arc_rows,
            stage.arc_cost, (start.src, start.grp, start.item), seconds, say, label, floor,
            rounds,
        )  # fmt: skip
        cut = _CUT.get()
        if cut is not None and priced.cut:
            cut.append(True)
        return priced
    arcs = _arcs(space)
    lower = None if floor is None else _values_on(arcs, start, floor, space.need.shape)
    result = _solve(_model(stage, space, arcs, lower=lower), backend, seconds())
    n = len(stage.lo)
    values = result.values if result.ok else np.zeros(n + len(arcs))
    return PricedLP(
        result.ok, arcs.src, arcs.grp, arcs.item, values[n:], values[:n], result.objective,
        result.objective if result.optimal else math.inf, 1, result.optimal, False,
    )  # fmt: skip


def _priced_arcs(lp: PricedLP, keep: np.ndarray | None = None) -> _Arcs:
    arcs = _Arcs(lp.src, lp.grp, lp.item)
    return arcs if keep is None else arcs.take(keep)


# --------------------------------------------------------------------------- stage 1


@dataclass(slots=True)
class _Stage1:
    served: np.ndarray  # (J,) bool
    reachable: np.ndarray  # (J,) bool: every critical need can arrive in time from somewhere
    flows: np.ndarray  # whole units per arc of `arcs`
    arcs: _Arcs
    best: float
    bound: float
    proven: bool  # the bound is a proven upper bound (an LP or MIP bound, not a timeout)
    groups: _Clusters  # the grouping stage 1 ended on (finer than it began, if refined)


def _reachable(d: _Data, cl: _Clusters, space: ArcSpace, crit: np.ndarray) -> np.ndarray:
    """Shelters every critical need of which some source can meet in time."""
    group_ok = np.ones(cl.count, dtype=bool)
    for c in crit:
        covered = space.mask(int(c)).any(axis=0)
        group_ok &= covered | ~(cl.need[:, c] > 0)
    return group_ok[cl.label] & (d.residents > 0) & (d.need[:, crit] > 0).any(axis=1)


def _stage1_stage(
    d: _Data,
    cl: _Clusters,
    ys: np.ndarray,
    crit: np.ndarray,
    y_lo: np.ndarray | None = None,
    y_hi: np.ndarray | None = None,
) -> _Stage:
    """Stage 1: one y per shelter of `ys` (1 = served on time), first; flows feed them."""
    rows = Rows(len(ys))
    link = -np.ones((cl.count, len(d.items)), dtype=np.int64)
    gg, cc = np.nonzero(cl.need[:, crit] > 0)
    cc = crit[cc]
    first = rows.add(np.zeros(len(gg)), np.full(len(gg), np.inf))
    link[gg, cc] = first + np.arange(len(gg))
    for c in crit:
        has = np.flatnonzero(d.need[ys, c] > 0)
        rows.terms(link[cl.label[ys[has]], c], has, -d.need[ys[has], c])
    arc_rows = _row_map(rows, d, crit, link)
    lo = np.zeros(len(ys)) if y_lo is None else y_lo
    hi = np.ones(len(ys)) if y_hi is None else y_hi
    return _Stage(rows, lo, hi, d.residents[ys], arc_rows)


def _together(*calls: Callable[[], PricedLP] | None) -> list[PricedLP | None]:
    """Each call's answer (None for None), the calls run at once on the machine's cores.

    HiGHS lets go of the interpreter while it solves, so a feasible LP and its relaxation
    solve side by side; each has its own solver instance, so the answers are the same as
    one after the other. Each thread runs in a copy of the caller's context, which holds
    the list that records a clock cut."""
    todo = [call for call in calls if call is not None]
    if len(todo) < 2:
        return [call() if call is not None else None for call in calls]
    with ThreadPoolExecutor(max_workers=len(todo)) as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, call) if call is not None else None
            for call in calls
        ]
        return [f.result() if f is not None else None for f in futures]


def _refine(
    d: _Data,
    cl: _Clusters,
    space: ArcSpace,
    lp: PricedLP | None,
    relaxed: PricedLP,
    bound: float,
    params: AllocationParams,
    seconds: Callable[[], float],
    say: Callable[[str], None],
) -> tuple[_Clusters, ArcSpace, PricedLP | None, float]:
    """Finer groups while the feasible LP and the relaxation stay more than `REFINE_GAP`
    apart, at most `REFINE_ROUNDS` times (a bound on work): each round splits groups where
    the two LPs' flows show the grouping costs (`_refined`) and solves both LPs again from
    the parents' arcs. Every relaxation's bound is valid, so the least of them is kept.
    `lp` is None where no group could be served whole in time at all."""
    crit = np.flatnonzero(d.critical)
    trips = _trips(d)
    for turn in range(1, REFINE_ROUNDS + 1):
        value = lp.objective if lp is not None else 0.0
        if bound - value <= REFINE_GAP * max(bound, 1.0):
            break
        finer, parent = _refined(d, cl, trips, [x for x in (lp, relaxed) if x is not None])
        if finer.count == cl.count:
            break
        say(f"stage 1 refine {turn}: {cl.count:,} groups split into {finer.count:,}")
        tight = _space(d, finer, crit)
        ys = np.flatnonzero(_reachable(d, finer, tight, crit))
        wide = _space(d, finer, crit, relaxed=True)
        everyone = np.flatnonzero(_reachable(d, finer, wide, crit))
        arcs = _priced_arcs(lp) if lp is not None else _no_arcs()
        wide_arcs = _priced_arcs(relaxed)
        better, again = _together(
            partial(
                _lp, partial(_stage1_stage, d, finer, ys, crit), tight,
                _union(_inherited(arcs, parent, tight), _arcs(tight, 1)),
                params.lp_solver, seconds, say, f"stage 1 LP {turn}",
            ) if len(ys) else None,
            partial(
                _lp, partial(_stage1_stage, d, finer, everyone, crit), wide,
                _union(
                    _inherited(arcs, parent, wide), _inherited(wide_arcs, parent, wide),
                    _arcs(wide, 1),
                ),
                params.lp_solver, seconds, say, f"stage 1 bound {turn}",
            ) if len(everyone) else None,
        )  # fmt: skip
        if again is not None and again.ok and math.isfinite(again.bound):
            bound = min(bound, again.bound)  # valid whether or not the finer LP is kept
        elif not len(everyone):
            bound = 0.0  # no group of the finer ones can be served: neither can a shelter
        if better is not None and (not better.ok or better.objective < value - EPS):
            break  # the clock stopped it: the coarser groups' answer stands
        if better is None and lp is not None:
            break
        cl, space, lp = finer, tight, better
        if again is None or not again.ok:
            break
        relaxed = again
    return cl, space, lp, bound


def _stage1(
    d: _Data,
    cl: _Clusters,
    params: AllocationParams,
    seconds: Callable[[], float],
    say: Callable[[str], None],
) -> _Stage1 | None:
    """Residents served on time: LP, then an integer model over the LP's support."""
    crit = np.flatnonzero(d.critical)
    space = _space(d, cl, crit)
    reachable = _reachable(d, cl, space, crit)
    ys = np.flatnonzero(reachable)
    served = np.zeros(len(d.residents), dtype=bool)
    empty = _no_arcs()
    universe = space.size()
    lp: PricedLP | None = None
    relaxed: PricedLP | None = None
    if len(ys):
        say(f"stage 1 LP: {universe:,} on-time arcs, {cl.count:,} shelter groups")
        lp = _lp(
            partial(_stage1_stage, d, cl, ys, crit), space, _start(space),
            params.lp_solver, seconds, say, "stage 1 LP",
        )  # fmt: skip
    if not cl.exact and (lp is None or lp.ok):
        wide = _space(d, cl, crit, relaxed=True)
        everyone = np.flatnonzero(_reachable(d, cl, wide, crit))
        if len(everyone):
            # After the feasible LP, not beside it: from its arcs (all of them arcs of the
            # relaxation too) the relaxation's pricing needs a round or two, not ten (on the
            # province x 4, 3 s against 24 s from the nearest sources).
            begin = (
                _arcs(wide, START_NEAREST)
                if lp is None
                else _union(_priced_arcs(lp), _arcs(wide, 1))
            )
            say(f"stage 1 bound: {wide.size():,} arcs in time for some member, shortest drives")
            relaxed = _lp(
                partial(_stage1_stage, d, cl, everyone, crit), wide, begin,
                params.lp_solver, seconds, say, "stage 1 bound",
            )  # fmt: skip
    if lp is not None and not lp.ok:
        return None
    bound, proven = 0.0, True
    if cl.exact and lp is not None:
        proven = math.isfinite(lp.bound)
        bound = lp.bound if proven else math.inf
    elif relaxed is not None:
        proven = relaxed.ok and math.isfinite(relaxed.bound)
        bound = relaxed.bound if proven else math.inf
        if proven:
            cl, space, lp, bound = _refine(d, cl, space, lp, relaxed, bound, params, seconds, say)
            reachable = _reachable(d, cl, space, crit)
            ys = np.flatnonzero(reachable)
    # What the stock in time could cover bounds the real optimum too: the tighter of the
    # two is the bound (on the province they agree within one resident).
    stock = _stock_bound(d)
    if not proven or stock < bound:
        bound, proven = stock, True
    if lp is None:
        return _Stage1(served, reachable, np.zeros(0), empty, 0.0, bound, proven, cl)

    # The LP's arcs alone rarely let whole units fill shelters exactly; each group's
    # nearest sources give the integer model that room at little cost (city benchmark:
    # 37,417 residents from the LP's arcs, 37,818 = the LP bound with the 2 nearest).
    small = _union(
        _priced_arcs(lp, np.flatnonzero(lp.arc_values > EPS)), _arcs(space, STAGE1_NEAREST)
    )
    say(f"stage 1 whole units: {len(small):,} arcs (the LP's and the nearest)")
    # Whole units, from cheap to thorough, each step only while the gap is above target:
    # (1) over those arcs, with the shelters the LP serves whole kept served (what is left
    # is which of the rest fill the remaining stock, a small problem); (2) the same arcs,
    # nothing kept; (3) every arc, on models small enough. A fixed step's own bound says
    # nothing of the real optimum; the others' do when their arcs are all the model's.
    lp_y = lp.fixed_values
    # Whole units, first by rounding: the LP serves almost every shelter whole (one of
    # 3,000 on the province), so its flows floored and topped up where a served group falls
    # short are within a few shelters of its bound, in milliseconds.
    values = _values_on(small, _priced_arcs(lp), lp.arc_values, (cl.count, len(d.items)))
    large = len(small) > FULL_MIP_ARCS // 10  # before rounding widens torn groups' arcs
    small, flows, y = _whole_stage1(d, cl, space, small, values, ys, lp_y)
    best_arcs, best = small, float(d.residents[ys] @ y)
    say(f"stage 1: bound {bound:,.1f}, whole units by rounding {best:,.0f}")
    # Then integer models, from cheap to thorough, each only while the gap is above target:
    # (1) over those arcs, with the shelters the LP serves whole kept served (what is left
    # is which of the rest fill the remaining stock, a small problem); (2) the same arcs,
    # nothing kept; (3) every arc, on models small enough. A fixed step's own bound says
    # nothing of the real optimum; the others' do when their arcs are all the model's.
    attempts: list[tuple[_Arcs, np.ndarray | None]] = [
        (small, np.where(lp_y > 1 - EPS, 1.0, 0.0)),
        (small, None),
    ]
    whole = len(small) < universe <= FULL_MIP_ARCS
    if whole:
        # Small enough for the whole model, whose own bound proves the gap: straight to it
        # (the city benchmark: 1.0 s, against 3.7 s after the restricted ones).
        attempts = [(_arcs(space), None)]
    elif large:
        attempts = attempts[:1]  # large: nothing kept stalls (province x 2: no answer in 30 s)
        top = math.floor(bound + 1e-6) if math.isfinite(bound) else math.inf
        if len(small) > ROUNDED_ONLY_ARCS and top - best <= LARGE_ROUNDED_GAP * max(top, 1):
            # Rounding is close enough for a model this size: on the province x 2 the MIP
            # took 31 s to add 52 residents to 978,134 (0.005 %), and 27 s to add 441.
            attempts = []
    keys = len(d.srcs), cl.count, len(d.items)
    for offered, keep_served in attempts:
        top = math.floor(bound + 1e-6) if math.isfinite(bound) else math.inf
        if best > 0 and top - best <= params.relative_gap * max(top, 1):
            break
        every = len(offered) == universe
        if every and offered is not small:
            say(f"stage 1 MIP over all {universe:,} arcs")
        hint = None
        if best > 0 and params.solver != "HIGHS":  # HiGHS crashes on hints (OR-Tools 9.15)
            hint = np.concatenate([y, _values_on(offered, best_arcs, flows, keys[1:])])
        # On large models the LP's choice stands but for the shelters it served in part:
        # those it served whole stay served, those it gave nothing get nothing.
        y_hi = np.where(lp_y > EPS, 1.0, 0.0) if large and keep_served is not None else None
        stage = _stage1_stage(d, cl, ys, crit, keep_served, y_hi)
        mip = _solve(
            _model(stage, space, offered, integer=True, hint=hint),
            params.solver,
            seconds(),
            params.relative_gap,
            LARGE_MIP_NODES if large else None,
        )
        if not mip.ok:
            continue
        if mip.objective > best + 0.5:
            best_arcs, flows = offered, np.rint(mip.values[len(ys) :])
            y, best = np.rint(mip.values[: len(ys)]), mip.objective
        if keep_served is None and cl.exact and every:
            bound = min(bound, mip.bound)  # a bound of the real model
        say(f"stage 1: bound {bound:,.1f}, whole units {best:,.0f}")
    served[ys[y > 0.5]] = True
    flows = _within_need(best_arcs, flows, cl.need)
    return _Stage1(served, reachable, flows, best_arcs, best, bound, proven, cl)


# --------------------------------------------------------------------------- first batches


@dataclass(slots=True)
class _Batches:
    """(group, tier) pairs whose first batch of critical goods the plan keeps on target."""

    grp: np.ndarray
    tier: np.ndarray
    count: int  # shelters (group members) on target
    arcs: _Arcs  # arcs that keep them (with stage 1's served shelters): a feasible start

    def rows(self, rows: Rows, groups: int, tiers: int) -> np.ndarray | None:
        """At least one unit on an on-target arc of each kept (group, tier) pair."""
        if not len(self.grp):
            return None
        pair = -np.ones((groups, tiers), dtype=np.int64)
        first = rows.add(np.ones(len(self.grp)), np.full(len(self.grp), np.inf))
        pair[self.grp, self.tier] = first + np.arange(len(self.grp))
        return pair


def _no_batches() -> _Batches:
    empty = np.zeros(0, dtype=np.int64)
    return _Batches(empty, empty, 0, _Arcs(empty, empty, empty))


def _within_need(arcs: _Arcs, flows: np.ndarray, need: np.ndarray) -> np.ndarray:
    """`flows` trimmed so no (group, item) gets more than it needs: stage 1's rows only
    ask for at least, the later stages' for at most the need too."""
    key = arcs.grp * need.shape[1] + arcs.item
    order = np.lexsort((np.arange(len(key)), key))
    before = np.cumsum(flows[order]) - flows[order]
    start = np.searchsorted(key[order], key[order])
    before -= before[start]  # what earlier arcs of the same pair already bring
    allowed = np.clip(need.ravel()[key[order]] - before, 0, flows[order])
    out = np.empty_like(flows)
    out[order] = allowed
    return out


def _values_on(
    target: _Arcs, arcs: _Arcs, values: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """`values` of `arcs` moved onto `target`'s order (0 where an arc of `target` has none);
    `target` is sorted, as `_union` makes it."""
    keys = target.keys(*shape)
    at = np.searchsorted(keys, arcs.keys(*shape))
    found = (at < len(keys)) & (keys[np.minimum(at, len(keys) - 1)] == arcs.keys(*shape))
    out = np.zeros(len(target))
    out[at[found]] = values[found]
    return out


def _first_batches(
    d: _Data,
    cl: _Clusters,
    must: np.ndarray,
    start: _Arcs,
    params: AllocationParams,
    seconds: Callable[[], float],
    say: Callable[[str], None],
) -> _Batches | None:
    """Most shelters whose first batch from each depot tier that can make its target does
    (county 6 h, city 8 h, province 10 h by default), keeping stage 1's served shelters.

    The LP's pairs with a whole unit on target are kept: the later stages must keep them.
    """
    crit = np.flatnonzero(d.critical)
    space = _space(d, cl, crit)
    tiers = len(d.tiers)
    able = np.zeros((cl.count, tiers), dtype=bool)  # (group, tier) with an on-target arc
    for c in crit:
        on = space.mask(int(c)) & space.early(int(c))  # type: ignore[misc]
        for t in range(tiers):
            able[:, t] |= on[d.tier == t].any(axis=0)
    gg, tt = np.nonzero(able)
    if not len(gg):
        return _no_batches()
    members = np.bincount(cl.label, minlength=cl.count).astype(float)

    def build() -> _Stage:
        rows = Rows(len(gg))
        need_row = -np.ones_like(must, dtype=np.int64)
        mg, mc = np.nonzero(must > 0)
        first = rows.add(must[mg, mc], np.full(len(mg), np.inf))
        need_row[mg, mc] = first + np.arange(len(mg))
        pair = -np.ones((cl.count, tiers), dtype=np.int64)  # m_p ≤ on-target units of p
        first = rows.add(np.full(len(gg), -np.inf), np.zeros(len(gg)))
        pair[gg, tt] = first + np.arange(len(gg))
        rows.terms(pair[gg, tt], np.arange(len(gg)), 1.0)
        arc_rows = _row_map(rows, d, crit, need_row, pair, -1.0)
        return _Stage(rows, np.zeros(len(gg)), np.ones(len(gg)), members[gg], arc_rows)

    early_start = _start(space)
    lp = _lp(build, space, _union(start, early_start), params.lp_solver, seconds, say, "stage 1b")
    if not lp.ok:
        return None
    arcs = _priced_arcs(lp)
    on = space.on_target(arcs.src, arcs.grp, arcs.item) & (lp.arc_values > EPS)
    got = np.zeros((cl.count, tiers))
    np.add.at(got, (arcs.grp[on], d.tier[arcs.src[on]]), lp.arc_values[on])
    keep = got[gg, tt] >= 1 - EPS
    kg, kt = gg[keep], tt[keep]
    used = arcs.take(np.flatnonzero(lp.arc_values > EPS))
    return _Batches(kg, kt, int(members[kg].sum()), used)


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
    start: _Arcs,
    start_flows: np.ndarray,
    must: np.ndarray,
    rest: np.ndarray,
    params: AllocationParams,
    seconds: Callable[[], float],
    say: Callable[[str], None],
    batches: _Batches,
) -> tuple[float, _Arcs] | None:
    """The highest share of their critical needs every unserved reachable shelter can get,
    and the arcs that reach it."""
    crit = np.flatnonzero(d.critical)
    space = _space(d, cl, crit)

    def build() -> _Stage:
        rows = Rows(1)
        pair = batches.rows(rows, cl.count, len(d.tiers))
        gg, cc = np.nonzero(cl.need * d.critical[None, :] > 0)
        need_row = -np.ones_like(must, dtype=np.int64)
        first = rows.add(must[gg, cc], cl.need[gg, cc])
        need_row[gg, cc] = first + np.arange(len(gg))
        waiting = np.flatnonzero(rest[gg, cc] > 0)
        rows.terms(first + waiting, np.zeros(len(waiting), int), -rest[gg[waiting], cc[waiting]])
        arc_rows = _row_map(rows, d, crit, need_row, pair)
        return _Stage(rows, np.zeros(1), np.ones(1), np.ones(1), arc_rows)

    begin = _union(start, batches.arcs, _start(space))
    floor = None  # as in the coverage stage, which must find this share again
    if len(begin) > STAGE3_MIP_ARCS:
        floor = _values_on(begin, start, start_flows, (cl.count, len(d.items)))
    lp = _lp(build, space, begin, params.lp_solver, seconds, say, "stage 2", floor, LATER_ROUNDS)
    if not lp.ok:
        return None
    return float(lp.fixed_values[0]), _priced_arcs(lp, np.flatnonzero(lp.arc_values > EPS))


def _coverage_stage(
    d: _Data,
    cl: _Clusters,
    space: ArcSpace,
    floor_units: np.ndarray,
    batches: _Batches,
) -> _Stage:
    rows = Rows(0)
    pair = batches.rows(rows, cl.count, len(d.tiers))
    gg, cc = np.nonzero(cl.need > 0)
    need_row = -np.ones_like(floor_units, dtype=np.int64)
    first = rows.add(floor_units[gg, cc], cl.need[gg, cc])
    need_row[gg, cc] = first + np.arange(len(gg))
    arc_rows = _row_map(rows, d, np.arange(len(d.items)), need_row, pair)
    # Priority-weighted coverage; vehicle tonne-hours break ties, and one unit of coverage
    # outweighs every tonne-hour any plan could drive (all stock, each to its farthest).
    with np.errstate(divide="ignore", invalid="ignore"):
        per_unit = np.where(
            cl.need > 0, d.priority_weight[None, :] * cl.residents[:, None] / cl.need, 0.0
        )
    hours = np.where(d.depot[:, None] & space.ok, space.drive, 0.0)
    longest = hours.max(axis=1, initial=0.0)
    most = float((d.supply * d.weight[None, :]).sum(axis=1) @ (2 * longest / 1000))
    positive = per_unit[per_unit > 0]
    tie = (positive.min() if positive.size else 1.0) / max(most, 1.0) * 1e-3

    def cost(c: int) -> np.ndarray:
        return per_unit[:, c][None, :] - tie * d.weight[c] * 2 * hours / 1000

    return _Stage(rows, np.zeros(0), np.zeros(0), np.zeros(0), arc_rows, cost)


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

    The LP starts from each group's nearest sources per item and the arcs stages 1 and 2
    used (which alone keep their results feasible), and prices the rest in.
    """
    every = np.arange(len(d.items))
    space = _space(d, cl, every)
    kept = first.arcs.take(np.flatnonzero(first.flows > 0))
    begin = [kept, batches.arcs, _start(space)]
    if fair_arcs is not None:
        begin.append(fair_arcs)
    say(f"stage 3 LP: {space.size():,} on-time arcs, all items")
    start = _union(*begin)
    # On large models stage 1's whole flows stay (the LP adds to them), so that its
    # floors keep every served shelter served when the LP is rounded down.
    floor = None
    if len(start) > STAGE3_MIP_ARCS:
        floor = _values_on(start, first.arcs, first.flows, (cl.count, len(d.items)))
    lp = _lp(
        lambda: _coverage_stage(d, cl, space, must + fair_units, batches),
        space, start, params.lp_solver, seconds, say, "stage 3", floor, LATER_ROUNDS,
    )  # fmt: skip
    if not lp.ok:
        notes.append("coverage stage found no solution in time; stage-1 flows kept")
        return first.arcs, first.flows
    # Whole units over the LP's support plus stage 1's arcs (which alone meet `must`).
    small = _union(_priced_arcs(lp, np.flatnonzero(lp.arc_values > EPS)), kept)
    values = _values_on(small, _priced_arcs(lp), lp.arc_values, (cl.count, len(d.items)))
    if np.allclose(values, np.rint(values), atol=1e-6):
        return small, np.rint(values)
    floor_units = must + np.floor(fair_units + EPS)
    if len(small) > STAGE3_MIP_ARCS:
        # Large: the LP floored and topped up where stage 1's or the fairness' floors need
        # it. A unit or less per arc of the secondary objective, for seconds of MIP.
        say(f"stage 3 whole units: {len(small):,} arcs, by rounding")
        wider, fill, short = _filled(d, space, small, values, floor_units)
        if short.sum() > 0:
            fair_short = int(short.sum())
            notes.append(f"coverage stage: fairness floors {fair_short:,} units short by rounding")
        return wider, fill.flows
    say(f"stage 3 whole units: {len(small):,} arcs")
    # Half the stage's time at most: rounding the LP is the fallback, and it needs little.
    mip = _solve(
        _model(_coverage_stage(d, cl, space, floor_units, batches), space, small, integer=True),
        params.solver,
        seconds() / 2,
        COVERAGE_GAP,
    )
    if mip.ok:
        return small, np.rint(mip.values)
    small, fill, _ = _filled(d, space, small, values, must)
    flows = fill.flows
    notes.append("coverage stage: whole units by rounding the LP (the MIP found none in time)")
    return small, flows


class _Filler:
    """Whole-unit flows on fixed arcs, topped up unit by unit within every budget.

    Starts from LP flows floored (floors keep stock, need and the fleet budgets: every
    coefficient is positive); a unit goes back on an arc only within its source's stock
    left and its trucks' budgets left, on the arcs the LP used most fractionally first.
    """

    def __init__(self, d: _Data, space: ArcSpace, arcs: _Arcs, values: np.ndarray) -> None:
        self.arcs = arcs
        self.flows = np.floor(values + 1e-6)
        src, grp, item = arcs.src, arcs.grp, arcs.item
        s, self.items = len(d.srcs), len(d.items)
        self.left = d.supply.copy()
        np.subtract.at(self.left, (src, item), self.flows)
        road = space.on_road[src]
        inv = space.inv_shuttles[src, grp]
        self.use = [  # per unit on each arc, against each budget per source
            np.where(road, d.weight[item] * inv, 0.0),
            np.where(road, d.volume[item] * inv, 0.0),
            np.where(road, d.weight[item], 0.0),
            np.where(road, d.volume[item], 0.0),
        ]
        caps = (d.kg_capacity, d.m3_capacity, d.kg_limit, d.m3_limit)
        self.room = [
            cap - np.bincount(src, use * self.flows, minlength=s)
            for cap, use in zip(caps, self.use, strict=True)
        ]
        self.got = np.zeros((space.need.shape[0], self.items))
        np.add.at(self.got, (grp, item), self.flows)
        key = grp * self.items + item
        # Per (group, item): the arcs the LP used most fractionally, then the nearest.
        self.order = np.lexsort((space.drive[src, grp], -(values - self.flows), key))
        self.bounds = np.searchsorted(key[self.order], np.arange(self.got.size + 1))
        self.upper = arc_upper(space, src, grp, item)

    def _room(self, k: int) -> int:
        i, c = self.arcs.src[k], self.arcs.item[k]
        units = min(int(self.left[i, c]), int(self.upper[k] - self.flows[k]))
        for use, room in zip(self.use, self.room, strict=True):
            if use[k] > 0 and math.isfinite(room[i]):
                units = min(units, math.floor(room[i] / use[k] + 1e-9))
        return units

    def add(self, g: int, c: int, units: int, dry: bool = False) -> int:
        """Put up to `units` more of item `c` into group `g`; returns what is still
        missing. With `dry`, only says whether it would fit."""
        at = g * self.items + c
        for k in self.order[self.bounds[at] : self.bounds[at + 1]]:
            if units <= 0:
                break
            give = min(units, self._room(int(k)))
            if give <= 0:
                continue
            units -= give
            if dry:
                continue
            i = self.arcs.src[k]
            self.flows[k] += give
            self.left[i, c] -= give
            self.got[g, c] += give
            for use, room in zip(self.use, self.room, strict=True):
                room[i] -= give * use[k]
        return max(units, 0)

    def release(self, keep: np.ndarray) -> None:
        """Take back every unit beyond `keep` per (group, item), from the arcs the LP used
        least first, returning its stock and truck budget."""
        for g, c in np.argwhere(self.got > keep + EPS):
            extra = math.floor(float(self.got[g, c] - keep[g, c]) + 1e-6)
            at = g * self.items + c
            for k in self.order[self.bounds[at] : self.bounds[at + 1]][::-1]:
                if extra <= 0:
                    break
                take = int(min(extra, self.flows[k]))
                if take <= 0:
                    continue
                extra -= take
                i = self.arcs.src[k]
                self.flows[k] -= take
                self.left[i, c] += take
                self.got[g, c] -= take
                for use, room in zip(self.use, self.room, strict=True):
                    room[i] += take * use[k]

    def meet(self, must: np.ndarray) -> np.ndarray:
        """Top every (group, item) up to `must`; returns what each still lacks."""
        short = np.zeros_like(must)
        for g, c in np.argwhere(self.got < must - EPS):
            short[g, c] = self.add(
                int(g), int(c), math.ceil(float(must[g, c] - self.got[g, c]) - 1e-6)
            )
        return short


def _filled(
    d: _Data, space: ArcSpace, arcs: _Arcs, values: np.ndarray, must: np.ndarray
) -> tuple[_Arcs, _Filler, np.ndarray]:
    """`_Filler` over `arcs` topped up to `must`; where that falls short, again with every
    arc of the short (group, item) pairs offered (their stock may sit at sources the LP did
    not use there). Returns the arcs, the filler and what is still short."""
    fill = _Filler(d, space, arcs, values)
    short = fill.meet(must)
    if short.sum() <= 0:
        return arcs, fill, short
    gg, cc = np.nonzero(short > 0)
    extra = [
        _Arcs(src, np.full(len(src), g), np.full(len(src), c))
        for g, c in zip(gg, cc, strict=True)
        if len(src := np.flatnonzero(space.mask(int(c))[:, g]))
    ]
    wider = _union(arcs, *extra)
    fill = _Filler(
        d, space, wider, _values_on(wider, arcs, values, (space.need.shape[0], len(d.items)))
    )
    return wider, fill, fill.meet(must)


def _whole_stage1(
    d: _Data,
    cl: _Clusters,
    space: ArcSpace,
    arcs: _Arcs,
    values: np.ndarray,
    ys: np.ndarray,
    lp_y: np.ndarray,
) -> tuple[_Arcs, np.ndarray, np.ndarray]:
    """Whole-unit flows for the shelters the LP serves whole; where a group still falls
    short, its smallest served members are let go until what is left covers the rest;
    then the shelters the LP served in part, most first, are served where the stock and
    trucks left can still bring all their critical needs."""
    crit = np.flatnonzero(d.critical)
    y = np.where(lp_y > 1 - EPS, 1.0, 0.0)
    must = np.zeros_like(cl.need)
    on = ys[y > 0.5]
    np.add.at(must, cl.label[on], d.need[on] * d.critical[None, :])
    # A shelter served in part is completed from whatever stock is left in reach, not
    # only from the sources the LP happened to split its share over.
    torn = np.unique(cl.label[ys[(lp_y > EPS) & (lp_y < 1 - EPS)]])
    if len(torn):
        wider = [arcs]
        for item in crit:
            ii, gg = np.nonzero(space.mask(int(item))[:, torn])
            wider.append(_Arcs(ii, torn[gg], np.full(len(ii), item)))
        more = _union(*wider)
        values = _values_on(more, arcs, values, (cl.count, len(d.items)))
        arcs = more
    arcs, fill, short = _filled(d, space, arcs, values, must)
    for g in np.flatnonzero(short.sum(axis=1) > 0):
        lack = short[g].copy()
        members = np.flatnonzero((cl.label[ys] == g) & (y > 0.5))
        for r in members[np.argsort(d.residents[ys[members]], kind="stable")]:
            if (lack <= 0).all():
                break
            y[r] = 0.0
            lack -= d.need[ys[r]] * d.critical
            must[g] -= d.need[ys[r]] * d.critical
    # What the LP sent to shelters it served in part (and to let-go members) goes back to
    # its sources, so that those shelters can be served whole from the pooled remainder:
    # on the province x 2, 87 shelters in part held 23,161 residents' worth, of which
    # none could be completed while each kept its share.
    keep = np.where(d.critical[None, :], must, fill.got)
    fill.release(keep)
    spare = fill.got - must
    in_part = np.flatnonzero((lp_y > EPS) & (y < 0.5))
    for r in in_part[np.lexsort((ys[in_part], -lp_y[in_part]))]:
        j, g = ys[r], cl.label[ys[r]]
        want = [(int(c), int(d.need[j, c] - max(spare[g, c], 0))) for c in crit]
        if any(fill.add(g, c, q, dry=True) > 0 for c, q in want if q > 0):
            continue
        for c, q in want:
            if q > 0:
                fill.add(g, c, q)
        y[r] = 1.0
        must[g] += d.need[j] * d.critical
        spare[g] = fill.got[g] - must[g]
    return arcs, fill.flows, y


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
    fallback: float | None = None  # the stock's bound, when greedy's plan stands in
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
        # Priced LPs keep up to 2,000 shelters apart: the province x 0.5 (1,500 shelters)
        # planned within 0.04 % exactly in 13 s, against 4.5 % in 19 s in 134 groups.
        priced = params.lp_solver == "HIGHS" and len(problem.shelters) <= PRICED_EXACT_SHELTERS
        exact = priced or _critical_arc_count(d) <= EXACT_ARCS
        width = 0.0 if exact else DEFAULT_CLUSTER_HOURS
    xy = _planar_km(problem)
    label = _labels(d, width, xy)
    while params.cluster_hours is None and width > 0 and _count(label) > MAX_GROUPS and width < 2:
        # Adaptive: wider groups keep the LPs within what a few minutes can solve (the
        # bound stays the relaxation's, so a coarser grouping shows as a wider gap).
        width *= 1.5
        label = _labels(d, width, xy)
    cl = _grouped(d, label)
    shares = params.stage_shares
    # Turning flows into shipments, late trips and reasons takes time too (1.5 s on the
    # province benchmark): the stages end early enough to leave it.
    reserve = min(
        max(POST_SHARE * time_limit_s, POST_SECONDS_PER_SHELTER * len(problem.shelters)),
        0.5 * time_limit_s,
    )
    stage_end = [
        time.perf_counter() + (left() - reserve) * sum(shares[: k + 1]) / sum(shares)
        for k in range(3)
    ]

    def until(stage: int) -> Callable[[], float]:
        return lambda: max(min(stage_end[stage] - time.perf_counter(), left()), 0.05)

    notes: list[str] = []
    first = _stage1(d, cl, params, until(0), say)
    if width > 0:
        finer = (
            ""
            if first is None or first.groups.count == cl.count
            else (f", then split into {first.groups.count:,} where the grouping cost most")
        )
        notes.append(
            f"{len(problem.shelters):,} shelters in {cl.count:,} groups of arrival times "
            f"within {width:g} h{finer}; the gap is against the groups' shortest-drive bound"
        )
    if first is not None:
        cl = first.groups
    need = {(n.shelter, n.item): n for n in needs(problem)}
    pool = LotPool(problem)
    if first is None:
        from optimizer.greedy import greedy_shipments  # the fallback only

        status, gap = SolveStatus.TIMED_OUT, None
        shipments = greedy_shipments(problem, srcs, times.hours, list(need.values()), pool)
        fallback = _stock_bound(d)
    else:
        proven = first.proven and math.isfinite(first.bound)
        top = math.floor(first.bound + 1e-6) if proven else 0
        gap = max((top - first.best) / max(top, 1), 0.0) if proven else None
        optimal = gap is not None and gap <= params.relative_gap
        status = SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE
        if gap is not None and not optimal:
            notes.append(f"residents served on time within {gap:.2%} of the bound")
        must, rest = _fixed_rows(d, cl, first.served, first.reachable)
        batches = _no_batches()
        kept = first.arcs.take(np.flatnonzero(first.flows > 0))
        if params.tiered_targets:
            say("stage 1b LP: first batches on target per depot tier")
            found_batches = _first_batches(d, cl, must, kept, params, until(1), say)
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
            found = _fairness(
                d, cl, first.arcs, first.flows, must, rest, params, until(1), say, batches
            )
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
    plan = Plan(
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
    if fallback is not None:
        got = plan.kpis()["residents_served_on_time"]
        plan.gap = max((fallback - got) / max(fallback, 1), 0.0)
        notes.insert(
            0,
            "no allocation within the time limit: the greedy baseline's plan is shown "
            f"({got:,} residents on time; no plan can serve more than {fallback:,.0f}, what "
            "the stock in time could cover)",
        )
    return plan


__all__ = ["OBJECTIVE_ORDER", "Need", "solve_allocation"]
