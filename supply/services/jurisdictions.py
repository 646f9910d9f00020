"""The jurisdiction tree, which depots belong where, and who may release stock where.

Only the owner's people post at a depot: a user scoped to a jurisdiction may receive at,
issue from, transfer from, and reverse documents of depots of that jurisdiction or below
it (a transfer's destination is not checked: sending is the source's decision). Users
without a jurisdiction act for the whole bureau; depots without one are the whole
bureau's, so only such users post at them.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlmodel import Session, col

from supply.errors import Conflict, InvalidInput, NotFound, OutOfScope
from supply.limits import NAME_MAX, check_text
from supply.models import (
    LEVEL_RANK,
    CallOff,
    Document,
    Jurisdiction,
    Level,
    Location,
    LocationKind,
    Movement,
    Neighbour,
    Role,
    User,
)
from supply.services.dispatch.document import read_plan
from supply.services.lookup import depot_by_code

_CODE = re.compile(r"[0-9]{2,12}")
#: Roles whose reads no jurisdiction narrows: the auditor reads everything.
READ_EVERYTHING = frozenset({Role.AUDITOR.value, Role.ADMIN.value})


def jurisdiction_by_code(session: Session, code: str) -> Jurisdiction:
    found = session.scalars(select(Jurisdiction).where(col(Jurisdiction.code) == code)).first()
    if found is None:
        raise NotFound("jurisdiction", code)
    return found


def add_jurisdiction(
    session: Session, *, code: str, name: str, level: Level, parent: str | None = None
) -> Jurisdiction:
    """Add a jurisdiction under `parent` (None: a top one).

    Raises
    ------
    InvalidInput
        A code other than 2 to 12 digits, or a parent not of a higher level.
    NotFound
        No parent of that code.
    Conflict
        The code is taken.
    """
    if not _CODE.fullmatch(code):
        raise InvalidInput("code", "an administrative division code: 2 to 12 digits")
    check_text("name", name, NAME_MAX)
    taken = session.scalars(select(col(Jurisdiction.id)).where(col(Jurisdiction.code) == code))
    if taken.first() is not None:
        raise Conflict("code", f"jurisdiction {code} already exists")
    parent_id = None
    if parent is not None:
        above = jurisdiction_by_code(session, parent)
        if LEVEL_RANK[Level(above.level)] >= LEVEL_RANK[level]:
            raise InvalidInput(
                "parent", f"{above.code} is a {above.level}; a {level.value}'s parent is higher"
            )
        parent_id = above.id
    made = Jurisdiction(code=code, name=name, level=level.value, parent_id=parent_id)
    session.add(made)
    session.flush()
    return made


def list_jurisdictions(session: Session) -> list[tuple[Jurisdiction, str | None]]:
    """Every jurisdiction with its parent's code, by code."""
    rows = session.execute(select(Jurisdiction).order_by(col(Jurisdiction.code))).scalars().all()
    codes = {j.id: j.code for j in rows}
    return [(j, codes.get(j.parent_id) if j.parent_id else None) for j in rows]


def assign_depots(session: Session, jurisdiction: str, depots: Sequence[str]) -> int:
    """Make `depots` belong to `jurisdiction`; all or none (an unknown depot refuses all)."""
    owner = jurisdiction_by_code(session, jurisdiction)
    if not depots:
        raise InvalidInput("depots", "name at least one depot")
    ids = [depot_by_code(session, code).id for code in depots]
    session.execute(
        update(Location)
        .where(col(Location.id).in_(ids))
        .values(jurisdiction_id=owner.id)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return len(ids)


def add_neighbours(session: Session, code: str, others: Sequence[str]) -> int:
    """Record that `code` borders each of `others` (both ways: the relation is symmetric);
    pairs already known are kept. Returns how many pairs are new. All or none.

    Raises
    ------
    InvalidInput
        No other named, or a jurisdiction named as its own neighbour.
    NotFound
        An unknown code.
    """
    if not others:
        raise InvalidInput("neighbours", "name at least one neighbouring jurisdiction")
    one = jurisdiction_by_code(session, code)
    assert one.id is not None
    added = 0
    for other_code in dict.fromkeys(others):
        other = jurisdiction_by_code(session, other_code)
        assert other.id is not None
        if other.id == one.id:
            raise InvalidInput("neighbours", f"{code} cannot be its own neighbour")
        low, high = sorted((one.id, other.id))
        if session.get(Neighbour, (low, high)) is None:
            session.add(Neighbour(low_id=low, high_id=high))
            added += 1
    session.flush()
    return added


def neighbour_ids(session: Session, jurisdiction_id: int) -> set[int]:
    """The jurisdictions bordering this one."""
    rows = session.execute(
        select(col(Neighbour.low_id), col(Neighbour.high_id)).where(
            (col(Neighbour.low_id) == jurisdiction_id) | (col(Neighbour.high_id) == jurisdiction_id)
        )
    ).all()
    return {low if high == jurisdiction_id else high for low, high in rows}


def sharing_neighbours(session: Session, jurisdiction_id: int) -> list[Jurisdiction]:
    """The neighbours that share their depots' stock with this jurisdiction (it may see
    that stock, and plan to borrow it)."""
    return list(
        session.scalars(
            select(Jurisdiction)
            .where(
                col(Jurisdiction.id).in_(neighbour_ids(session, jurisdiction_id)),
                col(Jurisdiction.shares_with_neighbours).is_(True),
            )
            .order_by(col(Jurisdiction.code))
        )
    )


def neighbours_by_code(session: Session) -> dict[str, list[str]]:
    """Every jurisdiction's neighbours' codes, by code (both directions listed)."""
    codes = dict(session.execute(select(col(Jurisdiction.id), col(Jurisdiction.code))).all())
    found: dict[str, list[str]] = {code: [] for code in codes.values()}
    for low, high in session.execute(select(col(Neighbour.low_id), col(Neighbour.high_id))):
        found[codes[low]].append(codes[high])
        found[codes[high]].append(codes[low])
    return {code: sorted(others) for code, others in found.items()}


@dataclass(frozen=True, slots=True)
class JurisdictionView:
    """A jurisdiction as shown: its parent's and neighbours' codes."""

    code: str
    name: str
    level: str
    parent: str | None
    shares_with_neighbours: bool
    neighbours: tuple[str, ...]


def jurisdiction_views(session: Session) -> list[JurisdictionView]:
    """Every jurisdiction as shown, by code."""
    borders = neighbours_by_code(session)
    return [
        JurisdictionView(
            code=j.code,
            name=j.name,
            level=j.level,
            parent=parent,
            shares_with_neighbours=j.shares_with_neighbours,
            neighbours=tuple(borders.get(j.code, [])),
        )
        for j, parent in list_jurisdictions(session)
    ]


def view_jurisdiction(session: Session, code: str) -> JurisdictionView:
    found = jurisdiction_by_code(session, code)
    assert found.id is not None
    parent = (
        session.get_one(Jurisdiction, found.parent_id).code if found.parent_id is not None else None
    )
    others = session.scalars(
        select(col(Jurisdiction.code))
        .where(col(Jurisdiction.id).in_(neighbour_ids(session, found.id)))
        .order_by(col(Jurisdiction.code))
    )
    return JurisdictionView(
        code=found.code,
        name=found.name,
        level=found.level,
        parent=parent,
        shares_with_neighbours=found.shares_with_neighbours,
        neighbours=tuple(others),
    )


def set_sharing(session: Session, code: str, shares: bool) -> Jurisdiction:
    """Whether the neighbours' people may see this jurisdiction's depots' stock."""
    found = jurisdiction_by_code(session, code)
    found.shares_with_neighbours = shares
    session.add(found)
    session.flush()
    return found


def subtree_ids(session: Session, jurisdiction_id: int) -> frozenset[int]:
    """A jurisdiction and every one below it (the tree is small: read whole)."""
    children: dict[int | None, list[int]] = {}
    for jid, parent in session.execute(
        select(col(Jurisdiction.id), col(Jurisdiction.parent_id))
    ).all():
        children.setdefault(parent, []).append(jid)
    found: set[int] = set()
    todo = [jurisdiction_id]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(children.get(current, []))
    return frozenset(found)


def releasable_owners(session: Session, user: User) -> frozenset[int] | None:
    """Whose lots `user` may release: their jurisdiction's and those below it; None (all)
    for a user of the whole bureau. Lots with no owner recorded are the depot's people's
    (`stock.check_release`)."""
    if user.jurisdiction_id is None:
        return None
    return subtree_ids(session, user.jurisdiction_id)


def visible_depot_ids(session: Session, user: User) -> frozenset[int] | None:
    """The depots whose stock `user` may see; None: all (the whole bureau's people, and
    auditors and admins, who read everything).

    A user of a jurisdiction sees its subtree's depots, and those of a neighbour (and the
    neighbour's subtree) that shares with its neighbours; the whole bureau's depots (no
    jurisdiction) are seen by everyone.
    """
    if user.jurisdiction_id is None or user.role in READ_EVERYTHING:
        return None
    mine = set(subtree_ids(session, user.jurisdiction_id))
    for neighbour in sharing_neighbours(session, user.jurisdiction_id):
        if neighbour.id is not None:
            mine |= subtree_ids(session, neighbour.id)
    ids = session.scalars(
        select(col(Location.id)).where(
            col(Location.kind) == LocationKind.DEPOT.value,
            col(Location.jurisdiction_id).in_(mine) | col(Location.jurisdiction_id).is_(None),
        )
    )
    return frozenset(i for i in ids if i is not None)


def _ancestors(session: Session, jurisdiction_id: int) -> set[int]:
    """A jurisdiction and every one above it (the tree is four levels deep at most)."""
    chain: set[int] = set()
    current: int | None = jurisdiction_id
    while current is not None and current not in chain:
        chain.add(current)
        current = session.scalar(
            select(col(Jurisdiction.parent_id)).where(col(Jurisdiction.id) == current)
        )
    return chain


def _check_locations(session: Session, user: User, location_ids: Iterable[int]) -> None:
    if user.jurisdiction_id is None:
        return
    rows = session.execute(
        select(col(Location.code), col(Location.jurisdiction_id)).where(
            col(Location.id).in_(set(location_ids)),
            col(Location.kind) == LocationKind.DEPOT.value,
        )
    ).all()
    for code, owner in rows:
        if owner is None or user.jurisdiction_id not in _ancestors(session, owner):
            raise OutOfScope(
                "depot",
                f"depot {code} is not in {user.username}'s jurisdiction; its owner's "
                "people post there",
            )


def check_depots(session: Session, user: User, depots: Sequence[str]) -> None:
    """Refuse (OutOfScope) unless `user` may post at every one of `depots`."""
    if user.jurisdiction_id is None:
        return
    ids = [depot_by_code(session, d).id for d in depots]
    _check_locations(session, user, [i for i in ids if i is not None])


def check_plan(session: Session, user: User, document: Mapping[str, Any]) -> None:
    """Refuse (OutOfScope) unless every ledger depot a plan's loads leave from is `user`'s
    (depots the ledger does not know are outside depots, not the ledger's stock)."""
    if user.jurisdiction_id is None:
        return
    codes = {load.depot for load in read_plan(document).loads}
    ids = session.scalars(
        select(col(Location.id)).where(
            col(Location.code).in_(codes), col(Location.kind) == LocationKind.DEPOT.value
        )
    ).all()
    _check_locations(session, user, [i for i in ids if i is not None])


def check_document(session: Session, user: User, number: str) -> None:
    """Refuse (OutOfScope) unless every depot a document moved stock at is `user`'s."""
    if user.jurisdiction_id is None:
        return
    ids = session.scalars(
        select(col(Movement.location_id))
        .join(Document, col(Document.id) == col(Movement.document_id))
        .where(col(Document.number) == number)
    ).all()
    _check_locations(session, user, ids)


def check_call_off(session: Session, user: User, number: str) -> None:
    """Refuse (OutOfScope) unless the depot a call-off is received at is `user`'s."""
    if user.jurisdiction_id is None:
        return
    depot = session.scalar(select(col(CallOff.depot_id)).where(col(CallOff.number) == number))
    if depot is not None:
        _check_locations(session, user, [depot])


def check_document_visible(session: Session, user: User, number: str) -> None:
    """Refuse (OutOfScope) a document none of whose depots `user` may see
    (`visible_depot_ids`): it shows another jurisdiction's stock."""
    visible = visible_depot_ids(session, user)
    if visible is None:
        return
    depots = set(
        session.scalars(
            select(col(Movement.location_id))
            .join(Document, col(Document.id) == col(Movement.document_id))
            .join(Location, col(Location.id) == col(Movement.location_id))
            .where(col(Document.number) == number, col(Location.kind) == LocationKind.DEPOT.value)
        )
    )
    if depots and not depots & visible:
        raise OutOfScope(
            "document", f"{number} moved stock at depots not shared with your jurisdiction"
        )
