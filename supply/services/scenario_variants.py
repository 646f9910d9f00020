"""Scenario variants (情景变体): a scenario with the shelters a dispatcher uploads and/or some
of its roads closed, to plan again after the ground has changed.

A variant is a scenario folder under the server's scenarios root, beside the one it varies,
named `<base>--<hash of its shelters and roads>`. A folder, not rows in the database,
because everything that reads a scenario reads a folder by name: plan jobs
(`plan_jobs.scenario_folder`, run by the job runner, possibly in another process), the
map's layers and the scenario list. A variant kept as a folder is planned, drawn and listed
by all of them unchanged, survives a restart as the scenarios do, and can be copied off the
server and planned with `relief plan`. Named by its content, the same upload or the same
closures make the same variant once (a retried request finds it made); a variant of a
variant is named after the original scenario.

The folder is written under a temporary name, checked by the scenario loader, then renamed,
so a half-written or invalid variant is never seen.
"""

import csv
import hashlib
import io
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, field_validator

from optimizer.problem import Problem, Road, RoadStatus, Shelter
from scenarios.scenario import ScenarioError, ScenarioMeta, load_scenario
from supply.errors import Conflict, InvalidInput
from supply.services.plan_jobs import scenario_folder
from supply.sheets import read_workbook_sheet, sheet_names

#: The sheets a variant workbook may hold, by the names a dispatcher may give them.
SHELTER_SHEETS = ("shelters", "安置点")
CLOSURE_SHEETS = ("closures", "道路中断")
#: What separates a variant's base name from its content hash.
SEPARATOR = "--"
#: The most roads one request may close (a province has some 40,000).
MAX_CLOSURES = 5000
#: Where variants are written before they are checked and renamed into place.
SCRATCH = ".variants-scratch"


class ShelterRow(BaseModel):
    """A row of the shelters sheet: the columns of a scenario's shelters.csv."""

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    residents: int = Field(ge=0, le=200_000)


class ClosureRow(BaseModel):
    """A row of the closures sheet: a road by its two ends (nodes.csv ids), and what it
    becomes (closed unless said: `damaged:0.5` halves its speed, `open` reopens it)."""

    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    status: str = "closed"

    @field_validator("status")
    @classmethod
    def _status(cls, value: str | None) -> str:
        value = (value or "closed").strip().lower()
        if value in ("open", "closed"):
            return value
        head, _, factor = value.partition(":")
        try:
            if head == "damaged" and 0 < float(factor) <= 1:
                return value
        except ValueError:
            pass
        raise ValueError("must be closed, open or damaged:F with 0 < F <= 1")


@dataclass(frozen=True, slots=True)
class Variant:
    """A variant made (or found made): its folder's name, what it is a variant of, and
    what it changed."""

    name: str
    base: str
    title_zh: str
    title_en: str
    shelters: int
    residents: int
    changed_roads: int
    created: bool


def variant_from_workbook(root: Path, base: str, workbook: Path, *, filename: str) -> Variant:
    """A variant of scenario `base` from an .xlsx workbook: its `shelters` sheet (安置点)
    replaces the scenario's shelters, its `closures` sheet (道路中断) closes roads.

    Raises
    ------
    InvalidInput
        `filename sheet S:row: column: reason` for the first bad row; or a workbook with
        neither sheet, or a road that is not the scenario's.
    NotFound
        No scenario `base`.
    Conflict
        The server may not write its scenarios folder.
    """
    sheets = sheet_names(workbook)
    shelter_sheet = next((s for s in sheets if s.strip().lower() in SHELTER_SHEETS), None)
    closure_sheet = next((s for s in sheets if s.strip().lower() in CLOSURE_SHEETS), None)
    if shelter_sheet is None and closure_sheet is None:
        raise InvalidInput(
            "file",
            f"{filename} has no sheet named shelters (安置点) or closures (道路中断); "
            f"its sheets: {', '.join(sheets)}",
        )
    folder = scenario_folder(root, base)
    meta, problem = load_scenario(folder)
    shelters = problem.shelters
    if shelter_sheet is not None:
        label = f"{filename} sheet {shelter_sheet}"
        rows = read_workbook_sheet(
            workbook,
            shelter_sheet,
            ShelterRow,
            required=("code", "lat", "lon", "residents"),
            label=label,
        )
        shelters = _shelters(rows, label)
    closures: list[tuple[str, ClosureRow]] = []
    if closure_sheet is not None:
        label = f"{filename} sheet {closure_sheet}"
        found = read_workbook_sheet(
            workbook, closure_sheet, ClosureRow, required=("from", "to"), label=label
        )
        closures = [(f"{label}:{line}: to", row) for line, row in found]
    roads = _close(problem, closures)
    return _make(root, folder, meta, shelters, roads)


def close_roads(root: Path, base: str, roads: Sequence[int]) -> Variant:
    """A variant of scenario `base` with `roads` closed: numbers as the map's road layer
    gives them (feature `road:12` is road 12, the 12th row of roads.csv).

    Raises
    ------
    InvalidInput
        No roads given, too many, or a number that is not a road of the scenario.
    NotFound
        No scenario `base`.
    Conflict
        The server may not write its scenarios folder.
    """
    if not roads:
        raise InvalidInput("roads", "name at least one road to close")
    if len(roads) > MAX_CLOSURES:
        raise InvalidInput("roads", f"at most {MAX_CLOSURES} roads at once")
    folder = scenario_folder(root, base)
    meta, problem = load_scenario(folder)
    changed = list(problem.roads)
    for k, number in enumerate(roads):
        if not 1 <= number <= len(changed):
            raise InvalidInput(
                f"roads.{k}", f"no road {number} in {base} (it has {len(changed)} roads)"
            )
        road = changed[number - 1]
        changed[number - 1] = Road(
            road.a, road.b, road.length_km, road.road_class, road.speed_kmh, RoadStatus.CLOSED
        )
    return _make(root, folder, meta, problem.shelters, changed)


def _shelters(rows: Iterable[tuple[int, ShelterRow]], label: str) -> tuple[Shelter, ...]:
    seen: dict[str, int] = {}
    out: list[Shelter] = []
    for line, row in rows:
        if row.code in seen:
            raise InvalidInput(
                f"{label}:{line}: code", f"{row.code!r} repeats row {seen[row.code]}"
            )
        seen[row.code] = line
        out.append(Shelter(row.code, row.name or row.code, row.lat, row.lon, row.residents))
    if not out:
        raise InvalidInput(f"{label}", "no shelter rows: nothing to plan for")
    return tuple(out)


def _close(problem: Problem, closures: Sequence[tuple[str, ClosureRow]]) -> list[Road]:
    """The scenario's roads with each closure applied; a closure of a road the scenario
    does not have is refused at its row."""
    roads = list(problem.roads)
    where = {frozenset((r.a, r.b)): k for k, r in enumerate(roads)}
    for place, row in closures:
        k = where.get(frozenset((row.from_, row.to)))
        if k is None:
            raise InvalidInput(place, f"no road between {row.from_} and {row.to} in the scenario")
        road = roads[k]
        head, _, factor = row.status.partition(":")
        status, damage = (
            (RoadStatus.DAMAGED, float(factor)) if head == "damaged" else (RoadStatus(head), 1.0)
        )
        roads[k] = Road(
            road.a, road.b, road.length_km, road.road_class, road.speed_kmh, status, damage
        )
    return roads


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _road_status(road: Road) -> str:
    if road.status is RoadStatus.DAMAGED:
        return f"damaged:{road.damage_factor:g}"
    return road.status.value


def _make(
    root: Path,
    folder: Path,
    meta: ScenarioMeta,
    shelters: Sequence[Shelter],
    roads: Sequence[Road],
) -> Variant:
    base = folder.name.split(SEPARATOR, 1)[0]
    shelters_csv = _csv(
        ("code", "name", "lat", "lon", "residents"),
        ((s.code, s.name, s.lat, s.lon, s.residents) for s in shelters),
    )
    roads_csv = _csv(
        ("from", "to", "length_km", "road_class", "speed_kmh", "status"),
        ((r.a, r.b, r.length_km, r.road_class, r.speed_kmh, _road_status(r)) for r in roads),
    )
    digest = hashlib.sha256("\0".join((base, shelters_csv, roads_csv)).encode()).hexdigest()
    name = f"{base[:52]}{SEPARATOR}{digest[:10]}"  # 64 at most: a scenario name's limit
    changed = _changed(root / base if base != folder.name else folder, roads)
    title_zh = f"{_base_title(meta.title_zh, base)}（变体 {digest[:6]}）"
    title_en = f"{_base_title(meta.title_en, base)} (variant {digest[:6]})"
    target = root / name
    made = Variant(
        name=name,
        base=base,
        title_zh=title_zh,
        title_en=title_en,
        shelters=len(shelters),
        residents=sum(s.residents for s in shelters),
        changed_roads=changed,
        created=False,
    )
    if (target / "scenario.yaml").is_file():
        return made
    described = meta.model_copy(
        update={
            "name": name,
            "title_zh": title_zh,
            "title_en": title_en,
            "description": f"A variant of {base}: {len(shelters)} shelters, "
            f"{changed} roads changed from {base}.",
        }
    )
    # One level down, so the scenario list never shows a variant being written.
    scratch = root / SCRATCH / f"{name}.{uuid.uuid4().hex}"
    try:
        shutil.copytree(folder, scratch)
        for stale in ("shelters.xlsx", "roads.xlsx"):
            (scratch / stale).unlink(missing_ok=True)
        (scratch / "shelters.csv").write_text(shelters_csv, encoding="utf-8")
        if roads:
            (scratch / "roads.csv").write_text(roads_csv, encoding="utf-8")
        (scratch / "scenario.yaml").write_text(
            yaml.safe_dump(described.model_dump(mode="json"), allow_unicode=True, sort_keys=False),
            encoding="utf-8",
        )
        try:
            load_scenario(scratch)
        except ScenarioError as exc:
            raise InvalidInput(exc.field.replace(str(scratch), name), exc.reason) from None
        try:
            scratch.rename(target)
        except OSError:
            if not (target / "scenario.yaml").is_file():  # not merely made meanwhile
                raise
            return made
    except OSError as exc:
        raise Conflict(
            "scenarios",
            f"the server cannot write its scenarios folder ({exc.strerror}); "
            "set RELIEF_SCENARIOS_DIR to a folder it may write",
        ) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return replace(made, created=True)


def _changed(original: Path, roads: Sequence[Road]) -> int:
    """How many of `roads` differ from the original scenario's (0 when it is gone)."""
    try:
        before = {(r.a, r.b): r for r in load_scenario(original)[1].roads}
    except ScenarioError:
        return 0
    return sum(1 for r in roads if before.get((r.a, r.b), r) != r)


def _base_title(title: str, base: str) -> str:
    """The original scenario's title, without an earlier variant's mark."""
    for mark in ("（变体 ", " (variant "):
        title = title.split(mark, 1)[0]
    return title or base
