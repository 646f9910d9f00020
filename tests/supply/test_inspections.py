"""Inspections (督促检查) and the flags they raise on agreements in force."""

from datetime import date

import pytest
from sqlmodel import Session

from supply.errors import InvalidInput, NotFound
from supply.models import InspectionCreate, Tier
from supply.services.agreements import (
    inspection_table,
    list_agreements,
    record_inspection,
    upsert_inspections,
)
from tests.factories import make_agreement, make_depot, make_item, make_supplier


@pytest.fixture
def contract(session: Session) -> Session:
    """Agreement AG: 100 cases, inspected every 90 days, valid 2026-01-01..2026-12-31."""
    make_item(session, "WATER")
    make_depot(session, "CTY", Tier.COUNTY)
    make_supplier(session, "SM")
    make_agreement(session, "AG", qty=100, inspection_interval_days=90)
    return session


def inspect(session: Session, on: date, verified: int, code: str = "AG") -> None:
    record_inspection(
        session,
        InspectionCreate(agreement=code, inspected_on=on, inspector="li", verified_qty=verified),
        today=date(2026, 12, 31),
    )


def flags(session: Session, today: date, code: str = "AG") -> list[str]:
    (view,) = [v for v in list_agreements(session, today=today) if v.code == code]
    return view.flags


def test_inspection_overdue_only_when_older_than_the_interval(contract: Session) -> None:
    """Inspected on 2026-03-01 every 90 days: fine on day 90 (2026-05-30), overdue on day 91."""
    inspect(contract, date(2026, 3, 1), 100)
    assert flags(contract, date(2026, 5, 30)) == []
    assert flags(contract, date(2026, 5, 31)) == [
        "inspection overdue: last on 2026-03-01, due every 90 days"
    ]


def test_never_inspected_is_flagged_once_an_interval_has_passed(contract: Session) -> None:
    """A new agreement is not flagged at once; 91 days after it starts, it is."""
    assert flags(contract, date(2026, 3, 31)) == []  # day 89 since 2026-01-01
    assert flags(contract, date(2026, 4, 2)) == ["never inspected (due every 90 days)"]


def test_verified_short_against_what_remains(contract: Session) -> None:
    """Fewer units on site than remain under the contract is flagged; exactly enough is not."""
    inspect(contract, date(2026, 5, 1), 99)
    assert flags(contract, date(2026, 5, 2)) == ["verified short: 99 of 100 on site on 2026-05-01"]
    inspect(contract, date(2026, 5, 2), 100)  # the latest inspection is the one that counts
    assert flags(contract, date(2026, 5, 2)) == []


def test_capacity_reserve_short_when_output_below_rate(contract: Session) -> None:
    """For a capacity reserve the inspector verifies hourly output against the contracted rate."""
    make_agreement(contract, "CAP", qty=1000, kind="capacity", rate_per_hour=50)
    inspect(contract, date(2026, 5, 1), 40, code="CAP")
    assert flags(contract, date(2026, 5, 2), code="CAP") == [
        "verified short: 40/h of 50/h on 2026-05-01"
    ]
    inspect(contract, date(2026, 5, 2), 50, code="CAP")
    assert flags(contract, date(2026, 5, 2), code="CAP") == []


def test_expired_agreement_is_not_flagged(contract: Session) -> None:
    """Only agreements in force need inspecting."""
    inspect(contract, date(2026, 1, 2), 10)
    assert flags(contract, date(2027, 6, 1)) == []


def test_inspection_same_day_replaces_and_future_is_refused(contract: Session) -> None:
    """One inspection per agreement and day; a date after today is a typing error."""
    inspect(contract, date(2026, 5, 1), 80)
    inspect(contract, date(2026, 5, 1), 90)
    assert [row[3] for row in inspection_table(contract)] == [90]
    with pytest.raises(InvalidInput, match="in the future"):
        record_inspection(
            contract,
            InspectionCreate(
                agreement="AG", inspected_on=date(2026, 6, 2), inspector="li", verified_qty=1
            ),
            today=date(2026, 6, 1),
        )


def test_inspection_file_refused_whole_at_its_bad_row(contract: Session) -> None:
    """An unknown agreement in the second row refuses the file, naming that row's index."""
    day = date(2026, 5, 1)
    rows = [
        InspectionCreate(agreement=code, inspected_on=day, inspector="a", verified_qty=5)
        for code in ("AG", "NO")
    ]
    with pytest.raises(NotFound) as refused:
        upsert_inspections(contract, rows, today=date(2026, 6, 1))
    assert refused.value.index == 1
    twice = [rows[0], rows[0]]
    with pytest.raises(InvalidInput, match="inspected twice") as refused:
        upsert_inspections(contract, twice, today=date(2026, 6, 1))
    assert refused.value.index == 1
