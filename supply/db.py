"""Engines and sessions for SQLite and PostgreSQL.

SQLite is made to behave like a server database for the ledger: foreign keys on, WAL,
a busy timeout, and every writing transaction opened with ``BEGIN IMMEDIATE`` so that two
writers serialise instead of failing half-way (the pysqlite SAVEPOINT recipe from
SQLAlchemy's documentation, with IMMEDIATE in place of the plain BEGIN). Read-only work
(`read_scope`) opens a plain deferred transaction instead: under WAL it reads the last
committed state and never waits for a writer, even one importing for minutes.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Dialect, Engine, MetaData, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel

from supply.errors import InvalidInput

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


#: Databases the ledger's migrations and SQL are written and tested for.
BACKENDS = ("sqlite", "postgresql")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def check_url(url: str, *, create: bool = False) -> None:
    """Refuse a database URL the ledger cannot use, before anything touches the disk.

    SQLite would otherwise create an empty file (and the CLI used to create its folders)
    for any path, so a typo became an empty ledger blamed on a missing `db upgrade`. Only
    `create=True` (`relief db upgrade`) accepts a SQLite file that does not exist yet; its
    folder must exist either way.

    Raises
    ------
    InvalidInput
        On field ``--db``, with a one-line reason.
    """
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except ArgumentError:
        raise InvalidInput(
            "--db", f"{url!r} is not a database URL (sqlite:///PATH or postgresql+psycopg://...)"
        ) from None
    if backend not in BACKENDS:
        raise InvalidInput(
            "--db",
            f"unknown database {backend!r} in {url!r}: use sqlite:/// or postgresql+psycopg://",
        )
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise InvalidInput(
            "--db", f"no driver {parsed.drivername!r} for {url!r}: use postgresql+psycopg://"
        ) from None
    path = sqlite_path(url)
    if path is None:
        return
    if not path.parent.is_dir():
        raise InvalidInput("--db", f"folder {path.parent} does not exist (SQLite file {path})")
    if path.is_dir():
        raise InvalidInput("--db", f"{path} is a folder, not a SQLite file")
    if not create and not path.exists():
        raise InvalidInput(
            "--db", f"no ledger at {path}; create it with `relief db upgrade --db {url}`"
        )


#: How long a SQLite writer waits for another writer's lock before giving up.
BUSY_TIMEOUT_S = 60.0

#: Execution option marking a connection's transactions as read-only (deferred on SQLite).
READ_ONLY = "relief_read_only"


def make_engine(url: str, *, busy_timeout_s: float = BUSY_TIMEOUT_S, **kwargs: Any) -> Engine:
    """Create an engine (connecting creates a missing SQLite file: see `check_url`)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", busy_timeout_s)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, busy_timeout_s)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy (see the "begin" listener below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit if the block succeeds, roll back everything if it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """A read-only unit of work: on SQLite a deferred transaction, which under WAL sees the
    last committed state and takes no lock a writer holds; on PostgreSQL a READ ONLY one.
    Writing in it fails (SQLite: the write would wait like any writer; PostgreSQL refuses)."""
    options: dict[str, Any] = {READ_ONLY: True}
    if not is_sqlite(engine):
        options["postgresql_readonly"] = True
    # Closing (not rolling back) ends the transaction when the connection goes back to the
    # pool, and leaves the rows read loaded for the caller (a rollback would expire them).
    with Session(engine.execution_options(**options), expire_on_commit=False) as session:
        yield session


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases.

    SQLite has no time zones and hands back naive values; storing UTC and re-attaching the
    zone on the way out keeps comparisons and JSON honest everywhere.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the ledger; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def dialect_insert(session: Session, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT on both databases (same syntax on each)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table)
