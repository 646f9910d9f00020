"""Small siting sets built in code, with travel matrices instead of roads."""

from datetime import date

import numpy as np

from optimizer.problem import ItemSpec, Norm, Per, Problem, Shelter
from optimizer.siting import (
    Candidate,
    CandidateKind,
    ItemCost,
    Objective,
    SetScenario,
    SitingSet,
    Travel,
    Vehicle,
)

WATER = ItemSpec("WATER", "水", "water", "food_water", "case", 10.0, 0.01)
QUILT = ItemSpec("QUILT", "棉被", "quilt", "bedding", "piece", 2.0, 0.02)


def problem(name: str, shelters: list[tuple[str, int]], items: tuple = (WATER,)) -> Problem:
    return Problem(
        name=name,
        items=items,
        norms=tuple(Norm(it.code, 1.0, Per.ONCE, 1, True) for it in items),
        depots=(),
        lots=(),
        agreements=(),
        shelters=tuple(Shelter(code, code, 0.0, 0.0, r) for code, r in shelters),
        fleet=(),
        today=date(2027, 1, 1),
    )


def candidate(code: str, fixed: float, existing: bool = False) -> Candidate:
    kind = CandidateKind.ENLARGE if existing else CandidateKind.NEW
    return Candidate(code, code, "county", 0.0, 0.0, fixed, 0.0, 100.0, existing, kind)


def hand_set(budget: float = 1700.0) -> SitingSet:
    """Three candidates, two scenarios, money for one site.

    Scenario A (p 0.6): shelter S1, 100 residents, reached in time from A and C.
    Scenario B (p 0.4): shelter S2, 120 residents, reached in time from B and C.
    Sites cost ¥1,000 (A, B) and ¥1,500 (C), water ¥1 a unit. With ¥1,700, A gives 60
    expected residents, B 48, and C with 120 units serves both: 0.6·100 + 0.4·120 = 108.
    """
    far = 50.0
    a = SetScenario(
        "A",
        "A",
        0.6,
        problem("A", [("S1", 100)]),
        Travel({("A", "S1"): 2.0, ("B", "S1"): far, ("C", "S1"): 3.0}),
    )
    b = SetScenario(
        "B",
        "B",
        0.4,
        problem("B", [("S2", 120)]),
        Travel({("A", "S2"): far, ("B", "S2"): 2.0, ("C", "S2"): 4.0}),
    )
    return SitingSet(
        name="hand",
        title="hand",
        budget=budget,
        deadline_hours=10.0,
        objective=Objective.EXPECTED,
        alpha=0.5,
        target=None,
        vehicle=Vehicle(),
        candidates=(candidate("A", 1000), candidate("B", 1000), candidate("C", 1500)),
        items=(ItemCost("WATER", 1.0, 0.01),),
        scenarios=(a, b),
    )


def random_set(seed: int, scenarios: int = 4, shelters: int = 8, sites: int = 5) -> SitingSet:
    """A seeded set with two critical items, random travel and residents."""
    rng = np.random.default_rng(seed)
    codes = [f"K{k}" for k in range(sites)]
    probs = rng.dirichlet(np.ones(scenarios))
    probs = np.round(probs / probs.sum(), 6)
    probs[-1] = round(1 - probs[:-1].sum(), 6)
    out = []
    for s in range(scenarios):
        names = [(f"H{j}", int(rng.integers(20, 200))) for j in range(shelters)]
        hours = {(k, h): float(rng.uniform(1, 16)) for k in codes for h, _ in names}
        out.append(
            SetScenario(
                f"s{s}",
                f"s{s}",
                float(probs[s]),
                problem(f"s{s}", names, (WATER, QUILT)),
                Travel(hours),
            )
        )
    cands = tuple(
        Candidate(
            code,
            code,
            "county",
            0.0,
            0.0,
            float(rng.integers(500, 3000)),
            5.0,
            8.0,
            False,
            CandidateKind.NEW,
            1.0,
        )
        for code in codes
    )
    return SitingSet(
        name=f"random-{seed}",
        title="random",
        budget=6000.0,
        deadline_hours=10.0,
        objective=Objective.EXPECTED,
        alpha=0.25,
        target=None,
        vehicle=Vehicle(),
        candidates=cands,
        items=(ItemCost("WATER", 3.0, 0.01), ItemCost("QUILT", 2.0, 0.02)),
        scenarios=tuple(out),
    )
