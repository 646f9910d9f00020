"""What every command shares: the --db option, the unit of work, and refusal handling.

SQLAlchemy, SQLModel, the settings and the sheet readers are imported where they are used,
not here: every command imports this module, and `relief stock balance --help` needs none
of them (they are most of a keeper command's start-up time).
"""

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape

from supply.errors import SupplyError

if TYPE_CHECKING:
    from rich.table import Table
    from sqlalchemy import Engine
    from sqlmodel import Session

    from supply.settings import Settings

T = TypeVar("T")

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (overrides DATABASE_URL).", envvar=None),
]


def get_settings() -> "Settings":
    """The settings (imported on first use: pydantic-settings is slow to import)."""
    from supply.settings import get_settings as settings

    return settings()


def database_url(db: str | None) -> str:
    return db or get_settings().database_url


def actor() -> str:
    return get_settings().actor


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a refusal as one line (whatever the message held) and exit with `code`."""
    err_console.print(f"[bold red]error:[/] {escape(_one_line(message))}", highlight=False)
    raise typer.Exit(code)


def checked_url(db: str | None, *, create: bool = False) -> str:
    """The database URL, refused in one line (exit 2) if the ledger cannot be there."""
    from supply.db import check_url

    url = database_url(db)
    try:
        check_url(url, create=create)
    except SupplyError as exc:
        fail(str(exc))
    return url


@contextmanager
def engine_for(db: str | None) -> Iterator["Engine"]:
    from supply.db import make_engine

    engine = make_engine(checked_url(db), busy_timeout_s=get_settings().busy_timeout_s)
    try:
        yield engine
    finally:
        engine.dispose()


def run(db: str | None, work: Callable[["Session"], T]) -> T:
    """Run one service call in one transaction; a refusal prints one line and exits 2.

    On SQLite the transaction holds the write lock from its start; while it does, a note
    beside the file says which command holds it, so a writer that times out can say so.
    """
    from supply.db import session_scope, sqlite_path

    with engine_for(db) as engine:
        path = sqlite_path(str(engine.url))
        try:
            with session_scope(engine) as session:
                if path is None:
                    return work(session)
                session.connection()  # BEGIN IMMEDIATE: the lock is ours from here
                with writer_note(path):
                    return work(session)
        except SupplyError as exc:
            fail(_one_line(str(exc)))
        except Exception as exc:
            _database_failure(exc, path)
            raise


def read(db: str | None, work: Callable[["Session"], T]) -> T:
    """Run read-only work: on SQLite it never waits for a writer, and sees the last
    committed state (a long import in progress is invisible until it commits)."""
    from supply.db import read_scope, sqlite_path

    with engine_for(db) as engine:
        try:
            with read_scope(engine) as session:
                return work(session)
        except SupplyError as exc:
            fail(_one_line(str(exc)))
        except Exception as exc:
            _database_failure(exc, sqlite_path(str(engine.url)))
            raise


def _database_failure(exc: Exception, path: Path | None) -> None:
    """Turn what the database said into one line and exit 2; return if it is not a
    database error (the caller re-raises)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    if not isinstance(exc, OperationalError | ProgrammingError):
        return
    text = _one_line(str(exc.orig))
    if path is not None and "database is locked" in text:
        fail(
            f"the ledger {path} stayed locked by another writer for "
            f"{get_settings().busy_timeout_s:g} s ({lock_holder(path)}); nothing was written: "
            "run the command again when it has finished (RELIEF_BUSY_TIMEOUT_S waits longer)"
        )
    fail(f"database error: {text} (has `relief db upgrade` been run on this database?)")


def _note_path(path: Path) -> Path:
    return path.with_name(path.name + "-writer")


@contextmanager
def writer_note(path: Path) -> Iterator[None]:
    """While a command holds the write lock, `<ledger>-writer` names it (pid, command, since)."""
    note = _note_path(path)
    try:
        note.write_text(
            f"{os.getpid()}\t{local_now().isoformat(timespec='seconds')}\t"
            f"{' '.join(['relief', *sys.argv[1:]])}\n",
            encoding="utf-8",
        )
    except OSError:
        yield
        return
    try:
        yield
    finally:
        note.unlink(missing_ok=True)


def lock_holder(path: Path) -> str:
    """Who holds the write lock, as the writer's note says; a stale note (a killed
    process) is said to be stale."""
    try:
        pid_text, since, command = _note_path(path).read_text(encoding="utf-8").strip().split("\t")
        pid = int(pid_text)
    except (OSError, ValueError):
        return "another process; no relief command has noted it"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"the note of `{command}` (pid {pid}) is stale: that process has ended"
    except PermissionError:
        pass
    return f"`{command}`, pid {pid}, since {since}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


M = TypeVar("M", bound=BaseModel)


def local_now() -> datetime:
    """Now, in the keeper's time zone: calendar days (validity, expiry) are local days."""
    return datetime.now().astimezone()


class _Lines:
    """A status that prints each update as a line on stderr (not a terminal: a log, a pipe)."""

    def __init__(self, message: str) -> None:
        self.last = ""
        self.update(message)

    def update(self, message: str) -> None:
        if message != self.last:
            self.last = message
            print(message, file=sys.stderr, flush=True)


@contextmanager
def working(message: str) -> Iterator[Any]:
    """A spinner on a terminal, plain lines on stderr otherwise, so long work (the demo, a
    plan, an import) is never silent when its output is piped or redirected. The object
    yielded has `update(message)`."""
    if err_console.is_terminal:
        with err_console.status(message, spinner="dots") as status:
            yield status
    else:
        yield _Lines(message)


def print_table(table: "Table", *, wrap: tuple[str, ...] = ("name", "name_zh", "name_en")) -> None:
    """Print a table without cutting a code, lot, date or figure.

    Rich shrinks a table to the console's width (80 columns in a pipe) and ends cut cells
    with "…", so `HC-COUNTY` became `HC-COU…`. Here only the columns named in `wrap` (free
    text) may wrap; every other column keeps its full width, and the table is printed as
    wide as those need: a pipe or a file gets whole lines, a narrow terminal wraps the
    free text first. For machines, the commands also print `--json`.
    """
    for column in table.columns:
        column.no_wrap = str(column.header) not in wrap
    width = console.measure(table, options=console.options.update(width=100_000))
    needed = width.maximum if not console.is_terminal else max(console.width, width.minimum)
    if needed <= console.width:
        console.print(table)
    else:  # `print(width=...)` is capped at the console's width: print on a wider one
        Console(width=needed, soft_wrap=True).print(table)


def print_json(data: object) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def run_on_sheet(
    db: str | None,
    path: Path,
    model: type[M],
    *,
    required: tuple[str, ...],
    work: Callable[["Session", list[M]], T],
) -> T:
    """Read a .csv or .xlsx file and hand its rows to one service call, in one transaction
    (an import, or a report driven by a file such as the norms).

    A bad cell, or a row the service refuses (it sets `index`), is reported as
    `file:row: column: reason` and nothing of the file is written.
    """
    from supply.sheets import read_sheet

    try:
        rows = read_sheet(path, model, required=required)
    except SupplyError as exc:
        fail(str(exc))

    def blamed(session: "Session") -> T:
        try:
            return work(session, [r for _, r in rows])
        except SupplyError as exc:
            if exc.index is not None and 0 <= exc.index < len(rows):
                exc.field = f"{path}:{rows[exc.index][0]}: {exc.field}"
                exc.args = (f"{exc.field}: {exc.reason}",)
            raise

    return run(db, blamed)


def export_sheet(
    db: str | None,
    out: Path,
    header: tuple[str, ...],
    table: Callable[["Session"], list[list[Any]]],
    *,
    title: str,
) -> None:
    """Write what `table` reads to a .csv or .xlsx file that the matching import reads back."""
    from supply.sheets import write_sheet

    rows = run(db, table)
    try:
        count = write_sheet(out, header, rows, title=title)
    except SupplyError as exc:
        fail(str(exc))
    console.print(f"wrote {count} {title} to {out}", highlight=False)
