"""A seeded generator of disaster scenarios over a base scenario's places and roads.

A hazard footprint (an earthquake's intensity decaying from its epicentre, a typhoon's wind
field around its track, a flood's buffer along a river) is laid over the places'
populations. It gives the residents needing central shelter at each shelter and the damage
of each road; the rest of the base scenario (items, norms, depots, stock, fleet, agreements,
nodes) is copied unchanged. Event sizes are drawn per class of a frequency table, and each
scenario's probability is its class's share of the annual frequency divided among the
scenarios drawn for it.

`hazard.yaml` (beside `population.csv`: shelter, population) says which base and which
hazard; see `scenarios/haicheng-hazards/`.
"""

import csv
import math
import shutil
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, Field

from optimizer.network import haversine_km
from scenarios.scenario import ScenarioError, load_scenario
from scenarios.siting_set import read_yaml
from supply.csvfiles import read_rows
from supply.errors import InvalidInput

#: Files copied from the base into every generated scenario.
COPIED = ("items.csv", "norms.csv", "depots.csv", "stock.csv", "agreements.csv", "fleet.csv")


class _Class(BaseModel):
    """One row of the frequency table: an event size and how often a year it happens."""

    size: float  # magnitude, typhoon category (wind radius km) or flood width km
    per_year: float = Field(gt=0)


class Earthquake(BaseModel):
    kind: Literal["earthquake"]
    centre: tuple[float, float]  # lat, lon the epicentres are drawn around
    radius_km: float = Field(gt=0)
    # intensity I = c0 + c1·M − c2·ln(R + r0), R the epicentral distance in km
    c0: float = 2.3
    c1: float = 1.5
    c2: float = 1.55
    r0_km: float = 10.0


class Typhoon(BaseModel):
    kind: Literal["typhoon"]
    coast: list[tuple[float, float]] = Field(min_length=2)  # landfall drawn along it
    heading_deg: tuple[float, float] = (270.0, 360.0)  # track bearing range (0 = north)


class Flood(BaseModel):
    kind: Literal["flood"]
    river: list[tuple[float, float]] = Field(min_length=2)  # lat, lon polyline


class HazardConfig(BaseModel):
    name: str = Field(min_length=1)
    title: str = ""
    base: str  # the base scenario folder, relative to the config
    hazard: Earthquake | Typhoon | Flood = Field(discriminator="kind")
    classes: list[_Class] = Field(min_length=1)
    shelter_share: float = Field(default=0.5, gt=0, le=1)  # of the affected, centrally housed
    peak_affected: float = Field(default=0.25, gt=0, le=1)  # share at the worst-hit place


class _Population(BaseModel):
    shelter: str
    population: int = Field(ge=0)


@dataclass(frozen=True, slots=True)
class Generated:
    name: str
    folder: Path
    probability: float
    size: float
    residents: int
    closed: int
    damaged: int


def load_config(folder: Path) -> HazardConfig:
    return read_yaml(folder / "hazard.yaml", HazardConfig, "hazard folder")


def _affected_share(intensity: np.ndarray, peak: float) -> np.ndarray:
    """Share needing shelter by intensity: none below VI, rising to `peak` at IX and above."""
    return peak * np.clip((intensity - 6.0) / 3.0, 0.0, 1.0) ** 1.5


def _segment_km(lat: np.ndarray, lon: np.ndarray, line: list[tuple[float, float]]) -> np.ndarray:
    """Distance in km from each point to a polyline (equirectangular, fine within a city)."""
    lat0 = float(np.mean([p[0] for p in line]))
    k = 111.195
    px, py = lon * k * math.cos(math.radians(lat0)), lat * k
    best = np.full(np.shape(lat), np.inf)
    for (a_lat, a_lon), (b_lat, b_lon) in pairwise(line):
        ax, ay = a_lon * k * math.cos(math.radians(lat0)), a_lat * k
        bx, by = b_lon * k * math.cos(math.radians(lat0)), b_lat * k
        dx, dy = bx - ax, by - ay
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
        best = np.minimum(best, np.hypot(px - ax - t * dx, py - ay - t * dy))
    return best


def footprint(
    config: HazardConfig, size: float, rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """A severity in intensity units (VI = light damage, IX = destruction) at each point,
    and what the event was (epicentre, track, …) for the scenario's description."""
    h = config.hazard
    if isinstance(h, Earthquake):
        bearing, reach = rng.uniform(0, 2 * math.pi), h.radius_km * math.sqrt(rng.uniform())
        e_lat = h.centre[0] + reach * math.cos(bearing) / 111.195
        e_lon = h.centre[1] + reach * math.sin(bearing) / (
            111.195 * math.cos(math.radians(h.centre[0]))
        )
        r = haversine_km(lat, lon, e_lat, e_lon)
        severity = h.c0 + h.c1 * size - h.c2 * np.log(r + h.r0_km)
        return severity, {"epicentre": [round(e_lat, 4), round(e_lon, 4)], "magnitude": size}
    if isinstance(h, Typhoon):
        k = int(rng.integers(0, len(h.coast) - 1))
        t = rng.uniform()
        (a_lat, a_lon), (b_lat, b_lon) = h.coast[k], h.coast[k + 1]
        f_lat, f_lon = a_lat + t * (b_lat - a_lat), a_lon + t * (b_lon - a_lon)
        heading = math.radians(rng.uniform(*h.heading_deg))
        far = 300.0 / 111.195  # a track 300 km inland
        end = (f_lat + far * math.cos(heading), f_lon + far * math.sin(heading))
        d = _segment_km(lat, lon, [(f_lat, f_lon), end])
        severity = 6.0 + 3.5 * np.exp(-((d / size) ** 2))  # size: wind radius, km
        track = {"landfall": [round(f_lat, 4), round(f_lon, 4)], "heading_deg": heading}
        return severity, {**track, "wind_radius_km": size}
    d = _segment_km(lat, lon, h.river)
    severity = np.where(d <= size, 9.5 - 3.0 * d / size, 5.0)  # size: flood width, km
    return severity, {"flood_width_km": size}


def generate(
    folder: Path, out: Path, *, count: int, seed: int, siting_set: Path | None = None
) -> list[Generated]:
    """Write `count` scenario folders into `out` and `out/scenarios.csv` (folder,
    probability); with `siting_set`, also its siting.yaml, candidates.csv and items.csv, so
    `out` is a scenario set ready for `relief siting solve`.

    Raises ScenarioError for a bad config, population file or base scenario.
    """
    if count < 1:
        raise ValueError("count: at least 1")
    config = load_config(folder)
    base = (folder / config.base).resolve()
    meta, problem = load_scenario(base)
    try:
        people = read_rows(
            folder / "population.csv", _Population, required=("shelter", "population")
        )
    except InvalidInput as exc:
        raise ScenarioError(exc.field, exc.reason) from exc
    codes = {h.code for h in problem.shelters}
    population = {}
    for line, row in people:
        if row.shelter not in codes:
            raise ScenarioError(
                f"{folder / 'population.csv'}:{line}: shelter", f"unknown shelter {row.shelter!r}"
            )
        population[row.shelter] = row.population
    rng = np.random.default_rng(seed)
    # classes drawn in proportion to their frequency, at least once each when count allows
    freq = np.array([c.per_year for c in config.classes])
    share = freq / freq.sum()
    drawn = np.bincount(rng.choice(len(share), size=count, p=share), minlength=len(share))
    if count >= len(share):
        while (drawn == 0).any():
            drawn[np.argmax(drawn)] -= 1
            drawn[np.argmin(drawn)] += 1
    lat = np.array([h.lat for h in problem.shelters])
    lon = np.array([h.lon for h in problem.shelters])
    nodes = {n.id: n for n in problem.nodes}
    out.mkdir(parents=True, exist_ok=True)
    made: list[Generated] = []
    width = len(str(count))
    for c, cls in enumerate(config.classes):
        for _ in range(int(drawn[c])):
            k = len(made) + 1
            name = f"{config.name}-{k:0{width}d}"
            severity, event = footprint(config, cls.size, rng, lat, lon)
            affected = _affected_share(severity, config.peak_affected) * config.shelter_share
            residents = [
                int(np.rint(population.get(h.code, 0) * a))
                for h, a in zip(problem.shelters, affected, strict=True)
            ]
            roads = []
            if problem.roads:
                mid_lat = np.array([(nodes[r.a].lat + nodes[r.b].lat) / 2 for r in problem.roads])
                mid_lon = np.array([(nodes[r.a].lon + nodes[r.b].lon) / 2 for r in problem.roads])
                road_severity, _ = _replay(config, cls.size, event, mid_lat, mid_lon)
                roads = _road_damage(road_severity, rng)
            target = out / name
            _write(base, target, problem, residents, roads, meta, name, event, config)
            made.append(
                Generated(name, target, float(share[c] / drawn[c]), cls.size, sum(residents),
                          sum(s == "closed" for s in roads),
                          sum(s.startswith("damaged") for s in roads))
            )  # fmt: skip
    total = sum(g.probability for g in made)
    with (out / "scenarios.csv").open("w", encoding="utf-8", newline="") as handle:
        w = csv.writer(handle, lineterminator="\n")
        w.writerow(["folder", "probability"])
        probabilities = [round(g.probability / total, 9) for g in made]
        probabilities[-1] = round(1 - sum(probabilities[:-1]), 9)
        for g, p in zip(made, probabilities, strict=True):
            w.writerow([g.name, p])
    if siting_set is not None:
        for name in ("siting.yaml", "candidates.csv", "items.csv"):
            shutil.copyfile(siting_set / name, out / name)
    return made


def _replay(
    config: HazardConfig, size: float, event: dict[str, Any], lat: np.ndarray, lon: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """The same event's severity at other points (roads), without drawing anew."""
    h = config.hazard
    if isinstance(h, Earthquake):
        r = haversine_km(lat, lon, event["epicentre"][0], event["epicentre"][1])
        return h.c0 + h.c1 * size - h.c2 * np.log(r + h.r0_km), event
    if isinstance(h, Typhoon):
        f_lat, f_lon = event["landfall"]
        far = 300.0 / 111.195
        heading = event["heading_deg"]
        end = (f_lat + far * math.cos(heading), f_lon + far * math.sin(heading))
        d = _segment_km(lat, lon, [(f_lat, f_lon), end])
        return 6.0 + 3.5 * np.exp(-((d / size) ** 2)), event
    d = _segment_km(lat, lon, h.river)
    return np.where(d <= size, 9.5 - 3.0 * d / size, 5.0), event


def _road_damage(severity: np.ndarray, rng: np.random.Generator) -> list[str]:
    """open below VII; damaged (slower) from VII; closed with a chance rising from VIII."""
    out = []
    for s in severity:
        if s < 7.0:
            out.append("open")
        elif rng.uniform() < np.clip((s - 8.0) / 2.0, 0.0, 0.8):
            out.append("closed")
        else:
            factor = float(np.clip(1.0 - 0.25 * (s - 6.5), 0.2, 0.9))
            out.append(f"damaged:{factor:.2f}")
    return out


def _write(
    base: Path,
    target: Path,
    problem: Any,
    residents: list[int],
    roads: list[str],
    meta: Any,
    name: str,
    event: dict[str, Any],
    config: HazardConfig,
) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for file in (*COPIED, "nodes.csv"):
        if (base / file).exists():
            shutil.copyfile(base / file, target / file)
    with (target / "shelters.csv").open("w", encoding="utf-8", newline="") as handle:
        w = csv.writer(handle, lineterminator="\n")
        w.writerow(["code", "name", "lat", "lon", "residents"])
        for h, r in zip(problem.shelters, residents, strict=True):
            w.writerow([h.code, h.name, h.lat, h.lon, r])
    if problem.roads:
        with (target / "roads.csv").open("w", encoding="utf-8", newline="") as handle:
            w = csv.writer(handle, lineterminator="\n")
            w.writerow(["from", "to", "length_km", "road_class", "speed_kmh", "status"])
            for road, status in zip(problem.roads, roads, strict=True):
                w.writerow([road.a, road.b, road.length_km, road.road_class, road.speed_kmh,
                            status])  # fmt: skip
    described = {k: v for k, v in event.items() if k != "heading_deg"}
    if "heading_deg" in event:
        described["heading_deg"] = round(math.degrees(event["heading_deg"]), 1)
    doc = {
        "name": name,
        "title_en": f"{config.title or config.name}: generated {config.hazard.kind} {name}",
        "description": f"Generated (seeded) from {base.name}: {described}",
        "disaster": {"kind": config.hazard.kind, "time": meta.disaster.time.isoformat()},
        "deadline_hours": meta.deadline_hours,
        "horizon_days": meta.horizon_days,
        "time_limit_s": meta.time_limit_s,
    }
    (target / "scenario.yaml").write_text(
        yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
