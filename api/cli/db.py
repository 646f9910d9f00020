"""`relief db`: schema migrations, copies between databases, backups."""

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from api.cli.common import DbOption, checked_url, console, database_url, err_console, fail, working
from supply.errors import SupplyError

app = typer.Typer(help="Database schema, copies and backups.", no_args_is_help=True)

T = TypeVar("T")

if TYPE_CHECKING:
    from supply.ledger_copy import CopyReport


@app.command("upgrade")
def upgrade(db: DbOption = None, revision: str = typer.Argument("head")) -> None:
    """Create or migrate the ledger's tables (safe to run again)."""
    from supply import migrate
    from supply.db import sqlite_path

    url = database_url(db)
    path = sqlite_path(url)
    if db is None and path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)  # the default folder is ours to make
    new = path is not None and not path.exists()
    checked_url(url, create=True)
    migrate.upgrade(url, revision)
    if new:
        console.print(f"created a new ledger at {path}", highlight=False)
    console.print(f"database at revision {revision}: {url}", highlight=False)


@app.command("downgrade")
def downgrade(revision: str = typer.Argument(...), db: DbOption = None) -> None:
    """Migrate back to REVISION ('base' drops every table)."""
    from supply import migrate

    migrate.downgrade(checked_url(db), revision)
    console.print(f"database at revision {revision}")


@app.command("copy")
def copy_(
    to: Annotated[
        str,
        typer.Option("--to", help="URL of a fresh ledger (`relief db upgrade --db URL` first)."),
    ],
    db: DbOption = None,
) -> None:
    """Copy the whole ledger (every table) into another database, then verify the copy and
    compare its balances with these: e.g. a township's SQLite pilot into PostgreSQL."""
    source, target = checked_url(db), checked_url(to)
    report = _guarded(lambda: _copy(source, target))
    _report(report, f"copied into {to}")


@app.command("backup")
def backup(
    file: Annotated[Path, typer.Argument(help="A new SQLite file to hold the backup.")],
    db: DbOption = None,
) -> None:
    """Back the ledger up into a SQLite FILE while keepers go on working (SQLite's online
    backup; a PostgreSQL ledger is copied into the file, a portable form of it)."""
    from supply import migrate
    from supply.db import sqlite_path

    url = checked_url(db)
    if file.exists():
        fail(f"{file} exists: back up into a new file")
    if not file.parent.resolve().is_dir():
        fail(f"folder {file.parent} does not exist")
    source = sqlite_path(url)
    if source is not None:
        from supply.ledger_copy import sqlite_backup

        _guarded(lambda: sqlite_backup(source, file))
        console.print(f"backed up {source} into {file}", highlight=False)
        return
    target = f"sqlite:///{file.resolve()}"
    with working(f"creating {file}"):
        migrate.upgrade(target)
    report = _guarded(lambda: _copy(url, target))
    _report(report, f"backed up into {file}")


@app.command("restore")
def restore(
    file: Annotated[Path, typer.Argument(help="A backup written by `relief db backup`.")],
    db: DbOption = None,
) -> None:
    """Restore a backup: a SQLite ledger at --db becomes the backup (created if missing);
    a PostgreSQL one must be fresh (`relief db upgrade`) and receives a copy of it."""
    from supply.db import sqlite_path
    from supply.ledger_copy import compare, is_ledger_file, sqlite_backup

    if not is_ledger_file(file):
        fail(f"{file} is not a relief ledger backup (a SQLite file with the ledger's tables)")
    url = database_url(db)
    target = sqlite_path(url)
    backup_url = f"sqlite:///{file.resolve()}"
    if target is None:
        report = _guarded(lambda: _copy(backup_url, checked_url(url)))
    else:
        checked_url(url, create=True)
        _guarded(lambda: sqlite_backup(file, target))
        report = _guarded(lambda: _with_engines(backup_url, url, compare))
    _report(report, f"restored {file} into {url}")


def _copy(source: str, target: str) -> "CopyReport":
    from supply.ledger_copy import copy_ledger

    with working("copying") as status:
        return _with_engines(source, target, lambda s, t: copy_ledger(s, t, progress=status.update))


def _with_engines(source: str, target: str, work: Callable[..., T]) -> T:
    from supply.db import make_engine

    engines = make_engine(source), make_engine(target)
    try:
        return work(*engines)
    finally:
        for engine in engines:
            engine.dispose()


def _guarded(work: Callable[[], T]) -> T:
    """Refusals and database errors as one line, exit 2."""
    from sqlalchemy.exc import DBAPIError

    try:
        return work()
    except SupplyError as exc:
        fail(" ".join(str(exc).split()))
    except (DBAPIError, OSError) as exc:
        fail(" ".join(str(getattr(exc, "orig", exc)).split()))


def _report(report: "CopyReport", done: str) -> None:
    tables = sum(1 for n in report.rows.values() if n)
    rows = sum(report.rows.values())
    counted = f": {rows:,} rows in {tables} tables" if report.rows else ""
    console.print(f"{done}{counted}", highlight=False)
    if report.ok:
        console.print(
            f"verified: ledger consistent, {report.balances:,} balances equal to the source",
            highlight=False,
        )
        return
    for problem in report.problems:
        err_console.print(problem, highlight=False, markup=False)
    err_console.print(f"{len(report.problems)} problem(s) found")
    raise typer.Exit(1)
