"""Ruin and recreate for the routing engine: slack induction by string removals (SISR).

OR-Tools' local search moves one or two customers at a time and re-checks the whole model
after each move, so on a few hundred customers it makes a few hundred moves in 30 s. SISR
(Christiaens & Vanden Berghe, Transportation Science 2020) instead removes a few strings of
nearby customers from neighbouring routes and reinserts them greedily, each at its
cheapest feasible position, accepting worse solutions by simulated annealing: a cheap step
repeated hundreds of thousands of times. Compiled with numba, it takes over from the
OR-Tools search after `SearchSettings.search_share` of the time limit, from its best
solution, or alone (the planner) for a set number of steps from the packed depot tours.

It works on the same `RoutingModel` and keeps every rule: loads in every dimension, hard
windows with waiting, vehicle start and end times, soft deadlines, fixed costs, optional
visits with their penalties and trip chains. Without time rules an insertion costs O(1);
under hard windows alone too (earliest and latest service starts kept per stop); with soft
deadlines or trip chains a candidate route (or chain) is re-timed in full, which stays
cheap because tours are short. Its result is checked again in Python
before it is used (`optimizer.routing.model.violation`).
"""

import itertools
import math
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from optimizer.params import RuinSettings
from optimizer.routing.model import RoutingModel, Vehicle, needs_time

HUGE = np.int64(2**62)


def _cached() -> bool:
    """Whether numba's on-disk cache holds the kernels for this source (no compile)."""
    try:
        return bool(_run._cache._cache_file._load_index())  # type: ignore[attr-defined]
    except Exception:
        return False


#: Seconds numba takes to compile the kernels on this kind of machine (measured: ~18 s).
COMPILE_S = 25.0


def ready(seconds_left: float) -> bool:
    """Whether the kernels can run now without eating the time limit: compiled in this
    process, loadable from numba's cache, or enough time left to compile them."""
    return bool(_run.signatures) or _cached() or seconds_left > 2 * COMPILE_S


def ensure_loaded() -> None:
    """Compile or load the kernels in this process now, so that no clock-capped search
    pays for it (compiling takes about half a minute, once per machine)."""
    if not _run.signatures:
        warm()


def warm() -> float:
    """Compile (or load) the kernels on a tiny model; seconds it took. Benchmarks call it
    before timing, as PyVRP's compiled code is ready before its clock starts."""
    began = time.time()
    d = np.array([[0, 3, 4], [3, 0, 5], [4, 5, 0]], dtype=np.int64)
    for timed in (False, True):
        window = np.array([[0, 100], [0, 50 if timed else 100], [0, 100]], dtype=np.int64)
        model = RoutingModel(
            distance=d,
            times=[d],
            demand=np.array([[0], [1], [1]], dtype=np.int64),
            service=np.zeros(3, dtype=np.int64),
            window=window if timed else np.array([[0, 10**6]] * 3, dtype=np.int64),
            vehicles=(Vehicle(0, 0, (5,)), Vehicle(0, 0, (5,))),
            depots=frozenset({0}),
        )
        improve(model, {0: [1, 2]}, [], time.time() + 0.01, 0, RuinSettings(chunk=5))
    return time.time() - began


@dataclass(slots=True)
class Packed:
    """The model as flat arrays for the compiled kernels."""

    dist: np.ndarray  # (N, N)
    tt: np.ndarray  # (P, N, N)
    dem: np.ndarray  # (N, D)
    svc: np.ndarray  # (N,)
    tw: np.ndarray  # (N, 2)
    soft: np.ndarray  # (N,) HUGE when none
    late: np.ndarray  # (N,)
    pen: np.ndarray  # (N,) -1 = mandatory
    vstart: np.ndarray
    vend: np.ndarray
    vprof: np.ndarray
    cap: np.ndarray  # (V, D)
    fixed: np.ndarray
    vearly: np.ndarray
    vlate: np.ndarray  # HUGE when none
    head: np.ndarray  # first trip of the vehicle's chain (itself when alone)
    nxt: np.ndarray  # next trip in the chain or -1
    reload: int
    customers: np.ndarray  # (C,)
    near: np.ndarray  # (N, K) nearest customers of each customer
    timed: bool
    mode: int  # 0 no time rules, 1 hard windows only, 2 general, 3 one soft deadline (_run)
    soft_d: int  # mode 3: the customers' common soft deadline (HUGE: no lateness)


def pack(model: RoutingModel, neighbours: int = 100) -> Packed:
    """Arrays of a validated `RoutingModel` for the kernels."""
    n = model.n_nodes
    vs = model.vehicles
    customers = np.array(model.customers(), dtype=np.int64)
    sub = model.distance[np.ix_(customers, customers)]
    sym = sub + sub.T
    k = min(neighbours, max(len(customers) - 1, 1))
    near = np.full((n, k), -1, dtype=np.int64)
    if len(customers) > 1:
        # Each customer last in its own row (the stable sort keeps ties in index order).
        np.fill_diagonal(sym, sym.max() + 1)
        order = np.argsort(sym, axis=1, kind="stable")[:, :k]
        near[customers] = customers[order]
    head = np.arange(len(vs), dtype=np.int64)
    nxt = np.full(len(vs), -1, dtype=np.int64)
    for chain in model.chains:
        for a, b in itertools.pairwise(chain):
            nxt[a] = b
        for v in chain:
            head[v] = chain[0]
    timed = needs_time(model)
    simple_time = not model.chains and (
        model.lateness_cost is None or not bool(np.any(model.lateness_cost > 0))
    )
    soft = np.full(n, HUGE, dtype=np.int64)
    late = np.zeros(n, dtype=np.int64)
    if model.soft_latest is not None and model.lateness_cost is not None:
        soft = model.soft_latest.astype(np.int64)
        late = model.lateness_cost.astype(np.int64)
    pen = np.full(n, -1, dtype=np.int64)
    if model.drop_penalty is not None:
        pen = model.drop_penalty.astype(np.int64)
    mode = 0 if not timed else (1 if simple_time else 2)
    weighted = customers[late[customers] > 0] if len(customers) else customers
    softs = np.unique(soft[weighted]) if len(weighted) else np.zeros(0, dtype=np.int64)
    soft_d = int(softs[0]) if len(softs) == 1 else int(HUGE)
    if mode == 2 and len(softs) <= 1:
        mode = 3
    return Packed(
        dist=np.ascontiguousarray(model.distance, dtype=np.int64),
        tt=np.ascontiguousarray(np.stack(model.times).astype(np.int64)),
        dem=np.ascontiguousarray(model.demand, dtype=np.int64),
        svc=model.service.astype(np.int64),
        tw=np.ascontiguousarray(model.window, dtype=np.int64),
        soft=soft,
        late=late,
        pen=pen,
        vstart=np.array([v.start for v in vs], dtype=np.int64),
        vend=np.array([v.end for v in vs], dtype=np.int64),
        vprof=np.array([v.profile for v in vs], dtype=np.int64),
        cap=np.array([v.capacity for v in vs], dtype=np.int64).reshape(len(vs), -1),
        fixed=np.array([v.fixed_cost for v in vs], dtype=np.int64),
        vearly=np.array([v.earliest_start for v in vs], dtype=np.int64),
        vlate=np.array(
            [HUGE if v.latest_end is None else v.latest_end for v in vs], dtype=np.int64
        ),
        head=head,
        nxt=nxt,
        reload=int(model.reload),
        customers=customers,
        near=near,
        timed=timed,
        mode=mode,
        soft_d=soft_d,
    )


# --------------------------------------------------------------------------- kernels


@njit(cache=True)
def _trip(
    v, seq, length, ready, dist, tt, svc, tw, soft, late, vstart, vend, vprof, fixed,
    vearly, vlate,
):  # fmt: skip
    """(feasible, cost, end time) of one trip: distance + lateness + fixed cost if used."""
    if length == 0:
        return True, np.int64(0), max(ready, vearly[v], tw[vstart[v], 0])
    p = vprof[v]
    prev = vstart[v]
    t = max(ready, vearly[v], tw[prev, 0]) + svc[prev]
    cost = fixed[v]
    for i in range(length):
        node = seq[i]
        cost += dist[prev, node]
        t = max(t + tt[p, prev, node], tw[node, 0])
        if t > tw[node, 1]:
            return False, cost, t
        if t > soft[node]:
            cost += (t - soft[node]) * late[node]
        t += svc[node]
        prev = node
    cost += dist[prev, vend[v]]
    t += tt[p, prev, vend[v]]
    if t > vlate[v] or t > tw[vend[v], 1]:
        return False, cost, t
    return True, cost, t


@njit(cache=True)
def _unit(
    h, routes, rlen, alt_v, alt_seq, alt_len, nxt, reload, dist, tt, svc, tw, soft, late,
    vstart, vend, vprof, fixed, vearly, vlate,
):  # fmt: skip
    """(feasible, cost) of the trip chain starting at vehicle h, trip alt_v replaced."""
    ready = np.int64(0)
    total = np.int64(0)
    v = h
    while v != -1:
        if v == alt_v:
            ok, c, end = _trip(
                v, alt_seq, alt_len, ready, dist, tt, svc, tw, soft, late, vstart, vend,
                vprof, fixed, vearly, vlate,
            )  # fmt: skip
            used = alt_len > 0
        else:
            ok, c, end = _trip(
                v, routes[v], rlen[v], ready, dist, tt, svc, tw, soft, late, vstart, vend,
                vprof, fixed, vearly, vlate,
            )  # fmt: skip
            used = rlen[v] > 0
        if not ok:
            return False, total
        total += c
        ready = end + reload if used else end
        v = nxt[v]
    return True, total


@njit(cache=True)
def _plain_cost(v, routes, rlen, dist, vstart, vend, fixed):
    """Distance + fixed cost of a trip (models without time rules)."""
    length = rlen[v]
    if length == 0:
        return np.int64(0)
    prev = vstart[v]
    cost = fixed[v]
    for i in range(length):
        cost += dist[prev, routes[v, i]]
        prev = routes[v, i]
    return cost + dist[prev, vend[v]]


@njit(cache=True)
def _timing(v, routes, rlen, arr, lat, t0, latend, tt, svc, tw, vstart, vend, vprof, vearly, vlate):
    """Service start (arr) and latest feasible service start (lat) at each stop of trip v,
    for O(1) insertion checks under hard windows; False when the trip itself is late."""
    p = vprof[v]
    length = rlen[v]
    start = vstart[v]
    end = vend[v]
    t0[v] = max(vearly[v], tw[start, 0]) + svc[start]
    latend[v] = min(vlate[v], tw[end, 1])
    t = t0[v]
    prev = start
    ok = True
    for i in range(length):
        node = routes[v, i]
        t = max(t + tt[p, prev, node], tw[node, 0])
        if t > tw[node, 1]:
            ok = False
        arr[v, i] = t
        t += svc[node]
        prev = node
    if t + tt[p, prev, end] > latend[v]:
        ok = False
    nxt_lat = latend[v]
    nxt_node = end
    for i in range(length - 1, -1, -1):
        node = routes[v, i]
        lat[v, i] = min(tw[node, 1], nxt_lat - svc[node] - tt[p, node, nxt_node])
        nxt_lat = lat[v, i]
        nxt_node = node
    return ok


@njit(cache=True)
def _chain_timing(h, routes, rlen, rules, chain):
    """Time the chain of trips starting at h, keeping what insertions need (mode 3).

    `rules` are the model's arrays (nxt, reload, dist, tt, svc, tw, soft, late, vstart,
    vend, vprof, fixed, vearly, vlate), `chain` the arrays it fills (below), as tuples so
    that every caller passes the same two names.

    Per trip v: its start ts and end te, off (where its nodes start in the chain's
    sequence), esuf (least slack of any trip end from v on), twn (later trips whose start
    waits). Per chain position k: ft (arrival), pl/plt (prefix sums of lateness weights
    and weight × arrival), smin (least window slack from k on), cws (waits from k on).
    Returns (feasible, cost) of the chain, cost as `_unit` counts it.
    """
    nxt, reload, dist, tt, svc, tw, soft, late, vstart, vend, vprof, fixed, vearly, vlate = rules
    ts, te, esuf, twn, off, ft, pl, plt, smin, cws, clen, trips = chain
    ready = np.int64(0)
    total = np.int64(0)
    ok = True
    k = 0
    n_trips = 0
    v = h
    while v != -1:
        trips[n_trips] = v
        n_trips += 1
        start = max(ready, vearly[v], tw[vstart[v], 0])
        ts[v] = start
        off[v] = k
        limit = min(vlate[v], tw[vend[v], 1])
        if rlen[v] == 0:
            te[v] = start
            ready = start
            if start > limit:
                ok = False
        else:
            p = vprof[v]
            prev = vstart[v]
            t = start + svc[prev]
            total += fixed[v]
            for i in range(rlen[v]):
                node = routes[v, i]
                total += dist[prev, node]
                arrive = t + tt[p, prev, node]
                cws[h, k] = 1 if tw[node, 0] > arrive else 0
                t = max(arrive, tw[node, 0])
                if t > tw[node, 1]:
                    ok = False
                if t > soft[node]:
                    total += (t - soft[node]) * late[node]
                ft[h, k] = t
                smin[h, k] = tw[node, 1] - t
                pl[h, k + 1] = pl[h, k] + late[node]
                plt[h, k + 1] = plt[h, k] + late[node] * t
                t += svc[node]
                prev = node
                k += 1
            total += dist[prev, vend[v]]
            t += tt[p, prev, vend[v]]
            te[v] = t
            if t > limit:
                ok = False
            ready = t + reload
        v = nxt[v]
    clen[h] = k
    # suffixes over the chain's positions and trips
    smin[h, k] = HUGE
    cws[h, k] = 0
    for j in range(k - 1, -1, -1):
        smin[h, j] = min(smin[h, j], smin[h, j + 1])
        cws[h, j] = cws[h, j] + cws[h, j + 1]
    later_slack = HUGE
    later_waits = 0
    for q in range(n_trips - 1, -1, -1):
        v = trips[q]
        limit = min(vlate[v], tw[vend[v], 1])
        later_slack = min(later_slack, limit - te[v])
        esuf[v] = later_slack
        twn[v] = later_waits
        prev_ready = np.int64(0)
        if q > 0:
            u = trips[q - 1]
            prev_ready = te[u] + reload if rlen[u] > 0 else te[u]
        if ts[v] > prev_ready and q > 0:
            later_waits += 1
    return ok, total


@njit(cache=True)
def _shift_cost(h, k, delta, soft_d, ft, pl, plt, clen):
    """Extra lateness when every arrival from chain position k on moves `delta` > 0
    later, all sharing the soft deadline soft_d (arrivals are sorted along a chain)."""
    n = clen[h]
    if k >= n:
        return np.int64(0)
    lo, hi = k, n  # first position arriving after soft_d - delta
    while lo < hi:
        mid = (lo + hi) // 2
        if ft[h, mid] + delta > soft_d:
            hi = mid
        else:
            lo = mid + 1
    m = lo
    lo, hi = m, n  # first position already at or after soft_d
    while lo < hi:
        mid = (lo + hi) // 2
        if ft[h, mid] >= soft_d:
            hi = mid
        else:
            lo = mid + 1
    q = lo
    return delta * (pl[h, n] - pl[h, m]) + (plt[h, q] - plt[h, m]) - soft_d * (pl[h, q] - pl[h, m])


@njit(cache=True)
def _run(
    routes, rlen, owner, ucost, load, iterations, temp_from, temp_to, removal_avg,
    string_max, blink, seed_value,
    dist, tt, dem, svc, tw, soft, late, pen, vstart, vend, vprof, cap, fixed, vearly, vlate,
    head, nxt, reload, customers, near, mode, soft_d, granular, full_first,
    best_routes, best_rlen, best_owner, best_cost_arr,
    saved_routes, saved_rlen, saved_owner, saved_ucost, saved_load, arr, lat,
    ft, pl, plt, smin, cws,
):  # fmt: skip
    """`iterations` SISR steps from the current solution (arrays updated in place).

    mode 0: no time rules (distance deltas); 1: hard windows only, no chains nor soft
    deadlines (O(1) checks on arr/lat); 2: anything (each candidate trip chain re-timed);
    3: chains and/or soft deadlines all at `soft_d`: an insertion delays the rest of its
    chain by one amount, so its feasibility is an O(1) slack check and its lateness an
    O(log n) lookup in the chain's prefix sums (`_chain_timing`, `_shift_cost`); where
    waiting could absorb the delay, the chain is re-timed as in mode 2.

    Customers left out get another chance at every step; when `granular`, after the
    first step (if `full_first`), only when the step's ruin centres near them (the seed and its
    `near` row), and a customer is inserted only into trips holding one of its `near`
    customers or into empty ones (`RuinSettings.granular_above`).

    saved_* hold the current solution between steps (equal to routes... on entry, and
    kept so on return); arr, lat (mode 1) and ft... (mode 3) are working space. All are
    the caller's, so that a call costs its steps, not copies and allocations of the
    whole solution (75 ms a call on a 720-trip depot).

    Returns the current solution's cost; the best one seen is kept in best_* when it
    beats best_cost_arr[0].
    """
    np.random.seed(seed_value)
    n_vehicles = routes.shape[0]
    dims = dem.shape[1]
    n_cust = customers.shape[0]
    # cost of the current solution
    current = np.int64(0)
    for v in range(n_vehicles):
        if head[v] == v:
            current += ucost[v]
    for c in customers:
        if owner[c] == -1:
            current += pen[c]
    removed = np.empty(n_cust, dtype=np.int64)
    near_seed = np.full(dist.shape[0], -1, dtype=np.int64)  # step that ruined near it
    # Rows that may differ from best_*: copying only those when a new best is found (a
    # whole copy was 11 MB a step on a 720-trip depot); unknown on entry, so all.
    dirty = np.ones(n_vehicles, dtype=np.bool_)
    # Vehicles holding a neighbour of the customer being inserted (granular insertion:
    # a tour far from every neighbour is no place for it; empty trips always are).
    near_v = np.full(n_vehicles, -1, dtype=np.int64)
    n_insert = 0
    ruined = np.zeros(n_vehicles, dtype=np.bool_)  # route rows changed this step
    touched = np.zeros(n_vehicles, dtype=np.bool_)  # chain heads re-costed this step
    buf = np.empty(routes.shape[1] + 1, dtype=np.int64)
    keys = np.empty(n_cust, dtype=np.float64)
    t0 = np.zeros(n_vehicles, dtype=np.int64)
    latend = np.zeros(n_vehicles, dtype=np.int64)
    ts = np.zeros(n_vehicles, dtype=np.int64)
    te = np.zeros(n_vehicles, dtype=np.int64)
    esuf = np.zeros(n_vehicles, dtype=np.int64)
    twn = np.zeros(n_vehicles, dtype=np.int64)
    off = np.zeros(n_vehicles, dtype=np.int64)
    trips = np.zeros(n_vehicles, dtype=np.int64)
    clen = np.zeros(n_vehicles, dtype=np.int64)
    rules = (nxt, reload, dist, tt, svc, tw, soft, late, vstart, vend, vprof, fixed, vearly, vlate)
    chain = (ts, te, esuf, twn, off, ft, pl, plt, smin, cws, clen, trips)
    if mode == 3:
        for v in range(n_vehicles):
            if head[v] == v:
                _chain_timing(v, routes, rlen, rules, chain)
    if mode == 1:
        for v in range(n_vehicles):
            _timing(
                v,
                routes,
                rlen,
                arr,
                lat,
                t0,
                latend,
                tt,
                svc,
                tw,
                vstart,
                vend,
                vprof,
                vearly,
                vlate,
            )
    log_ratio = math.log(temp_to / temp_from) if temp_from > 0 else 0.0
    for it in range(iterations):
        temperature = temp_from * math.exp(log_ratio * it / max(iterations, 1))
        # A run's first step offers every left-out customer everywhere, so none waits
        # for a ruin to land near it (the late loads of a capped search, say).
        narrow = granular and (it > 0 or not full_first)
        # ---- ruin
        used = 0
        assigned = 0
        for v in range(n_vehicles):
            if rlen[v] > 0:
                used += 1
                assigned += rlen[v]
        n_removed = 0
        ruined[:] = False
        touched[:] = False
        if used > 0:
            avg_len = assigned / used
            ls_max = min(float(string_max), avg_len)
            ks_max = 4.0 * removal_avg / (1.0 + ls_max) - 1.0
            ks = int(np.random.random() * max(ks_max, 1.0)) + 1
            seed_c = customers[np.random.randint(n_cust)]
            near_seed[seed_c] = it
            for j in range(near.shape[1]):
                if near[seed_c, j] >= 0:
                    near_seed[near[seed_c, j]] = it
            n_ruined = 0
            for j in range(-1, near.shape[1]):
                c = seed_c if j == -1 else near[seed_c, j]
                if c < 0 or n_ruined >= ks:
                    break
                v = owner[c]
                if v < 0 or ruined[v]:
                    continue
                length = rlen[v]
                lmax = min(length, int(ls_max))
                size = int(np.random.random() * lmax) + 1
                pos = 0
                for i in range(length):
                    if routes[v, i] == c:
                        pos = i
                lo = max(0, pos - size + 1)
                hi = min(pos, length - size)
                first = lo + np.random.randint(hi - lo + 1)
                for i in range(first, first + size):
                    removed[n_removed] = routes[v, i]
                    owner[routes[v, i]] = -1
                    n_removed += 1
                for i in range(first + size, length):
                    routes[v, i - size] = routes[v, i]
                rlen[v] = length - size
                for d in range(dims):
                    for i in range(n_removed - size, n_removed):
                        load[v, d] -= dem[removed[i], d]
                ruined[v] = True
                n_ruined += 1
        # optional customers left out so far get another chance (near the ruin)
        for c in customers:
            offered = not narrow or used == 0 or near_seed[c] == it
            if owner[c] == -1 and pen[c] >= 0 and offered:
                already = False
                for i in range(n_removed):
                    if removed[i] == c:
                        already = True
                        break
                if not already:
                    removed[n_removed] = c
                    n_removed += 1
        feasible = True
        # re-cost the ruined units (a chain as a whole)
        for v in range(n_vehicles):
            h = head[v]
            if ruined[v] and not touched[h]:
                touched[h] = True
                if mode == 2:
                    ok, cost = _unit(
                        h, routes, rlen, -1, buf, 0, nxt, reload, dist, tt, svc, tw, soft,
                        late, vstart, vend, vprof, fixed, vearly, vlate,
                    )  # fmt: skip
                    if not ok:
                        feasible = False
                    ucost[h] = cost
                elif mode == 3:
                    ok, cost = _chain_timing(h, routes, rlen, rules, chain)
                    if not ok:
                        feasible = False
                    ucost[h] = cost
                else:
                    ucost[h] = _plain_cost(h, routes, rlen, dist, vstart, vend, fixed)
                    if mode == 1 and not _timing(
                        h, routes, rlen, arr, lat, t0, latend, tt, svc, tw, vstart, vend,
                        vprof, vearly, vlate,
                    ):  # fmt: skip
                        feasible = False
        # ---- recreate order: random, by demand, far first, near first
        pick = np.random.random()
        depot = vstart[0]
        for i in range(n_removed):
            c = removed[i]
            if pick < 4 / 11:
                keys[i] = np.random.random()
            elif pick < 8 / 11:
                total = 0.0
                for d in range(dims):
                    total += dem[c, d]
                keys[i] = -total
            elif pick < 10 / 11:
                keys[i] = -float(dist[depot, c])
            else:
                keys[i] = float(dist[depot, c])
        order = np.argsort(keys[:n_removed])
        for oi in range(n_removed):
            if not feasible:
                break
            c = removed[order[oi]]
            best_delta = HUGE
            best_v = -1
            best_pos = -1
            n_insert += 1
            if narrow:
                for j in range(near.shape[1]):
                    o = near[c, j]
                    if o >= 0 and owner[o] >= 0:
                        near_v[owner[o]] = n_insert
            for v in range(n_vehicles):
                if narrow and rlen[v] > 0 and near_v[v] != n_insert:
                    continue
                fits = True
                for d in range(dims):
                    if load[v, d] + dem[c, d] > cap[v, d]:
                        fits = False
                        break
                if not fits:
                    continue
                length = rlen[v]
                h = head[v]
                for pos in range(length + 1):
                    if np.random.random() < blink:
                        continue
                    if mode < 2:
                        a = vstart[v] if pos == 0 else routes[v, pos - 1]
                        b = vend[v] if pos == length else routes[v, pos]
                        delta = dist[a, c] + dist[c, b] - dist[a, b]
                        if length == 0:
                            delta += fixed[v]
                        if mode == 1:
                            if delta >= best_delta:
                                continue
                            pr = vprof[v]
                            done = t0[v] if pos == 0 else arr[v, pos - 1] + svc[a]
                            at = max(done + tt[pr, a, c], tw[c, 0])
                            if at > tw[c, 1]:
                                continue
                            done = at + svc[c]
                            if pos == length:
                                if done + tt[pr, c, b] > latend[v]:
                                    continue
                            elif max(done + tt[pr, c, b], tw[b, 0]) > lat[v, pos]:
                                continue
                    else:
                        fast = False
                        if mode == 3:
                            # the delay this insertion passes on to the rest of the chain
                            a = vstart[v] if pos == 0 else routes[v, pos - 1]
                            b = vend[v] if pos == length else routes[v, pos]
                            delta = dist[a, c] + dist[c, b]
                            if length == 0:
                                delta += fixed[v]
                            else:
                                delta -= dist[a, b]
                            pr = vprof[v]
                            done = ts[v] + svc[a] if pos == 0 else ft[h, off[v] + pos - 1] + svc[a]
                            at = max(done + tt[pr, a, c], tw[c, 0])
                            if at > tw[c, 1]:
                                continue
                            if at > soft[c]:
                                delta += (at - soft[c]) * late[c]
                            if delta >= best_delta:
                                continue
                            done = at + svc[c]
                            shift = np.int64(-1)
                            k = np.int64(0)
                            slack = HUGE
                            if pos < length:
                                k = off[v] + pos
                                shift = max(done + tt[pr, c, b], tw[b, 0]) - ft[h, k]
                                slack = min(esuf[v], smin[h, k])
                                calm = cws[h, k] == 0 and twn[v] == 0
                            else:
                                end = done + tt[pr, c, b]
                                if end > min(vlate[v], tw[b, 1]):
                                    continue
                                nx = nxt[v]
                                if nx == -1:
                                    shift = np.int64(0)
                                    calm = True
                                else:
                                    k = off[nx]
                                    begin = max(end + reload, vearly[nx], tw[vstart[nx], 0])
                                    shift = begin - ts[nx]
                                    slack = min(esuf[nx], smin[h, k])
                                    calm = cws[h, k] == 0 and twn[nx] == 0
                            if calm and shift >= 0:
                                if shift > slack:
                                    continue
                                if shift > 0:
                                    delta += _shift_cost(h, k, shift, soft_d, ft, pl, plt, clen)
                                fast = True
                        if not fast:
                            for i in range(pos):
                                buf[i] = routes[v, i]
                            buf[pos] = c
                            for i in range(pos, length):
                                buf[i + 1] = routes[v, i]
                            ok, cost = _unit(
                                h, routes, rlen, v, buf, length + 1, nxt, reload, dist, tt,
                                svc, tw, soft, late, vstart, vend, vprof, fixed, vearly, vlate,
                            )  # fmt: skip
                            if not ok:
                                continue
                            delta = cost - ucost[h]
                    if delta < best_delta:
                        best_delta = delta
                        best_v = v
                        best_pos = pos
            if best_v == -1 or (pen[c] >= 0 and best_delta >= pen[c]):
                if pen[c] < 0:
                    feasible = False
                continue
            v = best_v
            length = rlen[v]
            for i in range(length, best_pos, -1):
                routes[v, i] = routes[v, i - 1]
            routes[v, best_pos] = c
            rlen[v] = length + 1
            owner[c] = v
            for d in range(dims):
                load[v, d] += dem[c, d]
            ucost[head[v]] += best_delta
            ruined[v] = True  # row changed
            if mode == 3:
                _ok, ucost[head[v]] = _chain_timing(head[v], routes, rlen, rules, chain)
            if mode == 1:
                _timing(
                    v,
                    routes,
                    rlen,
                    arr,
                    lat,
                    t0,
                    latend,
                    tt,
                    svc,
                    tw,
                    vstart,
                    vend,
                    vprof,
                    vearly,
                    vlate,
                )
        # ---- accept or restore
        candidate = np.int64(0)
        if feasible:
            for v in range(n_vehicles):
                if head[v] == v:
                    candidate += ucost[v]
            for c in customers:
                if owner[c] == -1:
                    if pen[c] < 0:
                        feasible = False
                    candidate += pen[c]
        threshold = current - temperature * math.log(max(np.random.random(), 1e-300))
        if feasible and candidate < threshold:
            current = candidate
            for v in range(n_vehicles):
                if ruined[v]:
                    saved_rlen[v] = rlen[v]
                    saved_routes[v, : rlen[v]] = routes[v, : rlen[v]]
                    for d in range(dims):
                        saved_load[v, d] = load[v, d]
            saved_ucost[:] = ucost
            saved_owner[:] = owner
            for v in range(n_vehicles):
                if ruined[v]:
                    dirty[v] = True
            if current < best_cost_arr[0]:
                best_cost_arr[0] = current
                for v in range(n_vehicles):
                    if dirty[v]:
                        best_routes[v, : rlen[v]] = routes[v, : rlen[v]]
                        best_rlen[v] = rlen[v]
                        dirty[v] = False
                best_owner[:] = owner
        else:
            for v in range(n_vehicles):
                if ruined[v]:
                    rlen[v] = saved_rlen[v]
                    routes[v, : rlen[v]] = saved_routes[v, : rlen[v]]
                    for d in range(dims):
                        load[v, d] = saved_load[v, d]
                    if mode == 1:
                        _timing(
                            v, routes, rlen, arr, lat, t0, latend, tt, svc, tw, vstart, vend,
                            vprof, vearly, vlate,
                        )  # fmt: skip
            ucost[:] = saved_ucost
            owner[:] = saved_owner
            if mode == 3:
                touched[:] = False
                for v in range(n_vehicles):
                    h = head[v]
                    if ruined[v] and not touched[h]:
                        touched[h] = True
                        _chain_timing(h, routes, rlen, rules, chain)
    return current


# --------------------------------------------------------------------------- driver


class Run(NamedTuple):
    """What one SISR run returns: tours per vehicle, customers left out, steps made, and
    whether the clock stopped it before its set number of steps."""

    tours: dict[int, list[int]]
    dropped: list[int]
    steps: int
    capped: bool


def improve(
    model: RoutingModel,
    tours: dict[int, list[int]],
    dropped: list[int],
    deadline: float,
    seed: int,
    settings: RuinSettings,
    *,
    construct: bool = False,
    iterations: int | None = None,
    exact: bool = False,
) -> Run:
    """SISR from a feasible solution; the best found.

    iterations: run exactly this many steps, the temperature falling with the steps
    made, in calls of a size fixed by `iterations` alone: the same inputs give the same
    tours on any machine; `deadline` (wall clock) then only caps the run (`capped`).
    None: run until the deadline, the temperature falling with the time spent.
    construct: start from whatever is given (e.g. nothing) even if mandatory customers
    are missing: they count as optional with a prohibitive penalty until inserted, so the
    search builds a solution where OR-Tools found none (trip chains can defeat its
    insertion heuristics). The caller checks that none is left out.
    exact: re-time whole chains for every insertion (mode 2) even where the incremental
    evaluation (mode 3) applies: the same steps, slower; tests compare the two.
    """
    p = pack(model)
    if exact and p.mode == 3:
        p.mode = 2
    if construct:
        p.pen = np.where(p.pen < 0, np.int64(10**12), p.pen)
    n_vehicles = len(model.vehicles)
    width = max(len(p.customers), 1)
    routes = np.zeros((n_vehicles, width + 1), dtype=np.int64)
    rlen = np.zeros(n_vehicles, dtype=np.int64)
    owner = np.full(model.n_nodes, -1, dtype=np.int64)
    load = np.zeros((n_vehicles, p.dem.shape[1]), dtype=np.int64)
    for v, nodes in tours.items():
        routes[v, : len(nodes)] = nodes
        rlen[v] = len(nodes)
        owner[nodes] = v
        load[v] = p.dem[nodes].sum(axis=0)
    ucost = np.zeros(n_vehicles, dtype=np.int64)
    buf = np.zeros(width + 1, dtype=np.int64)
    for v in range(n_vehicles):
        if p.head[v] == v:
            if p.timed:
                _ok, ucost[v] = _unit(
                    v, routes, rlen, -1, buf, 0, p.nxt, p.reload, p.dist, p.tt, p.svc, p.tw,
                    p.soft, p.late, p.vstart, p.vend, p.vprof, p.fixed, p.vearly, p.vlate,
                )  # fmt: skip
            else:
                ucost[v] = _plain_cost(v, routes, rlen, p.dist, p.vstart, p.vend, p.fixed)
    start_cost = int(ucost.sum()) + sum(int(p.pen[c]) for c in dropped)
    # At least 1: a tour of zero cost (a shelter beside its depot) must not zero the
    # temperature, which the annealing schedule divides by.
    per_customer = max(start_cost / max(len(p.customers), 1), 1.0)
    if construct:  # the penalties would make the temperature meaningless
        per_customer = max(float(p.dist[np.ix_(p.vstart, p.customers)].mean()), 1.0)
    t_from = settings.temp_from * per_customer
    t_to = settings.temp_to * per_customer
    best_routes, best_rlen, best_owner = routes.copy(), rlen.copy(), owner.copy()
    saved = (routes.copy(), rlen.copy(), owner.copy(), ucost.copy(), load.copy())
    timing_shape = routes.shape if p.mode == 1 else (1, 1)
    arr, lat = np.zeros(timing_shape, dtype=np.int64), np.zeros(timing_shape, dtype=np.int64)
    chain_shape = (n_vehicles if p.mode == 3 else 1, len(p.customers) + 2)
    ft, pl, plt, smin, cws = (np.zeros(chain_shape, dtype=np.int64) for _ in range(5))
    best_cost = np.array([start_cost], dtype=np.int64)
    began = time.time()
    total = max(deadline - began, 1e-3)
    steps = 0
    capped = False
    rng = np.random.default_rng(seed)
    if iterations is not None:
        # Calls of a size set by the work alone (the temperature is constant within one),
        # small enough for the clock, read between calls, to cap the run closely.
        chunk = max(1, min(settings.chunk, math.ceil(iterations / 64)))
    else:
        chunk = 10  # grows to ~50 ms of work per call, so the deadline is met closely
    while iterations is None or steps < iterations:
        now = time.time()
        if iterations is not None:
            if now >= deadline:
                capped = True
                break
            frac = steps / max(iterations, 1)
            size = min(chunk, iterations - steps)
        else:
            frac = min(1.0, (now - began) / total)
            size = chunk
        a = t_from * (t_to / t_from) ** frac
        _run(
            routes, rlen, owner, ucost, load, size, a, a, float(settings.removal_avg),
            int(settings.string_max), float(settings.blink), int(rng.integers(2**31 - 1)),
            p.dist, p.tt, p.dem, p.svc, p.tw, p.soft, p.late, p.pen, p.vstart, p.vend,
            p.vprof, p.cap, p.fixed, p.vearly, p.vlate, p.head, p.nxt, p.reload,
            p.customers, p.near, p.mode, p.soft_d,
            not construct and len(p.customers) > settings.granular_above, steps == 0,
            best_routes, best_rlen, best_owner, best_cost, *saved, arr, lat,
            ft, pl, plt, smin, cws,
        )  # fmt: skip
        steps += size
        if iterations is not None:
            continue
        after = time.time()
        remaining = deadline - after
        if remaining <= 0:
            break
        per_step = max((after - now) / size, 1e-7)
        chunk = int(max(1, min(settings.chunk * 10, 0.05 / per_step, remaining / per_step)))
    out = {v: [int(x) for x in best_routes[v, : best_rlen[v]]] for v in range(n_vehicles)}
    out = {v: nodes for v, nodes in out.items() if nodes}
    left = [int(c) for c in p.customers if best_owner[c] == -1]
    return Run(out, left, steps, capped)
