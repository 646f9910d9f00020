"""An upper bound on the residents any truck tours could serve on time.

A routed plan is `optimal` only when its tours reach this bound, and its gap is measured
against it; the allocation's own bound does not serve, because its shuttle fleet model is
not a relaxation of tours (a truck that runs short trips to a near shelter and then one
long trip to a far one delivers more than the shuttle model lets it).

The relaxation (every routed plan satisfies it, so its optimum is an upper bound):

- A depot's truck is ready at the depot's ready time r (trucks still out on a trip are
  ready later: taking r is looser). Any trip lasts at least the shortest cycle
  c = 2·τ_min + stop + reload, where τ_min is the fastest truck's shortest drive to a
  shelter (roads are undirected: back equals there; every stop costs its fixed time on
  leaving). So a truck's k-th trip reaches its first shelter no earlier than
  r + (k - 1)·c + τ_min: a truck can bring on-time goods on at most
  n = ⌊(T - r - τ_min) / c⌋ + 1 trips. A trip that stops at shelter j drives there and
  back, so it lasts at least c_j = 2·τ_j + stop + reload, and the k-th trip of a truck
  to j reaches it no earlier than r + (k - 1)·c_j + τ_j: at most
  n_j = ⌊(T - r - τ_j) / c_j⌋ + 1 trips of a truck reach j on time. Each trip carries at
  most its capacity in kg and in m³. Summed over the depot's trucks: on-time kg from
  the depot ≤ Σ cap_kg · n, and to shelter j ≤ Σ cap_kg · n_j (m³ alike). Unloading
  time is left out (it only makes trips longer).
- Trips, counted per depot and shelter (z): a trip carries at most the depot's biggest
  truck, so z ≥ kg / biggest kg and z ≥ m³ / biggest m³; and z ≤ the trips that can reach
  the shelter on time (n_j per truck). Two shelters that no trip can both reach on time
  (r + τ_j + stop + d_jk > T either way round) never share a trip, so over any set of
  such shelters (a clique of the conflict graph, found greedily, farthest first) the
  trips add up to at most the trips that can reach the clique's nearest member on time.
  This is what decides when geometry does: one truck and two shelters in opposite
  directions can serve one of them, not both half.
- Agreement suppliers bring their own goods: a unit arrives on time if the supplier's
  ready time plus the drive is within the deadline.
- Stock per source and item, and each shelter served only when every critical item's
  need (less loads already on the road that arrive in time) arrives on time.

Maximising residents served subject to these, with shelters' y and flows continuous, is
an LP; its optimum, rounded down, is the bound. A MIP with whole shelters (y binary),
stopped after a fixed number of branch-and-bound nodes (work, not the clock, so the bound
is the same on any machine), gives a tighter one: its proven best bound. Times are in
minutes with one minute of slack per drive, so the tours' rounding to whole minutes can
never beat the bound.
"""

import math
import time
from dataclasses import dataclass

import numpy as np
from ortools.linear_solver.python import model_builder as mb

from optimizer.demand import needs
from optimizer.lp import Rows, quiet_stdout
from optimizer.network import Place, travel_times
from optimizer.params import RouteParams
from optimizer.plan import SourceKind
from optimizer.problem import Problem
from optimizer.sources import EPS, Reach, deliveries

__all__ = ["TourBound", "tour_bound"]

#: Minutes of slack per drive (the tours round each leg to whole minutes).
SLACK_MINUTES = 1.0
#: Branch-and-bound nodes the whole-shelter model may use (a work limit, not a clock).
MIP_NODES = 200
#: On-time arcs (source, shelter, critical item) above which no bound is attempted.
MAX_ARCS = 60_000
#: Shelters with needs above which shelter-to-shelter drives (for the trip conflicts)
#: are not computed: one shortest-path tree per shelter.
CONFLICT_SHELTERS = 600


@dataclass(frozen=True, slots=True)
class TourBound:
    """residents: the bound (None when no bound was proven within the time cap);
    lp_residents: the LP's alone; seconds: time spent; note: how it was obtained;
    shelters: the whole-shelter relaxation's best choice of shelters served on time (a
    guide for the allocation: it knows trips better than the shuttle model)."""

    residents: int | None
    lp_residents: int | None
    seconds: float
    note: str
    shelters: tuple[str, ...] = ()


def tour_bound(
    problem: Problem,
    travel: Reach,
    params: RouteParams,
    *,
    deadline_hours: float | None = None,
    time_limit_s: float = 10.0,
) -> TourBound:
    """Upper bound on residents served on time by any allocation and any tours.

    Parameters
    ----------
    problem
        The disaster and what we hold.
    travel
        `optimizer.sources.reach(problem)`: sources (depots at their fastest truck's
        speed) and their drives to every shelter.
    params
        Stop and reload times of the tours.
    deadline_hours
        Overrides `problem.deadline_hours`.
    time_limit_s
        Safety cap on the solver calls; a bound not proven within it is None.
    """
    started = time.perf_counter()
    deadline = problem.deadline_hours if deadline_hours is None else deadline_hours
    # Explicit columns: with no source holding anything the matrix is empty (0 × shelters).
    srcs = travel.sources
    hours = travel.times.hours.reshape(len(srcs), len(problem.shelters))
    shelters = problem.shelters
    row = {h.code: j for j, h in enumerate(shelters)}
    items = sorted({n.item for n in problem.norms if n.critical})
    col = {c: k for k, c in enumerate(items)}
    need = np.zeros((len(shelters), len(items)))
    for n in needs(problem):
        if n.critical:
            need[row[n.shelter], col[n.item]] = n.qty
    for e in problem.en_route:
        if e.arrival_hours <= deadline + EPS and e.shelter in row and e.item in col:
            j, c = row[e.shelter], col[e.item]
            need[j, c] = max(need[j, c] - e.qty, 0)
    specs = {it.code: it for it in problem.items}
    weight = np.array([specs[c].unit_weight_kg for c in items])
    volume = np.array([specs[c].unit_volume_m3 for c in items])
    supply = np.zeros((len(srcs), len(items)))
    for i, s in enumerate(srcs):
        for item, qty in s.supply.items():
            if item in col:
                supply[i, col[item]] = qty

    slack_h = SLACK_MINUTES / 60
    drive = np.maximum(np.where(np.isfinite(hours), hours, np.inf) - slack_h, 0.0)
    ready = np.array([s.ready_hours for s in srcs], dtype=float)
    can = np.array([s.can_deliver for s in srcs], dtype=bool)
    in_time = (ready[:, None] + drive <= deadline + EPS) & can[:, None]
    depot = np.array([s.kind == SourceKind.DEPOT for s in srcs], dtype=bool)
    stop_h = params.stop_minutes / 60
    per_depot_kg = np.full(len(srcs), np.inf)
    per_depot_m3 = np.full(len(srcs), np.inf)
    arc_kg = np.full(hours.shape, np.inf)
    arc_m3 = np.full(hours.shape, np.inf)
    trips_to = np.zeros(hours.shape)  # on-time trips of the whole fleet to each shelter
    big_kg = np.zeros(len(srcs))
    big_m3 = np.zeros(len(srcs))
    fleet = [v for v in problem.fleet if v.count > 0]
    for i, s in enumerate(srcs):
        if not depot[i]:
            continue
        trucks = [v for v in fleet if v.depot == s.code]
        cap_kg = sum(v.count * v.capacity_kg for v in trucks)
        cap_m3 = sum(v.count * v.capacity_m3 for v in trucks)
        wanted = need.sum(axis=1) > 0
        reachable = in_time[i] & wanted
        if not reachable.any() or not trucks:
            per_depot_kg[i] = per_depot_m3[i] = 0.0
            continue
        # The shuttle count of the allocation's fleet model, with no unloading time: to the
        # nearest shelter (any trip is at least its cycle) and to each shelter (every trip
        # to j goes there and back).
        extra = np.array([stop_h + params.reload_hours])
        nearest = drive[i : i + 1, reachable].min(axis=1, keepdims=True)
        trips = float(deliveries(ready[i : i + 1], nearest, extra, deadline)[0, 0])
        per_depot_kg[i], per_depot_m3[i] = cap_kg * trips, cap_m3 * trips
        with np.errstate(invalid="ignore"):
            to_each = deliveries(ready[i : i + 1], drive[i : i + 1], extra, deadline)[0]
        arc_kg[i], arc_m3[i] = cap_kg * to_each, cap_m3 * to_each
        trips_to[i] = sum(v.count for v in trucks) * to_each
        big_kg[i] = max(v.capacity_kg for v in trucks)
        big_m3[i] = max(v.capacity_m3 for v in trucks)

    # Which shelters count however the plan goes (nothing critical left to bring), which
    # can be served at all (every critical item from some source in time), and the arcs.
    done = (need <= 0).all(axis=1)
    residents = np.array([h.residents for h in shelters], dtype=float)
    free = float(residents[done].sum())
    arcs_i, arcs_j, arcs_c = [], [], []
    for c in range(len(items)):
        ii, jj = np.nonzero(in_time & (supply[:, c] > 0)[:, None] & (need[:, c] > 0)[None, :])
        arcs_i.append(ii)
        arcs_j.append(jj)
        arcs_c.append(np.full(len(ii), c))
    ai = np.concatenate(arcs_i) if arcs_i else np.zeros(0, int)
    aj = np.concatenate(arcs_j) if arcs_j else np.zeros(0, int)
    ac = np.concatenate(arcs_c) if arcs_c else np.zeros(0, int)
    covered = np.zeros(need.shape, dtype=bool)
    covered[aj, ac] = True
    candidates = np.flatnonzero(~done & ((need <= 0) | covered).all(axis=1) & (residents > 0))
    if not len(candidates):
        alone = math.floor(free + 1e-6)
        return TourBound(alone, alone, time.perf_counter() - started, "no shelter can be served")
    keep = np.isin(aj, candidates)
    ai, aj, ac = ai[keep], aj[keep], ac[keep]
    if len(ai) > MAX_ARCS:
        # HiGHS overran its time limit by minutes on the synthetic province's 400k arcs;
        # no bound is better than a plan late because of its bound.
        return TourBound(
            None,
            None,
            time.perf_counter() - started,
            f"{len(ai):,} on-time arcs: too many for the tour bound (at most {MAX_ARCS:,})",
        )
    n_x, n_y = len(ai), len(candidates)
    on_road = np.flatnonzero(depot[ai])
    pair = ai[on_road] * len(shelters) + aj[on_road]
    pairs, inverse = np.unique(pair, return_inverse=True)  # one (depot, shelter) a z
    n_z = len(pairs)
    zi, zj = pairs // len(shelters), pairs % len(shelters)
    z0 = n_x + n_y
    rows = Rows(n_x + n_y + n_z)

    # need: Σ_i x(i, j, c) - need(j, c) · y_j ≥ 0 for every candidate shelter's item
    jj, cc = np.nonzero(need[candidates] > 0)
    key = -np.ones(need.shape, dtype=np.int64)
    key[candidates[jj], cc] = np.arange(len(jj))
    first = rows.add(np.zeros(len(jj)), np.full(len(jj), np.inf))
    rows.terms(first + key[aj, ac], np.arange(n_x), 1.0)
    rows.terms(first + np.arange(len(jj)), n_x + jj, -need[candidates[jj], cc])
    # stock per source and item
    first = rows.add(np.full(len(srcs) * len(items), -np.inf), supply.ravel())
    rows.terms(first + ai * len(items) + ac, np.arange(n_x), 1.0)
    for per_unit, total, per_arc, big in (
        (weight, per_depot_kg, arc_kg, big_kg),
        (volume, per_depot_m3, arc_m3, big_m3),
    ):
        # on-time trips per depot, and per (depot, shelter), times capacity
        first = rows.add(np.full(len(srcs), -np.inf), np.where(np.isfinite(total), total, 1e30))
        rows.terms(first + ai[on_road], on_road, per_unit[ac[on_road]])
        cap = per_arc.ravel()[pairs]
        first = rows.add(np.full(n_z, -np.inf), np.where(np.isfinite(cap), cap, 1e30))
        rows.terms(first + inverse, on_road, per_unit[ac[on_road]])
        # z ≥ load / the biggest truck
        first = rows.add(np.full(n_z, -np.inf), np.zeros(n_z))
        rows.terms(first + inverse, on_road, per_unit[ac[on_road]])
        rows.terms(first + np.arange(n_z), z0 + np.arange(n_z), -np.maximum(big[zi], EPS))
    # shelters no trip can share: their trips add up to at most the nearest one's
    conflicts = _cliques(problem, srcs, zi, zj, drive, ready, deadline, stop_h, trips_to)
    for members, most in conflicts:
        first = rows.add(np.array([-np.inf]), np.array([most]))
        rows.terms(np.full(len(members), first), z0 + members, 1.0)
    var_hi = np.concatenate(
        [
            np.minimum(need[aj, ac], supply[ai, ac]),
            np.ones(n_y),
            trips_to[zi, zj],
        ]
    )
    objective = np.concatenate([np.zeros(n_x), residents[candidates], np.zeros(n_z)])
    whole = np.zeros(n_x + n_y + n_z, dtype=bool)
    whole[n_x:] = True  # whole shelters, whole trips

    chosen: list[str] = []

    def solve(integer: bool, seconds: float) -> tuple[bool, float]:
        model = rows.model(np.zeros(len(var_hi)), var_hi, objective, whole if integer else None)
        solver = mb.Solver("highs")
        solver.set_time_limit_in_seconds(max(seconds, 0.05))
        if integer:
            solver.set_solver_specific_parameters(f"mip_max_nodes={MIP_NODES}")
        with quiet_stdout():
            status = solver.solve(model)
        if integer and status in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE):
            y = solver.values(model.get_variables()).to_numpy()[n_x : n_x + n_y]
            chosen[:] = [shelters[j].code for j in candidates[y > 0.5]]
        if status == mb.SolveStatus.OPTIMAL:
            return True, float(solver.objective_value)
        if integer and status == mb.SolveStatus.FEASIBLE:
            found = float(solver.best_objective_bound)
            return math.isfinite(found), found
        return False, math.nan

    def left() -> float:
        return time_limit_s - (time.perf_counter() - started)

    ok, lp = solve(False, left())
    if not ok:
        return TourBound(None, None, time.perf_counter() - started, "the LP found no bound in time")
    lp_top = math.floor(free + lp + 1e-6)
    note = "LP over trips per truck" + (
        f", {len(conflicts)} trip conflicts" if conflicts else ", no trip conflicts computed"
    )
    top = lp_top
    if left() > 0.1:
        ok, mip = solve(True, left())
        if ok:
            top = min(top, math.floor(free + mip + 1e-6))
            note = note.replace("LP over", "whole shelters and trips (MIP bound) over")
    return TourBound(top, lp_top, time.perf_counter() - started, note, tuple(chosen))


def _cliques(
    problem: Problem,
    srcs: list,
    zi: np.ndarray,
    zj: np.ndarray,
    drive: np.ndarray,
    ready: np.ndarray,
    deadline: float,
    stop_h: float,
    trips_to: np.ndarray,
) -> list[tuple[np.ndarray, float]]:
    """Sets of (depot, shelter) trip counters no trip can share, with their trips' cap.

    Returns (indices into the z variables, most trips) per clique; none when there are
    too many shelters to compute shelter-to-shelter drives (`CONFLICT_SHELTERS`).
    """
    shelters = sorted(set(zj.tolist()))
    if len(shelters) < 2 or len(shelters) > CONFLICT_SHELTERS:
        return []
    out: list[tuple[np.ndarray, float]] = []
    seen: set[frozenset[int]] = set()
    by_speed: dict[float | None, np.ndarray] = {}
    slack_h = SLACK_MINUTES / 60
    for i in sorted(set(zi.tolist())):
        mine = np.flatnonzero(zi == i)
        if len(mine) < 2:
            continue
        speed = srcs[i].speed_cap_kmh
        if speed not in by_speed:
            places = [
                Place(
                    problem.shelters[j].code,
                    problem.shelters[j].lat,
                    problem.shelters[j].lon,
                    speed,
                )
                for j in shelters
            ]
            between = travel_times(problem, places, places).hours
            by_speed[speed] = np.maximum(
                np.where(np.isfinite(between), between, np.inf) - slack_h, 0
            )
        between = by_speed[speed]
        where = {j: k for k, j in enumerate(shelters)}
        js = zj[mine]
        tau = drive[i, js]
        pos = np.array([where[int(j)] for j in js])
        d = between[np.ix_(pos, pos)]
        first = np.minimum(tau[:, None] + stop_h + d, tau[None, :] + stop_h + d.T)
        clash = ready[i] + first > deadline + EPS
        np.fill_diagonal(clash, False)
        order = np.argsort(-tau, kind="stable")
        for a in order:
            members = [int(a)]
            for b in order:
                if b != a and all(clash[b, m] for m in members):
                    members.append(int(b))
            key = frozenset(members)
            if len(members) < 2 or key in seen:
                continue
            seen.add(key)
            top = float(max(trips_to[i, zj[mine[m]]] for m in members))
            out.append((mine[np.array(sorted(members))], top))
    return out
