"""Running the Alembic migrations from code (the CLI, the demo, the tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection


def _script_location() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "migrations", here.parent / "alembic"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("the alembic migrations folder is missing from this install")


def alembic_config(url: str, connection: Connection | None = None) -> Config:
    """A config for `url`; pass `connection` to migrate over it (tests use a schema)."""
    config = Config()
    config.set_main_option("script_location", str(_script_location()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(url: str, revision: str = "head", *, connection: Connection | None = None) -> None:
    command.upgrade(alembic_config(url, connection), revision)


def downgrade(url: str, revision: str = "base", *, connection: Connection | None = None) -> None:
    command.downgrade(alembic_config(url, connection), revision)
