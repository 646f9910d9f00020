"""The map's layers as GeoJSON (RFC 7946): a scenario's depots, shelters and roads, and a
done plan's shelters by coverage, truck tours and depots. QGIS opens the same URLs the
console draws (Authorization header, `application/geo+json`)."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.http.deps import Reader, ReadSession, StateDep
from api.http.etags import matches
from api.http.problems import problem_responses
from supply.services import map_layers
from supply.services.map_layers import Layer, PlanLayer, ScenarioLayer

router = APIRouter(tags=["layers 一张图"])

GEOJSON = "application/geo+json"
ScenarioName = Annotated[str, Path(min_length=1, max_length=64, examples=["haicheng-earthquake"])]
JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]
IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=200,
        description="The `ETag` of the copy the client holds: 304 when it is still current.",
    ),
]
_GEOJSON_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"content": {GEOJSON: {}}, "description": "A FeatureCollection."},
    304: {"description": "The client's copy (`If-None-Match`) is still current."},
}
#: The browser keeps a layer but asks each time whether it changed (`private`: the answer
#: depends on who is logged in).
_CACHING = {"Cache-Control": "private, no-cache"}


def _answer(layer: Layer, if_none_match: str | None) -> Response:
    headers = {**_CACHING, "ETag": layer.etag}
    if matches(if_none_match, layer.etag):
        return Response(status_code=304, headers=headers)
    return Response(layer.body, media_type=GEOJSON, headers=headers)


@router.get(
    "/scenarios/{name}/layers/{layer}.geojson",
    response_class=Response,
    responses={**_GEOJSON_ANSWER, **problem_responses(401, 403, 404, 422)},
)
async def scenario_layer(
    _user: Reader,
    state: StateDep,
    name: ScenarioName,
    layer: ScenarioLayer,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """A scenario's depots (with agreement suppliers; stock by lot), shelters or roads (by
    status: open, damaged, closed)."""
    root = state.runner.scenarios_root
    cache = state.settings.layer_cache_dir
    found = await run_in_threadpool(map_layers.scenario_layer, root, name, layer, cache)
    return _answer(found, if_none_match)


@router.get(
    "/plans/{job_id}/layers/{layer}.geojson",
    response_class=Response,
    responses={**_GEOJSON_ANSWER, **problem_responses(401, 403, 404, 409, 422)},
)
def plan_layer(
    _user: Reader,
    session: ReadSession,
    state: StateDep,
    job_id: JobId,
    layer: PlanLayer,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """A done plan job's shelters (coverage: on_time, late, unmet, unreachable; needs,
    arrivals, reasons), truck tours (one line per vehicle trip along the roads, stops in
    order with arrival hours and loads) or depots (what each holds and ships); 409 before
    the job is done."""
    found = map_layers.plan_layer(session, state.runner.scenarios_root, job_id, layer)
    return _answer(found, if_none_match)
