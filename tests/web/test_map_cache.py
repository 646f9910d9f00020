"""The map's layers in the browser's own cache: compressed on the wire the first time,
then revalidated (304, no body) when the map opens again, and drawn the same."""

from typing import Any

from playwright.sync_api import Page

from tests.web.conftest import Console
from tests.web.test_console import layer_count, log_in, wait_for_map

SCENARIO = "haicheng-earthquake"


def _roads_fetch(page: Page) -> dict[str, Any]:
    """The resource timing entry of the roads layer's fetch on this page."""
    entry: dict[str, Any] = page.evaluate(
        """performance.getEntriesByType('resource')
            .filter((e) => e.name.endsWith('/layers/roads.geojson'))
            .map((e) => ({transfer: e.transferSize, encoded: e.encodedBodySize,
                          decoded: e.decodedBodySize}))[0]"""
    )
    return entry


def test_the_map_opened_again_revalidates_its_layers_instead_of_fetching_them(
    page: Page, console: Console
) -> None:
    log_in(page, console, "auditor")
    page.select_option("#scenario", SCENARIO)
    wait_for_map(page, SCENARIO)
    first = _roads_fetch(page)
    assert first["encoded"] < first["decoded"]  # sent gzip-compressed
    shelters = layer_count(page, "shelters")
    page.goto(f"{console.base}/?scenario={SCENARIO}")
    wait_for_map(page, SCENARIO)
    again = _roads_fetch(page)
    assert again["decoded"] == first["decoded"]
    assert again["transfer"] < 1000 < first["transfer"]  # a 304's headers, not the layer
    assert layer_count(page, "shelters") == shelters
