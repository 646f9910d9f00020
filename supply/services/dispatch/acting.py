"""Dispatch done by a logged-in user (the HTTP API): the same departures, deliveries and
cancellations as `relief dispatch`, refused first when the loads leave from depots outside
the user's jurisdiction.

Kept beside `movements` rather than in it: the CLI acts for the whole bureau and has no
user to check, so the check is a wrapper the server adds, not a rule every caller pays for.
"""

from collections.abc import Iterable

from sqlalchemy import ColumnElement, select
from sqlmodel import Session, col

from supply.models import DispatchLoad, Location, User
from supply.services.dispatch.approval import Cancellation, cancel
from supply.services.dispatch.movements import Moved, deliver, depart
from supply.services.dispatch.queries import plan_by_ref
from supply.services.jurisdictions import check_depots
from supply.services.stock import Meta


def _check(session: Session, user: User, plan: str, *where: ColumnElement[bool]) -> None:
    """Refuse (OutOfScope) unless every depot the selected loads of `plan` leave from is
    `user`'s; a plan or load that does not exist is left to the movement to name."""
    if user.jurisdiction_id is None:
        return
    p = plan_by_ref(session, plan)
    stmt = (
        select(col(Location.code))
        .join(DispatchLoad, col(DispatchLoad.depot_id) == col(Location.id))
        .where(col(DispatchLoad.plan_id) == p.id, *where)
        .distinct()
    )
    codes: Iterable[str] = session.scalars(stmt).all()
    check_depots(session, user, sorted(codes))


def depart_as(session: Session, plan: str, vehicle: str, trip: int, *, user: User) -> Moved:
    """`movements.depart` as `user`, who must be the trip's depot's people.

    Raises
    ------
    OutOfScope
        The trip loads at a depot outside `user`'s jurisdiction.
    NotFound, InvalidInput, DocumentState
        As `movements.depart` (a trip that already left is a DocumentState).
    """
    _check(
        session, user, plan, col(DispatchLoad.vehicle) == vehicle, col(DispatchLoad.trip) == trip
    )
    return depart(session, plan, vehicle, trip, meta=Meta(actor=user.username))


def deliver_as(session: Session, plan: str, vehicle: str, stop: int, *, user: User) -> Moved:
    """`movements.deliver` as `user`, who must be the stop's depot's people.

    Raises
    ------
    OutOfScope
        The stop's loads left from a depot outside `user`'s jurisdiction.
    NotFound, InvalidInput, DocumentState
        As `movements.deliver` (a stop whose trip has not departed is a DocumentState).
    """
    _check(
        session, user, plan, col(DispatchLoad.vehicle) == vehicle, col(DispatchLoad.stop) == stop
    )
    return deliver(session, plan, vehicle, stop, meta=Meta(actor=user.username))


def cancel_as(session: Session, plan: str, *, user: User) -> Cancellation:
    """`approval.cancel` as `user`, who must be the people of every depot the plan holds
    stock at (cancelling releases all of it).

    Raises
    ------
    OutOfScope
        A load of the plan is at a depot outside `user`'s jurisdiction.
    NotFound, DocumentState
        As `approval.cancel`.
    """
    _check(session, user, plan)
    return cancel(session, plan, meta=Meta(actor=user.username))
