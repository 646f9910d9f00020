"""Loading a siting scenario set: `siting.yaml`, `candidates.csv`, `items.csv`,
`scenarios.csv` (scenario folders in the planner's format, with probabilities), and in any
scenario an optional `travel.csv` (source, shelter, hours) that replaces road travel times.

Errors name the place: `file:line: column: reason` (for `siting.yaml` the line of the key).
"""

import math
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from optimizer.siting.problem import (
    Candidate,
    CandidateKind,
    ItemCost,
    Objective,
    SetScenario,
    SitingSet,
    Target,
    Travel,
    Vehicle,
)
from scenarios.scenario import ScenarioError, load_scenario
from supply.csvfiles import read_rows
from supply.errors import InvalidInput
from supply.models import Tier

CANDIDATE_COLUMNS = (
    "code", "name", "tier", "lat", "lon", "fixed_cost", "cost_per_m3", "max_m3", "existing", "kind",
)  # fmt: skip
#: Probabilities must add up to one within this.
PROBABILITY_TOLERANCE = 1e-6


class _Target(BaseModel):
    coverage: float = Field(gt=0, le=1)
    probability: float | None = Field(default=None, gt=0, le=1)


class _Vehicle(BaseModel):
    capacity_kg: float = Field(default=8000.0, gt=0)
    capacity_m3: float = Field(default=35.0, gt=0)
    speed_kmh: float = Field(default=60.0, gt=0)


class SetMeta(BaseModel):
    name: str = Field(min_length=1)
    title_zh: str = ""
    title_en: str = ""
    budget: float = Field(ge=0)
    deadline_hours: float = Field(default=10.0, gt=0)
    objective: Objective = Objective.EXPECTED
    alpha: float = Field(default=0.1, gt=0, le=1)
    target: _Target | None = None
    vehicle: _Vehicle = _Vehicle()


def _yes_no(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in ("yes", "y", "true", "1", "是"):
        return True
    if text in ("no", "n", "false", "0", "否"):
        return False
    raise ValueError("must be yes or no")


class _Candidate(BaseModel):
    code: str
    name: str
    tier: Tier
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    fixed_cost: float = Field(ge=0)
    cost_per_m3: float = Field(ge=0)
    max_m3: float = Field(ge=0)
    existing: bool
    kind: CandidateKind
    free_m3: float = Field(default=0.0, ge=0)
    loading_hours: float = Field(default=1.0, ge=0)
    vehicles: int = Field(default=2, ge=0)

    @field_validator("existing", mode="before")
    @classmethod
    def _existing(cls, value: Any) -> bool:
        return _yes_no(value)

    @field_validator("free_m3", "loading_hours", "vehicles", mode="before")
    @classmethod
    def _blank_default(cls, value: Any, info: Any) -> Any:
        defaults = {"free_m3": 0.0, "loading_hours": 1.0, "vehicles": 2}
        return defaults[info.field_name] if value is None else value


class _ItemCost(BaseModel):
    item: str
    unit_cost: float = Field(ge=0)
    unit_volume_m3: float | None = Field(default=None, ge=0)


class _ScenarioRef(BaseModel):
    folder: str
    probability: float = Field(gt=0, le=1)


class _Travel(BaseModel):
    source: str
    shelter: str
    hours: float = Field(ge=0)


def key_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest key of `loc` that exists in the YAML file."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        match = [(k, v) for k, v in node.value if k.value == str(key)]
        if not match:
            break
        line = match[0][0].start_mark.line + 1
        node = match[0][1]
    return line


M = TypeVar("M", bound=BaseModel)


def read_yaml(path: Path, model: type[M], what: str) -> M:
    """A YAML file validated by `model`; errors say `file:line: key: reason`, the line of
    the deepest key at fault. `what` names the folder kind for a missing file."""
    if not path.exists():
        raise ScenarioError(str(path), f"missing (a {what} needs {path.name})")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ScenarioError(where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1", "expected a mapping of keys to values")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if not isinstance(p, int))
        line = key_line(text, loc) or 1
        column = ".".join(map(str, loc)) or path.name
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ScenarioError(f"{path}:{line}: {column}", msg) from exc


def load_set_meta(folder: Path) -> SetMeta:
    return read_yaml(folder / "siting.yaml", SetMeta, "scenario set")


def _rows(path: Path, model: type[BaseModel], required: tuple[str, ...]) -> list:
    try:
        return read_rows(path, model, required=required)
    except InvalidInput as exc:
        raise ScenarioError(exc.field, exc.reason) from exc


def load_travel(folder: Path, sources: set[str], shelters: set[str]) -> Travel | None:
    """A scenario's `travel.csv`, if it has one; every source and shelter must be known."""
    path = folder / "travel.csv"
    if not path.exists():
        return None
    rows = _rows(path, _Travel, ("source", "shelter", "hours"))
    hours: dict[tuple[str, str], float] = {}
    seen: dict[tuple[str, str], int] = {}
    for line, r in rows:
        if r.source not in sources:
            raise ScenarioError(f"{path}:{line}: source", f"unknown source {r.source!r}")
        if r.shelter not in shelters:
            raise ScenarioError(f"{path}:{line}: shelter", f"unknown shelter {r.shelter!r}")
        key = (r.source, r.shelter)
        if key in seen:
            raise ScenarioError(f"{path}:{line}: shelter", f"pair repeats line {seen[key]}")
        seen[key] = line
        hours[key] = r.hours
    return Travel(hours)


def load_set(folder: Path) -> SitingSet:
    """Read and check a scenario set; raise ScenarioError naming the first bad place."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ScenarioError("scenario set", f"{folder} is not a folder")
    meta = load_set_meta(folder)
    cand_path, items_path, refs_path = (
        folder / "candidates.csv",
        folder / "items.csv",
        folder / "scenarios.csv",
    )
    cands = _rows(
        cand_path,
        _Candidate,
        CANDIDATE_COLUMNS,
    )
    costs = _rows(items_path, _ItemCost, ("item", "unit_cost"))
    refs = _rows(refs_path, _ScenarioRef, ("folder", "probability"))
    _check_candidates(cands, cand_path)
    if not refs:
        raise ScenarioError(str(refs_path), "no scenarios")
    total = sum(r.probability for _, r in refs)
    if abs(total - 1) > PROBABILITY_TOLERANCE:
        line = refs[-1][0]
        raise ScenarioError(
            f"{refs_path}:{line}: probability", f"probabilities add up to {total:.6g}, not 1"
        )
    scenarios = []
    seen: dict[str, int] = {}
    for line, r in refs:
        path = (folder / r.folder).resolve()
        if not path.is_dir():
            raise ScenarioError(f"{refs_path}:{line}: folder", f"{r.folder} is not a folder")
        if str(path) in seen:
            raise ScenarioError(f"{refs_path}:{line}: folder", f"repeats line {seen[str(path)]}")
        seen[str(path)] = line
        meta_s, problem = load_scenario(path)
        known = {d.code for d in problem.depots} | {a.code for a in problem.agreements}
        travel = load_travel(
            path, known | {c.code for _, c in cands}, {h.code for h in problem.shelters}
        )
        scenarios.append(SetScenario(meta_s.name, str(path), r.probability, problem, travel))
    items = _item_costs(costs, items_path, scenarios)
    return SitingSet(
        name=meta.name,
        title=meta.title_en or meta.title_zh or meta.name,
        budget=meta.budget,
        deadline_hours=meta.deadline_hours,
        objective=meta.objective,
        alpha=meta.alpha,
        target=Target(meta.target.coverage, meta.target.probability) if meta.target else None,
        vehicle=Vehicle(**meta.vehicle.model_dump()),
        candidates=tuple(
            Candidate(
                c.code,
                c.name,
                c.tier.value,
                c.lat,
                c.lon,
                c.fixed_cost,
                c.cost_per_m3,
                c.max_m3,
                c.existing,
                c.kind,
                c.free_m3,
                c.loading_hours,
                c.vehicles,
            )
            for _, c in cands
        ),
        items=items,
        scenarios=tuple(scenarios),
        folder=str(folder),
    )


def _check_candidates(cands: list, path: Path) -> None:
    seen: dict[str, int] = {}
    for line, c in cands:
        if c.code in seen:
            raise ScenarioError(f"{path}:{line}: code", f"{c.code!r} repeats line {seen[c.code]}")
        seen[c.code] = line
        if c.kind == CandidateKind.ENLARGE and not c.existing:
            raise ScenarioError(f"{path}:{line}: existing", "only an existing depot is enlarged")
        if c.kind == CandidateKind.NEW and c.existing:
            raise ScenarioError(f"{path}:{line}: existing", "a new depot cannot exist already")
        if c.free_m3 > c.max_m3:
            raise ScenarioError(f"{path}:{line}: free_m3", "more than max_m3")
    if not cands:
        raise ScenarioError(str(path), "no candidates")


def _item_costs(costs: list, path: Path, scenarios: list[SetScenario]) -> tuple[ItemCost, ...]:
    volumes: dict[str, float] = {}
    for sc in scenarios:
        for it in sc.problem.items:
            volumes.setdefault(it.code, it.unit_volume_m3)
    out = []
    seen: dict[str, int] = {}
    for line, r in costs:
        if r.item in seen:
            raise ScenarioError(f"{path}:{line}: item", f"{r.item!r} repeats line {seen[r.item]}")
        seen[r.item] = line
        if r.item not in volumes:
            raise ScenarioError(f"{path}:{line}: item", f"unknown item {r.item!r}")
        volume = volumes[r.item] if r.unit_volume_m3 is None else r.unit_volume_m3
        if not math.isfinite(volume):
            raise ScenarioError(f"{path}:{line}: unit_volume_m3", "not a number")
        out.append(ItemCost(r.item, r.unit_cost, volume))
    if not out:
        raise ScenarioError(str(path), "no items to preposition")
    return tuple(out)
