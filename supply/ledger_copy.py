"""Moving a whole ledger between databases, and backing one up.

A township's SQLite pilot moves into the bureau's PostgreSQL with every table as it is:
ids, numbers, reservations, plans, agreements. The target must be a fresh ledger (upgraded,
nothing posted); the copy is one transaction there, so a refused row (a value the target
cannot hold) leaves it empty. Afterwards the target is audited (`supply.verify`) and its
balances compared with the source's.

A backup is a SQLite file: SQLite's online backup for a SQLite ledger, the same copy for a
PostgreSQL one (a portable file any machine opens, and that `restore` copies back).
"""

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel, col

import supply.models  # noqa: F401  (registers every table)
from supply.db import READ_ONLY
from supply.errors import Conflict, InvalidInput
from supply.models import Location, LocationKind
from supply.verify import verify

_BATCH = 5000
#: Tables whose rows a fresh ledger gets from its migrations (locations: the virtual ones).
_SEEDED = ("item_category", "location")


@dataclass(slots=True)
class CopyReport:
    """What was copied and whether the target agrees with the source."""

    rows: dict[str, int] = field(default_factory=dict)
    balances: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _tables() -> list[Table]:
    return list(SQLModel.metadata.sorted_tables)


def _self_references(table: Table) -> list[str]:
    """Columns pointing into their own table (a depot's parent, a reversal's original):
    inserted empty and set afterwards, as a referenced row may come later in id order."""
    return [c.name for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]


def _check_fresh(target: Connection) -> None:
    """The target must hold no ledger data: only what the migrations seed (the virtual
    locations, the default categories), which the source's rows replace."""
    for table in _tables():
        if table.name == "item_category":
            continue
        query = select(func.count()).select_from(table)
        if table.name == "location":
            query = query.where(col(Location.kind) == LocationKind.DEPOT.value)
        if target.execute(query).scalar_one():
            raise Conflict(
                "--to",
                f"the target already holds {table.name} rows: copy into a fresh ledger "
                "(`relief db upgrade --db URL` on an empty database)",
            )


def _revision(conn: Connection) -> str | None:
    try:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def _check_revisions(source: Connection, target: Connection) -> None:
    """Both ledgers must have the same tables: the same migration revision."""
    theirs, ours = _revision(source), _revision(target)
    if theirs is None:
        raise InvalidInput("--db", "the source is not a relief ledger (no alembic_version)")
    if theirs != ours:
        raise Conflict(
            "--to",
            f"the source is at revision {theirs}, the target at {ours}: run "
            "`relief db upgrade` on both first",
        )


def _rows(source: Connection, table: Table) -> Iterator[list[dict[str, object]]]:
    result = source.execution_options(yield_per=_BATCH).execute(
        select(table).order_by(*table.primary_key.columns)
    )
    for part in result.mappings().partitions(_BATCH):
        yield [dict(row) for row in part]


def copy_ledger(
    source: Engine, target: Engine, *, progress: Callable[[str], None] | None = None
) -> CopyReport:
    """Copy every table of `source` into the fresh ledger at `target`, then audit it.

    Raises
    ------
    Conflict
        If the target is not a fresh ledger.
    InvalidInput
        If the target refuses a row (named by table and id); nothing is written then.
    """
    report = CopyReport()
    reader = source.execution_options(**{READ_ONLY: True})
    with reader.connect() as src, target.begin() as dst:
        _check_revisions(src, dst)
        _check_fresh(dst)
        for seeded in _SEEDED:
            dst.execute(SQLModel.metadata.tables[seeded].delete())
        for table in _tables():
            later = _self_references(table)
            links: list[dict[str, object]] = []
            count = 0
            for rows in _rows(src, table):
                for row in rows:
                    if any(row.get(c) is not None for c in later):
                        links.append({"_id": row["id"], **{c: row[c] for c in later}})
                        row.update(dict.fromkeys(later))
                try:
                    dst.execute(table.insert(), rows)
                except DBAPIError as exc:
                    first = rows[0].get("id")
                    raise InvalidInput(
                        f"{table.name} (rows from id {first})",
                        f"the target refused them: {' '.join(str(exc.orig).split())}",
                    ) from exc
                count += len(rows)
                if progress:
                    progress(f"{table.name}: {count:,} rows")
            for start in range(0, len(links), _BATCH):
                stmt = (
                    update(table)
                    .where(table.c.id == _param("_id"))
                    .values({c: _param(c) for c in later})
                )
                dst.execute(stmt, links[start : start + _BATCH])
            report.rows[table.name] = count
        if dst.dialect.name == "postgresql":
            _reset_sequences(dst)
    compare(source, target, report)
    return report


def _param(name: str) -> object:
    from sqlalchemy import bindparam

    return bindparam(name)


def _reset_sequences(conn: Connection) -> None:
    """Ids were copied as they were: each sequence continues after the highest."""
    for table in _tables():
        if "id" in table.columns and table.c.id.primary_key:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                )
            )


def _balances(engine: Engine) -> dict[tuple[str, str, str], tuple[int, int]]:
    from supply.models import Balance, Batch, Item

    with engine.connect() as conn:
        rows = conn.execute(
            select(
                col(Location.code),
                col(Item.code),
                col(Batch.lot),
                col(Balance.on_hand),
                col(Balance.reserved),
            )
            .join(Location, col(Location.id) == col(Balance.location_id))
            .join(Item, col(Item.id) == col(Balance.item_id))
            .join(Batch, col(Batch.id) == col(Balance.batch_id))
        )
        return {(a, b, c): (int(d), int(e)) for a, b, c, d, e in rows}


def compare(source: Engine, target: Engine, report: CopyReport | None = None) -> CopyReport:
    """Audit the target and compare its balances with the source's."""
    report = report or CopyReport()
    from sqlmodel import Session

    with Session(target) as session:
        audit = verify(session)
    report.problems.extend(f"target: {p}" for p in audit.problems)
    theirs, ours = _balances(source), _balances(target)
    report.balances = len(ours)
    for key in sorted(set(theirs) | set(ours)):
        if theirs.get(key) != ours.get(key):
            report.problems.append(
                f"balance {'/'.join(key)}: source {theirs.get(key)}, target {ours.get(key)}"
            )
    return report


def sqlite_backup(source: Path, target: Path) -> None:
    """SQLite's online backup of the file `source` into `target`, replacing what `target`
    held: a consistent copy even while keepers post (it copies one snapshot)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def is_ledger_file(path: Path) -> bool:
    """Whether `path` is a SQLite file holding a relief ledger (a backup)."""
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT version_num FROM alembic_version").fetchone() is not None
    except sqlite3.Error:
        return False


__all__ = ["CopyReport", "compare", "copy_ledger", "is_ledger_file", "sqlite_backup"]
