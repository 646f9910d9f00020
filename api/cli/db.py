"""`relief db`: schema migrations."""

import typer

from api.cli.common import DbOption, checked_url, console, database_url
from supply import migrate
from supply.db import sqlite_path

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(db: DbOption = None, revision: str = typer.Argument("head")) -> None:
    """Create or migrate the ledger's tables (safe to run again)."""
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
    migrate.downgrade(checked_url(db), revision)
    console.print(f"database at revision {revision}")
