"""The plan document: the one schema of a plan's JSON, as `Plan.to_dict()` writes it and as
the ledger (approval) and the tests read it.

Pure pydantic, no ledger imports: the optimizer writes it, `supply` validates it. Keys the
readers do not know are ignored (`extra="ignore"`) so that a plan written by a newer
planner is still approved. Quantities are whole units; hours are since the disaster.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Code = Annotated[str, Field(min_length=1, max_length=64)]  # depot, shelter, item, lot
VehicleName = Annotated[str, Field(min_length=1, max_length=100)]
PlanName = Annotated[str, Field(min_length=1, max_length=200)]
Units = Annotated[int, Field(strict=True, gt=0)]
Ordinal = Annotated[int, Field(strict=True, gt=0)]
Hours = Annotated[float, Field(ge=0)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LoadDoc(_Part):
    item: Code
    lot: Code
    qty: Units


class StopDoc(_Part):
    stop: Ordinal  # 1-based within the vehicle, counting across its trips
    shelter: Code
    arrival_hours: Hours | None = None
    late_hours: Hours | None = None
    loads: list[LoadDoc] = []


class TripDoc(_Part):
    trip: Ordinal
    depart_hours: Hours | None = None
    return_hours: Hours | None = None
    load_kg: float = 0.0
    load_m3: float = 0.0
    stops: list[StopDoc] = []


class RouteDoc(_Part):
    vehicle: VehicleName
    depot: Code
    vehicle_type: str = ""
    capacity_kg: float = 0.0
    capacity_m3: float = 0.0
    utilisation: float = 0.0
    trips: list[TripDoc] = []

    @model_validator(mode="after")
    def _numbers_unique(self) -> "RouteDoc":
        trips = [t.trip for t in self.trips]
        stops = [s.stop for t in self.trips for s in t.stops]
        if len(set(trips)) != len(trips):
            raise ValueError(f"vehicle {self.vehicle} has two trips with the same number")
        if len(set(stops)) != len(stops):
            raise ValueError(f"vehicle {self.vehicle} has two stops with the same number")
        return self


SourceKindDoc = Literal["depot", "agreement", "en_route"]


class ShipmentDoc(_Part):
    """What goes from a source to a shelter. An agreement shipment's `source` is the
    agreement's code; a capacity reserve offered hour by hour is `CODE@k` (see
    `agreement_code`)."""

    source: Code
    source_kind: SourceKindDoc
    lot: Code | None = None
    shelter: Code
    item: Code
    qty: Units
    ready_hours: Hours | None = None
    arrival_hours: Hours | None = None

    @model_validator(mode="after")
    def _depot_needs_lot(self) -> "ShipmentDoc":
        if self.source_kind == "depot" and self.lot is None:
            raise ValueError(f"a depot shipment (from {self.source}) needs a lot")
        return self


class ItemCoverageDoc(_Part):
    item: str
    need: int
    on_time: int = 0
    late: int = 0
    unmet: int = 0


class FirstBatchDoc(_Part):
    """A depot tier's first critical arrival at a shelter against its 2024 target."""

    tier: str
    arrival_hours: float
    target_hours: float | None = None
    met: bool | None = None


class ShelterDoc(_Part):
    code: str
    name: str = ""
    residents: int = 0
    served_on_time: bool = False
    last_arrival_hours: float | None = None
    items: list[ItemCoverageDoc] = []
    reasons: list[str] = []
    first_arrival_hours: float | None = None
    first_batches: list[FirstBatchDoc] = []


class PlanDocument(_Part):
    """A plan's JSON. `routes` may be empty (a plan made without tours).

    `untoured_depots` are depots whose shipments the tours could not carry (absent: none);
    a plan with any cannot be approved, since its depot shipments would have no vehicle.
    """

    name: PlanName
    status: str = ""
    gap: float | None = None
    solve_seconds: float = 0.0
    deadline_hours: float = 10.0
    objective_order: list[str] = []
    kpis: dict[str, Any] = {}
    shelters: list[ShelterDoc] = []
    shipments: list[ShipmentDoc]
    sources: list[dict[str, Any]] = []
    notes: list[str] = []
    provenance: dict[str, Any] | None = None  # `optimizer.provenance.Provenance`
    clock_cut: bool = False  # the time limit stopped a solve or search: runs may differ
    routing: dict[str, Any] | None = None  # `optimizer.plan.RoutingSummary`
    routes: list[RouteDoc] = []
    untoured_depots: list[Code] = []

    @field_validator("routes", "untoured_depots", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        return [] if value is None else value

    @model_validator(mode="after")
    def _vehicles_unique(self) -> "PlanDocument":
        vehicles = [r.vehicle for r in self.routes]
        if len(set(vehicles)) != len(vehicles):
            raise ValueError("a vehicle has two routes")
        return self

    def to_json_dict(self) -> dict[str, Any]:
        """The document as JSON data (what `plan.json` holds)."""
        return self.model_dump(mode="json")


#: Separates an agreement's code from the hour of a capacity reserve's output (`AG-X@3`).
TRANCHE_MARK = "@"


def agreement_code(source: str) -> str:
    """The agreement a shipment's source belongs to: `AG-X@3` (the third hour's output of a
    capacity reserve) is agreement `AG-X`; any other code is itself."""
    base, mark, hour = source.rpartition(TRANCHE_MARK)
    return base if mark and base and hour.isdigit() else source
