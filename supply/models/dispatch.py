"""Approved plans and their loads: which lots a plan holds, moves and hands to shelters.

A plan document (the optimizer's JSON) is approved once, identified by a hash of its content;
each of its loads (a lot carried by a vehicle on a trip to a stop, or, for a plan without
routes, a depot shipment) gets a reservation. Departing a trip moves its loads into
`in_transit`; delivering a stop issues them to `distributed`. Which transitions are allowed
is decided in `supply.services.dispatch`; these tables only hold the shape of the facts, and
the read shapes (`DispatchPlanRead`) only the shape of the answers. The plan document itself is
`optimizer.plan_document.PlanDocument`.
"""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import BigInteger, CheckConstraint, Index, String
from sqlmodel import Field, SQLModel

from supply.db import UTCDateTime


class DispatchStatus(StrEnum):
    APPROVED = "approved"  # loads still held or on the road
    CANCELLED = "cancelled"  # what had not left was released; loads on the road go on
    COMPLETED = "completed"  # every load delivered (or released)


class LoadStatus(StrEnum):
    RESERVED = "reserved"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    RELEASED = "released"


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN (" + ", ".join(f"'{e.value}'" for e in enum) + ")"


class DispatchPlan(SQLModel, table=True):
    """An approved plan. `content_hash` (SHA-256 of the canonical plan JSON) makes approving
    the same document twice impossible; `number` (DP-000001) is what dispatchers say."""

    __tablename__ = "dispatch_plan"
    __table_args__ = (CheckConstraint(_in("status", DispatchStatus), name="status_known"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=200)
    content_hash: str = Field(max_length=64, unique=True)
    status: str = Field(sa_type=String(16))
    #: Whether the plan had vehicle routes (loads by vehicle, trip and stop) or only shipments.
    routed: bool
    #: Units of agreement shipments in the plan: not ledger stock, so not reserved.
    agreement_qty: int = 0
    #: The plan approved in place of this one (which was then cancelled).
    replaced_by_id: int | None = Field(default=None, foreign_key="dispatch_plan.id")
    approved_at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=100)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DispatchLoad(SQLModel, table=True):
    """One lot, one quantity, for one shelter; with routes, on one vehicle's trip and stop.

    `stop` counts across the vehicle's trips (1-based), as in the plan. The reservation holds
    the lot until departure; `departure_id` is the transfer into `in_transit`,
    `delivery_id` the issue to `distributed`.
    """

    __tablename__ = "dispatch_load"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint(_in("status", LoadStatus), name="status_known"),
        CheckConstraint(
            "vehicle IS NULL OR (trip > 0 AND stop > 0)", name="routed_has_trip_and_stop"
        ),
        Index("ix_dispatch_load_plan_vehicle_trip", "plan_id", "vehicle", "trip"),
    )

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="dispatch_plan.id")
    vehicle: str | None = Field(default=None, max_length=100)
    trip: int | None = None
    stop: int | None = None
    shelter: str = Field(max_length=64)
    depot_id: int = Field(foreign_key="location.id")
    item_id: int = Field(foreign_key="item.id")
    batch_id: int = Field(foreign_key="batch.id")
    qty: int = Field(sa_type=BigInteger)
    status: str = Field(sa_type=String(16))
    reservation_id: int = Field(foreign_key="reservation.id", index=True)
    departure_id: int | None = Field(default=None, foreign_key="document.id")
    delivery_id: int | None = Field(default=None, foreign_key="document.id")
    departed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: When the plan has it arrive, in hours since the disaster: a re-plan counts a load on
    #: the road as arriving then.
    arrival_hours: float | None = None


# --- read shapes ---------------------------------------------------------------------------


class DispatchLoadRead(BaseModel):
    """A load with codes and document numbers. `problem` says why an in-transit load cannot
    be delivered (its departure was turned back to the depot or reversed)."""

    plan: str
    vehicle: str | None
    trip: int | None
    stop: int | None
    shelter: str
    depot: str
    item: str
    lot: str
    qty: int
    status: str
    departure: str | None
    delivery: str | None
    departed_at: datetime | None
    problem: str | None = None
    arrival_hours: float | None = None


class DispatchPlanRead(BaseModel):
    number: str
    name: str
    status: str
    routed: bool
    approved_at: datetime
    actor: str
    agreement_qty: int
    replaces: list[str]
    replaced_by: str | None
    loads: list[DispatchLoadRead]

    def qty_by_status(self) -> dict[str, int]:
        out = {s.value: 0 for s in LoadStatus}
        for ld in self.loads:
            out[ld.status] += ld.qty
        return out

    def delivered(self) -> dict[tuple[str, str], int]:
        """(shelter, item) -> units issued to that shelter under this plan."""
        out: dict[tuple[str, str], int] = {}
        for ld in self.loads:
            if ld.status == LoadStatus.DELIVERED:
                out[(ld.shelter, ld.item)] = out.get((ld.shelter, ld.item), 0) + ld.qty
        return out
