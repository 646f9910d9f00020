"""Readiness (保障能力): residents each city and county subtree could supply for one day with
every critical item, from stock plus agreements deliverable in time."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.http.deps import Reader, ReadSession
from api.http.problems import problem_responses
from supply.network import TARGET_HOURS
from supply.services import readiness as service
from supply.services.readiness import NormRow, Readiness

router = APIRouter(prefix="/readiness", tags=["readiness 保障能力"])


class ReadinessQuery(BaseModel):
    """The per-resident norms to judge by (as `relief readiness --norms` reads them)."""

    model_config = ConfigDict(extra="forbid")

    norms: list[NormRow] = Field(
        min_length=1,
        max_length=500,
        examples=[[{"item": "WATER", "per_person": "1.5", "per": "day", "critical": True}]],
    )
    hours: float = Field(default=TARGET_HOURS, ge=0, le=720)
    depot: str | None = Field(default=None, max_length=64, description="Only its subtree.")


@router.post("", responses=problem_responses(401, 403, 404, 422))
def readiness(body: ReadinessQuery, _user: Reader, session: ReadSession) -> list[Readiness]:
    """A report, computed from the norms sent; nothing is written (so it is idempotent
    without a key)."""
    return service.readiness(
        session,
        body.norms,
        now=datetime.now().astimezone(),
        hours=body.hours,
        depot=body.depot,
    )
