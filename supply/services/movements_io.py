"""Bulk import and export of movements: one document per reference, all or nothing.

The import validates every row first (line numbers in every error), then posts all the
documents through `ledger.post_many`, which refuses the whole file if any document would
overdraw a depot at its place in the file's order.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlmodel import Session

from supply import ledger
from supply.errors import (
    ExpiredBatch,
    InsufficientStock,
    InvalidInput,
    ReplayMismatch,
    SupplyError,
)
from supply.ledger import DocumentDraft, Line
from supply.limits import QTY_MAX
from supply.models import (
    Batch,
    Document,
    DocumentKind,
    Item,
    Location,
    LocationKind,
    is_expired,
)
from supply.services.ledger_lines import EXPORT_COLUMNS, export_movements
from supply.services.lookup import (
    active_depot,
    batch_by_lot,
    batch_for_receipt,
    item_by_code,
    virtual,
)


class ImportKind(StrEnum):
    RECEIPT = "receipt"
    ISSUE = "issue"
    TRANSFER = "transfer"


class MovementRow(BaseModel):
    """One row of a movements file; `qty` is positive and its direction comes from `kind`."""

    reference: str = Field(min_length=1, max_length=100)
    occurred_at: datetime
    kind: ImportKind
    depot: str
    item: str
    lot: str
    qty: int = Field(gt=0, le=QTY_MAX)
    expires_on: date | None = None
    produced_on: date | None = None
    to_depot: str | None = None
    note: str | None = None

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone, e.g. 2026-03-02T09:00:00+08:00")
        return value


REQUIRED_COLUMNS = ("reference", "occurred_at", "kind", "depot", "item", "lot", "qty", "expires_on")


@dataclass(frozen=True, slots=True)
class ImportResult:
    documents: int
    movements: int
    replayed: int


def _at(line: int, exc: SupplyError) -> InvalidInput:
    return InvalidInput(f"line {line}: {exc.field}", exc.reason)


def import_movements(
    session: Session,
    rows: Sequence[tuple[int, MovementRow]],
    *,
    actor: str,
    today: date | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Post a file of movements; a reference already imported is skipped (idempotent)."""
    today = today or date.today()
    groups: dict[str, list[tuple[int, MovementRow]]] = {}
    for line, row in rows:
        groups.setdefault(row.reference, []).append((line, row))

    items: dict[str, Item] = {}
    depots: dict[str, Location] = {}
    batches: dict[tuple[str, str], Batch] = {}
    supplier = virtual(session, LocationKind.SUPPLIER)
    distributed = virtual(session, LocationKind.DISTRIBUTED)

    def depot(code: str, field: str) -> Location:
        if code not in depots:
            depots[code] = active_depot(session, code, field=field)
        return depots[code]

    drafts: list[DocumentDraft] = []
    first_line: list[int] = []
    for reference, group in groups.items():
        head_line, head = group[0]
        lines: list[Line] = []
        for line, row in group:
            try:
                if row.kind != head.kind or row.occurred_at != head.occurred_at:
                    raise InvalidInput(
                        "reference",
                        f"rows of {reference} differ in kind or occurred_at "
                        f"(first at line {head_line})",
                    )
                if row.item not in items:
                    items[row.item] = item_by_code(session, row.item)
                item = items[row.item]
                src = depot(row.depot, "depot")
                key = (row.item, row.lot)
                if row.kind == ImportKind.RECEIPT:
                    known = batches.get(key)
                    if (
                        known is not None
                        and row.expires_on in (None, known.expires_on)
                        and row.produced_on in (None, known.produced_on)
                    ):
                        batch = known
                    else:  # first sight of the lot, or dates to check against it
                        batch = batch_for_receipt(
                            session,
                            item,
                            row.lot,
                            expires_on=row.expires_on,
                            produced_on=row.produced_on,
                        )
                    batches[key] = batch
                    if is_expired(batch.expires_on, row.occurred_at.date()):
                        assert batch.expires_on is not None
                        raise ExpiredBatch(item=row.item, lot=row.lot, expires_on=batch.expires_on)
                    pair = (supplier, src)
                else:
                    if key not in batches:
                        batches[key] = batch_by_lot(session, item, row.lot)
                    batch = batches[key]
                    if is_expired(batch.expires_on, row.occurred_at.date()):
                        assert batch.expires_on is not None
                        raise ExpiredBatch(item=row.item, lot=row.lot, expires_on=batch.expires_on)
                    if row.kind == ImportKind.ISSUE:
                        pair = (src, distributed)
                    else:
                        if not row.to_depot:
                            raise InvalidInput("to_depot", "a transfer needs a destination")
                        if row.to_depot == row.depot:
                            raise InvalidInput("to_depot", "same as depot")
                        pair = (src, depot(row.to_depot, "to_depot"))
            except SupplyError as exc:
                raise _at(line, exc) from exc
            lines.append(Line(pair[0].id, item.id, batch.id, -row.qty))  # type: ignore[arg-type]
            lines.append(Line(pair[1].id, item.id, batch.id, row.qty))  # type: ignore[arg-type]
        kind = {
            ImportKind.RECEIPT: DocumentKind.RECEIPT,
            ImportKind.ISSUE: DocumentKind.ISSUE,
            ImportKind.TRANSFER: DocumentKind.TRANSFER,
        }[head.kind]
        drafts.append(
            DocumentDraft(
                kind=kind,
                lines=lines,
                actor=actor,
                occurred_at=head.occurred_at,
                reference=reference,
                note=head.note,
                idempotency_key=f"import:{reference}",
            )
        )
        first_line.append(head_line)

    _check_dates_of_replays(session, drafts, first_line)
    try:
        posted = ledger.post_many(session, drafts, progress=progress)
    except ReplayMismatch as exc:
        draft = drafts[exc.index or 0]
        group = groups[draft.reference or ""]
        line, row = group[min(exc.line_index // 2, len(group) - 1)]
        fields = [_row_field(f, row.kind, exc.line_index) for f in exc.fields]
        raise InvalidInput(
            f"line {line} (reference {draft.reference})",
            f"already imported as {exc.number} with other {', '.join(fields)}; "
            f"a posted document never changes: reverse {exc.number} "
            f"(`relief stock reverse {exc.number}`) and import the correction "
            "under a new reference",
        ) from exc
    except SupplyError as exc:
        if exc.index is not None:
            reference = drafts[exc.index].reference or ""
            line = _culprit(groups[reference], exc) or first_line[exc.index]
            raise InvalidInput(f"line {line} (reference {reference})", exc.reason) from exc
        raise
    fresh = [p for p in posted if not p.replayed]
    moved = sum(len(d.lines) for d, p in zip(drafts, posted, strict=True) if not p.replayed)
    return ImportResult(documents=len(fresh), movements=moved, replayed=len(posted) - len(fresh))


def _row_field(field: str, kind: ImportKind, line_index: int) -> str:
    """A ledger line's field as the file's column: each row is a pair of lines, the source
    (even) and the destination (odd)."""
    if field != "location":
        return field
    return "to_depot" if kind == ImportKind.TRANSFER and line_index % 2 else "depot"


def _check_dates_of_replays(
    session: Session, drafts: Sequence[DocumentDraft], first_line: Sequence[int]
) -> None:
    """A reference imported before must come back with the same occurred_at: a changed date
    is a correction too, and a silent skip would lose it (the lines are compared by the
    ledger)."""
    keys = {d.idempotency_key: i for i, d in enumerate(drafts) if d.idempotency_key}
    wanted = list(keys)
    found: list[Any] = []
    for start in range(0, len(wanted), 500):
        found.extend(
            session.execute(
                select(Document.idempotency_key, Document.number, Document.occurred_at).where(
                    Document.idempotency_key.in_(wanted[start : start + 500])  # type: ignore[union-attr]
                )
            )
        )
    for key, number, occurred_at in found:
        i = keys[key]
        if occurred_at != drafts[i].occurred_at:
            raise InvalidInput(
                f"line {first_line[i]} (reference {drafts[i].reference})",
                f"already imported as {number} with other occurred_at "
                f"({occurred_at.isoformat()}); a posted document never changes: reverse "
                f"{number} (`relief stock reverse {number}`) and import the correction "
                "under a new reference",
            )


def _culprit(group: list[tuple[int, MovementRow]], exc: SupplyError) -> int | None:
    """The line, within a refused document, that takes the short depot's item and lot."""
    if not isinstance(exc, InsufficientStock):
        return None
    for line, row in group:
        if (row.depot, row.item, row.lot) == (exc.depot, exc.item, exc.lot):
            return line
    return None


__all__ = [
    "EXPORT_COLUMNS",
    "REQUIRED_COLUMNS",
    "ImportKind",
    "ImportResult",
    "MovementRow",
    "export_movements",
    "import_movements",
]
