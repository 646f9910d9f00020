"""Rebuild balances from movements and say where the stored figures differ.

The materialised balances are a cache of the movements; this is the audit that the cache
is right, that reservations add up, and that every document balances.
"""

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlmodel import Session, col

from supply import ledger
from supply.models import (
    Balance,
    DepotItemTotal,
    Location,
    LocationKind,
    LocationTree,
    Movement,
    Reservation,
    ReservationStatus,
)


@dataclass(slots=True)
class VerifyReport:
    balances_checked: int = 0
    movements: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session) -> VerifyReport:
    report = VerifyReport()
    rebuilt = ledger.rebuilt_on_hand(session)
    stored: dict[ledger.Key, tuple[int, int, bool]] = {
        (loc, item, batch): (on_hand, reserved, guarded)
        for loc, item, batch, on_hand, reserved, guarded in session.execute(
            select(
                col(Balance.location_id),
                col(Balance.item_id),
                col(Balance.batch_id),
                col(Balance.on_hand),
                col(Balance.reserved),
                col(Balance.guarded),
            )
        )
    }
    report.balances_checked = len(stored)
    report.movements = session.scalar(select(func.count()).select_from(Movement)) or 0

    def name(key: ledger.Key) -> str:
        depot, item, lot = ledger.describe_key(session, key)
        return f"{depot} / {item} / {lot}"

    for key in sorted(set(rebuilt) | set(stored)):
        expected = rebuilt.get(key, 0)
        on_hand, reserved, guarded = stored.get(key, (0, 0, True))
        if on_hand != expected:
            report.problems.append(
                f"{name(key)}: balance on hand {on_hand}, movements sum to {expected}"
            )
        if guarded and on_hand < reserved:
            report.problems.append(f"{name(key)}: reserved {reserved} exceeds on hand {on_hand}")
        if guarded and on_hand < 0:
            report.problems.append(f"{name(key)}: negative stock {on_hand}")

    held: dict[ledger.Key, int] = {
        (loc, item, batch): int(total)
        for loc, item, batch, total in session.execute(
            select(
                col(Reservation.location_id),
                col(Reservation.item_id),
                col(Reservation.batch_id),
                func.sum(col(Reservation.qty)),
            )
            .where(col(Reservation.status) == ReservationStatus.ACTIVE.value)
            .group_by(
                col(Reservation.location_id), col(Reservation.item_id), col(Reservation.batch_id)
            )
        )
    }
    for key in sorted(set(held) | {k for k, v in stored.items() if v[1]}):
        if held.get(key, 0) != stored.get(key, (0, 0, True))[1]:
            report.problems.append(
                f"{name(key)}: balance reserved {stored.get(key, (0, 0, True))[1]}, "
                f"active reservations hold {held.get(key, 0)}"
            )

    _check_totals(session, rebuilt, stored, report)
    _check_tree(session, report)

    unbalanced = session.execute(
        select(
            col(Movement.document_id),
            col(Movement.item_id),
            col(Movement.batch_id),
            func.sum(col(Movement.qty)),
        )
        .group_by(col(Movement.document_id), col(Movement.item_id), col(Movement.batch_id))
        .having(func.sum(col(Movement.qty)) != 0)
    ).all()
    for doc_id, item_id, batch_id, total in unbalanced:
        report.problems.append(
            f"document id {doc_id}: item {item_id} batch {batch_id} lines sum to {total}"
        )
    return report


def _check_totals(
    session: Session,
    rebuilt: dict[ledger.Key, int],
    stored: dict[ledger.Key, tuple[int, int, bool]],
    report: VerifyReport,
) -> None:
    """The per-item totals of physical locations must equal what the movements say (on
    hand, lots with stock) and what the balances hold reserved."""
    expected: dict[tuple[int, int], tuple[int, int, int]] = {}
    for key in set(rebuilt) | set(stored):
        on_hand = rebuilt.get(key, 0)
        _, reserved, guarded = stored.get(key, (0, 0, True))
        if not guarded or (key not in stored and on_hand == 0):
            continue
        was = expected.get((key[0], key[1]), (0, 0, 0))
        expected[(key[0], key[1])] = (was[0] + on_hand, was[1] + reserved, was[2] + (on_hand != 0))
    kept = {
        (loc, item): (int(on_hand), int(reserved), int(lots))
        for loc, item, on_hand, reserved, lots in session.execute(
            select(
                col(DepotItemTotal.location_id),
                col(DepotItemTotal.item_id),
                col(DepotItemTotal.on_hand),
                col(DepotItemTotal.reserved),
                col(DepotItemTotal.lots),
            )
        )
    }
    for pair in sorted(set(expected) | set(kept)):
        want, have = expected.get(pair, (0, 0, 0)), kept.get(pair, (0, 0, 0))
        if want != have:
            depot, item_code, _ = ledger.describe_key(session, (pair[0], pair[1], 0))
            report.problems.append(
                f"{depot} / {item_code}: item totals (on hand, reserved, lots) {have}, "
                f"movements and reservations say {want}"
            )


def _check_tree(session: Session, report: VerifyReport) -> None:
    """The closure table must list exactly each depot's ancestors (and itself)."""
    parents: dict[int, int | None] = dict(
        session.execute(
            select(col(Location.id), col(Location.parent_id)).where(
                col(Location.kind) == LocationKind.DEPOT.value
            )
        ).all()
    )
    expected: set[tuple[int, int, int]] = set()
    for depot in parents:
        node: int | None = depot
        depth = 0
        while node is not None and depth <= len(parents):
            expected.add((node, depot, depth))
            node, depth = parents.get(node), depth + 1
    kept = {
        (int(a), int(d), int(n))
        for a, d, n in session.execute(
            select(
                col(LocationTree.ancestor_id),
                col(LocationTree.descendant_id),
                col(LocationTree.depth),
            )
        )
    }
    for ancestor, descendant, depth in sorted(expected ^ kept):
        side = "missing from" if (ancestor, descendant, depth) in expected else "wrong in"
        report.problems.append(
            f"depot tree: ({ancestor} above {descendant}, depth {depth}) {side} the closure table"
        )
