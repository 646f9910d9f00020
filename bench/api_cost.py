"""What one API request costs the server: CPU time and SQL statements (`bench api --cost`).

At 16 clients on two cores shared by the clients, the server and the database, a request's
p95 is mostly the queue in front of it: about (requests in flight) x (CPU per request). The
CPU a request costs is the lever, and unlike latency it can be measured on a busy machine:
the app runs in this process behind httpx's ASGI transport (no sockets, no HTTP parser:
those belong to uvicorn and are the same for every route), each phase is run in rounds and
the least CPU per request of the rounds is kept (other jobs only ever add to it).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
from sqlalchemy import event

from api.http.app import create_app
from supply.settings import Settings

#: Rounds per phase; the cheapest is reported.
ROUNDS = 5

Call = Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]


async def _phase(
    client: httpx.AsyncClient, call: Call, requests: int, sent: list[str]
) -> dict[str, Any]:
    """Least CPU ms per request over the rounds, statements of one request, errors."""
    failed = 0
    for n in range(3):  # warm: the first requests create rows and fill caches
        if not (await call(client, n)).is_success:
            failed += 1
    sent.clear()
    if not (await call(client, 0)).is_success:
        failed += 1
    statements = len(sent)
    best = float("inf")
    for _ in range(ROUNDS):
        began = time.process_time()
        for n in range(requests):
            if not (await call(client, n)).is_success:
                failed += 1
        best = min(best, (time.process_time() - began) / requests * 1000)
    return {"cpu_ms": best, "statements": statements, "errors": failed}


def measure_cost(
    url: str, token: str, calls: Mapping[str, Call], *, requests: int, secret: str
) -> list[dict[str, Any]]:
    """Each of `calls` against the app over `url`, as `token`'s user; one row each."""
    settings = Settings(database_url=url).model_copy(update={"jwt_secret": secret})
    app = create_app(settings)
    engine = app.state.relief.engine
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)

    async def run() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://bench",
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            return [
                {"operation": label, **await _phase(client, call, requests, sent)}
                for label, call in calls.items()
            ]

    try:
        return asyncio.run(run())
    finally:
        app.state.relief.runner.shutdown()
        engine.dispose()
