"""The map's GeoJSON layers: RFC 7946 shape, one geometry type per layer, stable ids,
coverage classes from the plan's own figures, and tours drawn along the roads."""

from typing import Any

import pytest
from geojson_pydantic import Feature, FeatureCollection, LineString, Point

from optimizer import layers
from optimizer.layers import Coverage, coverage_of
from optimizer.plan_document import ItemCoverageDoc, PlanDocument, ShelterDoc
from scenarios.paths import BUNDLED
from scenarios.scenario import load_scenario
from tests.optimizer import instances as inst
from tests.optimizer.test_route import routed

#: Each layer's one geometry, as geojson-pydantic models it.
GEOMETRIES: dict[str, type[Point] | type[LineString]] = {"Point": Point, "LineString": LineString}


def check_layer(collection: dict[str, Any], geometry: str) -> None:
    """RFC 7946: a FeatureCollection of `geometry` only (geojson-pydantic's models of the
    RFC), no `crs` member (WGS 84 is implied), ids unique, [lon, lat] within range, at
    most 6 decimals."""
    FeatureCollection[Feature[GEOMETRIES[geometry], dict[str, Any]]].model_validate(collection)
    assert "crs" not in collection
    ids = [f["id"] for f in collection["features"]]
    assert len(set(ids)) == len(ids)
    for f in collection["features"]:
        assert "crs" not in f
        assert "crs" not in f["geometry"]
        coords = f["geometry"]["coordinates"]
        for lon, lat in [coords] if geometry == "Point" else coords:
            assert -180 <= lon <= 180
            assert -90 <= lat <= 90
            assert round(lon, 6) == lon
            assert round(lat, 6) == lat


def test_a_scenarios_layers_hold_every_depot_shelter_and_road() -> None:
    _meta, problem = load_scenario(BUNDLED)
    depots = layers.collection(layers.depot_features(problem), "depots")
    shelters = layers.collection(layers.shelter_features(problem), "shelters")
    roads = layers.collection(layers.road_features(problem), "roads")
    check_layer(depots, "Point")
    check_layer(shelters, "Point")
    check_layer(roads, "LineString")
    assert len(depots["features"]) == len(problem.depots) + len(problem.agreements)
    assert {f["id"] for f in shelters["features"]} == {s.code for s in problem.shelters}
    assert len(roads["features"]) == len(problem.roads)
    # Haicheng's closed bridge and damaged roads are there, by status.
    statuses = {f["properties"]["status"] for f in roads["features"]}
    assert statuses == {"open", "damaged", "closed"}
    stock = {f["properties"]["code"]: f["properties"]["stock_qty"] for f in depots["features"]}
    first = problem.depots[0].code
    assert stock[first] == sum(lot.qty for lot in problem.lots if lot.depot == first)
    # [lon, lat], not the CSV's lat, lon: each shelter where the scenario puts it.
    where = {f["id"]: f["geometry"]["coordinates"] for f in shelters["features"]}
    assert all(where[s.code] == [round(s.lon, 6), round(s.lat, 6)] for s in problem.shelters)
    ends = {(n.id): [round(n.lon, 6), round(n.lat, 6)] for n in problem.nodes}
    first_road = problem.roads[0]
    assert roads["features"][0]["geometry"]["coordinates"] == [
        ends[first_road.a],
        ends[first_road.b],
    ]
    # The same scenario gives the same ids: QGIS and the console can join on them.
    again = layers.road_features(load_scenario(BUNDLED)[1])
    assert [f["id"] for f in again] == [f["id"] for f in roads["features"]]
    assert [f["id"] for f in layers.depot_features(load_scenario(BUNDLED)[1])] == [
        f["id"] for f in depots["features"]
    ]


def test_a_layer_of_mixed_geometries_is_not_rfc7946_for_the_check() -> None:
    """The check refuses what a layer must not be: a point among lines, a `crs` member."""
    _meta, problem = load_scenario(BUNDLED)
    roads = layers.road_features(problem)[:3]
    shelter = layers.shelter_features(problem)[0]
    with pytest.raises(ValueError, match="LineString"):
        check_layer(layers.collection([*roads, shelter], "mixed"), "LineString")
    with pytest.raises(AssertionError):
        check_layer({**layers.collection(roads, "roads"), "crs": {"type": "name"}}, "LineString")


def _shelter(reasons: list[str], on_time: int, late: int, need: int = 10) -> ShelterDoc:
    item = ItemCoverageDoc(
        item="W", need=need, on_time=on_time, late=late, unmet=need - on_time - late
    )
    return ShelterDoc(code="S", served_on_time=on_time >= need, items=[item], reasons=reasons)


@pytest.mark.parametrize(
    ("shelter", "expected"),
    [
        (_shelter([], 10, 0), Coverage.ON_TIME),
        (_shelter(["deadline: ..."], 4, 6), Coverage.LATE),
        (_shelter(["shortage: ..."], 4, 2), Coverage.UNMET),
        (
            _shelter(["unreachable: every road to the shelter is closed"], 0, 0),
            Coverage.UNREACHABLE,
        ),
    ],
)
def test_a_shelters_coverage_class_follows_its_figures(
    shelter: ShelterDoc, expected: Coverage
) -> None:
    assert coverage_of(shelter) is expected


def test_a_stored_plans_tours_are_drawn_along_the_roads_as_the_planner_drew_them() -> None:
    """The plan document has no polylines; the layer redraws each trip on the scenario's
    roads, the same line the planner drew (around the closed road, through FAR)."""
    problem = inst.closed_road()
    plan = routed(problem)
    document = PlanDocument.model_validate(plan.to_dict())
    paths = layers.trip_paths(problem, document)
    drawn = {(r.vehicle, t.trip): t.path for r in plan.routes for t in r.trips}
    assert paths == drawn
    tours = layers.collection(layers.tour_features(document, paths), "tours")
    check_layer(tours, "LineString")
    assert len(tours["features"]) == sum(len(r.trips) for r in plan.routes)
    stops = tours["features"][0]["properties"]["stops"]
    assert [s["shelter"] for s in stops] == ["S"]
    assert stops[0]["arrival_hours"] is not None
    assert stops[0]["loads"]


def test_plan_geojson_is_built_from_the_layers_features() -> None:
    """plan.geojson holds the layers' shelter and tour features (one schema)."""
    problem = inst.closed_road()
    plan = routed(problem)
    document = PlanDocument.model_validate(plan.to_dict())
    where = {s.code: (s.lon, s.lat) for s in problem.shelters}
    features = plan.to_geojson()["features"]
    shelters = [f for f in features if f["properties"]["kind"] == "shelter"]
    assert shelters == layers.plan_shelter_features(document, where)
