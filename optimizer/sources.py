"""Where relief comes from: depot stock and agreement reserves, shared by every planner.

Depot stock is aggregated per depot and item (every lot of a depot is ready at the same time
and travels the same roads); lots are handed out afterwards, first expiry first, so relief
also rotates stock. Expired lots are never used.
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizer.fefo import fefo_key
from optimizer.network import Place, TravelTimes, travel_times
from optimizer.params import RELOAD_HOURS, STOP_HOURS, UNLOAD_HOURS_PER_TONNE
from optimizer.plan import Shipment, SourceKind
from optimizer.problem import Problem

EPS = 1e-6


@dataclass(slots=True)
class Source:
    key: str  # "depot:CODE" or "agreement:CODE"
    code: str
    kind: SourceKind
    lat: float
    lon: float
    ready_hours: float
    supply: dict[str, int]
    speed_cap_kmh: float | None
    kg_capacity: float = 0.0  # all its trucks' capacity (depots)
    m3_capacity: float = 0.0
    cycle_extra_hours: float = 0.0  # per delivery beyond driving (reload, stop, unload)
    has_fleet: bool = True

    @property
    def can_deliver(self) -> bool:
        """Agreements bring their own vehicles; a depot needs a fleet."""
        return self.kind == SourceKind.AGREEMENT or self.has_fleet


def sources(problem: Problem) -> list[Source]:
    """Depots holding usable stock, then agreements with a quantity left."""
    out: list[Source] = []
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
        trucks = sum(v.count for v in vehicles)
        tonnes = sum(v.count * v.capacity_kg for v in vehicles) / 1000 / max(trucks, 1)
        out.append(
            Source(
                key=f"depot:{depot.code}",
                code=depot.code,
                kind=SourceKind.DEPOT,
                lat=depot.lat,
                lon=depot.lon,
                ready_hours=max(depot.loading_hours, problem.now_hours),
                supply=dict(supply[depot.code]),
                speed_cap_kmh=max((v.speed_kmh for v in vehicles), default=60.0),
                has_fleet=bool(vehicles),
                kg_capacity=sum(v.count * v.capacity_kg for v in vehicles),
                m3_capacity=sum(v.count * v.capacity_m3 for v in vehicles),
                cycle_extra_hours=RELOAD_HOURS + STOP_HOURS + UNLOAD_HOURS_PER_TONNE * tonnes,
            )
        )
    for ag in problem.agreements:
        if ag.qty > 0:
            out.append(
                Source(
                    key=f"agreement:{ag.code}",
                    code=ag.code,
                    kind=SourceKind.AGREEMENT,
                    lat=ag.lat,
                    lon=ag.lon,
                    ready_hours=problem.now_hours + ag.lead_time_hours,  # called off now
                    supply={ag.item: ag.qty},
                    speed_cap_kmh=None,
                )
            )
    return out


def en_route_shipments(problem: Problem) -> list[Shipment]:
    """The loads already on the road, as shipments that count for their shelters."""
    return [
        Shipment(
            e.source, SourceKind.EN_ROUTE, None, e.shelter, e.item, e.qty, 0.0, e.arrival_hours
        )
        for e in problem.en_route
        if e.qty > 0
    ]


@dataclass(frozen=True, slots=True)
class Reach:
    """A problem's sources and their driving hours to its shelters. The planner computes it
    once and hands it to every allocation round and every tour round, which each built it
    again (a Dijkstra from every source: seconds at province size)."""

    sources: list[Source]
    times: TravelTimes


def reach(problem: Problem) -> Reach:
    srcs = sources(problem)
    return Reach(srcs, source_travel_times(problem, srcs))


def source_travel_times(problem: Problem, srcs: list[Source]) -> TravelTimes:
    """Driving hours from every source to every shelter, each at its own speed cap."""
    return travel_times(
        problem,
        [Place(s.key, s.lat, s.lon, s.speed_cap_kmh) for s in srcs],
        [Place(h.code, h.lat, h.lon) for h in problem.shelters],
    )


def deliveries(
    ready: np.ndarray, hours: np.ndarray, extra: np.ndarray, deadline: float
) -> np.ndarray:
    """Loads one truck can bring to a place by the deadline, shuttling there and back.

    The first arrives at ready + drive; each further one a cycle later (drive there and
    back plus the cycle's extra hours). Zero where even the first is late. `ready` and
    `extra` are per source (rows of `hours`).
    """
    ready = np.asarray(ready, dtype=float).reshape(-1, *([1] * (np.ndim(hours) - 1)))
    extra = np.asarray(extra, dtype=float).reshape(ready.shape)
    spare = deadline + EPS - ready - hours
    cycle = np.maximum(2 * hours + extra, EPS)
    with np.errstate(invalid="ignore"):
        count = np.floor(np.where(spare >= 0, spare / cycle, -1)) + 1
    return np.where(np.isfinite(count) & (count > 0), count, 0).astype(float)


def fleet_use(
    problem: Problem,
    srcs: list[Source],
    hours: np.ndarray,
    shipments: list[Shipment],
    deadline: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Share-of-fleet each depot's on-time shipments take, in kg and m³ of truck capacity.

    A shipment of w kg to a place a truck can reach n times by the deadline takes w / n kg
    of the depot's fleet: its trucks can shuttle at most their capacity × n there. A plan
    is within the fleet when use ≤ capacity (`Source.kg_capacity`, `m3_capacity`).
    """
    weight = {it.code: it.unit_weight_kg for it in problem.items}
    volume = {it.code: it.unit_volume_m3 for it in problem.items}
    index = {(s.kind, s.code): i for i, s in enumerate(srcs)}
    column = {h.code: j for j, h in enumerate(problem.shelters)}
    ready = np.array([s.ready_hours for s in srcs], dtype=float)
    extra = np.array([s.cycle_extra_hours for s in srcs], dtype=float)
    kg = np.zeros(len(srcs))
    m3 = np.zeros(len(srcs))
    for sh in shipments:
        if sh.source_kind != SourceKind.DEPOT or sh.arrival_hours > deadline + EPS:
            continue
        i, j = index[(sh.source_kind, sh.source)], column[sh.shelter]
        n = float(deliveries(ready[i : i + 1], hours[i : i + 1, j], extra[i : i + 1], deadline)[0])
        n = max(n, 1.0)  # an on-time shipment is at least one delivery
        kg[i] += sh.qty * weight[sh.item] / n
        m3[i] += sh.qty * volume[sh.item] / n
    return kg, m3


def source_records(srcs: list[Source]) -> list[dict[str, Any]]:
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
        for s in srcs
    ]


class LotPool:
    """Usable lots per depot and item, handed out soonest expiry first."""

    def __init__(self, problem: Problem) -> None:
        self.lots: dict[tuple[str, str], list[list]] = defaultdict(list)
        for lot in sorted(problem.lots, key=lambda t: fefo_key(t.expires_on, t.produced_on, t.lot)):
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


def ship(
    source: Source, pool: LotPool, shelter: str, item: str, qty: int, arrival: float
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
