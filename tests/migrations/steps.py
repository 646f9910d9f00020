"""What the revision tests share: a fresh database per backend, and a step up or down."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from supply import migrate
from tests.conftest import PG_URL, drop_pg_schema, fresh_engine


def fresh_database(
    request: pytest.FixtureRequest, tmp_path: Path, name: str
) -> Iterator[tuple[Engine, str, str]]:
    """An empty database of the fixture's backend: (engine, URL, backend)."""
    engine = fresh_engine(request.param, tmp_path, name)
    url = PG_URL if request.param == "postgresql" else str(engine.url)
    yield engine, url or "", request.param
    engine.dispose()
    if request.param == "postgresql":
        drop_pg_schema(f"relief_test_{name}")


def migrate_to(engine: Engine, url: str, backend: str, step: str, revision: str) -> None:
    """SQLite through its URL (as `relief db upgrade` does: the rebuild of a referenced table
    needs foreign keys off, set outside any transaction); PostgreSQL over the schema's
    connection."""
    action = migrate.upgrade if step == "up" else migrate.downgrade
    if backend == "sqlite":
        action(url, revision)
    else:
        with engine.begin() as conn:
            action(url, revision, connection=conn)
