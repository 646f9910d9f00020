"""Running the Alembic migrations from code (the CLI, the demo, the tests)."""

from pathlib import Path

from alembic.config import Config

from alembic import command


def _script_location() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "migrations", here.parent / "alembic"):
        if (candidate / "env.py").exists():
            return candidate
    raise FileNotFoundError("the alembic migrations folder is missing from this install")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_script_location()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
