"""The console's pages: server-rendered shells (labels in the chosen language) whose
scripts read the API with the user's token.

The token lives in the tab's sessionStorage, not in a cookie: the API takes bearer tokens
only, so a cookie would need a second way to authenticate every route and CSRF protection
beside it, while a bearer token in sessionStorage is never sent by the browser on its own
(no CSRF) and is gone when the tab closes. Its risk is script injection, which the pages
answer with a Content-Security-Policy allowing scripts from this server only (no inline
script, no CDN) and by never writing API data into the page as HTML.
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import xstatic.pkg.leaflet
from fastapi import APIRouter, Cookie, FastAPI, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from api.http.deps import StateDep
from api.http.web.messages import LOCALES, MESSAGES, lang_of
from supply.services.map_layers import scenario_names
from supply.services.printing import page_style_source

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

LANG_COOKIE = "relief_lang"
#: Scripts, styles and images from this server only; tiles also from the intranet server.
#: A printed document the keeper opens (a blob: page, under this policy) brings its own
#: inline stylesheet, allowed by its hash and nothing else.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' {print_style}; "
    "img-src 'self' data: {tiles}; connect-src 'self'; frame-ancestors 'none'"
)
LangQuery = Annotated[str | None, Query(pattern="^(zh|en)$")]
LangCookie = Annotated[str | None, Cookie(alias=LANG_COOKIE)]


def install_static(app: FastAPI) -> None:
    """Serve the console's own files and Leaflet's (from the xstatic-leaflet package)."""
    app.mount("/static/console", StaticFiles(directory=HERE / "static"), name="console")
    app.mount(
        "/static/leaflet",
        StaticFiles(directory=xstatic.pkg.leaflet.BASE_DIR),
        name="leaflet",
    )


def _page(
    request: Request, state: StateDep, template: str, lang: str | None, cookie: str | None
) -> HTMLResponse:
    chosen = lang_of(lang or cookie)
    tiles = state.settings.tile_url
    config = {
        "lang": chosen,
        "locale": LOCALES[chosen],
        "messages": MESSAGES[chosen],
        "tile_url": tiles,
    }
    answer = templates.TemplateResponse(
        request,
        template,
        {
            "t": MESSAGES[chosen],
            "lang": chosen,
            "other": "en" if chosen == "zh" else "zh",
            # Inside <script type="application/json">: "</" must not close the element.
            "config": json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
            "scenarios": scenario_names(state.runner.scenarios_root),
        },
    )
    origin = _origin(tiles) if tiles else ""
    answer.headers["Content-Security-Policy"] = _CSP.format(
        tiles=origin, print_style=page_style_source()
    ).replace("  ", " ")
    if lang:
        answer.set_cookie(LANG_COOKIE, chosen, samesite="strict", max_age=365 * 24 * 3600)
    return answer


def _origin(url: str) -> str:
    """The scheme and host of a tile URL template, for the page's image sources."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}" if rest else ""


#: Each page and its template; all take the same parameters.
PAGES = {
    "/": "map.html",
    "/login": "login.html",
    "/dispatch": "dispatch.html",
    "/keeper": "keeper.html",
    "/planner": "planner.html",
}


def _route(template: str) -> Callable[..., HTMLResponse]:
    def page(
        request: Request, state: StateDep, lang: LangQuery = None, cookie: LangCookie = None
    ) -> HTMLResponse:
        return _page(request, state, template, lang, cookie)

    return page


for _path, _template in PAGES.items():
    router.add_api_route(_path, _route(_template), methods=["GET"], response_class=HTMLResponse)
