"""Where stock can be: depots of the five tiers, and the virtual outside-world locations."""

from enum import StrEnum

from pydantic import field_validator
from sqlalchemy import CheckConstraint, String
from sqlmodel import Field, SQLModel

from supply.limits import POPULATION_MAX
from supply.network import Tier


class LocationKind(StrEnum):
    DEPOT = "depot"
    SUPPLIER = "supplier"
    DISTRIBUTED = "distributed"
    IN_TRANSIT = "in_transit"
    WRITE_OFF = "write_off"
    STOCKTAKE_ADJUSTMENT = "stocktake_adjustment"
    ROTATION_OUTLET = "rotation_outlet"


#: Loading hours planned for a depot whose own are not recorded.
DEFAULT_LOADING_HOURS = 1.0

#: Locations whose stock is physical and so may never go below zero (nor below reserved).
GUARDED_KINDS = frozenset({LocationKind.DEPOT, LocationKind.IN_TRANSIT})

_KINDS = ", ".join(f"'{k.value}'" for k in LocationKind)
_TIERS = ", ".join(f"'{t.value}'" for t in Tier)


class Location(SQLModel, table=True):
    """A place stock is counted at. Virtual kinds exist once each, with their kind as code."""

    __tablename__ = "location"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS})", name="kind_known"),
        CheckConstraint(f"tier IS NULL OR tier IN ({_TIERS})", name="tier_known"),
        CheckConstraint("kind <> 'depot' OR tier IS NOT NULL", name="depot_has_tier"),
        CheckConstraint("capacity_m3 IS NULL OR capacity_m3 >= 0", name="capacity_nonneg"),
        CheckConstraint(
            "population_served IS NULL OR population_served >= 0", name="population_nonneg"
        ),
        CheckConstraint("loading_hours IS NULL OR loading_hours >= 0", name="loading_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    kind: str = Field(sa_type=String(32))
    tier: str | None = Field(default=None, sa_type=String(16))
    parent_id: int | None = Field(default=None, foreign_key="location.id", index=True)
    lat: float | None = None
    lon: float | None = None
    capacity_m3: float | None = None
    active: bool = True
    #: Residents the depot supplies in a disaster; per-resident quotas scale with it.
    population_served: int | None = None
    #: Entrusted storage (代储): the enterprise keeping this depot for us; the stock is ours.
    custodian_id: int | None = Field(default=None, foreign_key="supplier.id")
    #: Hours from a dispatch order until the depot's first trucks are loaded (the planner's
    #: ready time); None: not recorded, planned as `DEFAULT_LOADING_HOURS`.
    loading_hours: float | None = None
    #: The jurisdiction owning the depot (None: the whole bureau's); see `jurisdictions`.
    jurisdiction_id: int | None = Field(default=None, foreign_key="jurisdiction.id", index=True)


class LocationTree(SQLModel, table=True):
    """The depot hierarchy as a closure table: one row per depot and each of its ancestors
    (and itself, at depth 0), so "every depot below X" is one indexed look-up instead of a
    recursive walk. Kept by `supply.services.catalogue` when depots are created or moved."""

    __tablename__ = "location_tree"
    # WITHOUT ROWID on SQLite: see `DepotItemTotal`.

    ancestor_id: int = Field(foreign_key="location.id", primary_key=True)
    descendant_id: int = Field(foreign_key="location.id", primary_key=True, index=True)
    depth: int


class DepotCreate(SQLModel):
    """One row of a depots file: a depot and the code of its superior depot."""

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    tier: Tier
    parent_code: str | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    capacity_m3: float | None = Field(default=None, ge=0)
    population_served: int | None = Field(default=None, ge=0, le=POPULATION_MAX)
    loading_hours: float | None = Field(default=None, ge=0, le=72)

    @field_validator("parent_code", mode="before")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        if isinstance(value, str) and not value.strip():
            return None
        return value


class LocationRead(SQLModel):
    code: str
    name: str
    kind: str
    tier: str | None
    parent_code: str | None
    lat: float | None
    lon: float | None
    capacity_m3: float | None
    active: bool
    population_served: int | None
    custodian_code: str | None
    loading_hours: float | None = None
