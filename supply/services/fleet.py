"""The fleet registry: which trucks each depot has, kept in the ledger so that a plan made
from the ledger routes the bureau's own vehicles, not a scenario's guess."""

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session, col, select

from supply.errors import InvalidInput, SupplyError
from supply.models import FleetCreate, FleetVehicle, Location
from supply.services.lookup import depot_by_code

FLEET_COLUMNS = ("depot", "vehicle_type", "count", "capacity_kg", "capacity_m3", "speed_kmh")


def upsert_fleet(session: Session, rows: Sequence[FleetCreate]) -> tuple[int, int]:
    """Create or update vehicles by (depot, vehicle type); refused whole at the first bad row.

    A depot's types not in the file are kept: set `count` to 0 to take a type out of service.
    Returns (created, updated).
    """
    seen: set[tuple[str, str]] = set()
    depots: dict[str, Location] = {}
    created = 0
    for index, data in enumerate(rows):
        try:
            key = (data.depot, data.vehicle_type)
            if key in seen:
                raise InvalidInput(
                    "vehicle_type",
                    f"depot {data.depot} vehicle type {data.vehicle_type} is twice in the file",
                )
            seen.add(key)
            if data.depot not in depots:
                depots[data.depot] = depot_by_code(session, data.depot)
            depot_id = depots[data.depot].id
            assert depot_id is not None
            row = session.scalars(
                select(FleetVehicle).where(
                    col(FleetVehicle.depot_id) == depot_id,
                    col(FleetVehicle.vehicle_type) == data.vehicle_type,
                )
            ).first()
            values = data.model_dump(exclude={"depot"})
            if row is None:
                session.add(FleetVehicle(depot_id=depot_id, **values))
                created += 1
            else:
                row.sqlmodel_update(values)
        except SupplyError as exc:
            exc.index = index
            raise
    session.flush()
    return created, len(rows) - created


def fleet_rows(session: Session) -> list[tuple[str, FleetVehicle]]:
    """Every vehicle type with its depot's code, by depot and type."""
    rows = session.execute(
        select(col(Location.code), FleetVehicle)
        .join(Location, col(Location.id) == col(FleetVehicle.depot_id))
        .order_by(col(Location.code), col(FleetVehicle.vehicle_type))
    ).all()
    return [(code, vehicle) for code, vehicle in rows]


def fleet_table(session: Session) -> list[list[Any]]:
    """Every vehicle type as a row of FLEET_COLUMNS (what `fleet import` reads)."""
    return [
        [code, v.vehicle_type, v.count, v.capacity_kg, v.capacity_m3, v.speed_kmh]
        for code, v in fleet_rows(session)
    ]
