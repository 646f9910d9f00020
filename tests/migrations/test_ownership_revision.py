"""Revision 0010 (owners of lots, neighbours, mutual aid) on a ledger that already holds
stock: each lot is given the jurisdiction of the depot that first received it."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

from tests.conftest import BACKENDS
from tests.migrations.steps import fresh_database, migrate_to

BEFORE = "0009_plan_jobs"
ROWS = [
    "INSERT INTO jurisdiction (id, code, name, level) VALUES (5, '210381', '海城市', 'county')",
    "INSERT INTO item (id, code, name_zh, name_en, category, unit, unit_weight_kg,"
    " unit_volume_m3, rotation_lead_days) VALUES (1, 'W', '水', 'water', 'w', 'case', 1, 0.1, 0)",
    "INSERT INTO location (id, code, name, kind, tier, active, jurisdiction_id)"
    " VALUES (100, 'CTY', 'county', 'depot', 'county', true, 5)",
    "INSERT INTO location (id, code, name, kind, tier, active)"
    " VALUES (101, 'TWN', 'town', 'depot', 'township', true)",
    "INSERT INTO batch (id, item_id, lot) VALUES (1, 1, 'AT-CTY'), (2, 1, 'AT-TWN'),"
    " (3, 1, 'NEVER')",
    "INSERT INTO document (id, number, kind, status, occurred_at, posted_at, actor)"
    " VALUES (1, 'RC-000001', 'receipt', 'posted', '2026-01-01 00:00:00+00:00',"
    " '2026-01-01 00:00:00+00:00', 'test')",
    # AT-CTY first came in at CTY (then some went on to TWN); AT-TWN only ever at TWN. The
    # outside side (`{out}`) is the `supplier` location the first revision seeds.
    "INSERT INTO movement (id, document_id, location_id, item_id, batch_id, qty) VALUES"
    " (1, 1, {out}, 1, 1, -10), (2, 1, 100, 1, 1, 10), (3, 1, {out}, 1, 2, -4),"
    " (4, 1, 101, 1, 2, 4), (5, 1, 100, 1, 1, -3), (6, 1, 101, 1, 1, 3)",
]


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, str, str]]:
    yield from fresh_database(request, tmp_path, "revision10")


def test_existing_lots_belong_to_the_depot_that_first_received_them(
    empty: tuple[Engine, str, str],
) -> None:
    """AT-CTY is county 210381's (CTY received it first), AT-TWN and NEVER have no owner
    (TWN has no jurisdiction; NEVER never moved); all are `fiscal`. Downgrading drops the
    columns and keeps the rows."""
    engine, url, backend = empty
    migrate_to(engine, url, backend, "up", BEFORE)
    with engine.begin() as conn:
        out = conn.execute(text("SELECT id FROM location WHERE code = 'supplier'")).scalar_one()
        for sql in ROWS:
            conn.execute(text(sql.format(out=out)))
    migrate_to(engine, url, backend, "up", "head")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT lot, owner_id, donor, funding FROM batch ORDER BY id"))
        assert rows.all() == [
            ("AT-CTY", 5, None, "fiscal"),
            ("AT-TWN", None, None, "fiscal"),
            ("NEVER", None, None, "fiscal"),
        ]
    migrate_to(engine, url, backend, "down", BEFORE)
    assert "owner_id" not in {c["name"] for c in inspect(engine).get_columns("batch")}
    assert "aid_loan" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM batch")).scalar() == 3
