"""Suppliers, agreement reserves (协议储备) and their inspections (督促检查).

An agreement's *state* is derived each time from the bureau's status, its validity dates and
what has been called off, so expiry and exhaustion never need a job to flip a flag:

- `suspended` / `terminated`: the bureau said so;
- `not_yet_valid` before `valid_from`, `expired` after `valid_to` (both dates inclusive);
- `exhausted` when call-offs have used the committed quantity;
- `active` otherwise: it may be called off.

Dates are calendar days in the time zone of the `now` the caller passes (the keeper's).
"""

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from supply.errors import Conflict, InvalidInput, NotFound, SupplyError
from supply.models import (
    Agreement,
    AgreementCreate,
    AgreementKind,
    AgreementStatus,
    CallOff,
    CallOffStatus,
    Inspection,
    InspectionCreate,
    Item,
    Location,
    Supplier,
    SupplierCreate,
)
from supply.services.lookup import depot_by_code, item_by_code


class AgreementState(StrEnum):
    ACTIVE = "active"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"
    SUSPENDED = "suspended"
    TERMINATED = "terminated"


# ---------------------------------------------------------------------------- suppliers


def supplier_by_code(session: Session, code: str, *, field: str = "supplier") -> Supplier:
    supplier = session.scalars(select(Supplier).where(col(Supplier.code) == code)).first()
    if supplier is None:
        raise NotFound(field, code)
    return supplier


def _refuse_repeats(codes: Sequence[str], what: str) -> None:
    """A code twice in one file is refused at its second row."""
    seen: set[str] = set()
    for index, code in enumerate(codes):
        if code in seen:
            error = InvalidInput("code", f"{what} {code} appears twice in the file")
            error.index = index
            raise error
        seen.add(code)


def upsert_suppliers(session: Session, rows: Sequence[SupplierCreate]) -> tuple[int, int]:
    """Create or update suppliers by code. Returns (created, updated)."""
    _refuse_repeats([r.code for r in rows], "supplier")
    existing = {
        s.code: s
        for s in session.scalars(
            select(Supplier).where(col(Supplier.code).in_([r.code for r in rows]))
        )
    }
    created = 0
    for data in rows:
        values = data.model_dump()
        values["kind"] = data.kind.value
        row = existing.get(data.code)
        if row is None:
            session.add(Supplier(**values))
            created += 1
        else:
            row.sqlmodel_update(values)
    session.flush()
    return created, len(rows) - created


def list_suppliers(session: Session) -> list[Supplier]:
    return list(session.scalars(select(Supplier).order_by(col(Supplier.code))))


SUPPLIER_COLUMNS = ("code", "name", "kind", "contact", "lat", "lon")


def supplier_table(session: Session) -> list[list[Any]]:
    """Every supplier as a row of SUPPLIER_COLUMNS (what `suppliers import` reads)."""
    return [[s.code, s.name, s.kind, s.contact, s.lat, s.lon] for s in list_suppliers(session)]


def entrust(session: Session, *, depot: str, custodian: str | None) -> Location:
    """Record (or, with None, end) entrusted storage (代储): an enterprise keeps the depot
    for us. The depot's stock stays ours and in the ledger like any other depot's."""
    loc = depot_by_code(session, depot)
    loc.custodian_id = (
        None if custodian is None else supplier_by_code(session, custodian, field="custodian").id
    )
    session.flush()
    return loc


# ---------------------------------------------------------------------------- agreements


def agreement_by_code(session: Session, code: str, *, lock: bool = False) -> Agreement:
    stmt = select(Agreement).where(col(Agreement.code) == code)
    if lock:
        stmt = stmt.with_for_update()
    agreement = session.scalars(stmt).first()
    if agreement is None:
        raise NotFound("agreement", code)
    return agreement


def used_qty(session: Session, agreement_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Units each agreement has given: open call-offs count in full, received ones by what
    arrived (a short delivery frees the rest), cancelled ones not at all."""
    used = case(
        (col(CallOff.status) == CallOffStatus.EXPECTED.value, col(CallOff.qty)),
        (col(CallOff.status) == CallOffStatus.RECEIVED.value, col(CallOff.received_qty)),
        else_=0,
    )
    stmt = select(col(CallOff.agreement_id), func.sum(used)).group_by(col(CallOff.agreement_id))
    if agreement_ids is not None:
        stmt = stmt.where(col(CallOff.agreement_id).in_(agreement_ids))
    return {agreement_id: int(total or 0) for agreement_id, total in session.execute(stmt)}


def state_of(agreement: Agreement, remaining: int, today: date) -> AgreementState:
    if agreement.status != AgreementStatus.ACTIVE:
        return AgreementState(agreement.status)
    if today < agreement.valid_from:
        return AgreementState.NOT_YET_VALID
    if today > agreement.valid_to:
        return AgreementState.EXPIRED
    if remaining <= 0:
        return AgreementState.EXHAUSTED
    return AgreementState.ACTIVE


def validity_end(agreement: Agreement, now: datetime) -> datetime:
    """The first moment the agreement no longer holds: midnight after `valid_to`, in the
    time zone of `now`."""
    assert now.tzinfo is not None
    return datetime.combine(agreement.valid_to + timedelta(days=1), time(), tzinfo=now.tzinfo)


def hours_to_deliver(agreement: Agreement, qty: int) -> Decimal:
    """Hours from a call-off until `qty` units are delivered: the lead time, plus, for a
    capacity reserve, the production time at its hourly rate."""
    hours = Decimal(str(agreement.lead_time_hours))
    if agreement.kind == AgreementKind.CAPACITY:
        assert agreement.rate_per_hour
        hours += Decimal(qty) / Decimal(agreement.rate_per_hour)
    return hours


def deliverable_within(agreement: Agreement, remaining: int, now: datetime, hours: float) -> int:
    """Units that a call-off made at `now` could bring in within `hours` (and before the
    agreement ends). A goods reserve gives all that remains once its lead time is within
    the window; a capacity reserve what its rate produces in the time left after the lead."""
    window_end = min(now + timedelta(hours=hours), validity_end(agreement, now))
    window = Decimal(str((window_end - now).total_seconds())) / Decimal(3600)
    lead = Decimal(str(agreement.lead_time_hours))
    if remaining <= 0 or window < lead:
        return 0
    if agreement.kind == AgreementKind.GOODS:
        return remaining
    assert agreement.rate_per_hour
    return min(remaining, math.floor((window - lead) * agreement.rate_per_hour))


def deliverable(
    session: Session, *, now: datetime, hours: float, depot_ids: set[int] | None = None
) -> dict[tuple[int, int], int]:
    """(depot id, item id) -> units that agreements of that depot could deliver within
    `hours` of a call-off made at `now`; only agreements that may be called off count."""
    stmt = select(Agreement)
    if depot_ids is not None:
        stmt = stmt.where(col(Agreement.depot_id).in_(depot_ids))
    agreements = list(session.scalars(stmt))
    used = used_qty(session, [a.id for a in agreements])  # type: ignore[misc]
    today = now.date()
    out: dict[tuple[int, int], int] = defaultdict(int)
    for a in agreements:
        remaining = a.qty - used.get(a.id, 0)  # type: ignore[arg-type]
        if state_of(a, remaining, today) == AgreementState.ACTIVE:
            out[(a.depot_id, a.item_id)] += deliverable_within(a, remaining, now, hours)
    return dict(out)


def upsert_agreements(session: Session, rows: Sequence[AgreementCreate]) -> tuple[int, int]:
    """Create or update agreements by code; refused whole at the first bad row.

    An agreement that has been called off keeps its supplier and item (what is owed
    refers to them), and its committed quantity never drops below what was called off.
    """
    _refuse_repeats([r.code for r in rows], "agreement")
    suppliers: dict[str, Supplier] = {}
    items: dict[str, Item] = {}
    used = used_qty(session)
    created = 0
    for index, data in enumerate(rows):
        try:
            if data.supplier not in suppliers:
                suppliers[data.supplier] = supplier_by_code(session, data.supplier)
            if data.item not in items:
                items[data.item] = item_by_code(session, data.item)
            depot = depot_by_code(session, data.depot)
            values: dict[str, Any] = {
                "supplier_id": suppliers[data.supplier].id,
                "item_id": items[data.item].id,
                "depot_id": depot.id,
                "kind": data.kind.value,
                "delivery": data.delivery.value,
                "status": data.status.value,
                "qty": data.qty,
                "rate_per_hour": data.rate_per_hour,
                "lead_time_hours": data.lead_time_hours,
                "valid_from": data.valid_from,
                "valid_to": data.valid_to,
                "unit_price": data.unit_price,
                "annual_fee": data.annual_fee,
                "compensation_per_unit": data.compensation_per_unit,
                "inspection_interval_days": data.inspection_interval_days,
                "terms": data.terms,
            }
            row = session.scalars(select(Agreement).where(col(Agreement.code) == data.code)).first()
            if row is None:
                session.add(Agreement(code=data.code, **values))
                created += 1
                continue
            given = used.get(row.id, 0)  # type: ignore[arg-type]
            if given and (row.supplier_id, row.item_id) != (
                values["supplier_id"],
                values["item_id"],
            ):
                raise Conflict(
                    "supplier",
                    f"agreement {data.code} has call-offs; its supplier and item cannot change",
                )
            if data.qty < given:
                raise Conflict(
                    "qty",
                    f"{given} units have been called off under agreement {data.code}; "
                    f"the committed quantity cannot go below that (got {data.qty})",
                )
            row.sqlmodel_update(values)
        except SupplyError as exc:
            exc.index = index
            raise
    session.flush()
    return created, len(rows) - created


@dataclass(frozen=True, slots=True)
class AgreementView:
    """An agreement as a keeper reads it: its state, what is left, and why it is flagged."""

    code: str
    supplier: str
    supplier_name: str
    item: str
    depot: str
    kind: str
    delivery: str
    state: str
    qty: int
    called_off: int
    remaining: int
    rate_per_hour: int | None
    lead_time_hours: float
    valid_from: date
    valid_to: date
    unit_price: Decimal
    compensation_per_unit: Decimal
    annual_fee: Decimal
    inspection_interval_days: int
    last_inspected_on: date | None
    last_verified_qty: int | None
    flags: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("valid_from", "valid_to", "last_inspected_on"):
            data[key] = data[key].isoformat() if data[key] else None
        for key in ("unit_price", "compensation_per_unit", "annual_fee"):
            data[key] = str(data[key])
        return data


def inspection_flags(
    agreement: Agreement, remaining: int, last: Inspection | None, today: date
) -> list[str]:
    """Why an agreement in force needs the keeper's attention (empty when it does not).

    Overdue: the last inspection is more than `inspection_interval_days` old (or, never
    inspected, the agreement started longer ago than that). Verified short: the last
    inspection found fewer units on site than remain under the contract (for a capacity
    reserve: a lower hourly output than contracted).
    """
    interval = agreement.inspection_interval_days
    flags: list[str] = []
    if last is None:
        if (today - agreement.valid_from).days > interval:
            flags.append(f"never inspected (due every {interval} days)")
        return flags
    if (today - last.inspected_on).days > interval:
        flags.append(
            f"inspection overdue: last on {last.inspected_on.isoformat()}, "
            f"due every {interval} days"
        )
    if agreement.kind == AgreementKind.CAPACITY:
        assert agreement.rate_per_hour is not None
        if last.verified_qty < agreement.rate_per_hour:
            flags.append(
                f"verified short: {last.verified_qty:,}/h of {agreement.rate_per_hour:,}/h "
                f"on {last.inspected_on.isoformat()}"
            )
    elif last.verified_qty < remaining:
        flags.append(
            f"verified short: {last.verified_qty:,} of {remaining:,} on site "
            f"on {last.inspected_on.isoformat()}"
        )
    return flags


def last_inspections(session: Session) -> dict[int, Inspection]:
    latest = (
        select(col(Inspection.agreement_id), func.max(col(Inspection.inspected_on)).label("day"))
        .group_by(col(Inspection.agreement_id))
        .subquery()
    )
    rows = session.scalars(
        select(Inspection).join(
            latest,
            (col(Inspection.agreement_id) == latest.c.agreement_id)
            & (col(Inspection.inspected_on) == latest.c.day),
        )
    )
    return {i.agreement_id: i for i in rows}


def list_agreements(session: Session, *, today: date) -> list[AgreementView]:
    """Every agreement with its state, remaining quantity and flags, by code."""
    rows = session.execute(
        select(
            Agreement, col(Supplier.code), col(Supplier.name), col(Item.code), col(Location.code)
        )
        .join(Supplier, col(Supplier.id) == col(Agreement.supplier_id))
        .join(Item, col(Item.id) == col(Agreement.item_id))
        .join(Location, col(Location.id) == col(Agreement.depot_id))
        .order_by(col(Agreement.code))
    ).all()
    used = used_qty(session)
    last = last_inspections(session)
    out: list[AgreementView] = []
    for a, supplier, supplier_name, item, depot in rows:
        given = used.get(a.id, 0)
        remaining = a.qty - given
        state = state_of(a, remaining, today)
        inspection = last.get(a.id)
        flags = (
            inspection_flags(a, remaining, inspection, today)
            if state == AgreementState.ACTIVE
            else []
        )
        out.append(
            AgreementView(
                code=a.code,
                supplier=supplier,
                supplier_name=supplier_name,
                item=item,
                depot=depot,
                kind=a.kind,
                delivery=a.delivery,
                state=state.value,
                qty=a.qty,
                called_off=given,
                remaining=remaining,
                rate_per_hour=a.rate_per_hour,
                lead_time_hours=a.lead_time_hours,
                valid_from=a.valid_from,
                valid_to=a.valid_to,
                unit_price=a.unit_price,
                compensation_per_unit=a.compensation_per_unit,
                annual_fee=a.annual_fee,
                inspection_interval_days=a.inspection_interval_days,
                last_inspected_on=inspection.inspected_on if inspection else None,
                last_verified_qty=inspection.verified_qty if inspection else None,
                flags=flags,
            )
        )
    return out


AGREEMENT_COLUMNS = (
    "code",
    "supplier",
    "item",
    "depot",
    "kind",
    "delivery",
    "status",
    "qty",
    "rate_per_hour",
    "lead_time_hours",
    "valid_from",
    "valid_to",
    "unit_price",
    "annual_fee",
    "compensation_per_unit",
    "inspection_interval_days",
    "terms",
)
AGREEMENT_REQUIRED = (
    "code",
    "supplier",
    "item",
    "depot",
    "qty",
    "lead_time_hours",
    "valid_from",
    "valid_to",
    "unit_price",
)


def agreement_table(session: Session) -> list[list[Any]]:
    """Every agreement as a row of AGREEMENT_COLUMNS (what `agreements import` reads)."""
    rows = session.execute(
        select(Agreement, col(Supplier.code), col(Item.code), col(Location.code))
        .join(Supplier, col(Supplier.id) == col(Agreement.supplier_id))
        .join(Item, col(Item.id) == col(Agreement.item_id))
        .join(Location, col(Location.id) == col(Agreement.depot_id))
        .order_by(col(Agreement.code))
    ).all()
    return [
        [
            a.code,
            supplier,
            item,
            depot,
            a.kind,
            a.delivery,
            a.status,
            a.qty,
            a.rate_per_hour,
            a.lead_time_hours,
            a.valid_from,
            a.valid_to,
            a.unit_price,
            a.annual_fee,
            a.compensation_per_unit,
            a.inspection_interval_days,
            a.terms,
        ]
        for a, supplier, item, depot in rows
    ]


# ---------------------------------------------------------------------------- inspections


def record_inspection(
    session: Session, data: InspectionCreate, *, today: date
) -> tuple[Inspection, bool]:
    """Record what an inspector verified on site; a second record for the same agreement
    and day replaces the first. Returns (inspection, created)."""
    if data.inspected_on > today:
        raise InvalidInput("inspected_on", f"{data.inspected_on.isoformat()} is in the future")
    agreement = agreement_by_code(session, data.agreement)
    row = session.scalars(
        select(Inspection).where(
            col(Inspection.agreement_id) == agreement.id,
            col(Inspection.inspected_on) == data.inspected_on,
        )
    ).first()
    values = {
        "inspector": data.inspector,
        "verified_qty": data.verified_qty,
        "findings": data.findings,
    }
    if row is None:
        assert agreement.id is not None
        row = Inspection(
            agreement_id=agreement.id,
            inspected_on=data.inspected_on,
            inspector=data.inspector,
            verified_qty=data.verified_qty,
            findings=data.findings,
        )
        session.add(row)
        session.flush()
        return row, True
    row.sqlmodel_update(values)
    session.flush()
    return row, False


def upsert_inspections(
    session: Session, rows: Sequence[InspectionCreate], *, today: date
) -> tuple[int, int]:
    """Record a file of inspections, all or nothing. Returns (created, updated)."""
    repeats = Counter((r.agreement, r.inspected_on) for r in rows)
    created = 0
    seen: set[tuple[str, date]] = set()
    for index, data in enumerate(rows):
        try:
            key = (data.agreement, data.inspected_on)
            if repeats[key] > 1 and key in seen:
                raise InvalidInput(
                    "inspected_on",
                    f"agreement {data.agreement} is inspected twice on "
                    f"{data.inspected_on.isoformat()} in the file",
                )
            seen.add(key)
            created += record_inspection(session, data, today=today)[1]
        except SupplyError as exc:
            exc.index = index
            raise
    return created, len(rows) - created


INSPECTION_COLUMNS = ("agreement", "inspected_on", "inspector", "verified_qty", "findings")


def inspection_table(session: Session) -> list[list[Any]]:
    """Every inspection as a row of INSPECTION_COLUMNS, by agreement and date."""
    rows = session.execute(
        select(col(Agreement.code), Inspection)
        .join(Agreement, col(Agreement.id) == col(Inspection.agreement_id))
        .order_by(col(Agreement.code), col(Inspection.inspected_on))
    ).all()
    return [[code, i.inspected_on, i.inspector, i.verified_qty, i.findings] for code, i in rows]
