"""Reserve quotas (储备定额) and the gaps against them.

What counts towards a depot's quota for an item: its own stock on hand in lots not expired,
plus what its agreements could deliver within the 10-hour target if called off now. Only
the depot's own stock counts, not its subtree's: every tier holds its own reserve.
"""

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from supply.errors import InvalidInput, SupplyError
from supply.models import Item, Location, LocationKind, Quota, QuotaCreate, Tier
from supply.network import TARGET_HOURS
from supply.services.agreements import deliverable
from supply.services.balances import usable_on_hand
from supply.services.lookup import depot_by_code, item_by_code


def upsert_quotas(session: Session, rows: Sequence[QuotaCreate]) -> tuple[int, int]:
    """Create or update quotas keyed by (depot or tier, item); all or nothing."""
    created = 0
    seen: set[tuple[str, str]] = set()
    for index, data in enumerate(rows):
        try:
            scope = data.depot or (data.tier.value if data.tier else "")
            if (scope, data.item) in seen:
                raise InvalidInput("item", f"a quota for {data.item} at {scope} appears twice")
            seen.add((scope, data.item))
            item = item_by_code(session, data.item)
            stmt = select(Quota).where(col(Quota.item_id) == item.id)
            depot_id = None
            if data.depot is not None:
                depot_id = depot_by_code(session, data.depot).id
                stmt = stmt.where(col(Quota.depot_id) == depot_id)
            else:
                assert data.tier is not None
                stmt = stmt.where(col(Quota.tier) == data.tier.value)
            row = session.scalars(stmt).first()
            if row is None:
                row = Quota(
                    item_id=item.id,  # type: ignore[arg-type]
                    depot_id=depot_id,
                    tier=data.tier.value if data.tier else None,
                )
                session.add(row)
                created += 1
            row.qty = data.qty
            row.per_resident = data.per_resident
            session.flush()
        except SupplyError as exc:
            exc.index = index
            raise
    return created, len(rows) - created


QUOTA_COLUMNS = ("item", "depot", "tier", "qty", "per_resident")


def quota_table(session: Session) -> list[list[Any]]:
    """Every quota as a row of QUOTA_COLUMNS (what `quotas import` reads)."""
    rows = session.execute(
        select(Quota, col(Item.code), col(Location.code))
        .join(Item, col(Item.id) == col(Quota.item_id))
        .outerjoin(Location, col(Location.id) == col(Quota.depot_id))
        .order_by(col(Item.code), col(Quota.tier), col(Location.code))
    ).all()
    return [[item, depot, q.tier, q.qty, q.per_resident] for q, item, depot in rows]


@dataclass(frozen=True, slots=True)
class Gap:
    """One depot × item against its quota. `quota` is None when it is per resident and the
    depot's population served is unknown; `shortfall` is what is missing (0 when met)."""

    depot: str
    tier: str
    item: str
    basis: str  # "depot" or "tier": which quota applies
    population_served: int | None
    per_resident: Decimal | None
    quota: int | None
    on_hand: int
    agreements: int
    covered: int
    shortfall: int | None
    status: str  # short, met, unknown

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["per_resident"] = str(self.per_resident) if self.per_resident is not None else None
        return data


def _required(quota: Quota, population: int | None) -> int | None:
    if quota.qty is not None:
        return quota.qty
    if population is None:
        return None
    assert quota.per_resident is not None
    return math.ceil(quota.per_resident * population)


def gaps(
    session: Session,
    *,
    now: datetime,
    tier: Tier | None = None,
    depot: str | None = None,
    hours: float = TARGET_HOURS,
) -> list[Gap]:
    """Every active depot's quotas against what it holds and could call off within `hours`.

    Shortfalls come first, the worst covered first; then quotas met; then per-resident
    quotas that cannot be judged because the depot's population served is unknown.
    """
    stmt = select(Location).where(
        col(Location.kind) == LocationKind.DEPOT.value,
        col(Location.active).is_(True),
    )
    if tier is not None:
        stmt = stmt.where(col(Location.tier) == tier.value)
    if depot is not None:
        stmt = stmt.where(col(Location.id) == depot_by_code(session, depot).id)
    depots = list(session.scalars(stmt))
    quotas = list(session.scalars(select(Quota)))
    items = {i.id: i.code for i in session.scalars(select(Item))}
    by_depot = {(q.depot_id, q.item_id): q for q in quotas if q.depot_id is not None}
    by_tier = {(q.tier, q.item_id): q for q in quotas if q.tier is not None}
    ids = {d.id for d in depots}
    stock = usable_on_hand(session, today=now.date(), depot_ids=ids)  # type: ignore[arg-type]
    callable_ = deliverable(session, now=now, hours=hours, depot_ids=ids)  # type: ignore[arg-type]

    out: list[Gap] = []
    for d in depots:
        applying: dict[int, tuple[str, Quota]] = {
            item_id: ("tier", q) for (t, item_id), q in by_tier.items() if t == d.tier
        }
        applying.update(
            {item_id: ("depot", q) for (dep, item_id), q in by_depot.items() if dep == d.id}
        )
        for item_id, (basis, q) in applying.items():
            key = (d.id, item_id)
            required = _required(q, d.population_served)
            on_hand = stock.get(key, 0)  # type: ignore[arg-type]
            incoming = callable_.get(key, 0)  # type: ignore[arg-type]
            covered = on_hand + incoming
            shortfall = None if required is None else max(0, required - covered)
            status = "unknown" if shortfall is None else ("short" if shortfall else "met")
            out.append(
                Gap(
                    depot=d.code,
                    tier=d.tier or "",
                    item=items[item_id],
                    basis=basis,
                    population_served=d.population_served,
                    per_resident=q.per_resident,
                    quota=required,
                    on_hand=on_hand,
                    agreements=incoming,
                    covered=covered,
                    shortfall=shortfall,
                    status=status,
                )
            )

    def order(g: Gap) -> tuple[int, float, str, str]:
        rank = {"short": 0, "met": 1, "unknown": 2}[g.status]
        coverage = g.covered / g.quota if g.quota else 1.0
        return (rank, coverage, g.depot, g.item)

    return sorted(out, key=order)
