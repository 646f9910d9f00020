"""Travel times on the (damaged) road network, from every source to every shelter.

The road graph is a networkx graph (for drawing and inspection); shortest paths run on a
scipy sparse matrix built from it, which is what makes a 50,000-node province fast. Each
distinct vehicle speed cap gets its own edge weights, since a truck drives at
min(road speed × damage factor, its own speed). Depots, shelters and suppliers reach the
graph through their nearest node by an access leg (great-circle × 1.3 at `ACCESS_KMH`).
Without roads, travel is great-circle × 1.3 at the vehicle's speed. Unreachable pairs are
`inf`, never guessed.
"""

import math
from collections import OrderedDict
from collections.abc import Iterator, Sequence
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


class _Roads:
    """The usable road graph as arrays: node positions, a nearest-node index, edges."""

    def __init__(self, problem: Problem) -> None:
        # The graph `road_graph` describes, straight into arrays: building it through
        # networkx took 1 s of the province x 2's travel times.
        self.ids = [node.id for node in problem.nodes]
        index = {node: i for i, node in enumerate(self.ids)}
        self.lat = np.array([node.lat for node in problem.nodes], dtype=float)
        self.lon = np.array([node.lon for node in problem.nodes], dtype=float)
        self.lat0 = float(self.lat.mean())
        self.tree = cKDTree(_planar(self.lat, self.lon, self.lat0))
        usable = [r for r in problem.roads if r.status != RoadStatus.CLOSED]
        a = np.array([index[r.a] for r in usable], dtype=np.int64)
        b = np.array([index[r.b] for r in usable], dtype=np.int64)
        length = np.array([r.length_km for r in usable], dtype=float)
        kmh = np.array(
            [
                r.speed_kmh * (r.damage_factor if r.status == RoadStatus.DAMAGED else 1.0)
                for r in usable
            ],
            dtype=float,
        )
        # Two roads between the same nodes: the later one stands, as in `road_graph`.
        key = np.minimum(a, b) * max(len(self.ids), 1) + np.maximum(a, b)
        _, last = np.unique(key[::-1], return_index=True)
        keep = np.sort(len(key) - 1 - last)
        self.rows, self.cols = a[keep], b[keep]
        self.length, self.road_kmh = length[keep], kmh[keep]
        self._trees: OrderedDict[tuple[float | None, int], np.ndarray] = OrderedDict()
        self._pairs: OrderedDict[tuple[float | None, float, bytes], csr_matrix] = OrderedDict()
        self._shelters: tuple[object, np.ndarray] | None = None  # (shelters, their nodes)

    def hours_from(self, cap: float | None, nodes: np.ndarray) -> np.ndarray:
        """Shortest-path hours from each node to every node (rows in `nodes` order).

        Trees are kept (a bounded number, least recently used first out): the planner asks
        for the same shelters' trees for every depot that serves them and in every round;
        on the synthetic province that was most of the routing's time.
        """
        out = np.empty((len(nodes), len(self.ids)))
        missing = [k for k, n in enumerate(nodes) if (cap, int(n)) not in self._trees]
        if missing:
            todo = np.unique(nodes[missing])
            dist = dijkstra(self.matrix(cap), directed=False, indices=todo)
            for n, row in zip(todo, np.atleast_2d(dist), strict=True):
                self._trees[(cap, int(n))] = row
        for k, n in enumerate(nodes):
            key = (cap, int(n))
            self._trees.move_to_end(key)
            out[k] = self._trees[key]
        limit = max(TREE_BYTES // max(len(self.ids) * 8, 1), len(nodes))
        while len(self._trees) > limit:
            self._trees.popitem(last=False)
        return out

    def hours_to(self, cap: float | None, origins: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Shortest-path hours from each origin node to each target node, for many origins.

        The whole trees of every source of the province x 4 (1,279 × 80,000 nodes) are
        820 MB, written twice through the tree cache; only the shelters' columns are read.
        So trees are grown a block at a time and only their target columns kept (peak
        memory at x 4: 2,174 MB before, 1,350-1,580 MB after); nothing is cached.
        """
        matrix = self.matrix(cap)
        parts = [
            np.atleast_2d(dijkstra(matrix, directed=False, indices=block))[:, targets]
            for block in (
                origins[lo : lo + TREE_BLOCK] for lo in range(0, len(origins), TREE_BLOCK)
            )
        ]
        return np.vstack(parts) if parts else np.zeros((0, len(targets)))

    def pair_hours(self, cap: float | None, reach: float, nodes: np.ndarray) -> csr_matrix:
        """Road hours between `nodes` (sorted, unique) where at most `reach`, plus one (so
        that a stored zero means "farther"), as a sparse matrix in `nodes` order.

        Kept for the last few node sets: every depot serving a shelter, in every round,
        reads the same pairs (on the province a shelter is served by five depots).
        """
        key = (cap, reach, nodes.tobytes())
        hit = self._pairs.get(key)
        if hit is not None:
            self._pairs.move_to_end(key)
            return hit
        matrix = self.matrix(cap)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for lo, dist, _ in _trees(matrix, nodes, reach):
            sub = dist[:, nodes]
            r, c = np.nonzero(np.isfinite(sub))
            rows.append(r + lo)
            cols.append(c)
            vals.append(sub[r, c] + 1.0)
        hit = csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(nodes), len(nodes)),
        )
        self._pairs[key] = hit
        while len(self._pairs) > PAIR_SETS:
            self._pairs.popitem(last=False)
        return hit

    def shelter_nodes(self, problem: Problem) -> np.ndarray:
        """Every shelter's nearest node, sorted and unique (asked once per depot)."""
        if self._shelters is None or self._shelters[0] is not problem.shelters:
            nodes, _ = self.attach([Place(h.code, h.lat, h.lon) for h in problem.shelters])
            self._shelters = (problem.shelters, np.unique(nodes))
        return self._shelters[1]

    def attach(self, places: Sequence[Place]) -> tuple[np.ndarray, np.ndarray]:
        """Each place's nearest road node and the access leg's km."""
        plat = np.array([p.lat for p in places])
        plon = np.array([p.lon for p in places])
        _, nearest = self.tree.query(_planar(plat, plon, self.lat0))
        access_km = haversine_km(plat, plon, self.lat[nearest], self.lon[nearest])
        return nearest, access_km * DETOUR_FACTOR

    def matrix(self, cap: float | None) -> csr_matrix:
        """Edge hours for a vehicle capped at `cap` km/h (None: road speed)."""
        kmh = self.road_kmh if cap is None else np.minimum(self.road_kmh, cap)
        weights = self.length / np.maximum(kmh, 1e-9)
        n = len(self.ids)
        return csr_matrix((weights, (self.rows, self.cols)), shape=(n, n))


#: Road indexes of the last few networks, by the identity of their node and road tuples
#: (kept alive here, so an id is not reused while cached): the planner asks for travel
#: times per depot and per round, and rebuilding a 20,000-node index took 1.4 s each time.
_CACHE: "OrderedDict[tuple[int, int], tuple[object, object, _Roads]]" = OrderedDict()
_CACHE_SIZE = 4
#: Memory for kept shortest-path trees per road network (a tree of the 20,000-node
#: province is 160 kB).
TREE_BYTES = 400 * 2**20
#: Trees grown at once when many sources need travel times (`_Roads.hours_to`).
TREE_BLOCK = 64
#: Pair tables kept per road network (one per speed cap is what a plan reads).
PAIR_SETS = 6


def _trees(
    matrix: csr_matrix, origins: np.ndarray, limit: float, predecessors: bool = False
) -> Iterator[tuple[int, np.ndarray, np.ndarray | None]]:
    """Shortest-path trees from `origins`, `limit` hours deep, a block of rows at a time
    (256 trees of the province's network are 40 MB): (first row, hours, predecessors)."""
    for lo in range(0, len(origins), 256):
        block = origins[lo : lo + 256]
        if predecessors:
            dist, pred = dijkstra(
                matrix, directed=False, indices=block, limit=limit, return_predecessors=True
            )
            yield lo, np.atleast_2d(dist), np.atleast_2d(pred)
        else:
            dist = dijkstra(matrix, directed=False, indices=block, limit=limit)
            yield lo, np.atleast_2d(dist), None


def clear_cache() -> None:
    """Forget the cached road indexes (benchmarks time each run from cold)."""
    _CACHE.clear()


def _roads(problem: Problem) -> _Roads:
    key = (id(problem.nodes), id(problem.roads))
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is problem.nodes and hit[1] is problem.roads:
        _CACHE.move_to_end(key)
        return hit[2]
    index = _Roads(problem)
    _CACHE[key] = (problem.nodes, problem.roads, index)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return index


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

    roads = _roads(problem)
    src_node, src_access_km = roads.attach(sources)
    sh_node, sh_access_km = roads.attach(shelters)
    hours = np.full((len(sources), len(shelters)), np.inf)
    caps = sorted({p.speed_cap_kmh for p in sources}, key=lambda c: (c is None, c or 0.0))
    for cap in caps:
        which = [i for i, p in enumerate(sources) if p.speed_cap_kmh == cap]
        unique_nodes, inverse = np.unique(src_node[which], return_inverse=True)
        inverse = inverse.ravel()
        if len(unique_nodes) > TREE_BLOCK:
            dist = roads.hours_to(cap, unique_nodes, sh_node)
        else:  # a depot's few trees: kept for the routing, which asks again
            dist = roads.hours_from(cap, unique_nodes)[:, sh_node]
        access_kmh = ACCESS_KMH if cap is None else min(ACCESS_KMH, cap)
        at = np.asarray(which)
        hours[at] = (
            dist[inverse] + (src_access_km[at][:, None] + sh_access_km[None, :]) / access_kmh
        )
    return TravelTimes(src_codes, sh_codes, hours)


def local_times(
    problem: Problem, hub: Place, places: Sequence[Place], reach_hours: float
) -> np.ndarray:
    """Hours between `hub` (row and column 0) and `places`, at the hub's speed cap.

    The hub's own row and column are exact. Between two places the fastest road is found
    when it takes at most `reach_hours`; a pair farther apart is joined through the hub's
    road node: a road a truck can drive, so never shorter than the fastest one, and no
    sensible trip chains two stops that far apart. Searching every place's tree only that
    far made the province's depot instances 7 times faster to build (a whole tree of its
    20,000-node network is 2.4 ms; one of 2 hours, 0.2 ms).
    """
    everyone = [hub, *places]
    if not problem.nodes:
        return _great_circle(everyone, everyone).hours
    roads = _roads(problem)
    node, access_km = roads.attach(everyone)
    cap = hub.speed_cap_kmh
    access_kmh = ACCESS_KMH if cap is None else min(ACCESS_KMH, cap)
    hub_row = roads.hours_from(cap, node[:1])[0]
    road = np.empty((len(everyone), len(everyone)))
    road[0] = road[:, 0] = hub_row[node]
    if math.isfinite(reach_hours):
        # Every shelter's pairs at once, kept for the other depots and rounds.
        known = np.union1d(roads.shelter_nodes(problem), node[1:])
        at = np.searchsorted(known, node[1:])
        sub = roads.pair_hours(cap, reach_hours, known)[at][:, at].toarray()
        road[1:, 1:] = np.where(sub > 0, sub - 1.0, np.inf)
    else:
        # Exact, yet no deeper than twice the hub's farthest place: no pair is farther
        # apart than that (through the hub), so the trees stop early around a small depot.
        finite = hub_row[node[1:]][np.isfinite(hub_row[node[1:]])]
        deep = 2 * float(finite.max()) + 1e-9 if finite.size else np.inf
        unique, inverse = np.unique(node[1:], return_inverse=True)
        matrix = roads.matrix(cap)
        for lo, dist, _ in _trees(matrix, unique, deep):
            rows = np.flatnonzero((inverse >= lo) & (inverse < lo + len(dist)))
            road[1 + rows, 1:] = dist[inverse[rows] - lo][:, node[1:]]
    through = road[1:, :1] + road[:1, 1:]  # via the hub's road node
    inner = road[1:, 1:]
    np.copyto(inner, through, where=~np.isfinite(inner))
    return road + (access_km[:, None] + access_km[None, :]) / access_kmh


def road_paths(
    problem: Problem, legs: Sequence[tuple[Place, Place]], reach_hours: float = 1.5
) -> list[list[tuple[float, float]]]:
    """The (lon, lat) polyline of each leg's fastest road path, for maps and GeoJSON.

    Each leg drives at its origin's speed cap. Without roads, or where no road path exists,
    the leg is drawn straight (the travel-time matrix says `inf` for the latter).

    Roads are undirected, so each leg is searched from whichever end more legs share (a
    depot: one tree for all its trips' first and last legs), and first only `reach_hours`
    deep (stop to stop is short), then whole trees for the legs that were farther: one
    whole tree per stop drew the province's tours in 15 s.
    """
    straight = [[(a.lon, a.lat), (b.lon, b.lat)] for a, b in legs]
    if not legs or not problem.nodes:
        return straight
    roads = _roads(problem)
    start, _ = roads.attach([a for a, _ in legs])
    stop, _ = roads.attach([b for _, b in legs])
    out = list(straight)
    by_cap: dict[float | None, list[int]] = {}
    for k, (a, _) in enumerate(legs):
        by_cap.setdefault(a.speed_cap_kmh, []).append(k)
    for cap, which in by_cap.items():
        ends = np.concatenate([start[which], stop[which]])
        nodes, counts = np.unique(ends, return_counts=True)
        shared = dict(zip(nodes.tolist(), counts.tolist(), strict=True))
        flip = {k: shared[int(stop[k])] > shared[int(start[k])] for k in which}
        origin = {k: int(stop[k] if flip[k] else start[k]) for k in which}
        todo = list(which)
        matrix = roads.matrix(cap)
        for limit in (reach_hours, np.inf):
            origins = np.unique([origin[k] for k in todo])
            row_of = {int(n): r for r, n in enumerate(origins)}
            legs_of: dict[int, list[int]] = {}  # tree row -> its legs
            for k in todo:
                legs_of.setdefault(row_of[origin[k]], []).append(k)
            left: list[int] = []
            for lo, dist, pred in _trees(matrix, origins, limit, predecessors=True):
                assert pred is not None
                for r in range(len(dist)):
                    for k in legs_of.get(lo + r, []):
                        target = int(start[k] if flip[k] else stop[k])
                        if not np.isfinite(dist[r, target]):
                            left.append(k)
                            continue
                        chain = [target]
                        while chain[-1] != origin[k]:
                            chain.append(int(pred[r, chain[-1]]))
                        if not flip[k]:
                            chain.reverse()
                        a, b = legs[k]
                        line = [(float(roads.lon[n]), float(roads.lat[n])) for n in chain]
                        out[k] = [(a.lon, a.lat), *line, (b.lon, b.lat)]
            todo = left
            if not todo:
                break
    return out


def _great_circle(sources: Sequence[Place], shelters: Sequence[Place]) -> TravelTimes:
    slat = np.array([p.lat for p in sources])[:, None]
    slon = np.array([p.lon for p in sources])[:, None]
    hlat = np.array([p.lat for p in shelters])[None, :]
    hlon = np.array([p.lon for p in shelters])[None, :]
    km = haversine_km(slat, slon, hlat, hlon) * DETOUR_FACTOR
    speed = np.array([p.speed_cap_kmh or 60.0 for p in sources])[:, None]
    return TravelTimes(tuple(p.code for p in sources), tuple(p.code for p in shelters), km / speed)
