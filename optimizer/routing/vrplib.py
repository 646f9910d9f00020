"""Published VRP instances as `RoutingModel`s: CVRPLIB (.vrp) and Solomon VRPTW (.txt).

`relief bench vrp` and `python -m bench routing` read and solve them here, beside the
engine, so that the benchmark's gap to best-known values measures the very search that
plans the trucks. Distances follow each family's convention: CVRPLIB rounds each arc to
the nearest integer (`vrplib` itself returns them unrounded); Solomon truncates to one
decimal (scaled by 10 to stay integer).
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.params import SearchSettings
from optimizer.routing.engine import solve_routing
from optimizer.routing.model import RoutingModel, RoutingResult, Vehicle

__all__ = ["Instance", "load_instance", "solve_instance", "warm_up"]

#: Spare vehicles beyond the minimum for an unlimited CVRP fleet (the BKS may use more).
SPARE_VEHICLES = 3


@dataclass(frozen=True, slots=True)
class Instance:
    """A benchmark instance as a `RoutingModel`, with what is needed to report it."""

    name: str
    family: str  # "cvrp" | "vrptw"
    path: Path
    model: RoutingModel
    scale: int  # solver units per instance unit (10 for Solomon's one decimal)
    coords: np.ndarray  # (N, 2) for PyVRP's locations

    @property
    def customers(self) -> int:
        return self.model.n_nodes - 1


def _euclid(coords: np.ndarray) -> np.ndarray:
    diff = coords[:, None, :].astype(np.float64) - coords[None, :, :].astype(np.float64)
    return np.sqrt((diff**2).sum(axis=2))


def _is_solomon(path: Path) -> bool:
    head = path.read_text(encoding="utf-8", errors="replace")[:2000].upper()
    return "CUST NO." in head or ("VEHICLE" in head and "CUSTOMER" in head)


def load_instance(path: Path | str) -> Instance:
    """Read a CVRPLIB (.vrp) or Solomon (.txt) file into a `RoutingModel`.

    Raises ValueError with a one-line reason when the file is missing, unreadable or not a
    single-depot CVRP / VRPTW instance.
    """
    import vrplib

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    solomon = _is_solomon(path)
    try:
        data = vrplib.read_instance(str(path), instance_format="solomon" if solomon else "vrplib")
    except Exception as exc:
        raise ValueError(f"{path}: not a readable VRPLIB/Solomon file ({exc})") from None
    try:
        return _solomon(path, data) if solomon else _cvrp(path, data)
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"{path}: missing or malformed section ({exc})") from None


def _cvrp(path: Path, data: dict[str, Any]) -> Instance:
    if "capacity" not in data or "demand" not in data:
        raise ValueError(f"{path}: not a CVRP instance (no CAPACITY or DEMAND_SECTION)")
    depots = np.atleast_1d(data.get("depot", np.array([0])))
    if depots.size != 1 or int(depots[0]) != 0:
        raise ValueError(f"{path}: only single-depot instances with the depot first")
    n = int(data["dimension"])
    weight_type = str(data.get("edge_weight_type", "")).upper()
    if "node_coord" in data and weight_type in ("EUC_2D", ""):
        coords = np.asarray(data["node_coord"], dtype=np.float64)
        dist = np.floor(_euclid(coords) + 0.5).astype(np.int64)  # CVRPLIB: round each arc
    else:
        coords = np.asarray(data.get("node_coord", np.zeros((n, 2))), dtype=np.float64)
        dist = np.floor(np.asarray(data["edge_weight"], dtype=np.float64) + 0.5).astype(np.int64)
    demand = np.asarray(data["demand"], dtype=np.int64).reshape(n, 1)
    capacity = int(data["capacity"])
    if (demand > capacity).any():
        raise ValueError(f"{path}: a customer's demand exceeds the capacity")
    name = str(data.get("name", path.stem))
    k = int(m.group(1)) if (m := re.search(r"-k(\d+)", name)) else 0
    fleet = int(data.get("vehicles", 0)) or (
        max(k, math.ceil(int(demand.sum()) / capacity)) + SPARE_VEHICLES
    )
    model = RoutingModel(
        distance=dist,
        times=[dist],
        demand=demand,
        service=np.zeros(n, dtype=np.int64),
        window=np.tile(np.array([0, 2**40], dtype=np.int64), (n, 1)),
        vehicles=tuple(Vehicle(0, 0, (capacity,)) for _ in range(fleet)),
        depots=frozenset({0}),
    )
    return Instance(name, "cvrp", path, model, 1, coords)


def _solomon(path: Path, data: dict[str, Any]) -> Instance:
    coords = np.asarray(data["node_coord"], dtype=np.float64)
    n = coords.shape[0]
    scale = 10
    # DIMACS: truncate to one decimal; times equal distances. The tiny epsilon keeps exact
    # tenths (e.g. 5.0 computed as 4.9999999) on the right side of the floor.
    dist = np.floor(_euclid(coords) * scale + 1e-9).astype(np.int64)
    window = np.asarray(data["time_window"], dtype=np.int64) * scale
    service = np.asarray(data["service_time"], dtype=np.int64) * scale
    demand = np.asarray(data["demand"], dtype=np.int64).reshape(n, 1)
    capacity = int(data["capacity"])
    fleet = int(data["vehicles"])
    model = RoutingModel(
        distance=dist,
        times=[dist],
        demand=demand,
        service=service,
        window=window,
        vehicles=tuple(Vehicle(0, 0, (capacity,)) for _ in range(fleet)),
        depots=frozenset({0}),
    )
    return Instance(str(data.get("name", path.stem)), "vrptw", path, model, scale, coords)


def solve_instance(
    instance: Instance,
    seconds: float,
    *,
    workers: int = 1,
    settings: SearchSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[RoutingResult, dict[str, Any]]:
    """Solve with our engine; the JSON of `relief bench vrp` (objective in instance units)."""
    result = solve_routing(
        instance.model,
        time_limit_s=seconds,
        workers=workers,
        settings=settings,
        progress=progress,
    )
    objective = None if result.distance is None else result.distance / instance.scale
    document = {
        "instance": instance.name,
        "family": instance.family,
        "status": result.status,
        "objective": objective,
        "seconds": round(result.seconds, 2),
        "vehicles": len(result.routes),
        "routes": [r.nodes for r in result.routes],
    }
    return result, document


def warm_up() -> float:
    """Compile (or load from cache) the engine's numba kernels before any timed solve, as
    PyVRP's compiled code is; seconds taken (0 when numba is missing)."""
    try:
        from optimizer.routing import sisr
    except ImportError:
        return 0.0
    return sisr.warm()
