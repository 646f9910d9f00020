"""The map's GeoJSON layers of a scenario and of a done plan job, ready to send.

Layers are built by `optimizer.layers` (the one feature schema) and kept serialised: a
scenario's by its folder and its files' modification times, a plan's by its job (a done
job's plan never changes). The province's roads are some 40,000 features; building and
encoding them once, not per request, is what lets the map open within its budget.
"""

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TypeVar, cast

from sqlmodel import Session

from optimizer import layers
from optimizer.plan_document import PlanDocument
from optimizer.problem import Problem
from scenarios.scenario import load_meta, load_scenario
from supply.errors import InvalidInput
from supply.services import plan_jobs


class ScenarioLayer(StrEnum):
    DEPOTS = "depots"
    SHELTERS = "shelters"
    ROADS = "roads"


class PlanLayer(StrEnum):
    SHELTERS = "shelters"
    TOURS = "tours"
    DEPOTS = "depots"


@dataclass(frozen=True, slots=True)
class ScenarioEntry:
    """A scenario the server can plan, as a chooser lists it."""

    name: str
    title_zh: str
    title_en: str


#: Serialised layers kept (scenario and plan layers together); each is at most a few MB.
CACHE_SIZE = 32
_cache: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
T = TypeVar("T")
#: Scenarios and plan documents read (each up to tens of MB in memory).
OBJECTS_KEPT = 4
_objects: OrderedDict[tuple[object, ...], object] = OrderedDict()
_lock = threading.Lock()
_loading = threading.Lock()


def scenario_names(root: Path) -> list[ScenarioEntry]:
    """The scenario folders under `root` that have a readable scenario.yaml, by name."""
    out: list[ScenarioEntry] = []
    for folder in sorted(p for p in root.iterdir() if (p / "scenario.yaml").is_file()):
        try:
            meta = load_meta(folder)
        except InvalidInput:
            continue  # a broken folder is refused when planned, not hidden from the error
        out.append(ScenarioEntry(folder.name, meta.title_zh, meta.title_en))
    return out


def scenario_layer(root: Path, name: str, layer: ScenarioLayer) -> bytes:
    """A scenario's layer as GeoJSON bytes.

    Raises
    ------
    InvalidInput, NotFound
        `name` is no scenario folder under `root`, or its files are not a scenario.
    """
    folder = plan_jobs.scenario_folder(root, name)
    stamp = _stamp(folder)

    def build() -> bytes:
        problem = _problem(folder, stamp)
        if layer is ScenarioLayer.DEPOTS:
            features = layers.depot_features(problem)
        elif layer is ScenarioLayer.SHELTERS:
            features = layers.shelter_features(problem)
        else:
            features = layers.road_features(problem)
        return _encode(layers.collection(features, f"{name} {layer.value}"))

    return _cached(("scenario", str(folder), stamp, layer), build)


def plan_layer(session: Session, root: Path, job_id: int, layer: PlanLayer) -> bytes:
    """A done plan job's layer as GeoJSON bytes, placed on its scenario's map.

    Raises
    ------
    NotFound
        No such job, or its scenario is gone.
    Conflict
        The job has no plan yet (queued, running, failed or lost).
    """
    job = plan_jobs.job_by_id(session, job_id)
    folder = plan_jobs.scenario_folder(root, job.scenario)
    stamp = _stamp(folder)

    def build() -> bytes:
        # A province's plan is tens of MB of JSON: parsed once for its three layers.
        document = _memo(
            ("plan", job_id, job.finished_at),
            lambda: PlanDocument.model_validate(plan_jobs.plan_document(session, job_id)),
        )
        problem = _problem(folder, stamp)
        if layer is PlanLayer.SHELTERS:
            where = {s.code: (s.lon, s.lat) for s in problem.shelters}
            features = layers.plan_shelter_features(document, where)
        elif layer is PlanLayer.DEPOTS:
            features = layers.source_features(document, {d.code: d.tier for d in problem.depots})
        else:
            features = layers.tour_features(document, layers.trip_paths(problem, document))
        return _encode(layers.collection(features, f"plan {job_id} {layer.value}"))

    return _cached(("plan", job_id, job.finished_at, str(folder), stamp, layer), build)


def _stamp(folder: Path) -> float:
    return max(p.stat().st_mtime for p in folder.iterdir() if p.is_file())


def _problem(folder: Path, stamp: float) -> Problem:
    """The scenario, read once however many layers ask at the same time (the map asks for
    three at once; reading the province takes seconds)."""
    return _memo(("scenario", str(folder), stamp), lambda: load_scenario(folder)[1])


def _memo(key: tuple[object, ...], make: Callable[[], T]) -> T:
    """`make()` once per key, even when several requests ask at the same time (they wait)."""
    with _loading:
        if key in _objects:
            _objects.move_to_end(key)
        else:
            _objects[key] = make()
            while len(_objects) > OBJECTS_KEPT:
                _objects.popitem(last=False)
        return cast(T, _objects[key])


def _cached(key: tuple[object, ...], build: Callable[[], bytes]) -> bytes:
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    made = build()  # outside the lock: two first requests may both build; both are equal
    with _lock:
        _cache[key] = made
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return made


def _encode(data: dict[str, object]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
