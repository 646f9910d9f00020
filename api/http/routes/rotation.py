"""Rotation (轮换): lots whose rotation date falls within a window, soonest first."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import Reader, ReadSession
from api.http.pagination import Cursor, Limit, Page, paginate
from api.http.problems import problem_responses
from supply.services import balances
from supply.services.balances import BalanceRow
from supply.services.jurisdictions import visible_depot_ids

router = APIRouter(prefix="/rotation", tags=["rotation 轮换"])


@router.get("/due", responses=problem_responses(401, 403, 404, 422))
def rotation_due(
    user: Reader,
    session: ReadSession,
    within_days: Annotated[int, Query(ge=0, le=3660, description="Days ahead.")] = 90,
    depot: Annotated[str | None, Query(max_length=64)] = None,
    subtree: bool = False,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[BalanceRow]:
    """Lots due for rotation within `within_days` (overdue included), of depots the user
    may see."""
    rows, next_cursor = paginate(
        balances.due_for_rotation(
            session,
            within_days=within_days,
            depot=depot,
            subtree=subtree,
            visible=visible_depot_ids(session, user),
        ),
        key=lambda r: (str(r.rotation_due), r.depot, r.item, r.lot),
        limit=limit,
        cursor=cursor,
    )
    return Page(items=rows, next_cursor=next_cursor)
