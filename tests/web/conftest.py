"""The console in a real browser: the app served by uvicorn in a thread on a free port over a
temporary SQLite ledger, driven by Playwright through Debian's Chromium (never a browser
downloaded by the test tool). Skipped, saying why, only when /usr/bin/chromium is absent;
`.ci/run` installs it.

Screenshots go to tests/web/artifacts/ (git-ignored), kept by CI as the run's artifacts.
"""

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine

from api.http import create_app
from bench.web import CHROMIUM, CHROMIUM_ARGS
from supply import migrate
from supply.db import make_engine, session_scope
from supply.models import Role
from supply.services import users
from supply.services.catalogue import ensure_default_categories
from supply.services.lookup import ensure_virtual_locations
from supply.settings import Settings
from tests.factories import make_item
from tests.http.conftest import DATA, SECRET, Api
from tests.http.test_plans import _tiny_ledger

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ROOT = Path(__file__).resolve().parents[2]
#: The scenarios the server offers: the tiny one (plans in a second) and Haicheng (roads).
SCENARIOS = {"tiny": DATA / "tiny", "haicheng-earthquake": ROOT / "scenarios/haicheng-earthquake"}
PASSWORD = "console-pass-1"

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
        allow_module_level=True,
    )


@dataclass(frozen=True)
class Console:
    """A running server: its address and a way to read the API as a user."""

    base: str
    engine: Engine

    def token(self, username: str) -> str:
        answer = httpx.post(
            f"{self.base}/auth/token", data={"username": username, "password": PASSWORD}
        )
        answer.raise_for_status()
        token: str = answer.json()["access_token"]
        return token

    def get(self, path: str, username: str = "admin") -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token(username)}"}
        return httpx.get(f"{self.base}{path}", headers=headers, timeout=60)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    """The app over a migrated SQLite ledger holding the tiny scenario's depot and stock,
    and a user per role (password PASSWORD)."""
    tmp = tmp_path_factory.mktemp("console")
    root = tmp / "scenarios"
    root.mkdir()
    for name, folder in SCENARIOS.items():
        shutil.copytree(folder, root / name)
    url = f"sqlite:///{tmp / 'ledger.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with session_scope(engine) as session:
        ensure_virtual_locations(session)
        ensure_default_categories(session)
        for role in Role:
            name = "admin" if role is Role.ADMIN else role.value
            users.add_user(session, username=name, role=role, password=PASSWORD)
        make_item(session, "WATER")  # the tiny scenario's other item; _tiny_ledger adds QUILT
    settings = Settings(
        database_url=url,
        **{
            "RELIEF_JWT_SECRET": SECRET,
            "RELIEF_SCENARIOS_DIR": str(root),
            "RELIEF_LAYER_CACHE_DIR": str(tmp / "layers"),
        },
    )
    app = create_app(settings, engine=engine)
    _tiny_ledger(Api(app=app, engine=engine))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):  # a bound on tries, not a timing assertion
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield Console(base=f"http://127.0.0.1:{port}", engine=engine)
    server.should_exit = True
    thread.join(timeout=30)
    engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        made = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield made
        made.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab with its own sessionStorage (so every test logs in itself)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
