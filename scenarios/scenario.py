"""Loading a disaster scenario folder into an `optimizer.Problem`, validating every row.

Each file is read like any keeper's file (`supply.sheets`): CSV in UTF-8 or GBK, or an .xlsx
workbook of the same name instead (`shelters.xlsx` for `shelters.csv`). Errors name the place:
`file:line: column: reason`. Cross-references (an unknown item in
norms, a road to an unknown node, a duplicate code) are checked after the rows parse.
"""

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from optimizer.problem import (
    FIRST_BATCH_HOURS,
    Agreement,
    Depot,
    ItemSpec,
    Lot,
    Node,
    Norm,
    Per,
    Problem,
    Road,
    RoadStatus,
    Shelter,
    VehicleType,
)
from scenarios.paths import BUNDLED as BUNDLED
from scenarios.paths import SAMPLE_DIR as SAMPLE_DIR
from scenarios.paths import SCENARIOS_DIR as SCENARIOS_DIR
from supply.errors import InvalidInput
from supply.sheets import read_rows


class ScenarioError(InvalidInput):
    """A scenario folder that cannot be planned; the message says where and why."""


class Disaster(BaseModel):
    kind: str
    time: datetime


class ScenarioMeta(BaseModel):
    name: str = Field(min_length=1)
    title_zh: str = ""
    title_en: str = ""
    description: str = ""
    disaster: Disaster
    deadline_hours: float = Field(default=10.0, gt=0)
    horizon_days: int = Field(default=1, ge=1)
    time_limit_s: float = Field(default=10.0, gt=0)
    #: Hours within which each depot tier's first batch should arrive (2024 guidance:
    #: county 6, city 8, province 10); a scenario may set its own.
    first_batch_hours: dict[str, float] = Field(default_factory=lambda: dict(FIRST_BATCH_HOURS))

    @field_validator("first_batch_hours")
    @classmethod
    def _positive_hours(cls, value: dict[str, float]) -> dict[str, float]:
        for tier, hours in value.items():
            if hours <= 0:
                raise ValueError(f"{tier}: hours must be positive")
        return value


class _Item(BaseModel):
    code: str
    name_zh: str
    name_en: str
    category: str
    unit: str
    unit_weight_kg: float = Field(ge=0)
    unit_volume_m3: float = Field(ge=0)


class _Norm(BaseModel):
    item: str
    per_person: float = Field(gt=0)
    per: Per
    priority: int = Field(ge=1)
    critical: bool


class _Depot(BaseModel):
    code: str
    name: str
    tier: Literal["province", "city", "county", "township", "village"]
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    loading_hours: float = Field(ge=0)


class _Stock(BaseModel):
    depot: str
    item: str
    lot: str
    qty: int = Field(ge=0)
    expires_on: Any = None  # a date or blank

    @field_validator("expires_on")
    @classmethod
    def _date(cls, value: Any) -> Any:
        from datetime import date

        return None if value is None else date.fromisoformat(str(value))


class _Agreement(BaseModel):
    code: str
    supplier: str
    item: str
    qty: int = Field(ge=0)
    lead_time_hours: float = Field(ge=0)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


#: More residents than the largest shelter (a stadium) holds: a figure above it is a typo.
MAX_SHELTER_RESIDENTS = 200_000


class _Shelter(BaseModel):
    code: str
    name: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    residents: int = Field(ge=0, le=MAX_SHELTER_RESIDENTS)


class _Fleet(BaseModel):
    depot: str
    vehicle_type: str
    count: int = Field(ge=0)
    capacity_kg: float = Field(gt=0)
    capacity_m3: float = Field(gt=0)
    speed_kmh: float = Field(gt=0)


class _Node(BaseModel):
    id: str
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class _Road(BaseModel):
    from_: str = Field(alias="from")
    to: str
    length_km: float = Field(gt=0)
    road_class: str
    speed_kmh: float = Field(gt=0)
    status: str = "open"

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        value = (value or "open").strip().lower()
        if value in ("open", "closed"):
            return value
        if value.startswith("damaged:"):
            try:
                factor = float(value.split(":", 1)[1])
            except ValueError:
                raise ValueError("damaged:F needs a number F") from None
            if not 0 < factor <= 1:
                raise ValueError("damaged:F needs 0 < F <= 1")
            return value
        raise ValueError("must be open, closed or damaged:F")


def _rows(folder: Path, name: str, model: type[BaseModel], required: tuple[str, ...]) -> list:
    try:
        return read_rows(_path(folder, name), model, required=required)
    except InvalidInput as exc:
        raise ScenarioError(exc.field, exc.reason) from exc


def _path(folder: Path, name: str) -> Path:
    """`name` (a .csv) in the folder, or the .xlsx workbook of the same name in its place."""
    path = folder / name
    workbook = path.with_suffix(".xlsx")
    return workbook if not path.exists() and workbook.exists() else path


def _unique(rows: list, attr: str, path: Path) -> None:
    seen: dict[str, int] = {}
    for line, row in rows:
        key = getattr(row, attr)
        if key in seen:
            raise ScenarioError(f"{path}:{line}: {attr}", f"{key!r} repeats line {seen[key]}")
        seen[key] = line


def _known(rows: list, attr: str, known: set[str], path: Path, what: str) -> None:
    for line, row in rows:
        if getattr(row, attr) not in known:
            column = attr.rstrip("_")  # `from_` is the `from` column
            raise ScenarioError(
                f"{path}:{line}: {column}", f"unknown {what} {getattr(row, attr)!r}"
            )


def load_meta(folder: Path) -> ScenarioMeta:
    path = folder / "scenario.yaml"
    if not path.exists():
        raise ScenarioError(str(path), "missing (a scenario folder needs scenario.yaml)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ScenarioMeta.model_validate(data)
    except yaml.YAMLError as exc:
        raise ScenarioError(str(path), f"not valid YAML: {exc}") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ScenarioError(f"{path}: {'.'.join(map(str, err['loc']))}", err["msg"]) from exc


def load_scenario(folder: Path) -> tuple[ScenarioMeta, Problem]:
    """Read and check a scenario folder; raise ScenarioError naming the first bad place."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ScenarioError("scenario", f"{folder} is not a folder")
    meta = load_meta(folder)
    items = _rows(folder, "items.csv", _Item, ("code", "unit_weight_kg", "unit_volume_m3"))
    norms = _rows(folder, "norms.csv", _Norm, ("item", "per_person", "per", "priority", "critical"))
    depots = _rows(folder, "depots.csv", _Depot, ("code", "tier", "lat", "lon", "loading_hours"))
    stock = _rows(folder, "stock.csv", _Stock, ("depot", "item", "lot", "qty", "expires_on"))
    shelters = _rows(folder, "shelters.csv", _Shelter, ("code", "lat", "lon", "residents"))
    fleet = _rows(
        folder,
        "fleet.csv",
        _Fleet,
        ("depot", "vehicle_type", "count", "capacity_kg", "capacity_m3", "speed_kmh"),
    )
    agreements = (
        _rows(
            folder,
            "agreements.csv",
            _Agreement,
            ("code", "item", "qty", "lead_time_hours", "lat", "lon"),
        )
        if _path(folder, "agreements.csv").exists()
        else []
    )
    has_roads = _path(folder, "roads.csv").exists() or _path(folder, "nodes.csv").exists()
    nodes = _rows(folder, "nodes.csv", _Node, ("id", "lat", "lon")) if has_roads else []
    roads = (
        _rows(
            folder,
            "roads.csv",
            _Road,
            ("from", "to", "length_km", "road_class", "speed_kmh", "status"),
        )
        if has_roads
        else []
    )

    _unique(items, "code", _path(folder, "items.csv"))
    _unique(depots, "code", _path(folder, "depots.csv"))
    _unique(shelters, "code", _path(folder, "shelters.csv"))
    _unique(agreements, "code", _path(folder, "agreements.csv"))
    _unique(norms, "item", _path(folder, "norms.csv"))
    _unique(nodes, "id", _path(folder, "nodes.csv"))
    item_codes = {r.code for _, r in items}
    depot_codes = {r.code for _, r in depots}
    node_ids = {r.id for _, r in nodes}
    _known(norms, "item", item_codes, _path(folder, "norms.csv"), "item")
    _known(stock, "item", item_codes, _path(folder, "stock.csv"), "item")
    _known(stock, "depot", depot_codes, _path(folder, "stock.csv"), "depot")
    _known(agreements, "item", item_codes, _path(folder, "agreements.csv"), "item")
    _known(fleet, "depot", depot_codes, _path(folder, "fleet.csv"), "depot")
    _known(roads, "from_", node_ids, _path(folder, "roads.csv"), "node")
    _known(roads, "to", node_ids, _path(folder, "roads.csv"), "node")
    for line, road in roads:
        if road.from_ == road.to:
            raise ScenarioError(
                f"{_path(folder, 'roads.csv')}:{line}: to", "a road from a node to itself"
            )
    if not norms:
        raise ScenarioError(str(_path(folder, "norms.csv")), "no norms: nothing to plan for")

    problem = Problem(
        name=meta.name,
        title=meta.title_en or meta.name,
        items=tuple(
            ItemSpec(
                r.code, r.name_zh, r.name_en, r.category, r.unit, r.unit_weight_kg, r.unit_volume_m3
            )
            for _, r in items
        ),
        norms=tuple(Norm(r.item, r.per_person, r.per, r.priority, r.critical) for _, r in norms),
        depots=tuple(
            Depot(r.code, r.name, r.tier, r.lat, r.lon, r.loading_hours) for _, r in depots
        ),
        lots=tuple(Lot(r.depot, r.item, r.lot, r.qty, r.expires_on) for _, r in stock),
        agreements=tuple(
            Agreement(r.code, r.supplier, r.item, r.qty, r.lead_time_hours, r.lat, r.lon)
            for _, r in agreements
        ),
        shelters=tuple(Shelter(r.code, r.name, r.lat, r.lon, r.residents) for _, r in shelters),
        fleet=tuple(
            VehicleType(r.depot, r.vehicle_type, r.count, r.capacity_kg, r.capacity_m3, r.speed_kmh)
            for _, r in fleet
        ),
        nodes=tuple(Node(r.id, r.lat, r.lon) for _, r in nodes),
        roads=tuple(_road(r) for _, r in roads),
        deadline_hours=meta.deadline_hours,
        horizon_days=meta.horizon_days,
        today=meta.disaster.time.date(),
        first_batch_hours=tuple(sorted(meta.first_batch_hours.items())),
    )
    return meta, problem


def _road(row: _Road) -> Road:
    if row.status.startswith("damaged:"):
        factor = float(row.status.split(":", 1)[1])
        status = RoadStatus.DAMAGED if factor < 1 else RoadStatus.OPEN
        return Road(row.from_, row.to, row.length_km, row.road_class, row.speed_kmh, status, factor)
    return Road(
        row.from_, row.to, row.length_km, row.road_class, row.speed_kmh, RoadStatus(row.status)
    )
