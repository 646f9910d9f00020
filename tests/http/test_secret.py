"""The secret that signs access tokens: generated once for a SQLite ledger, required for
PostgreSQL."""

import stat
from pathlib import Path

import pytest

from api.http.auth import secret_file, signing_secret
from supply.errors import InvalidInput
from supply.settings import Settings


def test_sqlite_secret_is_generated_once_beside_the_ledger(tmp_path: Path) -> None:
    """The first call writes a private file next to the ledger; later calls read it."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'relief.db'}")
    settings.jwt_secret = None  # whatever the environment of the test run says
    first = signing_secret(settings)
    path = secret_file(settings.database_url)
    assert path == tmp_path / "relief.db.jwt-secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing_secret(settings) == first
    assert len(first) >= 32


def test_postgresql_without_secret_is_refused() -> None:
    """A server database shared by workers needs RELIEF_JWT_SECRET set."""
    settings = Settings(database_url="postgresql+psycopg://relief@db/relief")
    settings.jwt_secret = None
    with pytest.raises(InvalidInput, match="RELIEF_JWT_SECRET"):
        signing_secret(settings)


def test_set_secret_wins(tmp_path: Path) -> None:
    """RELIEF_JWT_SECRET is used as given, and no file is written."""
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'relief.db'}", **{"RELIEF_JWT_SECRET": "k" * 40}
    )
    assert signing_secret(settings) == "k" * 40
    assert not (tmp_path / "relief.db.jwt-secret").exists()
