"""Runtime settings, read from the environment (and `.env`) only when first asked for."""

from functools import lru_cache
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    """A SQLite file in the user's data folder, so a keeper needs no server to start."""
    folder = Path(user_data_dir("relief-supply", appauthor=False))
    return f"sqlite:///{folder / 'relief.db'}"


class Settings(BaseSettings):
    """Everything configurable about a relief-supply process.

    `database_url` is any SQLAlchemy URL; PostgreSQL via `postgresql+psycopg://...`.
    """

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    actor: str = Field(default="system", description="Who is recorded as posting documents.")
    busy_timeout_s: float = Field(
        default=60.0,
        gt=0,
        validation_alias="RELIEF_BUSY_TIMEOUT_S",
        description="How long a SQLite writer waits for another writer before giving up.",
    )
    jwt_secret: str | None = Field(
        default=None,
        min_length=32,
        validation_alias="RELIEF_JWT_SECRET",
        description="Signs the server's access tokens. Required on PostgreSQL; on a SQLite "
        "file one is generated beside the ledger when absent (`api.http.auth`).",
    )
    access_token_minutes: int = Field(
        default=30,
        gt=0,
        le=24 * 60,
        validation_alias="RELIEF_ACCESS_TOKEN_MINUTES",
        description="How long a logged-in user's access token lasts.",
    )
    scenarios_dir: Path | None = Field(
        default=None,
        validation_alias="RELIEF_SCENARIOS_DIR",
        description="Where the server finds the scenarios a plan job names (default: the "
        "bundled ones).",
    )
    plan_workers: int = Field(
        default=1,
        ge=1,
        le=16,
        validation_alias="RELIEF_PLAN_WORKERS",
        description="Plan jobs one server process runs at once (each uses a core or more).",
    )
    tile_url: str | None = Field(
        default=None,
        max_length=500,
        validation_alias="RELIEF_TILE_URL",
        description="An intranet map tile server for the console's base layer, as Leaflet "
        "takes it (`https://tiles.bureau/{z}/{x}/{y}.png`); none: the road network alone "
        "(nothing is loaded from outside).",
    )
    layer_cache_dir: Path = Field(
        default_factory=lambda: Path(user_cache_dir("relief-supply", appauthor=False)) / "layers",
        validation_alias="RELIEF_LAYER_CACHE_DIR",
        description="Where the server keeps the map's scenario layers, built once per "
        "version of a scenario's files (any file here may be deleted; it is built again).",
    )
    warm_layers: bool = Field(
        default=True,
        validation_alias="RELIEF_WARM_LAYERS",
        description="Build every scenario's map layers when the server starts (in the "
        "background), so that the first map opened does not wait for them.",
    )


@lru_cache
def get_settings() -> Settings:
    return Settings()
