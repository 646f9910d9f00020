"""`relief serve`: the HTTP API under uvicorn."""

import os
from typing import Annotated

import typer

from api.cli.common import DbOption, checked_url, err_console, fail, read, run


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64)] = 1,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log a line per request (uvicorn's access log). Off, a busy server spends "
            "less CPU a request; errors are logged either way, and every write records its "
            "user on its document.",
        ),
    ] = True,
    db: DbOption = None,
) -> None:
    """Serve the HTTP API (FastAPI under uvicorn) over the ledger.

    SQLite by default, PostgreSQL with DATABASE_URL (then set RELIEF_JWT_SECRET too); the
    OpenAPI is at /docs.
    """
    import uvicorn

    from api.http.auth import signing_secret
    from api.http.nodelay import NoDelayHttpToolsProtocol
    from supply.errors import SupplyError
    from supply.services.plan_jobs import mark_lost
    from supply.services.users import list_users
    from supply.settings import get_settings

    url = checked_url(db)
    # Each worker builds its app from the environment, so --db must reach it there.
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        signing_secret(get_settings())  # made once here, not raced by the workers
    except SupplyError as exc:
        fail(str(exc))
    lost = run(db, mark_lost)  # jobs of the last server process that never finished
    if lost:
        err_console.print(
            f"{lost} plan job(s) were queued or running when the server last stopped: "
            "marked lost (GET /plans shows them)",
            highlight=False,
        )
    if not read(db, list_users):
        err_console.print(
            "no users yet: create an admin with `relief users add NAME --role admin`",
            highlight=False,
        )
    uvicorn.run(
        "api.http:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # httptools, not h11: less CPU a request; Nagle off, which --workers N would
        # otherwise leave on (48 ms a request). The loop is uvloop where it is installed.
        http=NoDelayHttpToolsProtocol,
        access_log=access_log,
    )
