"""Readiness: how many residents a county's or city's reserve could supply for one day.

For each county or city depot, its whole subtree's stock on hand (lots not expired) plus
what the subtree's agreements could deliver within the target hours is divided by the
per-resident norm of every *critical* item; the smallest quotient is the answer, and its
item the one that limits it. A norm given `per` `day` counts one day's need; one given
`once` (a quilt, a tent share) counts once: both are needed on the first day.
"""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session, col

from supply.errors import InvalidInput, NotFound, SupplyError
from supply.models import Item, Location, LocationKind, Tier
from supply.network import TARGET_HOURS
from supply.services.agreements import deliverable
from supply.services.balances import usable_on_hand
from supply.services.lookup import depot_by_code


class Per(StrEnum):
    DAY = "day"
    ONCE = "once"


class NormRow(BaseModel):
    """One row of a norms file (the planner's `norms.csv` columns)."""

    item: str = Field(min_length=1, max_length=64)
    per_person: Decimal = Field(gt=0)
    per: Per
    priority: int = Field(default=1, ge=1)
    critical: bool = True


NORM_COLUMNS = ("item", "per_person", "per", "critical")

#: The tiers whose subtrees readiness reports on by default.
ROOT_TIERS = (Tier.CITY, Tier.COUNTY)


@dataclass(frozen=True, slots=True)
class ItemReadiness:
    item: str
    per_person: Decimal
    on_hand: int
    agreements: int
    residents: int


@dataclass(frozen=True, slots=True)
class Readiness:
    depot: str
    name: str
    tier: str
    depots: int
    population_served: int | None
    residents: int
    limiting_item: str
    items: list[ItemReadiness] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        """Residents supplied as a share of the population served, when that is known."""
        if not self.population_served:
            return None
        return self.residents / self.population_served

    def to_json(self) -> dict[str, Any]:
        return {
            "depot": self.depot,
            "name": self.name,
            "tier": self.tier,
            "depots": self.depots,
            "population_served": self.population_served,
            "residents": self.residents,
            "share": None if self.share is None else round(self.share, 4),
            "limiting_item": self.limiting_item,
            "items": [
                {
                    "item": i.item,
                    "per_person": str(i.per_person),
                    "on_hand": i.on_hand,
                    "agreements": i.agreements,
                    "residents": i.residents,
                }
                for i in self.items
            ],
        }


def _critical(session: Session, norms: Sequence[NormRow]) -> list[tuple[int, NormRow]]:
    """The critical norms with their item ids; unknown or repeated items are refused."""
    known = {
        code: item_id for item_id, code in session.execute(select(col(Item.id), col(Item.code)))
    }
    seen: set[str] = set()
    out: list[tuple[int, NormRow]] = []
    for index, norm in enumerate(norms):
        try:
            if norm.item in seen:
                raise InvalidInput("item", f"{norm.item} appears twice")
            seen.add(norm.item)
            if norm.item not in known:
                raise NotFound("item", norm.item)
        except SupplyError as exc:
            exc.index = index
            raise
        if norm.critical:
            out.append((known[norm.item], norm))
    if not out:
        raise InvalidInput("critical", "no norm is marked critical; readiness needs at least one")
    return sorted(out, key=lambda pair: (pair[1].priority, pair[1].item))


def readiness(
    session: Session,
    norms: Sequence[NormRow],
    *,
    now: datetime,
    hours: float = TARGET_HOURS,
    depot: str | None = None,
) -> list[Readiness]:
    """Residents each city and county subtree (or the subtree of `depot`) could supply for
    one day with every critical item, cities first, then by code."""
    critical = _critical(session, norms)
    locations = list(
        session.scalars(
            select(Location).where(
                col(Location.kind) == LocationKind.DEPOT.value,
                col(Location.active).is_(True),
            )
        )
    )
    children: dict[int | None, list[Location]] = defaultdict(list)
    for loc in locations:
        children[loc.parent_id].append(loc)
    if depot is not None:
        roots = [depot_by_code(session, depot)]
    else:
        roots = [loc for loc in locations if loc.tier in {t.value for t in ROOT_TIERS}]
    stock = usable_on_hand(session, today=now.date())
    callable_ = deliverable(session, now=now, hours=hours)
    rank = {t.value: i for i, t in enumerate(Tier)}

    out: list[Readiness] = []
    for root in sorted(roots, key=lambda r: (rank.get(r.tier or "", 9), r.code)):
        subtree: list[int] = []
        todo = [root]
        while todo:
            loc = todo.pop()
            subtree.append(loc.id)  # type: ignore[arg-type]
            todo.extend(children.get(loc.id, []))
        per_item: list[ItemReadiness] = []
        for item_id, norm in critical:
            held = sum(stock.get((d, item_id), 0) for d in subtree)
            incoming = sum(callable_.get((d, item_id), 0) for d in subtree)
            per_item.append(
                ItemReadiness(
                    item=norm.item,
                    per_person=norm.per_person,
                    on_hand=held,
                    agreements=incoming,
                    residents=math.floor((held + incoming) / norm.per_person),
                )
            )
        limiting = min(per_item, key=lambda i: i.residents)
        out.append(
            Readiness(
                depot=root.code,
                name=root.name,
                tier=root.tier or "",
                depots=len(subtree),
                population_served=root.population_served,
                residents=limiting.residents,
                limiting_item=limiting.item,
                items=per_item,
            )
        )
    return out
