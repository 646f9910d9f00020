"""Revision 0003 (agreement reserves and quotas) on databases that already hold stock, and
CHECK constraints (which autogenerate does not compare) named as the models name them."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import CheckConstraint, Engine, inspect, text
from sqlmodel import SQLModel

from tests.conftest import BACKENDS
from tests.migrations.steps import fresh_database, migrate_to

ROWS = [
    "INSERT INTO item (id, code, name_zh, name_en, category, unit, unit_weight_kg,"
    " unit_volume_m3, rotation_lead_days) VALUES (1, 'W', '水', 'water', 'w', 'case', 1, 0.1, 0)",
    "INSERT INTO location (id, code, name, kind, tier, active)"
    " VALUES (100, 'CTY', 'county', 'depot', 'county', true)",
    "INSERT INTO location (id, code, name, kind, tier, parent_id, active)"
    " VALUES (101, 'TWN', 'town', 'depot', 'township', 100, true)",
    "INSERT INTO batch (id, item_id, lot) VALUES (1, 1, 'L1')",
    "INSERT INTO balance (location_id, item_id, batch_id, on_hand, reserved, guarded, version)"
    " VALUES (101, 1, 1, 7, 0, true, 1)",
]


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, str, str]]:
    yield from fresh_database(request, tmp_path, "revision3")


def test_upgrade_and_downgrade_keep_existing_stock(empty: tuple[Engine, str, str]) -> None:
    """A ledger at 0002 with depots referenced by balances upgrades to 0003 and back with
    every row and reference intact; the new depot columns start empty."""
    engine, url, backend = empty
    migrate_to(engine, url, backend, "up", "0002_rotation")
    with engine.begin() as conn:
        for sql in ROWS:
            conn.execute(text(sql))
    migrate_to(engine, url, backend, "up", "head")
    with engine.connect() as conn:
        assert conn.execute(
            text("SELECT code, parent_id, population_served, custodian_id FROM location "
                 "WHERE kind = 'depot' ORDER BY id")
        ).all() == [("CTY", None, None, None), ("TWN", 100, None, None)]  # fmt: skip
        assert conn.execute(text("SELECT on_hand FROM balance")).scalar_one() == 7
        if backend == "sqlite":
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
    migrate_to(engine, url, backend, "down", "0002_rotation")
    names = set(inspect(engine).get_table_names())
    assert not names & {"supplier", "agreement", "call_off", "settlement", "inspection", "quota"}
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM location WHERE kind = 'depot'")).scalar() == 2
        )
        assert conn.execute(text("SELECT on_hand FROM balance")).scalar_one() == 7


def test_check_constraints_match_the_models(empty: tuple[Engine, str, str]) -> None:
    """Every CHECK the models declare exists, under the same name, after `upgrade head`."""
    engine, url, backend = empty
    migrate_to(engine, url, backend, "up", "head")
    inspector = inspect(engine)
    for table in SQLModel.metadata.sorted_tables:
        prefix = f"ck_{table.name}_"
        wanted = {  # the naming convention adds the prefix (once it has been applied, it is there)
            c.name if c.name.startswith(prefix) else prefix + c.name
            for c in table.constraints
            if isinstance(c, CheckConstraint) and isinstance(c.name, str)
        }
        found = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert found == wanted, table.name
