"""Where relief comes from: depot stock and agreement reserves, shared by every planner.

Depot stock is aggregated per depot and item (every lot of a depot is ready at the same time
and travels the same roads); lots are handed out afterwards, first expiry first, so relief
also rotates stock. Expired lots are never used.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from optimizer.network import Place, TravelTimes, travel_times
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
    kg_hours: float = 0.0  # fleet capacity per hour (depots); budgets once windowed
    m3_hours: float = 0.0
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
        out.append(
            Source(
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
                Source(
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


def source_travel_times(problem: Problem, srcs: list[Source]) -> TravelTimes:
    """Driving hours from every source to every shelter, each at its own speed cap."""
    return travel_times(
        problem,
        [Place(s.key, s.lat, s.lon, s.speed_cap_kmh) for s in srcs],
        [Place(h.code, h.lat, h.lon) for h in problem.shelters],
    )


def window_fleet_budgets(srcs: list[Source], hours: np.ndarray, deadline: float) -> None:
    """Turn each depot's capacity per hour into tonne-hour and m³-hour budgets.

    Every vehicle drives from loading until the deadline and its last leg needs no return,
    so the window is deadline − loading + the farthest shelter it can reach in time; a trip
    costs load × 2 × driving hours.
    """
    for i, s in enumerate(srcs):
        if s.kind != SourceKind.DEPOT:
            continue
        row = hours[i] if hours.size else np.array([])
        in_time = row[s.ready_hours + row <= deadline + EPS]
        farthest = float(in_time.max()) if in_time.size else 0.0
        window = max(deadline - s.ready_hours + farthest, 0.0)
        s.kg_hours *= window
        s.m3_hours *= window


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
