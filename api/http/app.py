"""The bureau's HTTP API: `create_app(settings)` builds it; `relief serve` runs it.

Nothing is built at import: uvicorn's workers call `app_from_env` (a factory), each making
its own engine from the settings, as the CLI does.
"""

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from pydantic import BaseModel
from sqlalchemy import Engine

from api.http import problems, web
from api.http.auth import signing_secret
from api.http.deps import ServerState
from api.http.jobs import JobRunner
from api.http.routes import (
    agreements,
    aid,
    auth,
    balances,
    catalogue,
    depots,
    dispatch,
    documents,
    fleet,
    jurisdictions,
    layers,
    plans,
    quotas,
    readiness,
    rotation,
    scenarios,
    users,
    variants,
)
from scenarios.paths import SCENARIOS_DIR
from supply.db import check_url, make_engine
from supply.services import map_layers
from supply.settings import Settings, get_settings

DESCRIPTION = """\
应急物资储备与调拨 — relief-supply's stock ledger over HTTP.

Log in at `POST /auth/token` (OAuth2 password flow) and send the token as
`Authorization: Bearer ...`; machines use an API token (`relief users token`). Errors are
RFC 9457 problems (`application/problem+json`). Every POST takes an `Idempotency-Key`.
"""


class Health(BaseModel):
    status: str


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """The app over `settings.database_url` (or over `engine`, which the caller disposes;
    plan jobs' processes still connect to `settings.database_url`, which must be its URL).

    Raises
    ------
    InvalidInput
        The database URL cannot be a ledger, or no access-token secret can be had.
    """
    settings = settings or get_settings()
    owned = engine is None
    if engine is None:
        check_url(settings.database_url)
        engine = make_engine(settings.database_url, busy_timeout_s=settings.busy_timeout_s)
    runner = JobRunner(
        engine,
        settings.scenarios_dir or SCENARIOS_DIR,
        url=settings.database_url,
        workers=settings.plan_workers,
        busy_timeout_s=settings.busy_timeout_s,
    )
    state = ServerState(
        settings=settings, engine=engine, secret=signing_secret(settings), runner=runner
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.warm_layers:
            threading.Thread(
                target=map_layers.warm,
                args=(runner.scenarios_root, settings.layer_cache_dir),
                name="warm-layers",
                daemon=True,  # a stop does not wait for it; a half-built layer is not kept
            ).start()
        yield
        state.runner.shutdown()
        if owned:
            state.engine.dispose()

    app = FastAPI(
        title="relief-supply 应急物资",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.relief = state
    # The province's roads are 11 MB of GeoJSON, 1 MB compressed: a level that costs a few
    # tens of ms per layer, not the default 9 (several times that for a little less).
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=5)
    problems.install(app)
    for area in (
        auth,
        users,
        jurisdictions,
        catalogue,
        depots,
        balances,
        documents,
        plans,
        layers,
        web,
    ):
        app.include_router(area.router)
    for area in (
        aid,
        rotation,
        agreements,
        quotas,
        readiness,
        fleet,
        scenarios,
        dispatch,
        variants,
    ):
        app.include_router(area.router)
    web.install_static(app)

    @app.get("/health", tags=["health"])
    def health() -> Health:
        """Whether the server is up (no login needed)."""
        return Health(status="ok")

    return app


def app_from_env() -> FastAPI:
    """uvicorn's factory: the settings of the environment (`DATABASE_URL`...)."""
    return create_app(get_settings())
