"""The console's pages as HTML (no browser): outside the OpenAPI, Chinese by default with
the language kept in a cookie, scripts from the server only, the intranet tile server
passed to the map and allowed as an image source."""

import json
import re

from fastapi.testclient import TestClient

from api.http import create_app
from api.http.web.messages import MESSAGES
from supply.settings import Settings
from tests.http.conftest import DATA, SECRET, Api

TILES = "https://tiles.bureau.example/{z}/{x}/{y}.png"


def _config(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="config">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_pages_are_chinese_first_and_remember_english(api: Api) -> None:
    client = api.client()
    for path in ("/", "/login", "/dispatch", "/keeper"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert MESSAGES["zh"]["nav_map"] in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
    english = client.get("/?lang=en")
    assert MESSAGES["en"]["layer_shelters"] in english.text
    assert _config(english.text)["locale"] == "en-GB"
    # The cookie keeps the choice for the next page.
    assert MESSAGES["en"]["nav_dispatch"] in client.get("/dispatch").text
    assert client.get("/?lang=fr").status_code == 422


def test_pages_are_not_in_the_openapi(api: Api) -> None:
    paths = api.app.openapi()["paths"]
    assert not {"/", "/login", "/dispatch", "/keeper"} & set(paths)


def test_the_tile_setting_reaches_the_map_and_its_image_sources(api: Api) -> None:
    assert _config(api.client().get("/").text)["tile_url"] is None
    settings = Settings(
        database_url=str(api.engine.url),
        **{
            "RELIEF_JWT_SECRET": SECRET,
            "RELIEF_SCENARIOS_DIR": str(DATA),
            "RELIEF_TILE_URL": TILES,
        },
    )
    app = create_app(settings, engine=api.engine)
    try:
        page = TestClient(app).get("/")
        assert _config(page.text)["tile_url"] == TILES
        assert (
            "img-src 'self' data: https://tiles.bureau.example;"
            in (page.headers["content-security-policy"])
        )
    finally:
        app.state.relief.runner.shutdown()


def test_leaflet_is_served_from_the_installed_package(api: Api) -> None:
    answer = api.client().get("/static/leaflet/leaflet.js")
    assert answer.status_code == 200
    assert "Leaflet" in answer.text[:500]
