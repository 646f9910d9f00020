"""Tiny planning instances whose best answer can be worked out by hand."""

from datetime import date

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
WATER = ItemSpec("W", "水", "water", "water", "case", 13.5, 0.02)
QUILT = ItemSpec("Q", "棉被", "quilt", "bedding", "piece", 2.5, 0.04)


def truck(depot: str, count: int = 2) -> VehicleType:
    return VehicleType(depot, "medium", count, 8000, 35, 60)


def problem(**kw: object) -> Problem:
    base: dict[str, object] = {
        "name": "tiny",
        "items": (WATER,),
        "norms": (Norm("W", 1.0, Per.ONCE, 1, True),),
        "depots": (),
        "lots": (),
        "agreements": (),
        "shelters": (),
        "fleet": (),
        "today": TODAY,
    }
    base.update(kw)
    return Problem(**base)  # type: ignore[arg-type]


def short_depot() -> Problem:
    """One depot with 100 units; shelters of 60 and 80 residents need 1 unit each."""
    return problem(
        depots=(Depot("D", "depot", "county", 40.0, 122.0, 1.0),),
        lots=(Lot("D", "W", "L1", 100, date(2030, 1, 1)),),
        shelters=(Shelter("A", "a", 40.1, 122.0, 60), Shelter("B", "b", 40.2, 122.0, 80)),
        fleet=(truck("D"),),
    )


def closed_road() -> Problem:
    """Shelter S sits 10 km from depot NEAR, whose only road is closed, and 60 km by road
    from depot FAR: the plan must use FAR."""
    nodes = (
        Node("n_near", 40.00, 122.00),
        Node("n_s", 40.09, 122.00),
        Node("n_far", 40.09, 122.70),
    )
    roads = (
        Road("n_near", "n_s", 10.0, "class3", 30.0, RoadStatus.CLOSED),
        Road("n_far", "n_s", 60.0, "class2", 60.0),
    )
    return problem(
        depots=(
            Depot("NEAR", "near", "township", 40.00, 122.00, 0.5),
            Depot("FAR", "far", "county", 40.09, 122.70, 1.0),
        ),
        lots=(Lot("NEAR", "W", "N1", 500, None), Lot("FAR", "W", "F1", 500, None)),
        shelters=(Shelter("S", "s", 40.09, 122.00, 100),),
        fleet=(truck("NEAR"), truck("FAR")),
        nodes=nodes,
        roads=roads,
    )


def slow_agreement() -> Problem:
    """The only water is an agreement with a 12 h lead time: nothing arrives by 10 h."""
    return problem(
        agreements=(Agreement("AG", "supermarket", "W", 1000, 12.0, 40.0, 122.0),),
        shelters=(Shelter("S", "s", 40.05, 122.0, 100),),
    )


def expired_and_fresh() -> Problem:
    """An expired lot and two fresh ones at one depot: only fresh, soonest expiry first."""
    return problem(
        depots=(Depot("D", "depot", "county", 40.0, 122.0, 1.0),),
        lots=(
            Lot("D", "W", "OLD", 1000, date(2025, 12, 31)),
            Lot("D", "W", "LATER", 50, date(2028, 1, 1)),
            Lot("D", "W", "SOON", 30, date(2026, 6, 1)),
        ),
        shelters=(Shelter("S", "s", 40.05, 122.0, 60),),
        fleet=(truck("D"),),
    )
