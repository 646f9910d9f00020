"""Quotas (储备定额), their gaps, what agreements can deliver in time, and readiness."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from supply.errors import InvalidInput, NotFound
from supply.models import Agreement, QuotaCreate, Tier
from supply.services.agreements import deliverable_within
from supply.services.calloffs import call_off
from supply.services.quotas import gaps, quota_table, upsert_quotas
from supply.services.readiness import NormRow, readiness
from tests.factories import make_agreement, make_depot, make_item, make_supplier, receive

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=CST)


def quota(session: Session, **row: object) -> None:
    upsert_quotas(session, [QuotaCreate.model_validate(row)])


def _agreement(kind: str = "goods", lead: float = 2.0, rate: int | None = None) -> Agreement:
    return Agreement(
        code="X", supplier_id=1, item_id=1, depot_id=1, kind=kind, delivery="depot",
        status="active", qty=1000, rate_per_hour=rate, lead_time_hours=lead,
        valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31), unit_price=Decimal(1),
        annual_fee=Decimal(0), compensation_per_unit=Decimal(0), inspection_interval_days=90,
    )  # fmt: skip


def test_goods_agreement_counts_when_its_lead_time_fits_the_window() -> None:
    """A lead time of exactly 10 h counts towards the 10-hour target; 10.5 h does not."""
    assert deliverable_within(_agreement(lead=10), 300, NOW, 10) == 300
    assert deliverable_within(_agreement(lead=10.5), 300, NOW, 10) == 0


def test_capacity_agreement_counts_what_it_produces_after_its_lead() -> None:
    """100/h after 4 h: 600 within 10 h, never more than remains under the contract."""
    capacity = _agreement("capacity", lead=4, rate=100)
    assert deliverable_within(capacity, 1000, NOW, 10) == 600
    assert deliverable_within(capacity, 250, NOW, 10) == 250
    assert deliverable_within(capacity, 1000, NOW, 4) == 0


def test_agreement_ending_inside_the_window_counts_only_until_its_end() -> None:
    """On its last day at 20:00 a 2 h agreement still counts; a 5 h one does not."""
    evening = datetime(2026, 12, 31, 20, 0, tzinfo=CST)
    assert deliverable_within(_agreement(lead=2), 300, evening, 10) == 300
    assert deliverable_within(_agreement(lead=5), 300, evening, 10) == 0
    capacity = _agreement("capacity", lead=1, rate=100)
    assert deliverable_within(capacity, 1000, evening, 10) == 300  # 4 h left, 1 h lead


@given(
    lead=st.floats(0, 30, allow_nan=False),
    rate=st.integers(1, 500),
    left=st.integers(0, 5000),
    hours=st.floats(0, 48, allow_nan=False),
    extra=st.floats(0, 24, allow_nan=False),
)
def test_deliverable_is_bounded_and_grows_with_the_window(
    lead: float, rate: int, left: int, hours: float, extra: float
) -> None:
    """Never more than remains, never negative, and a longer window never gives less."""
    for agreement in (_agreement(lead=lead), _agreement("capacity", lead=lead, rate=rate)):
        short = deliverable_within(agreement, left, NOW, hours)
        long = deliverable_within(agreement, left, NOW, hours + extra)
        assert 0 <= short <= long <= left


@pytest.fixture
def network(session: Session) -> Session:
    """CTY (county, 10,000 residents) <- TWN (township, 2,000) and TWN2 (population unknown);
    WATER and QUILT; CTY holds 100 water (plus 30 expired) and 50 quilts; TWN 5 water;
    supermarket agreement AG: 200 water to CTY in 2 h; a slow one, 12 h, 500 water."""
    make_item(session, "WATER")
    make_item(session, "QUILT", shelf_life_days=None, rotation_lead_days=0)
    make_depot(session, "CTY", Tier.COUNTY, population_served=10_000)
    make_depot(session, "TWN", Tier.TOWNSHIP, "CTY", population_served=2_000)
    make_depot(session, "TWN2", Tier.TOWNSHIP, "CTY")
    receive(session, "CTY", "WATER", 100, "W1", expires_on=date(2027, 1, 1))
    receive(session, "CTY", "WATER", 30, "OLD", expires_on=date(2026, 6, 5))
    receive(session, "CTY", "QUILT", 50, "Q1", expires_on=None)
    receive(session, "TWN", "WATER", 5, "W1")
    make_supplier(session, "SM")
    make_agreement(session, "AG", qty=200, lead_time_hours=2)
    make_agreement(session, "SLOW", qty=500, lead_time_hours=12)
    return session


def test_gap_counts_unexpired_stock_and_agreements_within_ten_hours(network: Session) -> None:
    """Quota 400 water at CTY: 100 usable on hand (the lot expired on the day is out) plus
    200 deliverable in time (the 12 h agreement is not) leaves 100 short."""
    quota(network, item="WATER", depot="CTY", qty=400)
    later = datetime(2026, 6, 6, 9, 0, tzinfo=CST)  # lot OLD expired on 2026-06-05
    (gap,) = gaps(network, now=later)
    assert (gap.on_hand, gap.agreements, gap.covered, gap.shortfall, gap.status) == (
        100,
        200,
        300,
        100,
        "short",
    )
    (on_expiry_day,) = gaps(network, now=datetime(2026, 6, 5, 9, 0, tzinfo=CST))
    assert on_expiry_day.on_hand == 130  # usable through its expiry date
    (wider,) = gaps(network, now=later, hours=12)
    assert (wider.agreements, wider.status) == (700, "met")


def test_called_off_units_no_longer_count_as_deliverable(network: Session) -> None:
    """What has been called off is gone from the contract until it is received."""
    quota(network, item="WATER", depot="CTY", qty=300)
    call_off(network, agreement="AG", qty=150, now=NOW)
    (gap,) = gaps(network, now=NOW)
    assert (gap.agreements, gap.shortfall) == (50, 120)


def test_tier_quota_per_resident_uses_population_and_depot_quota_overrides(
    network: Session,
) -> None:
    """0.0026 water per resident at township tier: TWN (2,000 residents) needs ceil(5.2) = 6
    and holds 5; TWN2's population is unknown, listed last; CTY's own quota beats its tier's."""
    quota(network, item="WATER", tier="township", per_resident="0.0026")
    quota(network, item="WATER", tier="county", per_resident="1")
    quota(network, item="WATER", depot="CTY", qty=10)
    rows = gaps(network, now=NOW)
    assert [(g.depot, g.basis, g.quota, g.shortfall, g.status) for g in rows] == [
        ("TWN", "tier", 6, 1, "short"),
        ("CTY", "depot", 10, 0, "met"),
        ("TWN2", "tier", None, None, "unknown"),
    ]
    assert [g.depot for g in gaps(network, now=NOW, tier=Tier.TOWNSHIP)] == ["TWN", "TWN2"]


def test_shortfalls_come_first_worst_covered_first(network: Session) -> None:
    """Two shortfalls sort by coverage (10 % before 66 %), then the quotas met."""
    quota(network, item="QUILT", depot="CTY", qty=500)  # 50 of 500: 10 %
    quota(network, item="WATER", depot="CTY", qty=500)  # 330 of 500: 66 %
    quota(network, item="WATER", depot="TWN", qty=5)  # met
    assert [(g.depot, g.item, g.status) for g in gaps(network, now=NOW)] == [
        ("CTY", "QUILT", "short"),
        ("CTY", "WATER", "short"),
        ("TWN", "WATER", "met"),
    ]


def test_quota_import_upserts_and_refuses_unknown_codes(network: Session) -> None:
    """Importing the same key updates it; an unknown depot names the row."""
    quota(network, item="WATER", depot="CTY", qty=10)
    quota(network, item="WATER", depot="CTY", qty=20)
    assert quota_table(network) == [["WATER", "CTY", None, 20, None]]
    with pytest.raises(NotFound) as refused:
        upsert_quotas(
            network,
            [
                QuotaCreate(item="WATER", tier=Tier.VILLAGE, per_resident=Decimal("0.01")),
                QuotaCreate(item="WATER", depot="NOPE", qty=1),
            ],
        )
    assert refused.value.index == 1


NORMS = [
    NormRow(item="WATER", per_person=Decimal("0.23"), per="day", priority=1, critical=True),
    NormRow(item="QUILT", per_person=Decimal("1"), per="once", priority=1, critical=True),
]


def test_readiness_is_limited_by_the_scarcest_critical_item(network: Session) -> None:
    """CTY's subtree: water 100 + 5 + 200 (AG in time) = 305 → 1,326 residents at 0.23 a day;
    quilts 50 → 50 residents: 50 residents, limited by QUILT, 0.5 % of 10,000."""
    (row,) = readiness(network, NORMS, now=datetime(2026, 6, 6, 9, 0, tzinfo=CST))
    assert (row.depot, row.depots, row.residents, row.limiting_item) == ("CTY", 3, 50, "QUILT")
    assert [(i.item, i.on_hand, i.agreements, i.residents) for i in row.items] == [
        ("QUILT", 50, 0, 50),
        ("WATER", 105, 200, 1326),
    ]
    assert row.share == pytest.approx(0.005)


def test_readiness_ignores_non_critical_norms_and_refuses_unknown_items(network: Session) -> None:
    """Only critical items limit readiness; a norm for an unknown item names its row."""
    relaxed = [NORMS[0], NORMS[1].model_copy(update={"critical": False})]
    (row,) = readiness(network, relaxed, now=NOW, depot="TWN")
    assert (row.depot, row.residents, row.limiting_item) == ("TWN", 21, "WATER")
    with pytest.raises(NotFound) as refused:
        readiness(network, [*NORMS, NORMS[0].model_copy(update={"item": "TENT"})], now=NOW)
    assert refused.value.index == 2
    with pytest.raises(InvalidInput, match="critical"):
        readiness(network, relaxed[1:], now=NOW)
