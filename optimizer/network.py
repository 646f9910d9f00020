"""Travel times on the (damaged) road network, from every source to every shelter.

The road graph is a networkx graph (for drawing and inspection); shortest paths run on a
scipy sparse matrix built from it, which is what makes a 50,000-node province fast. Each
distinct vehicle speed cap gets its own edge weights, since a truck drives at
min(road speed × damage factor, its own speed). Depots, shelters and suppliers reach the
graph through their nearest node by an access leg (great-circle × 1.3 at `ACCESS_KMH`).
Without roads, travel is great-circle × 1.3 at the vehicle's speed. Unreachable pairs are
`inf`, never guessed.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from optimizer.problem import Problem, RoadStatus

DETOUR_FACTOR = 1.3  # great-circle to road distance, where no road is given
ACCESS_KMH = 30.0  # local streets between a place and its nearest road node
EARTH_KM = 6371.0088


def haversine_km(
    lat1: np.ndarray | float,
    lon1: np.ndarray | float,
    lat2: np.ndarray | float,
    lon2: np.ndarray | float,
) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True, slots=True)
class Place:
    """A point that travels: a source (depot, supplier) or a shelter."""

    code: str
    lat: float
    lon: float
    speed_cap_kmh: float | None = None  # None: drives at road speed


@dataclass(frozen=True)
class TravelTimes:
    """hours[i, j]: one-way driving hours from source i to shelter j (`inf`: unreachable)."""

    sources: tuple[str, ...]
    shelters: tuple[str, ...]
    hours: np.ndarray

    def of(self, source: str, shelter: str) -> float:
        return float(self.hours[self.sources.index(source), self.shelters.index(shelter)])


def road_graph(problem: Problem) -> nx.Graph:
    """The usable road network: closed roads left out, damage kept as `factor`."""
    graph = nx.Graph()
    for node in problem.nodes:
        graph.add_node(node.id, lat=node.lat, lon=node.lon)
    for road in problem.roads:
        if road.status == RoadStatus.CLOSED:
            continue
        factor = road.damage_factor if road.status == RoadStatus.DAMAGED else 1.0
        graph.add_edge(
            road.a,
            road.b,
            length_km=road.length_km,
            speed_kmh=road.speed_kmh,
            factor=factor,
            road_class=road.road_class,
        )
    return graph


def _planar(lat: np.ndarray, lon: np.ndarray, lat0: float) -> np.ndarray:
    """Equirectangular km, good enough to find the nearest node within a province."""
    k = np.pi / 180 * EARTH_KM
    return np.column_stack([lat * k, lon * k * np.cos(np.radians(lat0))])


def travel_times(
    problem: Problem, sources: Sequence[Place], shelters: Sequence[Place]
) -> TravelTimes:
    """One-way hours from each source to each shelter on the damaged network."""
    src_codes = tuple(p.code for p in sources)
    sh_codes = tuple(p.code for p in shelters)
    if not sources or not shelters:
        return TravelTimes(src_codes, sh_codes, np.full((len(sources), len(shelters)), np.inf))
    if not problem.nodes:
        return _great_circle(sources, shelters)

    graph = road_graph(problem)
    ids = list(graph.nodes)
    index = {node: i for i, node in enumerate(ids)}
    lat = np.array([graph.nodes[n]["lat"] for n in ids])
    lon = np.array([graph.nodes[n]["lon"] for n in ids])
    lat0 = float(lat.mean())
    tree = cKDTree(_planar(lat, lon, lat0))

    def attach(places: Sequence[Place]) -> tuple[np.ndarray, np.ndarray]:
        plat = np.array([p.lat for p in places])
        plon = np.array([p.lon for p in places])
        _, nearest = tree.query(_planar(plat, plon, lat0))
        access_km = haversine_km(plat, plon, lat[nearest], lon[nearest]) * DETOUR_FACTOR
        return nearest, access_km

    src_node, src_access_km = attach(sources)
    sh_node, sh_access_km = attach(shelters)
    hours = np.full((len(sources), len(shelters)), np.inf)

    edges = [(index[a], index[b], d) for a, b, d in graph.edges(data=True)]
    rows = np.array([e[0] for e in edges], dtype=np.int64)
    cols = np.array([e[1] for e in edges], dtype=np.int64)
    length = np.array([e[2]["length_km"] for e in edges])
    road_kmh = np.array([e[2]["speed_kmh"] * e[2]["factor"] for e in edges])

    caps = sorted({p.speed_cap_kmh for p in sources}, key=lambda c: (c is None, c or 0.0))
    for cap in caps:
        which = [i for i, p in enumerate(sources) if p.speed_cap_kmh == cap]
        kmh = road_kmh if cap is None else np.minimum(road_kmh, cap)
        weights = length / np.maximum(kmh, 1e-9)
        matrix = csr_matrix((weights, (rows, cols)), shape=(len(ids), len(ids)))
        unique_nodes, inverse = np.unique(src_node[which], return_inverse=True)
        dist = dijkstra(matrix, directed=False, indices=unique_nodes)
        access_kmh = ACCESS_KMH if cap is None else min(ACCESS_KMH, cap)
        for k, i in enumerate(which):
            row = dist[inverse[k]][sh_node]
            hours[i] = row + (src_access_km[i] + sh_access_km) / access_kmh
    return TravelTimes(src_codes, sh_codes, hours)


def _great_circle(sources: Sequence[Place], shelters: Sequence[Place]) -> TravelTimes:
    slat = np.array([p.lat for p in sources])[:, None]
    slon = np.array([p.lon for p in sources])[:, None]
    hlat = np.array([p.lat for p in shelters])[None, :]
    hlon = np.array([p.lon for p in shelters])[None, :]
    km = haversine_km(slat, slon, hlat, hlon) * DETOUR_FACTOR
    speed = np.array([p.speed_cap_kmh or 60.0 for p in sources])[:, None]
    return TravelTimes(tuple(p.code for p in sources), tuple(p.code for p in shelters), km / speed)
