"""The plan document as approval reads it: the loads to reserve and the agreement shipments
to call off, from the one plan JSON schema (`optimizer.plan_document.PlanDocument`)."""

import hashlib
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from optimizer.plan_document import PlanDocument, agreement_code
from supply.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class PlannedLoad:
    """One lot for one shelter; with routes, on a vehicle's trip and stop (1-based)."""

    depot: str
    shelter: str
    item: str
    lot: str
    qty: int
    vehicle: str | None = None
    trip: int | None = None
    stop: int | None = None
    arrival_hours: float | None = None


@dataclass(frozen=True, slots=True)
class PlannedAgreement:
    """Units an agreement's supplier brings straight to one shelter: a call-off on approval."""

    agreement: str
    shelter: str
    item: str
    qty: int


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """What approval needs from a plan JSON, checked for shape.

    `agreement_qty` (per item) is what agreement suppliers deliver: not ledger stock.
    `unrouted_qty` is depot shipment units that no route carries (reported, not reserved).
    """

    name: str
    content_hash: str
    routed: bool
    loads: tuple[PlannedLoad, ...]
    agreement_qty: dict[str, int]
    unrouted_qty: int
    agreements: tuple[PlannedAgreement, ...] = ()
    #: Codes of the depots the plan lists as its sources (`sources`, kind "depot").
    source_depots: frozenset[str] = frozenset()


def plan_hash(document: Mapping[str, Any]) -> str:
    """SHA-256 of the plan's canonical JSON: the identity of a plan, whatever its layout."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _validated(document: Mapping[str, Any]) -> PlanDocument:
    try:
        return PlanDocument.model_validate(document)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        raise InvalidInput(f"plan{path}", err["msg"].removeprefix("Value error, ")) from exc


def read_plan(document: Mapping[str, Any]) -> ReadPlan:
    """Check a plan document's shape and list its loads: the routes' loads when it has
    routes, else its depot shipments.

    Raises
    ------
    InvalidInput
        Naming the JSON path at fault (e.g. `plan.routes[0].trips[1].stops[0].loads[2].qty`).
    """
    plan = _validated(document)
    if plan.untoured_depots:
        raise InvalidInput(
            "plan.untoured_depots",
            f"plan {plan.name} has shipments no tour carries from "
            f"{', '.join(plan.untoured_depots)}; re-plan before approving",
        )
    shipped: dict[tuple[str, str, str, str], int] = defaultdict(int)
    agreements: dict[str, int] = defaultdict(int)
    called: dict[tuple[str, str, str], int] = defaultdict(int)
    for ship in plan.shipments:
        if ship.source_kind == "agreement":
            agreements[ship.item] += ship.qty
            called[(agreement_code(ship.source), ship.shelter, ship.item)] += ship.qty
        elif ship.source_kind == "depot":  # not "en_route": already departed, not stock
            shipped[(ship.source, ship.shelter, ship.item, ship.lot or "")] += ship.qty
    loads = [
        PlannedLoad(
            r.depot, s.shelter, ld.item, ld.lot, ld.qty, r.vehicle, t.trip, s.stop, s.arrival_hours
        )
        for r in plan.routes
        for t in r.trips
        for s in t.stops
        for ld in s.loads
    ]
    unrouted = 0
    if plan.routes:
        carried: dict[tuple[str, str, str, str], int] = defaultdict(int)
        for ld in loads:
            carried[(ld.depot, ld.shelter, ld.item, ld.lot)] += ld.qty
        unrouted = sum(max(q - carried.get(k, 0), 0) for k, q in shipped.items())
    else:
        loads = [
            PlannedLoad(
                s.source, s.shelter, s.item, s.lot or "", s.qty, arrival_hours=s.arrival_hours
            )
            for s in plan.shipments
            if s.source_kind == "depot"
        ]
    return ReadPlan(
        name=plan.name,
        content_hash=plan_hash(document),
        routed=bool(plan.routes),
        loads=tuple(loads),
        agreement_qty=dict(sorted(agreements.items())),
        unrouted_qty=unrouted,
        agreements=tuple(
            PlannedAgreement(code, shelter, item, qty)
            for (code, shelter, item), qty in sorted(called.items())
        ),
        source_depots=frozenset(
            str(s["code"]) for s in plan.sources if s.get("kind") == "depot" and "code" in s
        ),
    )
