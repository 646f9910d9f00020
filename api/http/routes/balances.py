"""Stock on hand: per depot, per depot subtree, per item, within an expiry window."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.http.deps import Reader, ReadSession
from api.http.pagination import Cursor, Limit, Page, paginate
from api.http.problems import problem_responses
from supply.services import balances
from supply.services.balances import BalanceRow, ItemTotal
from supply.services.jurisdictions import visible_depot_ids

router = APIRouter(prefix="/balances", tags=["balances 库存"])

DepotQuery = Annotated[str | None, Query(max_length=64, description="A depot's code.")]
SubtreeQuery = Annotated[
    bool, Query(description="With `depot`: that depot and every depot below it.")
]
ItemQuery = Annotated[str | None, Query(max_length=64, description="An item's code.")]
READ_PROBLEMS = problem_responses(401, 403, 404, 422)


def _lot_order(row: BalanceRow) -> tuple[str, ...]:
    # Durable goods (no expiry) after every dated lot, on both databases.
    return (row.depot, row.item, (row.expires_on or date.max).isoformat(), row.lot)


@router.get("", responses=READ_PROBLEMS)
def list_balances(
    user: Reader,
    session: ReadSession,
    depot: DepotQuery = None,
    subtree: SubtreeQuery = False,
    item: ItemQuery = None,
    expires_before: Annotated[date | None, Query(description="Expiring on or before.")] = None,
    expires_after: Annotated[date | None, Query(description="Expiring on or after.")] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[BalanceRow]:
    """Lots on hand by depot, item and expiry (first expiring first): of the depots the
    user may see (a keeper of a jurisdiction sees its own, the bureau's, and those of
    neighbours that share; an auditor sees all). Another's depot named is a 403."""
    rows, next_cursor = paginate(
        balances.balances(
            session,
            visible=visible_depot_ids(session, user),
            depot=depot,
            subtree=subtree,
            item=item,
            expires_before=expires_before,
            expires_after=expires_after,
        ),
        key=_lot_order,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=rows, next_cursor=next_cursor)


@router.get("/totals", responses=READ_PROBLEMS)
def item_totals(
    user: Reader,
    session: ReadSession,
    depot: DepotQuery = None,
    subtree: SubtreeQuery = False,
    item: ItemQuery = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> Page[ItemTotal]:
    """Per item: depots holding it, lots, on hand, reserved, available, expired."""
    rows, next_cursor = paginate(
        balances.balance_totals(
            session,
            visible=visible_depot_ids(session, user),
            depot=depot,
            subtree=subtree,
            item=item,
        ),
        key=lambda t: (t.item,),
        limit=limit,
        cursor=cursor,
    )
    return Page(items=rows, next_cursor=next_cursor)
