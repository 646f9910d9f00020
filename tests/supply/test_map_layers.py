"""The map's scenario layers kept between requests and between server starts: built once
per version of a scenario's files, read from the cache folder after a restart, built
again when a file changes, and all built in advance by `warm`."""

import csv
import shutil
from collections import OrderedDict
from pathlib import Path

import pytest

from scenarios.paths import SCENARIOS_DIR
from supply.services import map_layers
from supply.services.map_layers import ScenarioLayer

SCENARIO = "haicheng-earthquake"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A server's scenarios folder holding a copy of one bundled scenario."""
    shutil.copytree(SCENARIOS_DIR / SCENARIO, tmp_path / "scenarios" / SCENARIO)
    return tmp_path / "scenarios"


def _restart(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a new server process starts with: nothing in memory."""
    monkeypatch.setattr(map_layers, "_cache", OrderedDict())
    monkeypatch.setattr(map_layers, "_objects", OrderedDict())


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A server's layer cache folder (empty), and a server that has just started."""
    _restart(monkeypatch)
    return tmp_path / "cache"


def test_a_scenarios_layer_is_read_from_the_cache_folder_after_a_restart(
    root: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = map_layers.scenario_layer(root, SCENARIO, ScenarioLayer.ROADS, cache)
    assert len(list(cache.glob("*.geojson"))) == 1

    def unread(folder: Path) -> None:
        raise AssertionError(f"{folder} read again although its layer is in the cache")

    _restart(monkeypatch)
    monkeypatch.setattr(map_layers, "load_scenario", unread)
    again = map_layers.scenario_layer(root, SCENARIO, ScenarioLayer.ROADS, cache)
    assert again == built


def test_a_changed_scenario_file_changes_its_layer_and_tag(root: Path, cache: Path) -> None:
    before = map_layers.scenario_layer(root, SCENARIO, ScenarioLayer.SHELTERS, cache)
    path = root / SCENARIO / "shelters.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    rows[0]["residents"] = str(int(rows[0]["residents"]) + 1)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    after = map_layers.scenario_layer(root, SCENARIO, ScenarioLayer.SHELTERS, cache)
    assert after.etag != before.etag
    assert f'"residents":{rows[0]["residents"]}'.encode() in after.body
    assert f'"residents":{rows[0]["residents"]}'.encode() not in before.body


def test_warm_builds_every_scenarios_layers_and_skips_a_broken_one(root: Path, cache: Path) -> None:
    broken = root / "broken"
    shutil.copytree(root / SCENARIO, broken)
    (broken / "shelters.csv").write_text("code,name,lat,lon,residents\nX,x,north,1,2\n", "utf-8")
    map_layers.warm(root, cache)
    assert len(list(cache.glob("*.geojson"))) == len(ScenarioLayer)
    with pytest.raises(map_layers.SupplyError):
        map_layers.scenario_layer(root, "broken", ScenarioLayer.SHELTERS, cache)


def test_a_cache_folder_that_cannot_be_written_still_serves_the_layer(
    root: Path, cache: Path
) -> None:
    blocked = cache.parent / "a-file"
    blocked.write_text("not a folder", "utf-8")
    layer = map_layers.scenario_layer(root, SCENARIO, ScenarioLayer.DEPOTS, blocked / "cache")
    assert layer.body.startswith(b'{"type":"FeatureCollection"')
