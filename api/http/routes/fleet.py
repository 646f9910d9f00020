"""The fleet (车辆): vehicle types based at each depot, as the planner routes them."""

from fastapi import APIRouter
from pydantic import BaseModel

from api.http.deps import Reader, ReadSession
from api.http.problems import AUTH_PROBLEMS
from supply.services import fleet

router = APIRouter(prefix="/fleet", tags=["fleet 车辆"])


class VehicleRead(BaseModel):
    depot: str
    vehicle_type: str
    count: int
    capacity_kg: float
    capacity_m3: float
    speed_kmh: float


@router.get("", responses=AUTH_PROBLEMS)
def list_fleet(_user: Reader, session: ReadSession) -> list[VehicleRead]:
    """Every vehicle type with its depot, by depot and type."""
    return [
        VehicleRead(
            depot=depot,
            vehicle_type=v.vehicle_type,
            count=v.count,
            capacity_kg=v.capacity_kg,
            capacity_m3=v.capacity_m3,
            speed_kmh=v.speed_kmh,
        )
        for depot, v in fleet.fleet_rows(session)
    ]
