"""The map's layers over HTTP: GeoJSON of a scenario and of a done plan job, refusals as
problems (unknown scenario or layer, a plan not done yet)."""

import pytest
from sqlmodel import Session

from api.http.routes.layers import GEOJSON
from scenarios.paths import SCENARIOS_DIR
from tests.http.conftest import Api, is_problem, new_job
from tests.http.test_plans import _finished
from tests.optimizer.test_layers import check_layer


def test_a_scenarios_layers_are_geojson_with_every_shelter(api: Api) -> None:
    answer = api.client("auditor").get("/scenarios/tiny/layers/shelters.geojson")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == GEOJSON
    body = answer.json()
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == ["SH-A", "SH-B"]
    assert {f["properties"]["coverage"] for f in body["features"]} == {"unplanned"}
    depots = api.client("auditor").get("/scenarios/tiny/layers/depots.geojson").json()
    assert [f["id"] for f in depots["features"]] == ["depot:CTY"]
    lots = depots["features"][0]["properties"]["lots"]
    assert {(r["lot"], r["qty"]) for r in lots} == {("W1", 200), ("Q1", 300)}


def test_unknown_scenarios_and_layers_are_problems(api: Api) -> None:
    client = api.client("auditor")
    assert is_problem(client.get("/scenarios/no-such/layers/roads.geojson"), 404)
    assert is_problem(client.get("/scenarios/tiny/layers/rivers.geojson"), 422)
    assert is_problem(client.get("/plans/1/layers/tours.geojson"), 404)


def test_a_plan_not_done_has_no_layers(api: Api) -> None:
    with Session(api.engine) as session:
        job_id = new_job(session)
        session.commit()
    answer = api.client("auditor").get(f"/plans/{job_id}/layers/shelters.geojson")
    assert is_problem(answer, 409)


def test_a_done_plans_layers_show_its_coverage_tours_and_shipments(api: Api) -> None:
    """A routed plan of the tiny scenario: a shelter per plan shelter with its class and
    reasons, a line per vehicle trip with its stops, each depot with what it shipped."""
    client = api.client("dispatcher")
    queued = client.post(
        "/plans", json={"scenario": "tiny", "from_ledger": False, "routes": True, "time_limit_s": 5}
    )
    job = _finished(api, queued.json()["id"])
    assert job["status"] == "done", job
    document = client.get(f"/plans/{job['id']}/plan").json()
    base = f"/plans/{job['id']}/layers"
    shelters = {
        f["id"]: f["properties"] for f in client.get(f"{base}/shelters.geojson").json()["features"]
    }
    for s in document["shelters"]:
        assert shelters[s["code"]]["reasons"] == s["reasons"]
        assert (shelters[s["code"]]["coverage"] == "on_time") == s["served_on_time"]
    assert any(p["coverage"] == "unmet" for p in shelters.values())
    tours = client.get(f"{base}/tours.geojson").json()["features"]
    trips = [(r["vehicle"], t["trip"], t["stops"]) for r in document["routes"] for t in r["trips"]]
    assert [
        (f["properties"]["vehicle"], f["properties"]["trip"], f["properties"]["stops"])
        for f in tours
    ] == trips
    check_layer(client.get(f"{base}/tours.geojson").json(), "LineString")
    check_layer(client.get(f"{base}/shelters.geojson").json(), "Point")
    check_layer(client.get(f"{base}/depots.geojson").json(), "Point")
    depots = client.get(f"{base}/depots.geojson").json()["features"]
    shipped = sum(s["qty"] for s in document["shipments"] if s["source_kind"] == "depot")
    assert (
        sum(f["properties"]["shipped_qty"] for f in depots if f["properties"]["kind"] == "depot")
        == shipped
    )


def test_a_layer_is_sent_compressed_once_and_then_revalidated(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Haicheng's roads as QGIS and the browser get them: RFC 7946, gzip when the client
    takes it, an ETag, and 304 with no body while the client's copy is current."""
    monkeypatch.setattr(api.app.state.relief.runner, "scenarios_root", SCENARIOS_DIR)
    client = api.client("auditor")
    path = "/scenarios/haicheng-earthquake/layers/roads.geojson"
    packed = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert packed.status_code == 200, packed.text
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["cache-control"] == "private, no-cache"
    check_layer(packed.json(), "LineString")
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == packed.content  # httpx unpacked the first
    assert packed.num_bytes_downloaded * 3 < len(plain.content)  # sent compressed
    tag = packed.headers["etag"]
    assert plain.headers["etag"] == tag
    same = client.get(path, headers={"If-None-Match": tag})
    assert same.status_code == 304
    assert same.content == b""
    assert same.headers["etag"] == tag
    other = client.get(path, headers={"If-None-Match": '"an-older-version"'})
    assert other.status_code == 200
    for layer in ("depots", "shelters"):
        points = client.get(f"/scenarios/haicheng-earthquake/layers/{layer}.geojson")
        check_layer(points.json(), "Point")
        assert points.headers["etag"] != tag
