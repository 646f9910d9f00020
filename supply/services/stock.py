"""Keepers' stock operations: receive, issue, transfer, arrive, stocktake, reverse.

Each builds a balanced document and hands it to `ledger.post`; none commits (the caller's
boundary does). Quantities are positive integers in the item's unit.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from supply import ledger
from supply.db import utcnow
from supply.errors import (
    Conflict,
    DocumentState,
    ExpiredBatch,
    InsufficientStock,
    InvalidInput,
    NotFound,
    OutOfScope,
)
from supply.ledger import DocumentDraft, Line, Posted
from supply.limits import NAME_MAX, check_code, check_qty, check_text
from supply.models import (
    Balance,
    Batch,
    CountLine,
    CountReason,
    Document,
    DocumentKind,
    DocumentStatus,
    Funding,
    Item,
    Jurisdiction,
    Location,
    LocationKind,
    Ownership,
    is_expired,
)
from supply.picking import Candidate, PickPolicy, pick, usable
from supply.services.lookup import (
    active_depot,
    batch_by_lot,
    batch_for_receipt,
    depot_by_code,
    item_by_code,
    posting,
    virtual,
)


@dataclass(frozen=True, slots=True)
class Meta:
    """Who, when and why, common to every document a keeper posts."""

    actor: str = "system"
    occurred_at: datetime | None = None
    reference: str | None = None
    note: str | None = None
    idempotency_key: str | None = None


def _positive(qty: int, field: str = "qty") -> None:
    check_qty(field, qty)


def _draft(kind: DocumentKind, lines: list[Line], meta: Meta, **links: int | None) -> DocumentDraft:
    return DocumentDraft(
        kind=kind,
        lines=lines,
        actor=meta.actor,
        occurred_at=meta.occurred_at or utcnow(),
        reference=meta.reference,
        note=meta.note,
        idempotency_key=meta.idempotency_key,
        **links,  # type: ignore[arg-type]
    )


#: Which lots a caller may release: those of these jurisdictions' (ids), and lots with no
#: owner recorded; None: every lot (a user acting for the whole bureau).
Owners = frozenset[int] | None


def check_release(session: Session, batch: Batch, owners: Owners) -> None:
    """Refuse (OutOfScope) a lot owned by a jurisdiction outside `owners`: only the
    owner's people release it, wherever it lies."""
    if owners is None or batch.owner_id is None or batch.owner_id in owners:
        return
    code = session.scalar(
        select(col(Jurisdiction.code)).where(col(Jurisdiction.id) == batch.owner_id)
    )
    raise OutOfScope(
        "lot",
        f"lot {batch.lot} belongs to jurisdiction {code}; only its owner's people release it",
    )


def _ownership(
    session: Session,
    depot: Location,
    owner: str | None,
    donor: str | None,
    funding: Funding | None,
) -> tuple[Ownership, bool]:
    """Whose a received lot is, and whether the receiver named it (else the depot's
    jurisdiction, for a new lot only)."""
    if owner is not None and donor is not None:
        raise InvalidInput("owner", "a lot belongs to a jurisdiction or to a donor, not both")
    if donor is not None:
        check_text("donor", donor, NAME_MAX)
        return Ownership(donor=donor, funding=funding or Funding.DONATION), True
    if owner is None:
        return Ownership(owner_id=depot.jurisdiction_id, funding=funding or Funding.FISCAL), False
    check_code("owner", owner)
    owner_id = session.scalar(select(col(Jurisdiction.id)).where(col(Jurisdiction.code) == owner))
    if owner_id is None:
        raise NotFound("owner", owner)
    return Ownership(owner_id=owner_id, funding=funding or Funding.FISCAL), True


def receive(
    session: Session,
    *,
    depot: str,
    item: str,
    qty: int,
    lot: str,
    expires_on: date | None = None,
    produced_on: date | None = None,
    supplier: str | None = None,
    unit_cost: Decimal | None = None,
    owner: str | None = None,
    donor: str | None = None,
    funding: Funding | None = None,
    allow_expired: bool = False,
    today: date | None = None,
    meta: Meta = Meta(),
) -> Posted:
    """Goods arrive from outside (purchase, donation, agreement delivery) into a depot.

    A new lot is the `owner` jurisdiction's (its code) or the `donor`'s, by default the
    depot's jurisdiction's; more of a known lot stays its owner's, and naming another
    owner for it is refused (`Conflict`).
    """
    _positive(qty)
    found = posting(session, depot=depot, item=item, lot=lot, other=LocationKind.SUPPLIER)
    loc, it, src = found.depot, found.item, found.other
    ownership, named = _ownership(session, loc, owner, donor, funding)
    batch = batch_for_receipt(
        session,
        it,
        lot,
        expires_on=expires_on,
        produced_on=produced_on,
        supplier=supplier,
        unit_cost=unit_cost,
        found=(found.batch,) if found.batch is not None else None,
        ownership=ownership,
        check_owner=named,
    )
    today = today or date.today()
    if not allow_expired and is_expired(batch.expires_on, today):
        assert batch.expires_on is not None
        raise ExpiredBatch(item=it.code, lot=batch.lot, expires_on=batch.expires_on)
    lines = [
        Line(src.id, it.id, batch.id, -qty),  # type: ignore[arg-type]
        Line(loc.id, it.id, batch.id, qty),  # type: ignore[arg-type]
    ]
    return ledger.post(session, _draft(DocumentKind.RECEIPT, lines, meta))


#: An item's lots at a depot with what each has available, their balances locked: every
#: FEFO issue runs it, so it is built once (with bound parameters), not per issue.
_LOTS_AT_DEPOT = (
    select(Batch, col(Balance.on_hand) - col(Balance.reserved))
    .join(Balance, col(Balance.batch_id) == col(Batch.id))
    .where(
        col(Balance.location_id) == bindparam("location_id"),
        col(Balance.item_id) == bindparam("item_id"),
    )
    .with_for_update(of=Balance)
)


def _take(
    session: Session,
    loc: Location,
    it: Item,
    qty: int,
    lot: str | None,
    *,
    allow_expired: bool,
    today: date,
    policy: PickPolicy = PickPolicy.FEFO,
    owners: Owners = None,
    owned_only: bool = False,
) -> list[tuple[Batch, int]]:
    """Which batches leave a depot: the named lot, or FEFO over usable lots the caller
    may release (`owners`; with `owned_only`, not lots with no owner recorded).

    Candidate balance rows are locked (FOR UPDATE on PostgreSQL) so the choice holds until
    the document is posted.
    """
    if lot is not None:
        batch = batch_by_lot(session, it, lot)
        check_release(session, batch, owners)
        if not allow_expired and is_expired(batch.expires_on, today):
            assert batch.expires_on is not None
            raise ExpiredBatch(item=it.code, lot=lot, expires_on=batch.expires_on)
        row = session.execute(
            select(col(Balance.on_hand), col(Balance.reserved))
            .where(
                col(Balance.location_id) == loc.id,
                col(Balance.item_id) == it.id,
                col(Balance.batch_id) == batch.id,
            )
            .with_for_update()
        ).first()
        available = (row[0] - row[1]) if row else 0
        if available < qty:
            raise InsufficientStock(
                depot=loc.code, item=it.code, lot=lot, available=available, requested=qty
            )
        return [(batch, qty)]
    rows: list[tuple[Batch, int]] = [
        (b, n)
        for b, n in session.execute(_LOTS_AT_DEPOT, {"location_id": loc.id, "item_id": it.id}).all()
        if owners is None
        or (b.owner_id is None and not owned_only)
        or (b.owner_id is not None and b.owner_id in owners)
    ]
    batches = {b.id: b for b, _ in rows}
    candidates = [
        Candidate(b.id, b.lot, avail, b.expires_on, b.produced_on)  # type: ignore[arg-type]
        for b, avail in rows
    ]
    taken = pick(candidates, qty, today, policy=policy, allow_expired=allow_expired)
    got = sum(units for _, units in taken)
    if got < qty:
        raise InsufficientStock(
            depot=loc.code,
            item=it.code,
            lot=None,
            available=usable(candidates, today, allow_expired=allow_expired),
            requested=qty,
        )
    return [(batches[c.batch_id], units) for c, units in taken]


def issue(
    session: Session,
    *,
    depot: str,
    item: str,
    qty: int,
    lot: str | None = None,
    allow_expired: bool = False,
    today: date | None = None,
    owners: Owners = None,
    meta: Meta = Meta(),
) -> Posted:
    """Stock leaves a depot to be handed out (to `distributed`); FEFO when no lot is named,
    over the lots the caller may release (`owners`; a named lot of another owner is
    refused, `OutOfScope`)."""
    _positive(qty)
    found = posting(session, depot=depot, item=item, lot=lot, other=LocationKind.DISTRIBUTED)
    loc, it, out = found.depot, found.item, found.other
    today = today or date.today()
    if lot is not None:
        # The named lot goes to the ledger unread: its guarded update is the stock check
        # (and the lock), and refuses a short balance with the same figures.
        batch = found.batch or batch_by_lot(session, it, lot)
        check_release(session, batch, owners)
        if not allow_expired and is_expired(batch.expires_on, today):
            assert batch.expires_on is not None
            raise ExpiredBatch(item=it.code, lot=lot, expires_on=batch.expires_on)
        taken = [(batch, qty)]
    else:
        taken = _take(
            session, loc, it, qty, None, allow_expired=allow_expired, today=today, owners=owners
        )
    lines: list[Line] = []
    for batch, units in taken:
        lines.append(Line(loc.id, it.id, batch.id, -units))  # type: ignore[arg-type]
        lines.append(Line(out.id, it.id, batch.id, units))  # type: ignore[arg-type]
    return ledger.post(session, _draft(DocumentKind.ISSUE, lines, meta))


def transfer(
    session: Session,
    *,
    source: str,
    destination: str,
    item: str,
    qty: int,
    lot: str | None = None,
    in_transit: bool = False,
    allow_expired: bool = False,
    today: date | None = None,
    owners: Owners = None,
    meta: Meta = Meta(),
) -> Posted:
    """Move stock between depots, at once or via `in_transit` until `arrive` is called;
    only lots the caller may release (`owners`) leave."""
    _positive(qty)
    if source == destination:
        raise InvalidInput("to", "source and destination depot are the same")
    src = active_depot(session, source, field="from")
    dst = active_depot(session, destination, field="to")
    it = item_by_code(session, item)
    taken = _take(
        session,
        src,
        it,
        qty,
        lot,
        allow_expired=allow_expired,
        today=today or date.today(),
        owners=owners,
    )
    target = virtual(session, LocationKind.IN_TRANSIT) if in_transit else dst
    lines: list[Line] = []
    for batch, units in taken:
        lines.append(Line(src.id, it.id, batch.id, -units))  # type: ignore[arg-type]
        lines.append(Line(target.id, it.id, batch.id, units))  # type: ignore[arg-type]
    kind = DocumentKind.TRANSFER_DISPATCH if in_transit else DocumentKind.TRANSFER
    return ledger.post(session, _draft(kind, lines, meta, destination_id=dst.id))


def document_by_number(session: Session, number: str, *, lock: bool = False) -> Document:
    check_code("document", number)
    stmt = select(Document).where(col(Document.number) == number)
    if lock:
        stmt = stmt.with_for_update()
    doc = session.scalars(stmt).first()
    if doc is None:
        raise NotFound("document", number)
    return doc


def _live_arrival(session: Session, dispatch: Document) -> Document | None:
    return session.scalars(
        select(Document).where(
            col(Document.origin_id) == dispatch.id,
            col(Document.kind) == DocumentKind.TRANSFER_ARRIVAL.value,
            col(Document.status) == DocumentStatus.POSTED.value,
        )
    ).first()


def arrive(session: Session, number: str, *, meta: Meta = Meta()) -> Posted:
    """Goods of an in-transit transfer reach their destination depot."""
    dispatch = document_by_number(session, number, lock=True)
    if dispatch.kind != DocumentKind.TRANSFER_DISPATCH:
        raise InvalidInput("document", f"{number} is a {dispatch.kind}, not an in-transit transfer")
    if dispatch.status != DocumentStatus.POSTED:
        raise DocumentState("document", f"{number} is {dispatch.status}")
    done = _live_arrival(session, dispatch)
    if done is not None:
        raise DocumentState("document", f"{number} already arrived as {done.number}")
    transit = virtual(session, LocationKind.IN_TRANSIT)
    assert dispatch.destination_id is not None
    lines: list[Line] = []
    for line in ledger.lines_of(session, dispatch.id):  # type: ignore[arg-type]
        if line.location_id == transit.id:
            lines.append(Line(transit.id, line.item_id, line.batch_id, -line.qty))
            lines.append(Line(dispatch.destination_id, line.item_id, line.batch_id, line.qty))
    meta = Meta(
        actor=meta.actor,
        occurred_at=meta.occurred_at,
        reference=meta.reference or number,
        note=meta.note,
        idempotency_key=meta.idempotency_key,
    )
    return ledger.post(
        session,
        _draft(
            DocumentKind.TRANSFER_ARRIVAL,
            lines,
            meta,
            origin_id=dispatch.id,
            destination_id=dispatch.destination_id,
        ),
    )


@dataclass(frozen=True, slots=True)
class Count:
    """One counted line of a stocktake, and why it differs from the ledger (if it does)."""

    item: str
    lot: str
    counted: int
    reason: CountReason | None = None
    note: str | None = None


def stocktake(
    session: Session, *, depot: str, counts: Sequence[Count], meta: Meta = Meta()
) -> Posted | None:
    """Make the ledger agree with what was counted; lots not counted are left as they are.

    Every counted line is kept with the document (`CountLine`: on hand, counted, reason,
    note), so the printed stocktake shows the whole count sheet, not only the differences.
    Returns None when every count already matches. A count below what is reserved is
    refused: reservations must be released first, so a plan never promises missing stock.
    """
    loc = depot_by_code(session, depot)
    seen: set[tuple[str, str]] = set()
    adjust = virtual(session, LocationKind.STOCKTAKE_ADJUSTMENT)
    lines: list[Line] = []
    sheet: list[CountLine] = []
    for count in counts:
        check_qty("counted", count.counted, allow_zero=True)
        if (count.item, count.lot) in seen:
            raise InvalidInput("lot", f"item {count.item} lot {count.lot} is counted twice")
        seen.add((count.item, count.lot))
        it = item_by_code(session, count.item)
        batch = batch_by_lot(session, it, count.lot)
        row = session.execute(
            select(col(Balance.on_hand), col(Balance.reserved))
            .where(
                col(Balance.location_id) == loc.id,
                col(Balance.item_id) == it.id,
                col(Balance.batch_id) == batch.id,
            )
            .with_for_update()
        ).first()
        on_hand, reserved = row if row else (0, 0)
        if count.counted < reserved:
            raise Conflict(
                "counted",
                f"depot {loc.code}, item {it.code}, lot {count.lot}: counted {count.counted} "
                f"is below the {reserved} reserved; release reservations first",
            )
        diff = count.counted - on_hand
        if diff:
            lines.append(Line(loc.id, it.id, batch.id, diff))  # type: ignore[arg-type]
            lines.append(Line(adjust.id, it.id, batch.id, -diff))  # type: ignore[arg-type]
        sheet.append(
            CountLine(
                document_id=0,
                item_id=it.id,  # type: ignore[arg-type]
                batch_id=batch.id,  # type: ignore[arg-type]
                on_hand=on_hand,
                counted=count.counted,
                reason=count.reason.value if count.reason else None,
                note=count.note,
            )
        )
    if not lines:
        return None
    posted = ledger.post(session, _draft(DocumentKind.STOCKTAKE, lines, meta))
    if not posted.replayed:
        for count_line in sheet:
            count_line.document_id = posted.id
            session.add(count_line)
        session.flush()
    return posted


def refuse_if_arrived(session: Session, dispatch: Document) -> None:
    """An in-transit transfer that has arrived is undone by reversing its arrival first."""
    done = _live_arrival(session, dispatch)
    if done is not None:
        raise DocumentState(
            "document", f"{dispatch.number} has arrived as {done.number}; reverse that first"
        )
