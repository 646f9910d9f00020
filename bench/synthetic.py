"""Seeded synthetic planning problems at two sizes, for the allocation benchmark.

Real scenarios are few and small; the solvers have to be measured at the sizes a dispatcher
meets. Two sizes:

* **city**: 20 depots (city, county, township, village), 200 shelters, 15 items and 10
  agreement reserves over about 80 x 80 km, with no road graph (great-circle travel).
* **province**: 120 depots in five tiers, 3,000 shelters, 20 items and 200 agreement
  reserves over 300 x 300 km, on a 20,000-node road graph: a jittered 125 x 160 grid with
  expressways, class-1/2 roads and local roads; some local roads left out (never a random
  spanning tree's, so the network is connected before the disaster), and roads near the
  epicentre damaged or closed with a probability that decays with distance.

What makes both instances worth planning: usable stock is short (60-80 % of each critical
item's need, less for the rest), placed unevenly (lognormal weights, not every depot holds
every item), shelters cluster around an epicentre, some lots are already expired (on top of
the usable stock), each depot's fleet is sized to its stock times a random adequacy (so some
are short of vehicles) and some village depots have none, and agreement reserves come after
2-8 h of lead time, some from outside the region. Deadline 10 h, one-day horizon, 3-5
critical items. Everything is drawn from one `numpy` generator seeded by (seed, size), and
`today` is fixed, so the same seed gives the same Problem on any machine and any day.
"""

import csv
import io
import math
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree

from optimizer.demand import needs
from optimizer.problem import (
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

TODAY = date(2026, 1, 15)
LAT0, LON0 = 29.0, 119.0  # south-west corner of the region
KM_PER_DEG = 111.195

#: The item catalogue, most urgent first; the first three to five norms are the critical ones.
#: Quantities per person are per day (`day`) or for the whole event (`once`).
CATALOGUE_CSV = """\
code,name,category,unit,kg,m3,per_person,per,priority,perishable
WATER-24,Bottled water 24 x 550 ml,food_water,case,13.5,0.02,0.23,day,1,yes
QUILT,Cotton quilt,bedding,piece,2.5,0.045,1.0,once,1,no
TENT-12C,Tent 12 m2 cotton,shelter,tent,38.0,0.2,0.1,once,2,no
BISCUIT-10,Compressed biscuits 10 kg,food_water,case,10.5,0.025,0.045,day,2,yes
FAK-FAMILY,Family first-aid kit,medical,kit,1.2,0.006,0.1,once,2,yes
NOODLE-24,Instant noodles 24 packs,food_water,case,2.8,0.04,0.042,day,3,yes
COAT-COTTON,Cotton coat,clothing,piece,1.5,0.01,0.5,once,3,no
BED-FOLD,Folding bed,bedding,piece,8.0,0.05,0.2,once,4,no
MAT-DAMP,Damp-proof mat,bedding,piece,1.0,0.01,0.5,once,4,no
LAMP-SOLAR,Solar lamp,tools,piece,0.5,0.002,0.1,once,4,no
HYGIENE-KIT,Hygiene kit,hygiene,kit,1.0,0.004,0.25,once,5,no
TARPAULIN,Tarpaulin 4 x 6 m,shelter,piece,3.0,0.01,0.05,once,5,no
RICE-25,Rice 25 kg,food_water,bag,25.0,0.03,0.01,day,5,yes
DISINFECT-5L,Disinfectant 5 l,hygiene,can,5.5,0.006,0.01,once,6,yes
TOILET-MOBILE,Mobile toilet,hygiene,unit,80.0,2.5,0.01,once,6,no
STOVE-GAS,Gas stove,tools,piece,5.0,0.02,0.03,once,6,no
BUCKET,Bucket 15 l,tools,piece,0.6,0.01,0.1,once,7,no
MASK-50,Masks box of 50,medical,box,0.4,0.003,0.05,once,7,yes
GEN-5KW,Generator 5 kW,tools,unit,90.0,0.3,0.002,once,8,no
JERRYCAN-20,Water container 20 l,food_water,piece,1.2,0.025,0.1,once,8,no
"""


@dataclass(frozen=True, slots=True)
class _Item:
    """One catalogue row: the item and its per-person norm."""

    spec: ItemSpec
    per_person: float
    per: Per
    priority: int
    perishable: bool


def _read_catalogue(text: str) -> tuple[_Item, ...]:
    rows = list(csv.DictReader(io.StringIO(text)))
    return tuple(
        _Item(
            ItemSpec(
                r["code"],
                r["code"],
                r["name"],
                r["category"],
                r["unit"],
                float(r["kg"]),
                float(r["m3"]),
            ),
            float(r["per_person"]),
            Per(r["per"]),
            int(r["priority"]),
            r["perishable"] == "yes",
        )
        for r in rows
    )


CATALOGUE = _read_catalogue(CATALOGUE_CSV)


@dataclass(frozen=True, slots=True)
class _Vehicle:
    """A kind of vehicle: what one carries and how fast it drives."""

    vehicle_type: str
    capacity_kg: float
    capacity_m3: float
    speed_kmh: float


@dataclass(frozen=True, slots=True)
class _Tier:
    """How a tier's depots load, how much stock they keep relative to a township's, how
    likely they hold a given item, what they drive, and how often they have no vehicle."""

    loading_hours: float
    stock_weight: float
    holds_share: float
    vehicles: tuple[_Vehicle, ...]
    no_fleet_share: float = 0.0


HEAVY = _Vehicle("heavy", 15_000.0, 55.0, 70.0)
MEDIUM = _Vehicle("medium", 8_000.0, 35.0, 60.0)
LIGHT = _Vehicle("light", 2_000.0, 10.0, 50.0)

TIERS: dict[str, _Tier] = {
    "province": _Tier(3.0, 30.0, 0.95, (HEAVY, MEDIUM)),
    "city": _Tier(2.0, 8.0, 0.85, (HEAVY, MEDIUM)),
    "county": _Tier(1.5, 3.0, 0.7, (MEDIUM, LIGHT)),
    "township": _Tier(1.0, 1.0, 0.5, (LIGHT,)),
    "village": _Tier(0.5, 0.3, 0.3, (LIGHT,), no_fleet_share=0.4),
}

#: Round trips a vehicle is assumed to make by the deadline when a depot's fleet is sized
#: to its stock; each fleet is then scaled by a random adequacy, so some depots are short.
FLEET_TRIPS = 2.0
FLEET_ADEQUACY = (0.4, 1.6)

TIER_LETTER = {"province": "P", "city": "C", "county": "X", "township": "T", "village": "V"}

#: road class -> speed km/h; which grid lines carry it (every n-th, offset).
ROAD_CLASSES = (("expressway", 100.0, 40, 20), ("class1", 80.0, 10, 5), ("class2", 60.0, 5, 0))
LOCAL_ROAD = ("class3", 40.0)


@dataclass(frozen=True, slots=True)
class Size:
    """Counts and extent of one instance size; `road_grid` None means great-circle travel."""

    name: str
    depots: tuple[tuple[str, int], ...]  # (tier, count), top tier first
    depot_spread: tuple[float | None, ...]  # per tier: 1 sigma around parents / extent
    shelters: int
    items: int
    agreements: int
    extent_km: float
    spread_km: float  # how far shelter clusters scatter around the epicentre (1 sigma)
    road_grid: tuple[int, int] | None = None  # (rows, cols) of road nodes


SIZES: dict[str, Size] = {
    "city": Size(
        "city",
        (("city", 1), ("county", 3), ("township", 10), ("village", 6)),
        (0.0, 0.25, 0.1, 0.03),
        shelters=200,
        items=15,
        agreements=10,
        extent_km=80.0,
        spread_km=18.0,
    ),
    "province": Size(
        "province",
        (("province", 1), ("city", 7), ("county", 22), ("township", 45), ("village", 45)),
        (0.0, None, 0.08, 0.04, 0.015),
        shelters=3_000,
        items=20,
        agreements=200,
        extent_km=300.0,
        spread_km=55.0,
        road_grid=(125, 160),
    ),
}


def scaled(base: Size, factor: float, name: str) -> Size:
    """`base` grown by `factor` in shelters, depots, agreements and road nodes together.

    The area grows with the counts (each side by √factor), so that depots, shelters and
    roads keep their density and a province's worst day is a bigger region, not a denser
    one. Every tier keeps at least one depot.
    """
    side = math.sqrt(factor)
    grid = base.road_grid
    return replace(
        base,
        name=name,
        depots=tuple((tier, max(1, round(count * factor))) for tier, count in base.depots),
        shelters=round(base.shelters * factor),
        agreements=round(base.agreements * factor),
        extent_km=base.extent_km * side,
        spread_km=base.spread_km * side,
        road_grid=None if grid is None else (round(grid[0] * side), round(grid[1] * side)),
    )


#: The province scaled down and up, for the allocation's scaling benchmark.
for _name, _factor in (("province-half", 0.5), ("province2x", 2.0), ("province4x", 4.0)):
    SIZES[_name] = scaled(SIZES["province"], _factor, _name)


class _Frame:
    """Planar km (x east, y north, from the south-west corner) to latitude and longitude."""

    def __init__(self, extent_km: float) -> None:
        mid = LAT0 + extent_km / 2 / KM_PER_DEG
        self.km_per_deg_lon = KM_PER_DEG * math.cos(math.radians(mid))

    def lat(self, y: float) -> float:
        return round(LAT0 + y / KM_PER_DEG, 5)

    def lon(self, x: float) -> float:
        return round(LON0 + x / self.km_per_deg_lon, 5)


def build_problem(size: str | Size, *, seed: int = 0) -> Problem:
    """A synthetic Problem of the given size, identical for identical (size, seed).

    Raises
    ------
    KeyError
        If `size` names no known size.
    """
    spec = SIZES[size] if isinstance(size, str) else size
    rng = np.random.default_rng([seed, sum(map(ord, spec.name))])
    frame = _Frame(spec.extent_km)
    ext = spec.extent_km
    epicentre = np.array([0.55, 0.45]) * ext + rng.normal(0, 0.05 * ext, 2)

    items, norms = _catalogue(spec, rng)
    depots, depot_xy = _depots(spec, rng, frame)
    shelters = _shelters(spec, rng, frame, epicentre)
    bare = Problem(
        name=f"synthetic-{spec.name}-{seed}",
        items=items,
        norms=norms,
        depots=depots,
        lots=(),
        agreements=(),
        shelters=shelters,
        fleet=(),
        deadline_hours=10.0,
        horizon_days=1,
        today=TODAY,
        title=f"Synthetic {spec.name} (seed {seed})",
    )
    total_need: dict[str, int] = {}
    for n in needs(bare):
        total_need[n.item] = total_need.get(n.item, 0) + n.qty
    critical = {n.item for n in norms if n.critical}
    usable = {
        it.code: round(total_need.get(it.code, 0) * _short_share(it.code in critical, rng))
        for it in items
    }
    agreements, from_agreements = _agreements(spec, rng, frame, items, critical, usable, depot_xy)
    lots = _lots(depots, rng, items, {k: usable[k] - from_agreements.get(k, 0) for k in usable})
    nodes, roads = _roads(spec, rng, frame, epicentre) if spec.road_grid else ((), ())
    fleet = _fleet(depots, lots, items, TODAY, rng)
    return replace(bare, lots=lots, agreements=agreements, fleet=fleet, nodes=nodes, roads=roads)


def _short_share(critical: bool, rng: np.random.Generator) -> float:
    """Usable stock as a share of need: short for critical items, shorter for the rest."""
    return float(rng.uniform(0.6, 0.8) if critical else rng.uniform(0.3, 0.9))


def _catalogue(
    spec: Size, rng: np.random.Generator
) -> tuple[tuple[ItemSpec, ...], tuple[Norm, ...]]:
    chosen = CATALOGUE[: spec.items]
    n_critical = int(rng.integers(3, 6))
    items = tuple(row.spec for row in chosen)
    norms = tuple(
        Norm(row.spec.code, row.per_person, row.per, row.priority, k < n_critical)
        for k, row in enumerate(chosen)
    )
    return items, norms


def _depots(
    spec: Size, rng: np.random.Generator, frame: _Frame
) -> tuple[tuple[Depot, ...], dict[str, np.ndarray]]:
    """The top depot away from the epicentre; each lower tier scattered around its parents
    (round robin) by the size's spread, or uniformly over the region where it is None."""
    ext = spec.extent_km
    out: list[Depot] = []
    xy: dict[str, np.ndarray] = {}
    parents: list[np.ndarray] = []
    for (tier, count), spread in zip(spec.depots, spec.depot_spread, strict=True):
        for k in range(count):
            if not parents:
                p = np.array([0.3, 0.7]) * ext + rng.normal(0, 0.03 * ext, 2)
            elif spread is None:
                p = rng.uniform(0.05 * ext, 0.95 * ext, 2)
            else:
                p = parents[k % len(parents)] + rng.normal(0, spread * ext, 2)
            p = np.clip(p, 0, ext)
            code = f"{TIER_LETTER[tier]}{k + 1:03d}"
            xy[code] = p
            out.append(
                Depot(
                    code,
                    f"{tier} depot {code}",
                    tier,
                    frame.lat(p[1]),
                    frame.lon(p[0]),
                    TIERS[tier].loading_hours,
                )
            )
        parents = [xy[d.code] for d in out if d.tier == tier]
    return tuple(out), xy


def _shelters(
    spec: Size, rng: np.random.Generator, frame: _Frame, epicentre: np.ndarray
) -> tuple[Shelter, ...]:
    """Clusters of about 15 shelters around the epicentre, listed in a shuffled order (the
    order a dispatcher happened to enter them)."""
    ext = spec.extent_km
    centres = np.clip(
        epicentre + rng.normal(0, spec.spread_km, (spec.shelters // 15 + 1, 2)), 0, ext
    )
    which = rng.integers(0, len(centres), spec.shelters)
    xy = np.clip(centres[which] + rng.normal(0, 0.02 * ext, (spec.shelters, 2)), 0, ext)
    residents = np.clip(rng.lognormal(5.5, 0.7, spec.shelters), 30, 3_000).astype(int)
    order = rng.permutation(spec.shelters)
    return tuple(
        Shelter(
            f"SH{k + 1:05d}",
            f"shelter {k + 1}",
            frame.lat(xy[k, 1]),
            frame.lon(xy[k, 0]),
            int(residents[k]),
        )
        for k in order
    )


def _fleet(
    depots: tuple[Depot, ...],
    lots: tuple[Lot, ...],
    items: tuple[ItemSpec, ...],
    today: date,
    rng: np.random.Generator,
) -> tuple[VehicleType, ...]:
    """Vehicles sized to each depot's usable stock (weight and volume over `FLEET_TRIPS`
    trips) times a random adequacy, split evenly over the tier's vehicle kinds; at least
    one of each, except the village depots that have none at all."""
    spec = {it.code: it for it in items}
    kg: dict[str, float] = {}
    m3: dict[str, float] = {}
    for lot in lots:
        if lot.expires_on is None or lot.expires_on >= today:
            kg[lot.depot] = kg.get(lot.depot, 0.0) + lot.qty * spec[lot.item].unit_weight_kg
            m3[lot.depot] = m3.get(lot.depot, 0.0) + lot.qty * spec[lot.item].unit_volume_m3
    out: list[VehicleType] = []
    for d in depots:
        tier = TIERS[d.tier]
        adequacy = rng.uniform(*FLEET_ADEQUACY) / FLEET_TRIPS / len(tier.vehicles)
        if rng.random() < tier.no_fleet_share:
            continue
        for v in tier.vehicles:
            count = max(
                math.ceil(kg.get(d.code, 0.0) * adequacy / v.capacity_kg),
                math.ceil(m3.get(d.code, 0.0) * adequacy / v.capacity_m3),
                1,
            )
            out.append(
                VehicleType(
                    d.code, v.vehicle_type, count, v.capacity_kg, v.capacity_m3, v.speed_kmh
                )
            )
    return tuple(out)


def _agreements(
    spec: Size,
    rng: np.random.Generator,
    frame: _Frame,
    items: tuple[ItemSpec, ...],
    critical: set[str],
    usable: dict[str, int],
    depot_xy: dict[str, np.ndarray],
) -> tuple[tuple[Agreement, ...], dict[str, int]]:
    """Agreement reserves, mostly for food and water (they keep badly): each supplier sits
    near a depot or outside the region, delivers after 2-8 h, and together they hold
    15-35 % of an item's usable stock. Returns them and the units each item got."""
    ext = spec.extent_km
    weight = np.array(
        [
            (3.0 if it.code in critical else 1.0) * (2.0 if it.category == "food_water" else 1.0)
            for it in items
        ]
    )
    # Every critical item gets one agreement first, the rest are drawn by weight.
    firsts = [k for k, it in enumerate(items) if it.code in critical][: spec.agreements]
    picks = firsts + list(
        rng.choice(len(items), spec.agreements - len(firsts), p=weight / weight.sum())
    )
    anchors = list(depot_xy.values())
    per_item: dict[str, list[int]] = {}
    for a, k in enumerate(picks):
        per_item.setdefault(items[k].code, []).append(a)
    qty = [0] * len(picks)
    got: dict[str, int] = {}
    for code, members in per_item.items():
        total = round(usable[code] * rng.uniform(0.15, 0.35))
        shares = rng.dirichlet(np.ones(len(members)))
        for a, s in zip(members, shares, strict=True):
            qty[a] = int(total * s)
        got[code] = sum(qty[a] for a in members)
    out: list[Agreement] = []
    for a, k in enumerate(picks):
        if rng.random() < 0.3:  # outside the region: beyond one edge
            angle = rng.uniform(0, 2 * math.pi)
            p = np.array([ext / 2, ext / 2]) + (ext * rng.uniform(0.6, 1.0)) * np.array(
                [math.cos(angle), math.sin(angle)]
            )
        else:
            p = anchors[int(rng.integers(len(anchors)))] + rng.normal(0, 0.05 * ext, 2)
        out.append(
            Agreement(
                f"AG{a + 1:04d}",
                f"supplier {a + 1}",
                items[k].code,
                qty[a],
                float(rng.integers(4, 17)) / 2,
                frame.lat(p[1]),
                frame.lon(p[0]),
            )
        )
    return tuple(out), got


def _lots(
    depots: tuple[Depot, ...],
    rng: np.random.Generator,
    items: tuple[ItemSpec, ...],
    depot_stock: dict[str, int],
) -> tuple[Lot, ...]:
    """Spread each item's depot stock over the depots that hold it, in 1-3 lots; perishable
    holders sometimes also keep an expired lot (not counted as usable)."""
    tier_weight = np.array([TIERS[d.tier].stock_weight for d in depots])
    perishable = {row.spec.code for row in CATALOGUE if row.perishable}
    out: list[Lot] = []
    for it in items:
        holds = np.array([rng.random() < TIERS[d.tier].holds_share for d in depots])
        holds[int(np.argmax(tier_weight))] = True  # the top depot holds everything
        weights = np.where(holds, tier_weight * rng.lognormal(0, 1.0, len(depots)), 0.0)
        total = max(depot_stock[it.code], 0)
        qty = np.floor(total * weights / weights.sum()).astype(int)
        qty[int(np.argmax(weights))] += total - int(qty.sum())
        for d, q in zip(depots, qty, strict=True):
            if q <= 0:
                continue
            cuts = np.sort(rng.integers(0, q + 1, int(rng.integers(0, 3))))
            parts = np.diff(np.concatenate([[0], cuts, [q]]))
            for n, part in enumerate(parts):
                if part <= 0:
                    continue
                expires = (
                    TODAY + timedelta(days=int(rng.integers(20, 900)))
                    if it.code in perishable
                    else None
                )
                out.append(Lot(d.code, it.code, f"{it.code}-{d.code}-{n + 1}", int(part), expires))
            if it.code in perishable and rng.random() < 0.15:
                stale = TODAY - timedelta(days=int(rng.integers(1, 200)))
                old = max(int(q * rng.uniform(0.1, 0.4)), 1)
                out.append(Lot(d.code, it.code, f"{it.code}-{d.code}-X", old, stale))
    return tuple(out)


def _roads(
    spec: Size, rng: np.random.Generator, frame: _Frame, epicentre: np.ndarray
) -> tuple[tuple[Node, ...], tuple[Road, ...]]:
    """A jittered grid of roads; damage and closures concentrate near the epicentre."""
    assert spec.road_grid is not None
    rows, cols = spec.road_grid
    ext = spec.extent_km
    dy, dx = ext / (rows - 1), ext / (cols - 1)
    gy, gx = np.meshgrid(np.arange(rows) * dy, np.arange(cols) * dx, indexing="ij")
    x = np.clip(gx + rng.uniform(-0.3, 0.3, gx.shape) * dx, 0, ext).ravel()
    y = np.clip(gy + rng.uniform(-0.3, 0.3, gy.shape) * dy, 0, ext).ravel()
    nodes = tuple(Node(f"n{k}", frame.lat(y[k]), frame.lon(x[k])) for k in range(rows * cols))

    ids = np.arange(rows * cols).reshape(rows, cols)
    a = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    b = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    # A horizontal edge lies on its row's line, a vertical one on its column's line.
    line = np.concatenate(
        [np.repeat(np.arange(rows), cols - 1), np.tile(np.arange(cols), rows - 1)]
    )
    road_class = np.full(len(a), -1)
    for c, (_, _, every, offset) in reversed(list(enumerate(ROAD_CLASSES))):
        road_class[line % every == offset] = c
    km = np.hypot(x[a] - x[b], y[a] - y[b]) * rng.uniform(1.0, 1.2, len(a))

    tree = minimum_spanning_tree(
        coo_matrix((rng.uniform(1, 2, len(a)), (a, b)), shape=(rows * cols,) * 2)
    ).tocoo()
    edge_at = {(int(u), int(v)): e for e, (u, v) in enumerate(zip(a, b, strict=True))}
    in_tree = np.zeros(len(a), dtype=bool)
    for u, v in zip(tree.row, tree.col, strict=True):
        in_tree[edge_at[(min(int(u), int(v)), max(int(u), int(v)))]] = True
    keep = in_tree | (road_class >= 0) | (rng.random(len(a)) >= 0.2)

    mid = np.column_stack([(x[a] + x[b]) / 2, (y[a] + y[b]) / 2])
    dist = np.hypot(*(mid - epicentre).T)
    closed = rng.random(len(a)) < 0.25 * np.exp(-dist / 25) + 0.003
    damaged = ~closed & (rng.random(len(a)) < 0.6 * np.exp(-dist / 50) + 0.02)
    factor = rng.uniform(0.2, 0.7, len(a))
    roads: list[Road] = []
    for e in np.flatnonzero(keep):
        name, kmh = ROAD_CLASSES[road_class[e]][:2] if road_class[e] >= 0 else LOCAL_ROAD
        status = (
            RoadStatus.CLOSED
            if closed[e]
            else RoadStatus.DAMAGED
            if damaged[e]
            else RoadStatus.OPEN
        )
        roads.append(
            Road(
                f"n{a[e]}",
                f"n{b[e]}",
                round(float(km[e]), 3),
                name,
                kmh,
                status,
                round(float(factor[e]), 2) if damaged[e] else 1.0,
            )
        )
    return nodes, tuple(roads)


def describe(problem: Problem) -> dict[str, object]:
    """Figures that tell whether an instance is as intended (short, uneven, damaged)."""
    need: dict[str, int] = {}
    for n in needs(problem):
        need[n.item] = need.get(n.item, 0) + n.qty
    usable: dict[str, int] = {}
    expired = 0
    for lot in problem.lots:
        if lot.expires_on is not None and lot.expires_on < problem.today:
            expired += 1
        else:
            usable[lot.item] = usable.get(lot.item, 0) + lot.qty
    for ag in problem.agreements:
        usable[ag.item] = usable.get(ag.item, 0) + ag.qty
    critical = [n.item for n in problem.norms if n.critical]
    with_fleet = {v.depot for v in problem.fleet if v.count > 0}
    return {
        "depots": len(problem.depots),
        "depots_without_vehicles": sum(d.code not in with_fleet for d in problem.depots),
        "shelters": len(problem.shelters),
        "residents": sum(s.residents for s in problem.shelters),
        "items": len(problem.items),
        "critical_items": critical,
        "agreements": len(problem.agreements),
        "lots": len(problem.lots),
        "expired_lots": expired,
        "critical_stock_share": {
            c: round(usable.get(c, 0) / need[c], 3) for c in critical if need.get(c)
        },
        "road_nodes": len(problem.nodes),
        "roads": len(problem.roads),
        "roads_closed": sum(r.status == RoadStatus.CLOSED for r in problem.roads),
        "roads_damaged": sum(r.status == RoadStatus.DAMAGED for r in problem.roads),
    }
