"""The map's GeoJSON layers of a scenario and of a done plan job, ready to send.

Layers are built by `optimizer.layers` (the one feature schema) and kept serialised: a
scenario's by a digest of its folder's files (and kept on disk too, so the first map after
a server restart reads a file instead of the scenario), a plan's by its job (a done job's
plan never changes). The province's roads are some 40,000 features: reading the scenario
and encoding them takes seconds, which the first map after a start must not wait for;
`warm` builds every scenario's layers when the server starts.
"""

import hashlib
import json
import logging
import os
import tempfile
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
from supply.errors import InvalidInput, SupplyError
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


@dataclass(frozen=True, slots=True)
class Layer:
    """A layer's GeoJSON bytes and its tag, which changes exactly when the bytes do (so a
    browser revalidates its copy instead of fetching megabytes again)."""

    body: bytes
    etag: str


#: Bump when `optimizer.layers` changes what a feature holds: layers kept on disk by an
#: earlier version are then built again instead of served.
SCHEMA = 1
#: Serialised layers kept (scenario and plan layers together); each is at most a few MB.
CACHE_SIZE = 32
_cache: OrderedDict[str, Layer] = OrderedDict()
T = TypeVar("T")
#: Scenarios and plan documents read (each up to tens of MB in memory).
OBJECTS_KEPT = 4
_objects: OrderedDict[tuple[object, ...], object] = OrderedDict()
_lock = threading.Lock()
_loading = threading.Lock()
#: One layer built at a time: a request arriving while `warm` builds the same layer waits
#: for it instead of building it again beside it (the GIL gains nothing from two).
_building = threading.Lock()
#: A folder's digest by its files' (name, size, modification time): not read again per map.
_digests: dict[tuple[object, ...], str] = {}
log = logging.getLogger(__name__)


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


def scenario_layer(
    root: Path, name: str, layer: ScenarioLayer, cache_dir: Path | None = None
) -> Layer:
    """A scenario's layer as GeoJSON, kept in memory and, when `cache_dir` is given, in a
    file there named by the digest of the scenario's files.

    Raises
    ------
    InvalidInput, NotFound
        `name` is no scenario folder under `root`, or its files are not a scenario.
    """
    folder = plan_jobs.scenario_folder(root, name)
    digest = _digest(folder)

    def build() -> bytes:
        problem = _problem(folder, digest)
        if layer is ScenarioLayer.DEPOTS:
            features = layers.depot_features(problem)
        elif layer is ScenarioLayer.SHELTERS:
            features = layers.shelter_features(problem)
        else:
            features = layers.road_features(problem)
        return _encode(layers.collection(features, f"{name} {layer.value}"))

    key = _key("scenario", name, digest, layer.value)
    return _cached(key, build, None if cache_dir is None else cache_dir / f"{key}.geojson")


def plan_layer(session: Session, root: Path, job_id: int, layer: PlanLayer) -> Layer:
    """A done plan job's layer as GeoJSON, placed on its scenario's map.

    Raises
    ------
    NotFound
        No such job, or its scenario is gone.
    Conflict
        The job has no plan yet (queued, running, failed or lost).
    """
    job = plan_jobs.job_by_id(session, job_id)
    folder = plan_jobs.scenario_folder(root, job.scenario)
    digest = _digest(folder)

    def build() -> bytes:
        # A province's plan is tens of MB of JSON: parsed once for its three layers.
        document = _memo(
            ("plan", job_id, job.finished_at),
            lambda: PlanDocument.model_validate(plan_jobs.plan_document(session, job_id)),
        )
        problem = _problem(folder, digest)
        if layer is PlanLayer.SHELTERS:
            where = {s.code: (s.lon, s.lat) for s in problem.shelters}
            features = layers.plan_shelter_features(document, where)
        elif layer is PlanLayer.DEPOTS:
            features = layers.source_features(document, {d.code: d.tier for d in problem.depots})
        else:
            features = layers.tour_features(document, layers.trip_paths(problem, document))
        return _encode(layers.collection(features, f"plan {job_id} {layer.value}"))

    # In memory only: a job id names a plan of one database, and a server may change it.
    return _cached(_key("plan", job_id, job.finished_at, digest, layer.value), build, None)


def warm(root: Path, cache_dir: Path | None = None) -> None:
    """Build (or read from `cache_dir`) every scenario's layers, so that the first map
    after the server starts finds them ready. A scenario that does not read is skipped:
    its map names why when asked for."""
    for entry in scenario_names(root):
        for layer in ScenarioLayer:
            try:
                scenario_layer(root, entry.name, layer, cache_dir)
            except SupplyError as error:
                log.warning("scenario %s: no %s layer: %s", entry.name, layer.value, error)
                break


def _digest(folder: Path) -> str:
    """A digest of the folder's files (names and contents): a changed, added or removed
    file changes it, whatever the files' times say."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    seen = tuple((p.name, st.st_size, st.st_mtime_ns) for p in files for st in [p.stat()])
    key = (str(folder), *seen)
    if key not in _digests:
        made = hashlib.sha256()
        for path in files:
            made.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        _digests[key] = made.hexdigest()
    return _digests[key]


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, (SCHEMA, *parts))).encode()).hexdigest()[:40]


def _problem(folder: Path, digest: str) -> Problem:
    """The scenario, read once however many layers ask at the same time (the map asks for
    three at once; reading the province takes seconds)."""
    return _memo(("scenario", str(folder), digest), lambda: load_scenario(folder)[1])


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


def _cached(key: str, build: Callable[[], bytes], file: Path | None) -> Layer:
    """The layer of `key`: from memory, else from `file`, else built (and kept in both)."""
    with _lock:
        hit = _cache.get(key)
    if hit is None:
        with _building:
            with _lock:
                hit = _cache.get(key)
            if hit is None:
                body = _read(file)
                if body is None:
                    body = build()
                    _write(file, body)
                # Weak: the same layer goes out gzip-compressed or not (RFC 9110 8.8.1).
                hit = Layer(body, f'W/"{key}"')
    with _lock:
        _cache[key] = hit
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return hit


def _read(file: Path | None) -> bytes | None:
    if file is None or not file.is_file():
        return None
    try:
        return file.read_bytes()
    except OSError as error:
        log.warning("layer cache %s unreadable, building again: %s", file, error)
        return None


def _write(file: Path | None, body: bytes) -> None:
    """Write whole or not at all (another process may read the file meanwhile); a cache
    that cannot be written is no error: the layer is served from memory."""
    if file is None:
        return
    part: Path | None = None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=file.parent, suffix=".part", delete=False) as out:
            part = Path(out.name)
            out.write(body)
        os.replace(part, file)
    except OSError as error:
        log.warning("layer cache %s not written: %s", file, error)
        if part is not None:
            part.unlink(missing_ok=True)


def _encode(data: dict[str, object]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
