"""The fleet registry: each depot's vehicles by type, as the planner routes them."""

from pydantic import BaseModel, field_validator
from pydantic import Field as RowField
from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel


class FleetVehicle(SQLModel, table=True):
    """`count` trucks of one type based at a depot; capacities are per truck."""

    __tablename__ = "fleet_vehicle"
    __table_args__ = (
        UniqueConstraint("depot_id", "vehicle_type", name="uq_fleet_vehicle_depot_type"),
        CheckConstraint("count >= 0", name="count_nonneg"),
        CheckConstraint("capacity_kg > 0", name="kg_positive"),
        CheckConstraint("capacity_m3 > 0", name="m3_positive"),
        CheckConstraint("speed_kmh > 0", name="speed_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    depot_id: int = Field(foreign_key="location.id", index=True)
    vehicle_type: str = Field(max_length=64)
    count: int
    capacity_kg: float
    capacity_m3: float
    speed_kmh: float


class FleetCreate(BaseModel):
    """One row of a fleet file (the scenario's `fleet.csv` columns); `depot` is a code."""

    depot: str = RowField(min_length=1, max_length=64)
    vehicle_type: str = RowField(min_length=1, max_length=64)
    count: int = RowField(ge=0, le=100_000)
    capacity_kg: float = RowField(gt=0, le=1_000_000)
    capacity_m3: float = RowField(gt=0, le=10_000)
    speed_kmh: float = RowField(gt=0, le=300)

    @field_validator("depot", "vehicle_type")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value
