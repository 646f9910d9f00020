"""Database fixtures: every ledger test runs on SQLite, and on PostgreSQL when
TEST_DATABASE_URL is set. Each test runs inside an outer transaction that is rolled back
(services flush, never commit, so savepoints are enough)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

import supply.models  # noqa: F401  (registers the tables)
from supply.db import make_engine
from supply.services.catalogue import ensure_default_categories
from supply.services.lookup import ensure_virtual_locations

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pg_engine(schema: str) -> Engine:
    """An engine whose connections live in their own, freshly created schema."""
    assert PG_URL
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return make_engine(PG_URL, connect_args={"options": f"-c search_path={schema}"})


def drop_pg_schema(schema: str) -> None:
    assert PG_URL
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def fresh_engine(backend: str, tmp: Path, name: str) -> Engine:
    """An empty database of the given backend (no tables)."""
    if backend == "postgresql":
        if not PG_URL:
            pytest.skip("PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://...)")
        return pg_engine(f"relief_test_{name}")
    return make_engine(f"sqlite:///{tmp / (name + '.db')}")


def create_schema(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        ensure_virtual_locations(session)
        ensure_default_categories(session)
        session.commit()


@pytest.fixture(scope="session", params=BACKENDS)
def engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    eng = fresh_engine(request.param, tmp_path_factory.mktemp("db"), "ledger")
    create_schema(eng)
    yield eng
    eng.dispose()
    if request.param == "postgresql":
        drop_pg_schema("relief_test_ledger")


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    connection = engine.connect()
    outer = connection.begin()
    sess = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield sess
    finally:
        sess.close()
        outer.rollback()
        connection.close()
