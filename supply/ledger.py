"""The single write path of stock: post documents, reverse them, hold and release stock.

Nothing else in the project inserts movements or touches balances. Posting checks that each
document balances per item and batch, simulates the documents in order against current
balances (so a file of many documents is refused whole if any step would overdraw a depot),
then writes documents, movements and balance deltas in the caller's transaction. The final
balance updates are conditional in SQL, so two sessions racing for the same batch can never
both succeed: the loser sees zero rows updated and raises `InsufficientStock`.

A single document (a keeper's post) skips the simulation: it reads no balance, and the
conditional update and a bounded upsert refuse in SQL what the simulation would; on
PostgreSQL its counter, document, lines and item totals go in one statement. Each
statement is a round trip to a server database, and they were what a post waited for.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, TextClause, bindparam, func, select, text, update
from sqlmodel import Session, col

from supply.db import UTCDateTime, dialect_insert, utcnow
from supply.errors import (
    Conflict,
    DocumentState,
    InsufficientStock,
    InvalidInput,
    ReplayMismatch,
    UnbalancedDocument,
)
from supply.limits import (
    ACTOR_MAX,
    BALANCE_MAX,
    KEY_MAX,
    NOTE_MAX,
    REFERENCE_MAX,
    check_optional_text,
    check_qty,
    check_text,
)
from supply.models import (
    GUARDED_KINDS,
    NUMBER_PREFIX,
    Balance,
    Batch,
    DepotItemTotal,
    Document,
    DocumentCounter,
    DocumentKind,
    DocumentStatus,
    Item,
    Location,
    Movement,
)

Key = tuple[int, int, int]  # (location_id, item_id, batch_id)
_CHUNK = 400
_SMALL = 16  # key sets up to this size are looked up with cached IN lists


@dataclass(frozen=True, slots=True)
class Line:
    """One signed movement line before posting."""

    location_id: int
    item_id: int
    batch_id: int
    qty: int

    @property
    def key(self) -> Key:
        return (self.location_id, self.item_id, self.batch_id)


@dataclass(slots=True)
class DocumentDraft:
    """What a service asks the ledger to post."""

    kind: DocumentKind
    lines: list[Line]
    actor: str
    occurred_at: datetime = field(default_factory=utcnow)
    reference: str | None = None
    note: str | None = None
    reverses_id: int | None = None
    origin_id: int | None = None
    destination_id: int | None = None
    idempotency_key: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Posted:
    """A posted (or, for a repeated idempotency key, previously posted) document."""

    id: int
    number: str
    kind: str
    replayed: bool = False


def _shortage(session: Session, key: Key, requested: int) -> InsufficientStock:
    """The refusal for a conditional update that matched no row, with current figures."""
    on_hand, reserved = _load_balances(session, [key]).get(key, (0, 0))
    depot, item, lot = describe_key(session, key)
    return InsufficientStock(
        depot=depot, item=item, lot=lot, available=on_hand - reserved, requested=requested
    )


def describe_key(session: Session, key: Key) -> tuple[str, str, str]:
    """Codes for error messages: (location code, item code, lot)."""
    loc = session.get(Location, key[0])
    item = session.get(Item, key[1])
    batch = session.get(Batch, key[2])
    return (
        loc.code if loc else str(key[0]),
        item.code if item else str(key[1]),
        batch.lot if batch else str(key[2]),
    )


def _check_balanced(session: Session, draft: DocumentDraft) -> dict[Key, int]:
    if not draft.lines:
        raise InvalidInput("lines", "a document needs at least one line")
    per_batch: dict[tuple[int, int], int] = defaultdict(int)
    net: dict[Key, int] = defaultdict(int)
    for line in draft.lines:
        qty, item_id, batch_id = line.qty, line.item_id, line.batch_id
        if not isinstance(qty, int) or isinstance(qty, bool) or qty == 0:
            raise InvalidInput("qty", f"line quantities are non-zero integers, got {qty!r}")
        check_qty("qty", abs(qty))
        per_batch[(item_id, batch_id)] += qty
        net[(line.location_id, item_id, batch_id)] += qty  # not `line.key`: a hot loop
    for (item_id, batch_id), total in per_batch.items():
        if total != 0:
            _, item, lot = describe_key(session, (0, item_id, batch_id))
            raise UnbalancedDocument(item=item, lot=lot, total=total)
    return {k: v for k, v in net.items() if v != 0}


def _check_draft_text(draft: DocumentDraft) -> None:
    """What a document carries as text, within the limits both databases hold."""
    check_text("actor", draft.actor, ACTOR_MAX)
    check_optional_text("reference", draft.reference, REFERENCE_MAX)
    check_optional_text("note", draft.note, NOTE_MAX, multiline=True)
    check_optional_text("idempotency_key", draft.idempotency_key, KEY_MAX)
    check_optional_text("reason", draft.reason, 32)


def _load_balances(session: Session, keys: Iterable[Key]) -> dict[Key, tuple[int, int]]:
    """Current (on_hand, reserved) for the keys that have a balance row."""
    keys = list(keys)
    found: dict[Key, tuple[int, int]] = {}
    cols = (col(Balance.location_id), col(Balance.item_id), col(Balance.batch_id))
    if len(keys) <= _SMALL:
        # Few keys (a single document): three expanding INs compile once and hit the
        # unique index; the few extra rows of the cross product are dropped here.
        rows = session.execute(
            select(*cols, col(Balance.on_hand), col(Balance.reserved)).where(
                col(Balance.location_id).in_({k[0] for k in keys}),
                col(Balance.item_id).in_({k[1] for k in keys}),
                col(Balance.batch_id).in_({k[2] for k in keys}),
            )
        )
        wanted_keys = set(keys)
        for loc, item, batch, on_hand, reserved in rows:
            if (loc, item, batch) in wanted_keys:
                found[(loc, item, batch)] = (on_hand, reserved)
        return found
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        # A joined VALUES list, not a row-value IN: SQLite plans the latter as a full scan.
        # Plain text with numbered parameters, one statement per size: a Core `values()`
        # carries its rows in its cache key, so each chunk was compiled anew (70 ms each).
        params = {
            f"{c}{n}": v for n, key in enumerate(chunk) for c, v in zip("lib", key, strict=True)
        }
        for loc, item, batch, on_hand, reserved in session.execute(
            _wanted_balances(len(chunk)), params
        ):
            found[(loc, item, batch)] = (on_hand, reserved)
    return found


@lru_cache(maxsize=8)
def _wanted_balances(size: int) -> TextClause:
    rows = ", ".join(f"(:l{n}, :i{n}, :b{n})" for n in range(size))
    return text(
        f"WITH wanted(l, i, b) AS (VALUES {rows}) "
        "SELECT balance.location_id, balance.item_id, balance.batch_id, "
        "balance.on_hand, balance.reserved FROM balance JOIN wanted "
        "ON balance.location_id = wanted.l AND balance.item_id = wanted.i "
        "AND balance.batch_id = wanted.b"
    )


def _guarded_locations(session: Session, location_ids: Iterable[int]) -> dict[int, bool]:
    """Whether each location is physical; cached per session, as a kind never changes."""
    cache: dict[int, bool] = session.info.setdefault("guarded_locations", {})
    wanted = set(location_ids)
    ids = list(wanted - cache.keys())
    kinds: dict[int, bool] = {i: cache[i] for i in wanted if i in cache}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for loc_id, kind in session.execute(
            select(col(Location.id), col(Location.kind)).where(col(Location.id).in_(chunk))
        ):
            kinds[loc_id] = kind in GUARDED_KINDS
    missing = wanted - set(kinds)
    if missing:
        raise InvalidInput("location", f"unknown location id(s) {sorted(missing)}")
    cache.update(kinds)
    return kinds


_COUNTERS: dict[str, Any] = {}


def _next_numbers(session: Session, prefix: str, count: int) -> list[str]:
    dialect = session.get_bind().dialect.name
    if dialect not in _COUNTERS:
        # Built once per dialect, like `_balance_upsert`: building costs more CPU than
        # executing from the compiled cache, and every document posted runs it.
        step: BindParameter[int] = bindparam("b_count")
        stmt = dialect_insert(session, DocumentCounter).values(
            prefix=bindparam("b_prefix"), last=step
        )
        _COUNTERS[dialect] = stmt.on_conflict_do_update(
            index_elements=["prefix"], set_={"last": col(DocumentCounter.last) + step}
        ).returning(col(DocumentCounter.last))
    last = session.execute(_COUNTERS[dialect], {"b_prefix": prefix, "b_count": count}).scalar_one()
    return [f"{prefix}-{n:06d}" for n in range(last - count + 1, last + 1)]


def next_number(session: Session, prefix: str) -> str:
    """The next number of a non-ledger record kept with the same gapless counters
    (call-offs `CO-000001`, settlements `SE-000001`); bumped in the caller's transaction."""
    if prefix in NUMBER_PREFIX.values():
        raise ValueError(f"prefix {prefix!r} belongs to a document kind")
    return _next_numbers(session, prefix, 1)[0]


def _existing_by_key(session: Session, keys: Sequence[str]) -> dict[str, Posted]:
    found: dict[str, Posted] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        rows = session.execute(
            select(
                col(Document.idempotency_key),
                col(Document.id),
                col(Document.number),
                col(Document.kind),
            ).where(col(Document.idempotency_key).in_(chunk))
        )
        for key, doc_id, number, kind in rows:
            found[key] = Posted(doc_id, number, kind, replayed=True)
    return found


_LINE_FIELDS = ("location", "item", "lot", "qty")


def _line_differences(stored: list[Line], draft: list[Line]) -> tuple[int, list[str]] | None:
    """Where a replayed draft departs from the document posted under its key, or None when
    it carries the same lines (in any order): (first differing line, fields that differ)."""
    if sorted(stored, key=_line_order) == sorted(draft, key=_line_order):
        return None
    for index, (old, new) in enumerate(zip(stored, draft, strict=False)):
        pairs = zip(_LINE_FIELDS, _line_order(old), _line_order(new), strict=True)
        fields = [name for name, a, b in pairs if a != b]
        if fields:
            return index, fields
    return min(len(stored), len(draft)), ["number of lines"]


def _line_order(line: Line) -> tuple[int, int, int, int]:
    return (line.location_id, line.item_id, line.batch_id, line.qty)


def _check_replays(
    session: Session, drafts: Sequence[DocumentDraft], replayed: dict[str, Posted]
) -> None:
    """A key seen again must carry the same document: a different one is a correction that a
    silent replay would lose, so it is refused (`ReplayMismatch`) rather than skipped."""
    pairs = [
        (i, replayed[d.idempotency_key])
        for i, d in enumerate(drafts)
        if d.idempotency_key in replayed
    ]
    try:
        check_same_as_posted(session, [p for _, p in pairs], [drafts[i] for i, _ in pairs])
    except ReplayMismatch as error:
        error.index = pairs[error.index or 0][0]
        raise


def check_same_as_posted(
    session: Session, earlier: Sequence[Posted], drafts: Sequence[DocumentDraft]
) -> None:
    """Require each draft to carry the same lines (in any order) as the posted document
    beside it; `ReplayMismatch.index` is the position of the first that does not."""
    stored: dict[int, list[Line]] = defaultdict(list)
    ids = [p.id for p in earlier]
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(
                col(Movement.document_id),
                col(Movement.location_id),
                col(Movement.item_id),
                col(Movement.batch_id),
                col(Movement.qty),
            )
            .where(col(Movement.document_id).in_(ids[start : start + _CHUNK]))
            .order_by(col(Movement.id))
        )
        for doc_id, *line in rows:
            stored[doc_id].append(Line(*line))
    for i, (posted, draft) in enumerate(zip(earlier, drafts, strict=True)):
        found = _line_differences(stored[posted.id], draft.lines)
        if posted.kind != draft.kind.value:
            found = (0, ["kind"])
        if found is not None:
            error = ReplayMismatch(
                key=draft.idempotency_key or posted.number,
                number=posted.number,
                fields=found[1],
                line_index=found[0],
            )
            error.index = i
            raise error


def post(session: Session, draft: DocumentDraft) -> Posted:
    """Post one document. See `post_many`."""
    return post_many(session, [draft])[0]


def post_many(
    session: Session,
    drafts: Sequence[DocumentDraft],
    *,
    progress: Callable[[int], None] | None = None,
) -> list[Posted]:
    """Post documents in order, all or nothing, within the caller's transaction.

    A draft whose idempotency key was already posted with the same lines is not posted
    again: its earlier document is returned with `replayed=True`.

    Raises
    ------
    UnbalancedDocument
        If a document's lines for some item and batch do not sum to zero.
    ReplayMismatch
        If a key was already posted with other lines (a correction must reverse the old
        document and post a new one).
    InsufficientStock
        If any document, at its place in the sequence, would take a depot or the
        in-transit location below zero or below its reserved quantity.
    """
    for i, draft in enumerate(drafts):
        try:
            _check_draft_text(draft)
        except InvalidInput as refused:
            refused.index = i
            raise
    keys = [d.idempotency_key for d in drafts if d.idempotency_key]
    if len(set(keys)) != len(keys):
        raise InvalidInput("idempotency_key", "the same key appears twice in one posting")
    replayed = _existing_by_key(session, keys) if keys else {}

    for i, draft in enumerate(drafts):
        earlier = replayed.get(draft.idempotency_key or "")
        if earlier is not None and earlier.kind != draft.kind.value:
            error = Conflict(
                "idempotency_key",
                f"key {draft.idempotency_key!r} was already used for {earlier.number} "
                f"({earlier.kind}), not a {draft.kind.value}",
            )
            error.index = i
            raise error
    if replayed:
        _check_replays(session, drafts, replayed)
    # Positions, not `drafts.index`: two equal drafts are still two documents.
    fresh_at = [i for i, d in enumerate(drafts) if d.idempotency_key not in replayed]
    fresh = [drafts[i] for i in fresh_at]
    nets = [_check_balanced(session, d) for d in fresh]
    if len(drafts) == 1 and fresh:
        return _post_one(session, fresh[0], nets[0], progress)
    all_keys = {k for net in nets for k in net}
    guarded = _guarded_locations(session, (k[0] for k in all_keys))
    current = _load_balances(session, all_keys)

    # Simulate in order so that no intermediate state overdraws a physical location.
    state: dict[Key, list[int]] = {k: list(v) for k, v in current.items()}
    total_delta: dict[Key, int] = defaultdict(int)
    for index, net in enumerate(nets):
        for key, delta in net.items():
            on_hand, reserved = state.setdefault(key, [0, 0])
            if guarded[key[0]] and delta < 0 and on_hand + delta < reserved:
                depot, item, lot = describe_key(session, key)
                error = InsufficientStock(
                    depot=depot, item=item, lot=lot, available=on_hand - reserved, requested=-delta
                )
                error.index = fresh_at[index]
                raise error
            if abs(on_hand + delta) > BALANCE_MAX:
                beyond = _beyond_limit(session, key, delta, on_hand)
                beyond.index = fresh_at[index]
                raise beyond
            state[key][0] = on_hand + delta
            total_delta[key] += delta

    after = _apply_deltas(session, total_delta, guarded, current)
    _apply_totals(session, _totals_changes(total_delta, after))
    posted_fresh = _write_documents(session, fresh, progress)

    by_draft = iter(posted_fresh)
    out: list[Posted] = []
    for draft in drafts:
        if draft.idempotency_key in replayed:
            out.append(replayed[draft.idempotency_key])
        else:
            out.append(next(by_draft))
    return out


def _post_one(
    session: Session,
    draft: DocumentDraft,
    net: dict[Key, int],
    progress: Callable[[int], None] | None,
) -> list[Posted]:
    """A single document without reading its balances first: a keeper's post at a
    terminal pays every statement as a round trip, and the guards in SQL (the conditional
    update, the bounded upsert) refuse what the in-order simulation of `post_many` would.
    A refusal found in SQL may follow writes of this posting; the caller's transaction
    (or savepoint) rolls them back, as with any refusal."""
    for key, delta in net.items():
        if abs(delta) > BALANCE_MAX:
            raise _beyond_limit(session, key, delta, 0)
    guarded = _guarded_locations(session, (k[0] for k in net))
    try:
        after = _apply_deltas(session, net, guarded, None)
    except (InsufficientStock, InvalidInput) as error:
        error.index = 0
        raise
    totals = _totals_changes(net, after)
    if session.get_bind().dialect.name == "postgresql":
        return [_write_one_postgresql(session, draft, totals, progress)]
    _apply_totals(session, totals)
    return _write_documents(session, [draft], progress)


def _beyond_limit(session: Session, key: Key, delta: int, on_hand: int) -> InvalidInput:
    depot, item, lot = describe_key(session, key)
    return InvalidInput(
        "qty",
        f"the balance of {depot}, item {item}, lot {lot} would reach "
        f"{on_hand + delta:,} units, beyond the ledger's limit of {BALANCE_MAX:,}",
    )


_UPSERTS: dict[str, Any] = {}


def _balance_upsert(session: Session) -> Any:
    """INSERT ... ON CONFLICT adding to on_hand; built once per dialect (building is slow).

    The update is bounded by `BALANCE_MAX` in SQL: a balance it would push beyond the limit
    is left alone and not returned, which `_apply_deltas` refuses.
    """
    dialect = session.get_bind().dialect.name
    if dialect not in _UPSERTS:
        # SQLModel sets __table__ on table models but does not declare it for the type checker.
        balance_table = Balance.__table__  # type: ignore[attr-defined]
        stmt = dialect_insert(session, balance_table)
        table = balance_table.c
        after = table.on_hand + stmt.excluded.on_hand
        _UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=["location_id", "item_id", "batch_id"],
            set_={"on_hand": after, "version": table.version + 1},
            where=after.between(-BALANCE_MAX, BALANCE_MAX),
        ).returning(table.location_id, table.item_id, table.batch_id, table.on_hand, table.guarded)
    return _UPSERTS[dialect]


_DELTA: BindParameter[int] = bindparam("b_delta")
#: A decrease of a guarded balance, refused in SQL below what is reserved; built once with
#: bound parameters, as every issue and transfer runs it.
_GUARDED_DECREASE = (
    update(Balance)
    .where(
        col(Balance.location_id) == bindparam("b_location"),
        col(Balance.item_id) == bindparam("b_item"),
        col(Balance.batch_id) == bindparam("b_batch"),
        col(Balance.on_hand) + _DELTA >= col(Balance.reserved),
    )
    .values(on_hand=col(Balance.on_hand) + _DELTA, version=col(Balance.version) + 1)
    .returning(col(Balance.on_hand))
    .execution_options(synchronize_session=False)
)


def _apply_deltas(
    session: Session,
    deltas: dict[Key, int],
    guarded: dict[int, bool],
    current: dict[Key, tuple[int, int]] | None,
) -> dict[Key, int]:
    """Write the balance changes; return the on-hand figure each physical location's
    balance was left with, for the per-item totals (`_totals_changes`).

    Each balance statement returns the on-hand figure it left, so the totals' lot counts
    (a lot starting or ending its stock at a depot) are exact even when another session
    changed the same balance in between. `current` is None when the balances were not read
    (a single post): every decrease of a physical location is then the guarded update,
    which refuses a missing balance as it refuses a short one.
    """
    upserts: list[dict[str, Any]] = []
    after: dict[Key, int] = {}
    for key, delta in deltas.items():
        if delta == 0:
            continue
        loc, item, batch = key
        if delta < 0 and guarded[loc] and (current is None or key in current):
            row = session.execute(
                _GUARDED_DECREASE,
                {"b_location": loc, "b_item": item, "b_batch": batch, "b_delta": delta},
            ).first()
            if row is None:
                # Someone else took the stock since we read it.
                raise _shortage(session, key, -delta)
            after[key] = row[0]
        else:
            upserts.append(
                {
                    "location_id": loc,
                    "item_id": item,
                    "batch_id": batch,
                    "on_hand": delta,
                    "reserved": 0,
                    "guarded": guarded[loc],
                    "version": 1,
                }
            )
    if upserts and current is not None and session.get_bind().dialect.name == "sqlite":
        _upsert_known(session, upserts, current, after)
    elif upserts:
        stmt = _balance_upsert(session)
        written: set[Key] = set()
        for start in range(0, len(upserts), 5000):
            for loc, item, batch, on_hand, is_guarded in session.connection().execute(
                stmt, upserts[start : start + 5000]
            ):
                written.add((loc, item, batch))
                if is_guarded:
                    after[(loc, item, batch)] = on_hand
        if len(written) != len(upserts):
            # The bounded upsert left a balance alone: it would have passed the limit.
            left = next(
                r for r in upserts if (r["location_id"], r["item_id"], r["batch_id"]) not in written
            )
            key = (left["location_id"], left["item_id"], left["batch_id"])
            on_hand = _load_balances(session, [key]).get(key, (0, 0))[0]
            raise _beyond_limit(session, key, left["on_hand"], on_hand)
    return after


_UPSERT_KNOWN = (
    "INSERT INTO balance (location_id, item_id, batch_id, on_hand, reserved, guarded, version) "
    "VALUES (?, ?, ?, ?, 0, ?, 1) ON CONFLICT (location_id, item_id, batch_id) DO UPDATE "
    "SET on_hand = balance.on_hand + excluded.on_hand, version = balance.version + 1 "
    f"WHERE balance.on_hand + excluded.on_hand BETWEEN {-BALANCE_MAX} AND {BALANCE_MAX}"
)


def _upsert_known(
    session: Session,
    upserts: list[dict[str, Any]],
    current: dict[Key, tuple[int, int]],
    after: dict[Key, int],
) -> None:
    """SQLite, balances read in this transaction: the driver's executemany, no RETURNING.

    Every SQLite writer holds the database's write lock from BEGIN IMMEDIATE on, so the
    balances read for the simulation are still the ones written here and the figures the
    upsert leaves are known without asking; SQLAlchemy's per-row parameter handling of a
    RETURNING upsert was a third of a bulk import's time. The bound still holds in SQL:
    a balance left alone shows in the row count.
    """
    rows = [
        (r["location_id"], r["item_id"], r["batch_id"], r["on_hand"], r["guarded"]) for r in upserts
    ]
    written = 0
    for start in range(0, len(rows), 5000):
        result = session.connection().exec_driver_sql(_UPSERT_KNOWN, rows[start : start + 5000])
        written += result.rowcount
    if written != len(rows):
        # The simulation checked every figure against these very balances; a row left
        # alone means it would have passed the bound after all. Refuse rather than drift.
        raise InvalidInput("qty", f"a balance would pass the ledger's limit of {BALANCE_MAX:,}")
    for loc, item, batch, delta, is_guarded in rows:
        if is_guarded:
            key = (loc, item, batch)
            after[key] = current.get(key, (0, 0))[0] + delta


#: (physical location, item, change of on hand, change of lots with stock)
TotalChange = tuple[int, int, int, int]


def _totals_changes(deltas: dict[Key, int], after: dict[Key, int]) -> list[TotalChange]:
    """Per (physical location, item): on hand by the summed deltas, lots by the balances
    that left or reached zero; in one order, so two postings never deadlock on them."""
    changes: dict[tuple[int, int], list[int]] = {}
    for key, new in after.items():
        delta = deltas[key]
        old = new - delta
        change = changes.setdefault((key[0], key[1]), [0, 0])
        change[0] += delta
        change[1] += (old == 0 and new != 0) - (old != 0 and new == 0)
    return [(loc, item, d, n) for (loc, item), (d, n) in sorted(changes.items())]


def _apply_totals(session: Session, rows: list[TotalChange]) -> None:
    if not rows:
        return
    # The driver's own executemany: SQLAlchemy's per-row parameter handling cost more than
    # the statement (the text is the same on both databases, bar the placeholder).
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    sql = (
        "INSERT INTO depot_item_total (location_id, item_id, on_hand, reserved, lots) "
        f"VALUES ({mark}, {mark}, {mark}, 0, {mark}) ON CONFLICT (location_id, item_id) "
        "DO UPDATE SET on_hand = depot_item_total.on_hand + excluded.on_hand, "
        "lots = depot_item_total.lots + excluded.lots"
    )
    connection = session.connection()
    if len(rows) == 1:
        connection.exec_driver_sql(sql, rows[0])
        return
    for start in range(0, len(rows), 5000):
        connection.exec_driver_sql(sql, rows[start : start + 5000])


def _hold_total(session: Session, key: Key, qty: int) -> None:
    """Reserved units of the item at the location follow its balance."""
    session.execute(
        update(DepotItemTotal)
        .where(col(DepotItemTotal.location_id) == key[0], col(DepotItemTotal.item_id) == key[1])
        .values(reserved=col(DepotItemTotal.reserved) + qty)
        .execution_options(synchronize_session=False)
    )


def _write_documents(
    session: Session,
    drafts: Sequence[DocumentDraft],
    progress: Callable[[int], None] | None,
) -> list[Posted]:
    if not drafts:
        return []
    now = utcnow()
    by_prefix: dict[str, list[int]] = defaultdict(list)
    for i, draft in enumerate(drafts):
        by_prefix[NUMBER_PREFIX[draft.kind]].append(i)
    numbers: list[str] = [""] * len(drafts)
    for prefix, indexes in by_prefix.items():
        for i, number in zip(indexes, _next_numbers(session, prefix, len(indexes)), strict=True):
            numbers[i] = number

    rows = [
        {
            "number": numbers[i],
            "kind": d.kind.value,
            "status": DocumentStatus.POSTED.value,
            "occurred_at": d.occurred_at,
            "posted_at": now,
            "actor": d.actor,
            "reference": d.reference,
            "note": d.note,
            "reverses_id": d.reverses_id,
            "origin_id": d.origin_id,
            "destination_id": d.destination_id,
            "idempotency_key": d.idempotency_key,
            "reason": d.reason,
        }
        for i, d in enumerate(drafts)
    ]
    by_number: dict[str, int] = {}
    table = Document.__table__  # type: ignore[attr-defined]
    step = 2000
    for start in range(0, len(rows), step):
        # Core, not the ORM's bulk path: same SQL, a fraction of the Python overhead. The
        # ids come back matched by number: asking them in parameter order made SQLAlchemy
        # send SQLite one INSERT a document instead of a few multi-row ones.
        result = session.connection().execute(
            dialect_insert(session, table).returning(table.c.id, table.c.number),
            rows[start : start + step],
        )
        by_number.update({number: doc_id for doc_id, number in result})
    ids = [by_number[number] for number in numbers]

    movements: list[tuple[int, int, int, int, int]] = []
    done = 0
    for doc_id, draft in zip(ids, drafts, strict=True):
        for line in draft.lines:
            movements.append((doc_id, line.location_id, line.item_id, line.batch_id, line.qty))
        if len(movements) >= 10_000:
            _insert_movements(session, movements)
            done += len(movements)
            movements = []
            if progress:
                progress(done)
    if movements:
        _insert_movements(session, movements)
        done += len(movements)
        if progress:
            progress(done)
    return [Posted(doc_id, numbers[i], drafts[i].kind.value) for i, doc_id in enumerate(ids)]


#: A single document on PostgreSQL: counter, document, lines and the item totals in one
#: statement, as four round trips were half of what a keeper's post waited for. The number
#: is formatted as `_next_numbers` formats it (at least six digits); the lines keep their
#: order (and so their ids), and the totals the order `_totals_changes` gives them, by
#: ordinality. PostgreSQL runs every data-modifying part whether or not it is read.
_ONE_DOCUMENT_PG = text(
    "WITH counter AS ("
    " INSERT INTO document_counter (prefix, last) VALUES (:prefix, 1)"
    " ON CONFLICT (prefix) DO UPDATE SET last = document_counter.last + 1 RETURNING last"
    "), doc AS ("
    " INSERT INTO document (number, kind, status, occurred_at, posted_at, actor, reference,"
    " note, reverses_id, origin_id, destination_id, idempotency_key, reason)"
    " SELECT CAST(:prefix AS VARCHAR) || '-'"
    " || lpad(counter.last::text, greatest(6, length(counter.last::text)), '0'),"
    " :kind, :status, :occurred_at, :posted_at, :actor, CAST(:reference AS VARCHAR),"
    " CAST(:note AS VARCHAR), CAST(:reverses_id AS INTEGER), CAST(:origin_id AS INTEGER),"
    " CAST(:destination_id AS INTEGER), CAST(:idempotency_key AS VARCHAR),"
    " CAST(:reason AS VARCHAR) FROM counter RETURNING id, number"
    "), lines AS ("
    " INSERT INTO movement (document_id, location_id, item_id, batch_id, qty)"
    " SELECT doc.id, line.location_id, line.item_id, line.batch_id, line.qty FROM doc,"
    " unnest(CAST(:locations AS INTEGER[]), CAST(:items AS INTEGER[]),"
    " CAST(:batches AS INTEGER[]), CAST(:qtys AS BIGINT[]))"
    " WITH ORDINALITY AS line(location_id, item_id, batch_id, qty, n) ORDER BY line.n"
    "), totals AS ("
    " INSERT INTO depot_item_total (location_id, item_id, on_hand, reserved, lots)"
    " SELECT total.location_id, total.item_id, total.on_hand, 0, total.lots"
    " FROM unnest(CAST(:total_locations AS INTEGER[]), CAST(:total_items AS INTEGER[]),"
    " CAST(:total_on_hand AS BIGINT[]), CAST(:total_lots AS INTEGER[]))"
    " WITH ORDINALITY AS total(location_id, item_id, on_hand, lots, n) ORDER BY total.n"
    " ON CONFLICT (location_id, item_id) DO UPDATE"
    " SET on_hand = depot_item_total.on_hand + excluded.on_hand,"
    " lots = depot_item_total.lots + excluded.lots"
    ") SELECT id, number FROM doc"
).bindparams(
    bindparam("occurred_at", type_=UTCDateTime()), bindparam("posted_at", type_=UTCDateTime())
)


def _write_one_postgresql(
    session: Session,
    draft: DocumentDraft,
    totals: list[TotalChange],
    progress: Callable[[int], None] | None,
) -> Posted:
    lines = draft.lines
    doc_id, number = session.execute(
        _ONE_DOCUMENT_PG,
        {
            "prefix": NUMBER_PREFIX[draft.kind],
            "kind": draft.kind.value,
            "status": DocumentStatus.POSTED.value,
            "occurred_at": draft.occurred_at,
            "posted_at": utcnow(),
            "actor": draft.actor,
            "reference": draft.reference,
            "note": draft.note,
            "reverses_id": draft.reverses_id,
            "origin_id": draft.origin_id,
            "destination_id": draft.destination_id,
            "idempotency_key": draft.idempotency_key,
            "reason": draft.reason,
            "locations": [line.location_id for line in lines],
            "items": [line.item_id for line in lines],
            "batches": [line.batch_id for line in lines],
            "qtys": [line.qty for line in lines],
            "total_locations": [t[0] for t in totals],
            "total_items": [t[1] for t in totals],
            "total_on_hand": [t[2] for t in totals],
            "total_lots": [t[3] for t in totals],
        },
    ).one()
    if progress:
        progress(len(lines))
    return Posted(doc_id, number, draft.kind.value)


def _insert_movements(session: Session, rows: list[tuple[int, int, int, int, int]]) -> None:
    """Movement lines straight to the driver's executemany: the lines are plain integers
    already checked, and SQLAlchemy's per-row parameter handling was most of a bulk
    import's time."""
    mark = "?" if session.get_bind().dialect.paramstyle == "qmark" else "%s"
    session.connection().exec_driver_sql(
        "INSERT INTO movement (document_id, location_id, item_id, batch_id, qty) "
        f"VALUES ({', '.join([mark] * 5)})",
        rows,
    )


def lines_of(session: Session, document_id: int) -> list[Line]:
    rows = session.execute(
        select(
            col(Movement.location_id),
            col(Movement.item_id),
            col(Movement.batch_id),
            col(Movement.qty),
        )
        .where(col(Movement.document_id) == document_id)
        .order_by(col(Movement.id))
    )
    return [Line(*row) for row in rows]


def reverse(session: Session, document: Document, *, actor: str, note: str | None = None) -> Posted:
    """Post the mirror image of a posted document and mark the original reversed.

    The status flip is conditional, so two keepers reversing the same document at once
    cannot both succeed.
    """
    if document.kind == DocumentKind.REVERSAL:
        raise DocumentState("document", f"{document.number} is a reversal; it cannot be reversed")
    if document.status != DocumentStatus.POSTED:
        raise DocumentState("document", f"{document.number} is {document.status}, not posted")
    flipped = session.execute(
        update(Document)
        .where(col(Document.id) == document.id, col(Document.status) == DocumentStatus.POSTED.value)
        .values(status=DocumentStatus.REVERSED.value)
        .execution_options(synchronize_session=False)
    )
    if flipped.rowcount != 1:  # type: ignore[attr-defined]
        raise DocumentState("document", f"{document.number} was reversed meanwhile")
    lines = [
        Line(ln.location_id, ln.item_id, ln.batch_id, -ln.qty)
        for ln in lines_of(
            session,
            document.id,  # type: ignore[arg-type]
        )
    ]
    posted = post(
        session,
        DocumentDraft(
            kind=DocumentKind.REVERSAL,
            lines=lines,
            actor=actor,
            reference=document.number,
            note=note,
            reverses_id=document.id,
        ),
    )
    session.expire(document)
    return posted


def hold(session: Session, key: Key, qty: int) -> None:
    """Reserve `qty` of a balance; refuses (InsufficientStock) beyond what is available."""
    check_qty("qty", qty)
    result = session.execute(
        update(Balance)
        .where(
            col(Balance.location_id) == key[0],
            col(Balance.item_id) == key[1],
            col(Balance.batch_id) == key[2],
            col(Balance.guarded).is_(True),
            col(Balance.on_hand) - col(Balance.reserved) >= qty,
        )
        .values(reserved=col(Balance.reserved) + qty, version=col(Balance.version) + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _shortage(session, key, qty)
    _hold_total(session, key, qty)


def unhold(session: Session, key: Key, qty: int) -> None:
    """Give back `qty` of a reservation's hold."""
    check_qty("qty", qty, allow_zero=True)
    result = session.execute(
        update(Balance)
        .where(
            col(Balance.location_id) == key[0],
            col(Balance.item_id) == key[1],
            col(Balance.batch_id) == key[2],
            col(Balance.reserved) >= qty,
        )
        .values(reserved=col(Balance.reserved) - qty, version=col(Balance.version) + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise DocumentState("reservation", "the balance holds less reserved than the reservation")
    _hold_total(session, key, -qty)


def rebuilt_on_hand(session: Session) -> dict[Key, int]:
    """Balances as the movements say they are (used by verify)."""
    rows = session.execute(
        select(
            col(Movement.location_id),
            col(Movement.item_id),
            col(Movement.batch_id),
            func.sum(col(Movement.qty)),
        ).group_by(col(Movement.location_id), col(Movement.item_id), col(Movement.batch_id))
    )
    return {(loc, item, batch): int(total) for loc, item, batch, total in rows}


__all__ = [
    "DocumentDraft",
    "Key",
    "Line",
    "Posted",
    "check_same_as_posted",
    "describe_key",
    "hold",
    "lines_of",
    "next_number",
    "post",
    "post_many",
    "rebuilt_on_hand",
    "reverse",
    "unhold",
]
