"""Neighbours' depots as planner sources (跨区域调拨): a plan for one jurisdiction may draw on
the depots of its neighbours that share their stock with them (`shares_with_neighbours`),
each ready an approval lead time later than its own loading time, because their stock
moves only once the neighbour has approved a loan (`aid.approve_loan`).

`ledger_problem` asks `plan_depots` which of the ledger's depots a plan uses; the plan's
notes name the borrowed ones, so the dispatcher knows which loans to request.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from supply.errors import InvalidInput
from supply.models import Jurisdiction, Location
from supply.services.jurisdictions import jurisdiction_by_code, sharing_neighbours, subtree_ids

#: Hours a neighbour takes to approve a loan, unless the plan says otherwise.
AID_LEAD_HOURS = 6.0
MAX_AID_LEAD_HOURS = 240.0


@dataclass(frozen=True, slots=True)
class Borrowing:
    """Plan for `jurisdiction`'s own depots (its subtree) and borrow from its sharing
    neighbours' depots (and theirs below them), ready `lead_hours` later."""

    jurisdiction: str
    lead_hours: float = AID_LEAD_HOURS

    def __post_init__(self) -> None:
        if not 0 <= self.lead_hours <= MAX_AID_LEAD_HOURS:
            raise InvalidInput("aid_lead_hours", f"between 0 and {MAX_AID_LEAD_HOURS:g} hours")


@dataclass(frozen=True, slots=True)
class PlanDepots:
    """The depots a plan uses: its own, and the borrowed ones by code with their lender."""

    depots: list[Location]
    borrowed: dict[str, Jurisdiction]
    left_out: list[str]

    def note(self, lead_hours: float) -> str | None:
        if not self.borrowed:
            return None
        return (
            "borrowed sources (借调: request a loan from their owner before dispatch), "
            f"ready {lead_hours:g} h later for the owner's approval: "
            + ", ".join(f"{code} ({j.name} {j.code})" for code, j in sorted(self.borrowed.items()))
        )


def plan_depots(session: Session, depots: Sequence[Location], borrow: Borrowing) -> PlanDepots:
    """Split the ledger's `depots` into the jurisdiction's own, its sharing neighbours'
    (borrowed) and the rest (left out, named in the notes).

    Raises
    ------
    NotFound
        No such jurisdiction.
    """
    home = jurisdiction_by_code(session, borrow.jurisdiction)
    assert home.id is not None
    own = subtree_ids(session, home.id)
    lender_of: dict[int, Jurisdiction] = {}
    for neighbour in sharing_neighbours(session, home.id):
        assert neighbour.id is not None
        for jid in subtree_ids(session, neighbour.id):
            lender_of.setdefault(jid, neighbour)
    kept: list[Location] = []
    borrowed: dict[str, Jurisdiction] = {}
    left_out: list[str] = []
    for depot in depots:
        if depot.jurisdiction_id in own:
            kept.append(depot)
        elif depot.jurisdiction_id in lender_of:
            kept.append(depot)
            borrowed[depot.code] = lender_of[depot.jurisdiction_id]
        else:
            left_out.append(depot.code)
    return PlanDepots(kept, borrowed, left_out)
