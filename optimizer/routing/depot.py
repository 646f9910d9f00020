"""One depot's tours: its loads cut into truck-sized parts, the routing model, the result.

`optimizer.routing.plan_tours` decides which parts must arrive by the deadline and how
the search's work is shared; this module turns one depot's parts and trucks into a
`RoutingModel` and its solution back into trips, stops and shipments.

A part that must arrive on time gets a hard window closing at the deadline and may be left
out at a price worth a day of its shelter's residents waiting: the router then either
brings it in time or says it cannot, instead of spreading small delays over many shelters
(one late part and the shelter is not served, however little it is late). The other parts
must be delivered, and pay for lateness by the minute.
"""

import math
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from optimizer.network import Place, local_times, travel_times
from optimizer.params import RouteParams, SearchSettings
from optimizer.plan import Load, Shipment, SourceKind, Stop, Trip, VehicleRoute
from optimizer.problem import Depot, Problem, Shelter, VehicleType
from optimizer.routing.engine import solve_routing
from optimizer.routing.model import RoutingModel, RoutingResult, Vehicle, from_routes

MINUTES = 60.0
#: Travel time standing for "no road" (minutes); far beyond any horizon.
NO_ROAD = 10**7


@dataclass(slots=True)
class Part:
    """A truck-sized part of one shelter's load from one depot."""

    shelter: str
    loads: list[Load]
    kg: float
    m3: float
    urgent: bool = True  # must arrive by the deadline (the rest were planned late)


@dataclass(frozen=True, slots=True)
class Truck:
    name: str
    spec: VehicleType


def _even(part: Part, count: int, weight: dict[str, float], volume: dict[str, float]) -> list[Part]:
    """`part` cut into `count` near-equal pieces, line by line."""
    pieces = [Part(part.shelter, [], 0.0, 0.0, part.urgent) for _ in range(count)]
    for line in part.loads:
        base, extra = divmod(line.qty, count)
        for k, piece in enumerate(pieces):
            qty = base + (1 if k < extra else 0)
            if qty:
                piece.loads.append(Load(line.item, line.lot, qty))
                piece.kg += qty * weight[line.item]
                piece.m3 += qty * volume[line.item]
    return [p for p in pieces if p.loads]


def parts(
    shelter: str,
    urgent: bool,
    lines: list[Load],
    weight: dict[str, float],
    volume: dict[str, float],
    cap_kg: float,
    cap_m3: float,
    piece_share: float,
) -> list[Part]:
    """A shelter's load as parts the smallest truck can carry: full truckloads, then pieces.

    Every part is a slice of the whole load, so it has the load's mix of dense and bulky
    goods (packing item by item gave trucks full of quilts by volume at a fifth of their
    weight, or of water by weight). Full slices make shuttles. Only the remainder is cut,
    into pieces of PIECE_SHARE of a truck, so the router can top trucks up with several
    shelters' remainders: near-equal parts left every truck part-empty (at Haicheng the
    province's first round carried 93 t where its trucks could take 141 t).
    """
    kg = sum(line.qty * weight[line.item] for line in lines)
    m3 = sum(line.qty * volume[line.item] for line in lines)
    ratio = max(kg / cap_kg if cap_kg else 0.0, m3 / cap_m3 if cap_m3 else 0.0)
    full: list[Part] = []
    rest = [Load(line.item, line.lot, line.qty) for line in lines]
    if ratio >= 1:
        for _ in range(math.floor(ratio + 1e-9)):
            part = Part(shelter, [], 0.0, 0.0, urgent)
            for k, line in enumerate(lines):
                qty = min(math.floor(line.qty / ratio + 1e-9), rest[k].qty)
                if qty:
                    part.loads.append(Load(line.item, line.lot, qty))
                    part.kg += qty * weight[line.item]
                    part.m3 += qty * volume[line.item]
                    rest[k] = Load(line.item, line.lot, rest[k].qty - qty)
            full.append(part)
    left = Part(shelter, [r for r in rest if r.qty], 0.0, 0.0, urgent)
    if not left.loads:
        return full
    left.kg = sum(r.qty * weight[r.item] for r in left.loads)
    left.m3 = sum(r.qty * volume[r.item] for r in left.loads)
    share = max(
        left.kg / (cap_kg * piece_share) if cap_kg else 0.0,
        left.m3 / (cap_m3 * piece_share) if cap_m3 else 0.0,
    )
    count = max(1, math.ceil(share - 1e-9))
    while True:
        pieces = _even(left, count, weight, volume)
        if all(p.kg <= cap_kg + 1e-9 and p.m3 <= cap_m3 + 1e-9 for p in pieces):
            return full + pieces
        if all(len(p.loads) == 1 and p.loads[0].qty == 1 for p in pieces):
            raise ValueError(f"{left.loads[0].item}: one unit is bigger than the smallest truck")
        count += 1


@dataclass(slots=True)
class DepotTours:
    """One depot's routing instance. Node 0 is the depot, node k ≥ 1 is `parts[k - 1]`.

    `unreachable` are parts no road leads to (or back from); they are not in the model.
    """

    depot: Depot
    parts: list[Part]
    trucks: list[Truck]
    owner: list[tuple[int, int]]  # routing vehicle -> (truck, trip)
    vehicles: tuple[Vehicle, ...]
    chains: tuple[tuple[int, ...], ...]
    times: list[np.ndarray]
    demand: np.ndarray
    service: np.ndarray
    residents: np.ndarray  # (N,) of each node's shelter
    deadline_min: int
    horizon_min: int
    reload_min: int
    lateness_per_resident_minute: int
    unreachable: list[Part]
    fixed_names: frozenset[str] = frozenset()  # trucks out on a trip keep their names

    @classmethod
    def for_loads(
        cls,
        problem: Problem,
        depot: Depot,
        vehicles: list[VehicleType],
        loads: dict[tuple[str, bool], list[Load]],
        deadline: float,
        params: RouteParams,
    ) -> "DepotTours":
        """The depot's instance for its loads per (shelter, on time), cut into parts the
        smallest truck can carry (any truck takes any part; a big one takes several, and a
        shelter's consecutive parts on one truck are one stop)."""
        weight = {it.code: it.unit_weight_kg for it in problem.items}
        volume = {it.code: it.unit_volume_m3 for it in problem.items}
        cap_kg = min(v.capacity_kg for v in vehicles)
        cap_m3 = min(v.capacity_m3 for v in vehicles)
        cut = [
            part
            for (shelter, urgent), lines in sorted(loads.items())
            for part in parts(
                shelter, urgent, lines, weight, volume, cap_kg, cap_m3, params.piece_share
            )
        ]
        return cls.build(
            problem,
            depot,
            vehicles,
            cut,
            {h.code: h for h in problem.shelters},
            deadline,
            stop_minutes=params.stop_minutes,
            unload_minutes_per_tonne=params.unload_minutes_per_tonne,
            reload_hours=params.reload_hours,
            max_trips=params.max_trips,
            lateness_per_resident_minute=params.lateness_per_resident_minute,
            leg_reach_hours=(
                params.leg_reach_hours
                if len({s for s, _ in loads}) > params.exact_legs_up_to
                else math.inf
            ),
        )

    @classmethod
    def build(
        cls,
        problem: Problem,
        depot: Depot,
        vehicles: list[VehicleType],
        all_parts: list[Part],
        shelters: dict[str, Shelter],
        deadline: float,
        *,
        stop_minutes: float,
        unload_minutes_per_tonne: float,
        reload_hours: float,
        max_trips: int,
        lateness_per_resident_minute: int,
        leg_reach_hours: float = math.inf,
    ) -> "DepotTours":
        names = sorted({p.shelter for p in all_parts})
        places = [Place(depot.code, depot.lat, depot.lon)] + [
            Place(s, shelters[s].lat, shelters[s].lon) for s in names
        ]
        speeds = sorted({v.speed_kmh for v in vehicles})
        column = np.array([0] + [1 + names.index(p.shelter) for p in all_parts])
        minutes = []
        for speed in speeds:
            hub = Place(depot.code, depot.lat, depot.lon, speed)
            hours = local_times(problem, hub, places[1:], leg_reach_hours)
            np.fill_diagonal(hours, 0.0)
            minutes.append(hours[np.ix_(column, column)] * MINUTES)
        ok = np.isfinite(minutes[0][0]) & np.isfinite(minutes[0][:, 0])
        keep = np.flatnonzero(ok)
        kept = [all_parts[k - 1] for k in keep[1:]]
        # The fixed part of a stop is spent once per visit to a shelter, however many of
        # its parts the truck brings: it is charged on leaving for another place (so arrival
        # times stay arrivals), and a part's own service is its unloading.
        place = column[keep]
        stop = np.where(place[:, None] != place[None, :], stop_minutes, 0.0)
        stop[0, :] = 0.0
        times = []
        for m in minutes:
            sub = m[np.ix_(keep, keep)]
            times.append(np.where(np.isfinite(sub), np.rint(sub + stop), NO_ROAD).astype(np.int64))
        n = len(keep)
        demand = np.zeros((n, 2), dtype=np.int64)
        service = np.zeros(n, dtype=np.int64)
        people = np.zeros(n, dtype=np.int64)
        for k, part in enumerate(kept, start=1):
            demand[k] = (math.ceil(part.kg), math.ceil(part.m3 * 1000))
            service[k] = round(unload_minutes_per_tonne * part.kg / 1000)
            people[k] = shelters[part.shelter].residents
        trucks = [
            Truck(f"{depot.code}/{v.vehicle_type}-{k + 1}", v)
            for v in vehicles
            for k in range(v.count)
        ]
        ready = round(max(depot.loading_hours, problem.now_hours) * MINUTES)
        back = _back_home(problem, depot, trucks, stop_minutes, reload_hours)
        trucks = [t for t in trucks if back.get(t.name, 0) < math.inf]  # cut off: not coming
        trips_each = min(max_trips, max(1, math.ceil(len(kept) / max(len(trucks), 1)) + 1))
        fleet: list[Vehicle] = []
        chains: list[tuple[int, ...]] = []
        owner: list[tuple[int, int]] = []
        for t, truck in enumerate(trucks):
            leave = max(ready, round(back.get(truck.name, 0)))
            chain = []
            for trip in range(trips_each):
                chain.append(len(fleet))
                owner.append((t, trip))
                fleet.append(
                    Vehicle(
                        start=0,
                        end=0,
                        capacity=(int(truck.spec.capacity_kg), int(truck.spec.capacity_m3 * 1000)),
                        profile=speeds.index(truck.spec.speed_kmh),
                        earliest_start=leave,
                    )
                )
            chains.append(tuple(chain))
        return cls(
            depot=depot,
            parts=kept,
            trucks=trucks,
            owner=owner,
            vehicles=tuple(fleet),
            chains=tuple(chains),
            times=times,
            demand=demand,
            service=service,
            residents=people,
            deadline_min=int(deadline * MINUTES),
            horizon_min=int((deadline + 48) * MINUTES),
            reload_min=round(reload_hours * MINUTES),
            lateness_per_resident_minute=lateness_per_resident_minute,
            unreachable=[all_parts[k - 1] for k in range(1, len(column)) if not ok[k]],
            fixed_names=frozenset(a.vehicle for a in problem.away if a.depot == depot.code),
        )

    def model(self, hard: np.ndarray) -> RoutingModel:
        """The routing model; `hard[k]` marks nodes that must arrive by the deadline or be
        left out (the others must be delivered, late if need be)."""
        n = len(self.parts) + 1
        per_minute = self.lateness_per_resident_minute * self.residents
        urgent = np.array([False] + [p.urgent for p in self.parts])
        # Late parts planned late anyway yield to the rest.
        lateness = np.maximum(1, np.where(urgent, per_minute, per_minute // 100))
        lateness[0] = 0
        window = np.tile(np.array([0, self.horizon_min], dtype=np.int64), (n, 1))
        window[hard, 1] = self.deadline_min
        # Leaving a soft part behind costs more than any lateness (late beats unmet); a hard
        # one more than all soft ones together, plus a day of its residents' waiting: when
        # trucks run out of trips, on-time loads keep their place.
        soft = int(lateness.max(initial=1)) * self.horizon_min * 4
        drop = np.full(n, soft, dtype=np.int64)
        drop[hard] = soft * (n - int(hard.sum())) + per_minute[hard] * 24 * 60
        return RoutingModel(
            distance=self.times[0],
            times=self.times,
            demand=self.demand,
            service=self.service,
            window=window,
            vehicles=self.vehicles,
            soft_latest=np.full(n, self.deadline_min, dtype=np.int64),
            lateness_cost=lateness.astype(np.int64),
            drop_penalty=drop,
            chains=self.chains,
            reload=self.reload_min,
            depots=frozenset({0}),
        )

    def first_tours(self, hard: np.ndarray) -> list[list[int]]:
        """A packed start: parts in turn, each where it arrives soonest.

        Hard parts go first, biggest first (full truckloads claim trucks before pieces top
        them up), then the rest. A part joins the end of a truck's current trip when it
        fits, or starts the truck's next trip; a hard part only where it arrives by the
        deadline (otherwise it is left out, as the model allows). Local search starts from
        here: on its own it left the province's trucks a tenth empty and dropped on-time
        tents that fitted (a bin-packing its moves do not find).
        """
        size = self.demand / np.maximum(self.demand.max(axis=0), 1)
        nodes = range(1, len(self.parts) + 1)
        order = sorted(nodes, key=lambda k: (not hard[k], -float(size[k].max()), k))
        n_trucks = len(self.trucks)
        trips: list[list[list[int]]] = [[] for _ in self.trucks]
        # Every truck at once (the province's biggest depot: 1,929 parts x 90 trucks).
        first = [chain[0] for chain in self.chains]
        times = np.stack(self.times)
        profile = np.array([self.vehicles[v].profile for v in first], dtype=np.int64)
        cap = np.array([self.vehicles[v].capacity for v in first], dtype=np.int64).reshape(
            n_trucks, -1
        )
        most_trips = np.array([len(chain) for chain in self.chains], dtype=np.int64)
        load = np.zeros((n_trucks, self.demand.shape[1]), dtype=np.int64)
        free = np.zeros(n_trucks, dtype=np.int64)  # leaves its current trip's last stop
        last = np.zeros(n_trucks, dtype=np.int64)  # that stop (0: no trip yet)
        count = np.zeros(n_trucks, dtype=np.int64)  # trips so far
        ready = self.vehicles[0].earliest_start if self.vehicles else 0
        never = np.iinfo(np.int64).max
        for k in order:
            started = count > 0
            join = np.where(
                started & np.all(load + self.demand[k] <= cap, axis=1),
                free + times[profile, last, k],
                never,
            )
            leave = np.where(started, free + times[profile, last, 0] + self.reload_min, ready)
            new = np.where(count < most_trips, leave + times[profile, 0, k], never)
            options = np.column_stack([join, new])  # truck by truck, joining first
            if hard[k]:
                options[options > self.deadline_min] = never
            pick = int(np.argmin(options))  # the soonest; ties to the lowest truck, joining
            arrive = int(options.flat[pick])
            if arrive == never:
                continue
            t, starts = divmod(pick, 2)
            if starts:
                trips[t].append([k])
                load[t] = self.demand[k]
                count[t] += 1
            else:
                trips[t][-1].append(k)
                load[t] += self.demand[k]
            last[t] = k
            free[t] = arrive + int(self.service[k])
        initial: list[list[int]] = [[] for _ in self.vehicles]
        for t, chain in enumerate(self.chains):
            for j, tour in enumerate(trips[t]):
                initial[chain[j]] = tour
        return initial

    def construct(self, hard: np.ndarray) -> RoutingResult:
        """The packed start (`first_tours`) as a result: tours for every truck in
        milliseconds, before any search, so no depot is ever left untoured."""
        model = self.model(hard)
        start = from_routes(model, self.first_tours(hard))
        if start is None:  # cannot happen: first_tours keeps every rule; never untoured
            start = from_routes(model, [[] for _ in self.vehicles])
        assert start is not None
        start.log.append("packed start")
        return start

    def solve(
        self,
        hard: np.ndarray,
        start: RoutingResult,
        *,
        steps: int,
        workers: int,
        seed: int,
        cap_at: float,
        pool: ProcessPoolExecutor | None = None,
    ) -> RoutingResult:
        """`steps` of ruin and recreate per worker from `start` (seeds seed, seed + 1...);
        the start is kept unless a worker beats it. `cap_at` is the wall-clock time
        (`time.time()`) past which the search stops and says so (`capped`)."""
        model = self.model(hard)
        initial: list[list[int]] = [[] for _ in self.vehicles]
        for r in start.routes:
            initial[r.vehicle] = list(r.nodes)
        # The model may have changed since `start` was found (parts giving way): rescore.
        anchor = from_routes(model, initial)
        if steps <= 0 or anchor is None:
            return anchor or start
        result = solve_routing(
            model,
            time_limit_s=max(cap_at - time.time(), 1e-3),
            workers=workers,
            initial_routes=initial,
            settings=SearchSettings(seed=seed, iterations=steps),
            pool=pool,
        )
        if result.objective is None or (
            anchor.objective is not None and result.objective > anchor.objective
        ):
            anchor.steps, anchor.capped = result.steps, result.capped
            return anchor
        return result

    def output(self, result: RoutingResult) -> tuple[list[VehicleRoute], list[Shipment]]:
        """The solution as trucks' trips (a shelter's consecutive parts are one stop)."""
        code = self.depot.code
        deadline = self.deadline_min / MINUTES
        per_truck: dict[int, list] = defaultdict(list)
        for r in result.routes:
            if r.nodes:
                per_truck[self.owner[r.vehicle][0]].append(r)
        routes: list[VehicleRoute] = []
        shipments: list[Shipment] = []
        # Trucks of one type are alike: the used ones are numbered 1, 2... in the order
        # they first leave, so a depot's manifests name medium-1 and medium-2, not -2 and -5.
        # Trucks out on a trip keep their names (dispatchers know where they are).
        first_out = {t: min(r.start for r in used) for t, used in per_truck.items()}
        name_of: dict[int, str] = {}
        taken = set(self.fixed_names)
        seen: dict[str, int] = defaultdict(int)
        for t in sorted(per_truck, key=lambda t: (first_out[t], t)):
            if self.trucks[t].name in self.fixed_names:
                name_of[t] = self.trucks[t].name
                continue
            kind = self.trucks[t].spec.vehicle_type
            while True:
                seen[kind] += 1
                name = f"{code}/{kind}-{seen[kind]}"
                if name not in taken:
                    break
            name_of[t] = name
        for t in sorted(per_truck, key=lambda t: name_of[t]):
            used = per_truck[t]
            spec = self.trucks[t].spec
            truck = Truck(name_of[t], spec)
            trips: list[Trip] = []
            counter = 0  # a vehicle's stops are numbered on across trips: the ledger's key
            for number, r in enumerate(sorted(used, key=lambda x: x.start), start=1):
                stops: list[Stop] = []
                kg = m3 = 0.0
                for node, arrival in zip(r.nodes, r.arrivals, strict=True):
                    part = self.parts[node - 1]
                    at = arrival / MINUTES
                    kg += part.kg
                    m3 += part.m3
                    if stops and stops[-1].shelter == part.shelter:
                        _merge(stops[-1].loads, part.loads)
                    else:
                        counter += 1
                        late = max(at - deadline, 0.0)
                        stops.append(Stop(counter, part.shelter, at, list(part.loads), late))
                    shipments.extend(
                        Shipment(
                            code,
                            SourceKind.DEPOT,
                            load.lot,
                            part.shelter,
                            load.item,
                            load.qty,
                            r.start / MINUTES,
                            at,
                        )
                        for load in part.loads
                    )
                trips.append(Trip(number, r.start / MINUTES, r.end / MINUTES, stops, kg, m3))
            spec = truck.spec
            routes.append(
                VehicleRoute(
                    truck.name, code, spec.vehicle_type, spec.capacity_kg, spec.capacity_m3, trips
                )
            )
        return routes, shipments


def _back_home(
    problem: Problem,
    depot: Depot,
    trucks: list[Truck],
    stop_minutes: float,
    reload_hours: float,
) -> dict[str, float]:
    """Minute each truck out on a trip can leave its depot again: after its last stop, the
    drive home and reloading; infinite when no road leads home."""
    away = [a for a in problem.away if a.depot == depot.code]
    where = {h.code: h for h in problem.shelters}
    speed = {t.name: t.spec.speed_kmh for t in trucks}
    out: dict[str, float] = {}
    for a in away:
        if a.vehicle not in speed or a.shelter not in where:
            continue
        h = where[a.shelter]
        hours = travel_times(
            problem,
            [Place(a.shelter, h.lat, h.lon, speed[a.vehicle])],
            [Place(depot.code, depot.lat, depot.lon)],
        ).hours[0, 0]
        home = (a.from_hours + hours + reload_hours) * MINUTES + stop_minutes
        out[a.vehicle] = home if math.isfinite(home) else math.inf
    return out


def _merge(into: list[Load], more: list[Load]) -> None:
    """A stop's loads with one line per item and lot, however many parts brought them."""
    where = {(ld.item, ld.lot): k for k, ld in enumerate(into)}
    for ld in more:
        k = where.get((ld.item, ld.lot))
        if k is None:
            where[(ld.item, ld.lot)] = len(into)
            into.append(ld)
        else:
            into[k] = Load(ld.item, ld.lot, into[k].qty + ld.qty)
