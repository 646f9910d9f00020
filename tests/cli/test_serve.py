"""`relief serve`: refuses what it cannot serve before starting, reports the plan jobs the
last server lost, and hands uvicorn the app factory (uvicorn itself is not started here)."""

from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from api.cli.main import app
from api.http.nodelay import NoDelayHttpToolsProtocol
from supply.db import make_engine, session_scope
from supply.models import JobStatus
from supply.services import plan_jobs
from supply.settings import get_settings
from tests.cli.harness import Relief
from tests.http.conftest import new_job


@pytest.fixture(autouse=True)
def _settings_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`relief serve` puts --db into DATABASE_URL for its workers, and re-reads the
    settings: both are put back after each test."""
    monkeypatch.setenv("DATABASE_URL", "sqlite:///unused.db")
    monkeypatch.delenv("RELIEF_JWT_SECRET", raising=False)
    yield
    get_settings.cache_clear()


def test_serve_postgresql_without_secret_is_refused(
    relief: Relief, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without RELIEF_JWT_SECRET a PostgreSQL server is refused in one line, exit 2."""
    started: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append((a, k)))
    result = relief.runner.invoke(
        app, ["serve", "--db", "postgresql+psycopg://relief@127.0.0.1:1/none"]
    )
    assert result.exit_code == 2
    assert "RELIEF_JWT_SECRET" in result.stderr
    assert started == []


def test_serve_marks_lost_jobs_and_starts_the_factory(
    relief: Relief, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job left running by the last server is marked lost; uvicorn gets the factory, the
    host, port, workers and access log asked for, and the protocol (httptools) that turns
    Nagle off."""
    engine = make_engine(relief.url)
    with session_scope(engine) as session:
        job_id = new_job(session, "wang")
        plan_jobs.start(session, job_id)
    started: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append((a, k)))
    result = relief(
        "serve", "--host", "0.0.0.0", "--port", "8123", "--workers", "2", "--no-access-log"
    )
    assert result.exit_code == 0, result.stderr
    assert "1 plan job(s) were queued or running" in result.stderr
    assert started == [
        (
            ("api.http:app_from_env",),
            {
                "factory": True,
                "host": "0.0.0.0",
                "port": 8123,
                "workers": 2,
                "http": NoDelayHttpToolsProtocol,
                "access_log": False,
            },
        )
    ]
    with session_scope(engine) as session:
        assert plan_jobs.job_by_id(session, job_id).status == JobStatus.LOST
    engine.dispose()
    assert relief.db_file.with_name(relief.db_file.name + ".jwt-secret").exists()
