"""Rebuild balances from movements and say where the stored figures differ.

The materialised balances are a cache of the movements; this is the audit that the cache
is right, that reservations add up, and that every document balances.
"""

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlmodel import Session, col

from supply import ledger
from supply.models import Balance, Movement, Reservation, ReservationStatus


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
