"""The schema comes only from Alembic, and Alembic matches the models, on both databases."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, select
from sqlmodel import Session, SQLModel

from supply import migrate
from supply.models import Location
from tests.conftest import BACKENDS, PG_URL, drop_pg_schema, fresh_engine


@pytest.fixture(params=BACKENDS)
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    engine = fresh_engine(request.param, tmp_path, "migrations")
    url = PG_URL if request.param == "postgresql" else str(engine.url)
    yield engine, url or ""
    engine.dispose()
    if request.param == "postgresql":
        drop_pg_schema("relief_test_migrations")


def _diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, SQLModel.metadata)


def test_upgrade_downgrade_upgrade_matches_models(empty: tuple[Engine, str]) -> None:
    """upgrade head → no diff with the models; downgrade base → no tables; upgrade again."""
    engine, url = empty
    with engine.begin() as conn:
        migrate.upgrade(url, connection=conn)
    assert _diff(engine) == []
    with Session(engine) as session:
        kinds = set(session.scalars(select(Location.kind)))
    assert {
        "supplier",
        "distributed",
        "in_transit",
        "write_off",
        "stocktake_adjustment",
        "rotation_outlet",
    } <= kinds
    with engine.begin() as conn:
        migrate.downgrade(url, "base", connection=conn)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    with engine.begin() as conn:
        migrate.upgrade(url, connection=conn)
    assert _diff(engine) == []
