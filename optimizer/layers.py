"""The map's layers as GeoJSON (RFC 7946): one geometry type per layer, stable feature ids.

The one schema of every feature the console draws, QGIS opens and `plan.geojson` holds:
`Plan.to_geojson` builds its features here too. A scenario gives depots (and agreement
suppliers), shelters and roads; a plan document adds coverage to the shelters and truck
tours along the roads. Coordinates are [lon, lat] (WGS 84), as RFC 7946 requires.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any

from optimizer.plan import Stop, Trip, VehicleRoute
from optimizer.plan_document import PlanDocument, RouteDoc, ShelterDoc
from optimizer.problem import Depot, Problem, RoadStatus

Feature = dict[str, Any]
Collection = dict[str, Any]
LonLat = tuple[float, float]


class Coverage(StrEnum):
    """A shelter's class on the map: the colour the console and QGIS draw it in."""

    ON_TIME = "on_time"  # every critical need on time
    LATE = "late"  # nothing left unmet, but some of it after the deadline
    UNMET = "unmet"  # some need neither on time nor late
    UNREACHABLE = "unreachable"  # no road reaches it: nothing can come
    UNPLANNED = "unplanned"  # a scenario's shelter, no plan read yet


#: simplestyle colours (`marker-color`, `stroke`), which QGIS and geojson.io read.
COVERAGE_COLOURS: dict[Coverage, str] = {
    Coverage.ON_TIME: "#1a9850",
    Coverage.LATE: "#fdae61",
    Coverage.UNMET: "#d73027",
    Coverage.UNREACHABLE: "#4d4d4d",
    Coverage.UNPLANNED: "#3182bd",
}
ROAD_COLOURS: dict[RoadStatus, str] = {
    RoadStatus.OPEN: "#7f8c8d",
    RoadStatus.DAMAGED: "#e67e22",
    RoadStatus.CLOSED: "#c0392b",
}
#: One colour per vehicle, cycled (colour-blind-safe first).
VEHICLE_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)


def collection(features: Iterable[Feature], name: str) -> Collection:
    """A FeatureCollection; `name` is the layer's (QGIS shows it)."""
    return {"type": "FeatureCollection", "name": name, "features": list(features)}


def point(fid: str, lon: float, lat: float, props: dict[str, Any]) -> Feature:
    return {
        "type": "Feature",
        "id": fid,
        "geometry": {"type": "Point", "coordinates": [_deg(lon), _deg(lat)]},
        "properties": props,
    }


def line(
    fid: str, coords: Sequence[LonLat], props: dict[str, Any], *, rounded: bool = False
) -> Feature:
    """A LineString; `rounded`: the coordinates are already to 6 decimals."""
    points = [[x, y] for x, y in coords] if rounded else [[_deg(x), _deg(y)] for x, y in coords]
    return {
        "type": "Feature",
        "id": fid,
        "geometry": {"type": "LineString", "coordinates": points},
        "properties": props,
    }


def _deg(value: float) -> float:
    """Degrees to 6 decimals (0.1 m): finer is noise, and the province's roads are 40,000."""
    return round(value, 6)


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# --- a scenario's layers ---------------------------------------------------------------


def depot_features(problem: Problem) -> list[Feature]:
    """Depots (stock by lot with expiry, fleet) and agreement suppliers, as points."""
    lots: dict[str, list[dict[str, Any]]] = {}
    for lot in problem.lots:
        lots.setdefault(lot.depot, []).append(
            {
                "item": lot.item,
                "lot": lot.lot,
                "qty": lot.qty,
                "expires_on": None if lot.expires_on is None else lot.expires_on.isoformat(),
            }
        )
    fleet: dict[str, list[dict[str, Any]]] = {}
    for v in problem.fleet:
        fleet.setdefault(v.depot, []).append(
            {"vehicle_type": v.vehicle_type, "count": v.count, "capacity_kg": v.capacity_kg}
        )
    out = [
        point(
            f"depot:{d.code}",
            d.lon,
            d.lat,
            {
                "kind": "depot",
                "code": d.code,
                "name": d.name,
                "tier": d.tier,
                "stock_qty": sum(lot["qty"] for lot in lots.get(d.code, [])),
                "lots": sorted(
                    lots.get(d.code, []), key=lambda r: (r["item"], r["expires_on"] or "")
                ),
                "fleet": fleet.get(d.code, []),
            },
        )
        for d in problem.depots
    ]
    out.extend(
        point(
            f"agreement:{a.code}",
            a.lon,
            a.lat,
            {
                "kind": "agreement",
                "code": a.code,
                "name": a.supplier,
                "tier": "agreement",
                "stock_qty": a.qty,
                "lots": [{"item": a.item, "lot": None, "qty": a.qty, "expires_on": None}],
                "lead_time_hours": a.lead_time_hours,
            },
        )
        for a in problem.agreements
    )
    return out


def shelter_features(problem: Problem) -> list[Feature]:
    """Every shelter of the scenario as a point, `unplanned` (no plan read yet)."""
    return [
        shelter_feature(s.code, (s.lon, s.lat), None, name=s.name, residents=s.residents)
        for s in problem.shelters
    ]


def road_features(problem: Problem) -> list[Feature]:
    """Each road (undirected) as a line, by status; ids are the row's place in roads.csv."""
    # Each node rounded once, not at every road it ends (a node ends four roads of a grid).
    nodes = {n.id: (_deg(n.lon), _deg(n.lat)) for n in problem.nodes}
    return [
        line(
            f"road:{k}",
            [nodes[r.a], nodes[r.b]],
            {
                "kind": "road",
                "from": r.a,
                "to": r.b,
                "road_class": r.road_class,
                "length_km": round(r.length_km, 3),
                "speed_kmh": r.speed_kmh,
                "status": r.status.value,
                "damage_factor": r.damage_factor,
                "stroke": ROAD_COLOURS[r.status],
            },
            rounded=True,
        )
        for k, r in enumerate(problem.roads, start=1)
    ]


# --- a plan's layers -------------------------------------------------------------------


def coverage_of(shelter: ShelterDoc) -> Coverage:
    """served on time / late / unmet / unreachable, from the plan's own figures."""
    if shelter.served_on_time:
        return Coverage.ON_TIME
    got = sum(c.on_time + c.late for c in shelter.items)
    if not got and any(r.startswith("unreachable") for r in shelter.reasons):
        return Coverage.UNREACHABLE
    if all(c.unmet == 0 for c in shelter.items):
        return Coverage.LATE
    return Coverage.UNMET


def shelter_feature(
    code: str, where: LonLat, planned: ShelterDoc | None, *, name: str = "", residents: int = 0
) -> Feature:
    """A shelter: needs per item (on time, late, unmet), arrivals and the reasons it is
    short when a plan covers it; `unplanned` otherwise."""
    props: dict[str, Any] = {"kind": "shelter", "code": code, "name": name, "residents": residents}
    if planned is None:
        cover = Coverage.UNPLANNED
    else:
        cover = coverage_of(planned)
        shares = [c.on_time / c.need for c in planned.items if c.need]
        props |= {
            "name": planned.name or name,
            "residents": planned.residents,
            "served_on_time": planned.served_on_time,
            "on_time_share": round(min(shares) if shares else 1.0, 3),
            "first_arrival_hours": planned.first_arrival_hours,
            "last_arrival_hours": planned.last_arrival_hours,
            "items": [c.model_dump() for c in planned.items],
            "reasons": list(planned.reasons),
        }
    props |= {"coverage": cover.value, "marker-color": COVERAGE_COLOURS[cover]}
    return point(code, where[0], where[1], props)


def plan_shelter_features(plan: PlanDocument, where: Mapping[str, LonLat]) -> list[Feature]:
    """The plan's shelters placed at `where` (code -> lon, lat); unplaced ones are left out."""
    return [
        shelter_feature(s.code, where[s.code], s, name=s.name, residents=s.residents)
        for s in plan.shelters
        if s.code in where
    ]


def source_features(plan: PlanDocument, tiers: Mapping[str, str] | None = None) -> list[Feature]:
    """The plan's sources (depots, agreement suppliers) with what they hold and ship."""
    shipped: Counter[tuple[str, str]] = Counter()
    for sh in plan.shipments:
        shipped[(sh.source_kind, sh.source)] += sh.qty
    vehicles = Counter(r.depot for r in plan.routes)
    tiers = tiers or {}
    return [
        point(
            f"{src['kind']}:{src['code']}",
            src["lon"],
            src["lat"],
            {
                "kind": src["kind"],
                "code": src["code"],
                "tier": tiers.get(src["code"], src["kind"]),
                "ready_hours": src.get("ready_hours"),
                "supply": src.get("supply", {}),
                "stock_qty": sum(src.get("supply", {}).values()),
                "shipped_qty": shipped[(src["kind"], src["code"])],
                "vehicles": vehicles[src["code"]],
            },
        )
        for src in plan.sources
    ]


def tour_features(
    plan: PlanDocument, paths: Mapping[tuple[str, int], Sequence[LonLat]]
) -> list[Feature]:
    """One line per vehicle trip, along `paths` ((vehicle, trip) -> lon/lat polyline);
    stops in order with arrival hours and loads (the truck's manifest)."""
    out: list[Feature] = []
    for k, route in enumerate(plan.routes):
        colour = VEHICLE_COLOURS[k % len(VEHICLE_COLOURS)]
        for trip in route.trips:
            path = paths.get((route.vehicle, trip.trip), ())
            if len(path) < 2:
                continue
            out.append(
                line(
                    f"{route.vehicle}#{trip.trip}",
                    path,
                    {
                        "kind": "route",
                        "vehicle": route.vehicle,
                        "depot": route.depot,
                        "vehicle_type": route.vehicle_type,
                        "trip": trip.trip,
                        "depart_hours": _hours(trip.depart_hours),
                        "return_hours": _hours(trip.return_hours),
                        "load_kg": trip.load_kg,
                        "stops": [s.model_dump() for s in trip.stops],
                        "stroke": colour,
                    },
                )
            )
    return out


def trip_paths(problem: Problem, plan: PlanDocument) -> dict[tuple[str, int], list[LonLat]]:
    """Each trip of a stored plan drawn along `problem`'s roads (depot, stops, depot).

    The depots are placed where the plan's sources say (a plan from the ledger has the
    ledger's depots), the shelters where the scenario puts them; a trip to a shelter the
    scenario does not have is not drawn.
    """
    from optimizer.routing.plan_tours import draw_route_paths

    known = {d.code: d for d in problem.depots}
    placed = {
        s["code"]: Depot(s["code"], s["code"], "", s["lat"], s["lon"], 0.0)
        for s in plan.sources
        if s["kind"] == "depot"
    }
    shelters = {s.code for s in problem.shelters}
    routes = [
        _vehicle_route(r)
        for r in plan.routes
        if r.depot in placed and all(st.shelter in shelters for t in r.trips for st in t.stops)
    ]
    depots = tuple({**known, **placed}.values())
    draw_route_paths(replace(problem, depots=depots), routes)
    return {(r.vehicle, t.trip): list(t.path) for r in routes for t in r.trips}


def _vehicle_route(doc: RouteDoc) -> VehicleRoute:
    return VehicleRoute(
        vehicle=doc.vehicle,
        depot=doc.depot,
        vehicle_type=doc.vehicle_type,
        capacity_kg=doc.capacity_kg,
        capacity_m3=doc.capacity_m3,
        trips=[
            Trip(
                trip=t.trip,
                depart_hours=t.depart_hours or 0.0,
                return_hours=t.return_hours or 0.0,
                stops=[Stop(s.stop, s.shelter, s.arrival_hours or 0.0, []) for s in t.stops],
            )
            for t in doc.trips
        ],
    )
