"""The planning problem as plain, immutable data: what a disaster asks and what we have.

No database and no files here: `scenarios.scenario` builds a Problem from a folder, and
`supply.services.snapshot` from the ledger. Units are in the field names.
"""

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Per(StrEnum):
    DAY = "day"  # times the horizon in days
    ONCE = "once"


class RoadStatus(StrEnum):
    OPEN = "open"
    DAMAGED = "damaged"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ItemSpec:
    code: str
    name_zh: str
    name_en: str
    category: str
    unit: str
    unit_weight_kg: float
    unit_volume_m3: float


@dataclass(frozen=True, slots=True)
class Norm:
    """How much of an item one resident needs; `critical` items decide "served"."""

    item: str
    per_person: float
    per: Per
    priority: int
    critical: bool


@dataclass(frozen=True, slots=True)
class Depot:
    code: str
    name: str
    tier: str
    lat: float
    lon: float
    loading_hours: float


@dataclass(frozen=True, slots=True)
class Lot:
    """Stock of one lot at a depot, in whole units. `produced_on` breaks FEFO ties."""

    depot: str
    item: str
    lot: str
    qty: int
    expires_on: date | None = None
    produced_on: date | None = None


@dataclass(frozen=True, slots=True)
class Agreement:
    """An agreement reserve: the supplier delivers with its own vehicles after a lead time."""

    code: str
    supplier: str
    item: str
    qty: int
    lead_time_hours: float
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Shelter:
    code: str
    name: str
    lat: float
    lon: float
    residents: int


@dataclass(frozen=True, slots=True)
class VehicleType:
    depot: str
    vehicle_type: str
    count: int
    capacity_kg: float
    capacity_m3: float
    speed_kmh: float


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class Road:
    """An undirected road; a damaged one is driven at `damage_factor` × its speed."""

    a: str
    b: str
    length_km: float
    road_class: str
    speed_kmh: float
    status: RoadStatus = RoadStatus.OPEN
    damage_factor: float = 1.0


@dataclass(frozen=True, slots=True)
class EnRoute:
    """A load already on its way (departed under an approved plan): it counts towards its
    shelter, arriving when its plan said, and is no depot's stock any more."""

    shelter: str
    item: str
    qty: int
    arrival_hours: float
    source: str = ""  # the depot it left


@dataclass(frozen=True, slots=True)
class Away:
    """A truck still out on a trip: at `shelter` (its last stop) at `from_hours`, then
    driving home to load again. Its name is the plans' (e.g. CTY/medium-2)."""

    vehicle: str
    depot: str
    shelter: str
    from_hours: float


#: National guidance of 2024: after a dispatch order the first batch reaches the affected
#: area within 6 h from county reserves, 8 h from city and 10 h from provincial ones
#: (depot tier -> hours; a scenario may give its own).
FIRST_BATCH_HOURS: tuple[tuple[str, float], ...] = (
    ("county", 6.0),
    ("city", 8.0),
    ("province", 10.0),
)


@dataclass(frozen=True, slots=True)
class Problem:
    """Everything the planner needs. `today` decides which lots are expired.

    `now_hours` is when the plan is made, in hours since the disaster (0 for the first
    plan): no depot loads and no agreement is called off before then. `en_route` are loads
    already on the road, counted towards their shelters; `away` the trucks carrying them.
    `first_batch_hours`: per depot tier, the hours within which its first batch of critical
    goods should reach a shelter it serves, counted from the dispatch order (`now_hours`).
    """

    name: str
    items: tuple[ItemSpec, ...]
    norms: tuple[Norm, ...]
    depots: tuple[Depot, ...]
    lots: tuple[Lot, ...]
    agreements: tuple[Agreement, ...]
    shelters: tuple[Shelter, ...]
    fleet: tuple[VehicleType, ...]
    nodes: tuple[Node, ...] = ()
    roads: tuple[Road, ...] = ()
    deadline_hours: float = 10.0
    horizon_days: int = 1
    today: date = field(default_factory=date.today)
    title: str = ""
    now_hours: float = 0.0
    en_route: tuple[EnRoute, ...] = ()
    away: tuple[Away, ...] = ()
    first_batch_hours: tuple[tuple[str, float], ...] = FIRST_BATCH_HOURS

    def item(self, code: str) -> ItemSpec:
        for it in self.items:
            if it.code == code:
                return it
        raise KeyError(code)
