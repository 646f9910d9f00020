"""The HTTP API (FastAPI), one router per area in `routes/`."""

from api.http.app import app_from_env, create_app

__all__ = ["app_from_env", "create_app"]
