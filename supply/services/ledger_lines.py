"""The ledger's own file format: every movement line, signed, with its document.

`stock export` writes it and `stock import` reads it back, so a ledger's documents survive a
round trip through a file: every kind (stocktakes, write-offs, reversals, in-transit legs),
each with its lines, date, reference, note, key and links. Imported into a fresh ledger the
documents keep their numbers (they are posted in the exported order with gapless
counters); imported into the ledger they came from, each document already there with the
same lines is skipped, and one with other lines is refused, as a re-imported reference is.

Reservations are not movements: they are not in the file (`relief db copy` moves them).
"""

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from supply import ledger
from supply.errors import InvalidInput, ReplayMismatch, SupplyError
from supply.ledger import DocumentDraft, Line, Posted
from supply.limits import QTY_MAX
from supply.models import (
    Batch,
    Document,
    DocumentKind,
    DocumentStatus,
    Item,
    Location,
    LocationKind,
    Movement,
)
from supply.services.lookup import batch_for_receipt, depot_by_code, item_by_code, virtual

EXPORT_COLUMNS = (
    "document",
    "kind",
    "status",
    "occurred_at",
    "reference",
    "location",
    "location_kind",
    "item",
    "lot",
    "qty",
    "expires_on",
    "produced_on",
    "note",
    "reason",
    "key",
    "reverses",
    "origin",
    "destination",
)

#: Enough to tell this format from the keepers' movements file by its header.
REQUIRED_COLUMNS = (
    "document",
    "kind",
    "status",
    "occurred_at",
    "location",
    "location_kind",
    "item",
    "lot",
    "qty",
)


def is_ledger_lines(header: Iterable[str]) -> bool:
    """Whether a file's header is that of `stock export` (else it is a movements file)."""
    return {"document", "location", "location_kind"} <= set(header)


class LedgerLineRow(BaseModel):
    """One exported movement line; `qty` is signed (+ into the location, - out of it)."""

    document: str = Field(min_length=1, max_length=32)
    kind: DocumentKind
    status: DocumentStatus
    occurred_at: AwareDatetime
    reference: str | None = None
    location: str
    location_kind: LocationKind
    item: str
    lot: str
    qty: int = Field(ge=-QTY_MAX, le=QTY_MAX)
    expires_on: date | None = None
    produced_on: date | None = None
    note: str | None = None
    reason: str | None = None
    key: str | None = None
    reverses: str | None = None
    origin: str | None = None
    destination: str | None = None


@dataclass(frozen=True, slots=True)
class LinesImport:
    documents: int
    movements: int
    already_there: int


def export_movements(session: Session, out: IO[str]) -> int:
    """Write every movement line, signed, in posting order. Returns the number of lines."""
    loc = aliased(Location)
    dest = aliased(Location)
    reversed_doc = aliased(Document)
    origin_doc = aliased(Document)
    stmt = (
        select(
            col(Document.number),
            col(Document.kind),
            col(Document.status),
            col(Document.occurred_at),
            col(Document.reference),
            col(loc.code),
            col(loc.kind),
            col(Item.code),
            col(Batch.lot),
            col(Movement.qty),
            col(Batch.expires_on),
            col(Batch.produced_on),
            col(Document.note),
            col(Document.reason),
            col(Document.idempotency_key),
            col(reversed_doc.number),
            col(origin_doc.number),
            col(dest.code),
        )
        .join(Document, col(Document.id) == col(Movement.document_id))
        .join(loc, col(loc.id) == col(Movement.location_id))
        .join(Item, col(Item.id) == col(Movement.item_id))
        .join(Batch, col(Batch.id) == col(Movement.batch_id))
        .outerjoin(reversed_doc, col(reversed_doc.id) == col(Document.reverses_id))
        .outerjoin(origin_doc, col(origin_doc.id) == col(Document.origin_id))
        .outerjoin(dest, col(dest.id) == col(Document.destination_id))
        .order_by(col(Movement.id))
    )
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    for row in session.execute(stmt).yield_per(5000):
        writer.writerow(
            [
                "" if v is None else v.isoformat() if isinstance(v, date | datetime) else v
                for v in row
            ]
        )
        count += 1
    return count


def import_ledger_lines(
    session: Session,
    rows: Sequence[tuple[int, LedgerLineRow]],
    *,
    actor: str,
    progress: Callable[[int], None] | None = None,
) -> LinesImport:
    """Post the documents of an exported file in its order, all or nothing.

    Raises
    ------
    InvalidInput
        Naming the file's line: an unknown depot or item, a document whose rows disagree,
        one already in this ledger with other lines, or (from the ledger) an overdraft.
    """
    groups: dict[str, list[tuple[int, LedgerLineRow]]] = {}
    for line, row in rows:
        groups.setdefault(row.document, []).append((line, row))
    resolve = _Resolver(session)
    drafts: list[DocumentDraft] = []
    heads: list[tuple[int, LedgerLineRow]] = []
    for number, group in groups.items():
        head_line, head = group[0]
        lines: list[Line] = []
        for line, row in group:
            try:
                if (row.kind, row.occurred_at, row.status) != (
                    head.kind,
                    head.occurred_at,
                    head.status,
                ):
                    raise InvalidInput(
                        "document",
                        f"rows of {number} differ in kind, status or occurred_at "
                        f"(first at line {head_line})",
                    )
                lines.append(resolve.line(row))
            except SupplyError as exc:
                raise InvalidInput(f"line {line}: {exc.field}", exc.reason) from exc
        try:
            destination = resolve.depot(head.destination).id if head.destination else None
        except SupplyError as exc:
            raise InvalidInput(f"line {head_line}: destination", exc.reason) from exc
        drafts.append(
            DocumentDraft(
                kind=head.kind,
                lines=lines,
                actor=actor,
                occurred_at=head.occurred_at,
                reference=head.reference,
                note=head.note,
                idempotency_key=head.key,
                reason=head.reason,
                destination_id=destination,
            )
        )
        heads.append((head_line, head))

    there = _already_there(session, drafts, heads)
    fresh = [i for i in range(len(drafts)) if i not in there]
    try:
        posted = ledger.post_many(session, [drafts[i] for i in fresh], progress=progress)
    except SupplyError as exc:
        if exc.index is None:
            raise
        line, head = heads[fresh[exc.index]]
        raise InvalidInput(f"line {line} (document {head.document})", exc.reason) from exc
    ids = {heads[i][1].document: p.id for i, p in there.items()}
    ids.update({heads[i][1].document: p.id for i, p in zip(fresh, posted, strict=True)})
    _link(session, [heads[i] for i in fresh], ids)
    return LinesImport(
        documents=sum(not p.replayed for p in posted),
        movements=sum(len(drafts[i].lines) for i, p in zip(fresh, posted, strict=True)),
        already_there=len(there) + sum(p.replayed for p in posted),
    )


class _Resolver:
    """Codes to ids, each looked up once; lots are created as a receipt would."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.items: dict[str, Item] = {}
        self.locations: dict[tuple[str, str], Location] = {}
        self.batches: dict[tuple[str, str], Batch] = {}

    def depot(self, code: str) -> Location:
        key = (LocationKind.DEPOT.value, code)
        if key not in self.locations:
            self.locations[key] = depot_by_code(self.session, code, field="location")
        return self.locations[key]

    def line(self, row: LedgerLineRow) -> Line:
        if row.location_kind == LocationKind.DEPOT:
            loc = self.depot(row.location)
        else:
            loc = virtual(self.session, row.location_kind)
        if row.item not in self.items:
            self.items[row.item] = item_by_code(self.session, row.item)
        item = self.items[row.item]
        if (row.item, row.lot) not in self.batches:
            self.batches[(row.item, row.lot)] = batch_for_receipt(
                self.session,
                item,
                row.lot,
                expires_on=row.expires_on,
                produced_on=row.produced_on,
            )
        batch = self.batches[(row.item, row.lot)]
        return Line(loc.id, item.id, batch.id, row.qty)  # type: ignore[arg-type]


def _already_there(
    session: Session,
    drafts: Sequence[DocumentDraft],
    heads: Sequence[tuple[int, LedgerLineRow]],
) -> dict[int, Posted]:
    """Documents of the file this ledger already holds under the same number; each must
    carry the same lines, or the file is refused as a correction would be."""
    numbers = {head.document: i for i, (_, head) in enumerate(heads)}
    wanted = list(numbers)
    found: dict[int, Posted] = {}
    for start in range(0, len(wanted), 500):
        for number, doc_id, kind in session.execute(
            select(col(Document.number), col(Document.id), col(Document.kind)).where(
                col(Document.number).in_(wanted[start : start + 500])
            )
        ):
            found[numbers[number]] = Posted(doc_id, number, kind, replayed=True)
    order = sorted(found)
    try:
        ledger.check_same_as_posted(session, [found[i] for i in order], [drafts[i] for i in order])
    except ReplayMismatch as exc:
        line, head = heads[order[exc.index or 0]]
        raise InvalidInput(
            f"line {line} (document {head.document})",
            f"this ledger holds {head.document} with other {', '.join(exc.fields)}: the file "
            "comes from another ledger; import it into a fresh one (`relief db upgrade`)",
        ) from exc
    return found


def _link(
    session: Session, heads: Sequence[tuple[int, LedgerLineRow]], ids: dict[str, int]
) -> None:
    """Reversal and arrival links, and the reversed status, once every document has an id."""
    linked = {n for _, h in heads for n in (h.reverses, h.origin) if n and n not in ids}
    if linked:
        found = session.execute(
            select(col(Document.number), col(Document.id)).where(col(Document.number).in_(linked))
        )
        ids.update(dict(found.all()))
    for line, head in heads:
        values: dict[str, object] = {}
        for column, number in (("reverses_id", head.reverses), ("origin_id", head.origin)):
            if number:
                if number not in ids:
                    raise InvalidInput(
                        f"line {line} (document {head.document})",
                        f"links to {number}, which is neither in the file nor in this ledger",
                    )
                values[column] = ids[number]
        if head.status == DocumentStatus.REVERSED:
            values["status"] = DocumentStatus.REVERSED.value
        if values:
            session.execute(
                update(Document)
                .where(col(Document.id) == ids[head.document])
                .values(**values)
                .execution_options(synchronize_session=False)
            )
