"""What every command shares: the --db option, the unit of work, and refusal handling."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlmodel import Session

from supply.db import make_engine, session_scope
from supply.errors import SupplyError
from supply.settings import get_settings

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (overrides DATABASE_URL).", envvar=None),
]


def database_url(db: str | None) -> str:
    return db or get_settings().database_url


def actor() -> str:
    return get_settings().actor


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


@contextmanager
def engine_for(db: str | None) -> Iterator[Engine]:
    engine = make_engine(database_url(db))
    try:
        yield engine
    finally:
        engine.dispose()


def run(db: str | None, work: Callable[[Session], T]) -> T:
    """Run one service call in one transaction; a refusal prints one line and exits 2."""
    with engine_for(db) as engine:
        try:
            with session_scope(engine) as session:
                return work(session)
        except SupplyError as exc:
            fail(_one_line(str(exc)))
        except Exception as exc:  # a database that is missing its tables, unreachable...
            from sqlalchemy.exc import OperationalError, ProgrammingError

            if isinstance(exc, OperationalError | ProgrammingError):
                fail(
                    f"database error: {_one_line(str(exc.orig))} "
                    "(has `relief db upgrade` been run on this database?)"
                )
            raise


def _one_line(text: str) -> str:
    return " ".join(text.split())
