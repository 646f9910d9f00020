"""Reserve quotas (储备定额) and the gaps between them and what depots hold or could call off."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.http.deps import Reader, ReadSession
from api.http.problems import problem_responses
from supply.network import TARGET_HOURS, Tier
from supply.services import quotas
from supply.services.quotas import Gap

router = APIRouter(prefix="/quotas", tags=["quotas 储备定额"])
READ_PROBLEMS = problem_responses(401, 403, 404, 422)


class QuotaRead(BaseModel):
    """A quota of an item, for a depot or for every depot of a tier: a quantity, or a
    quantity per resident served."""

    item: str
    depot: str | None
    tier: str | None
    qty: int | None
    per_resident: Decimal | None


@router.get("", responses=READ_PROBLEMS)
def list_quotas(_user: Reader, session: ReadSession) -> list[QuotaRead]:
    return [
        QuotaRead(item=item, depot=depot, tier=tier, qty=qty, per_resident=per)
        for item, depot, tier, qty, per in quotas.quota_table(session)
    ]


@router.get("/gaps", responses=READ_PROBLEMS)
def gaps(
    _user: Reader,
    session: ReadSession,
    tier: Tier | None = None,
    depot: Annotated[str | None, Query(max_length=64)] = None,
    hours: Annotated[
        float, Query(ge=0, le=720, description="Hours an agreement may take to count.")
    ] = TARGET_HOURS,
) -> list[Gap]:
    """Each depot's quotas against its stock and callable agreements: shortfalls first,
    the worst covered first (a ranking, so one list rather than pages)."""
    now = datetime.now().astimezone()
    return quotas.gaps(session, now=now, tier=tier, depot=depot, hours=hours)
