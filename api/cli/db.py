"""`relief db`: schema migrations."""

import typer

from api.cli.common import DbOption, console, database_url
from supply import migrate

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(db: DbOption = None, revision: str = typer.Argument("head")) -> None:
    """Create or migrate the ledger's tables (safe to run again)."""
    url = database_url(db)
    migrate.upgrade(url, revision)
    console.print(f"database at revision {revision}: {url}", highlight=False)


@app.command("downgrade")
def downgrade(revision: str = typer.Argument(...), db: DbOption = None) -> None:
    """Migrate back to REVISION ('base' drops every table)."""
    migrate.downgrade(database_url(db), revision)
    console.print(f"database at revision {revision}")
