"""A siting question as plain, immutable data: candidates, costs, scenarios, a budget.

`scenarios.siting_set` builds one from a folder; the model (`optimizer.siting.model`) and
the evaluation (`optimizer.siting.evaluate`) read it. Money is in yuan (¥), volumes in m³.
"""

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from optimizer.problem import Problem


class CandidateKind(StrEnum):
    """How a site adds storage (新建、改扩建和代储)."""

    NEW = "new"  # build a depot
    ENLARGE = "enlarge"  # an existing depot made larger
    ENTRUSTED = "entrusted"  # an enterprise stores for us (代储)


class Objective(StrEnum):
    EXPECTED = "expected"  # expected residents served on time
    CVAR = "cvar"  # mean residents served over the worst alpha share of scenarios


class Mode(StrEnum):
    COVERAGE = "coverage"  # most residents within the budget
    COST = "cost"  # cheapest network reaching the coverage target


@dataclass(frozen=True, slots=True)
class Candidate:
    """A site where storage and prepositioned stock can be added.

    An existing site is open already (its `fixed_cost` is not charged); `free_m3` is storage
    it has spare at no cost; beyond it, up to `max_m3` in all, each m³ costs `cost_per_m3`.
    `vehicles` trucks of the set's vehicle type serve a new site (an existing one keeps the
    scenario's own fleet).
    """

    code: str
    name: str
    tier: str
    lat: float
    lon: float
    fixed_cost: float
    cost_per_m3: float
    max_m3: float
    existing: bool
    kind: CandidateKind
    free_m3: float = 0.0
    loading_hours: float = 1.0
    vehicles: int = 2


@dataclass(frozen=True, slots=True)
class ItemCost:
    item: str
    unit_cost: float  # ¥ per unit bought and stored
    unit_volume_m3: float


@dataclass(frozen=True, slots=True)
class Vehicle:
    """The truck type new sites get (capacity per truck)."""

    capacity_kg: float = 8000.0
    capacity_m3: float = 35.0
    speed_kmh: float = 60.0


@dataclass(frozen=True, slots=True)
class Travel:
    """A planner's own travel-time matrix (`travel.csv`): hours from a source (depot,
    agreement or candidate code) to a shelter; pairs not listed are unreachable."""

    hours: dict[tuple[str, str], float]

    def matrix(self, sources: list[str], shelters: list[str]) -> np.ndarray:
        out = np.full((len(sources), len(shelters)), np.inf)
        for i, s in enumerate(sources):
            for j, h in enumerate(shelters):
                out[i, j] = self.hours.get((s, h), np.inf)
        return out


@dataclass(frozen=True, slots=True)
class SetScenario:
    name: str
    folder: str
    probability: float
    problem: Problem
    travel: Travel | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """The cost mode's goal: `coverage` share of residents served on time, in expectation
    (probability None) or in at least `probability` share of the scenarios."""

    coverage: float
    probability: float | None = None


@dataclass(frozen=True, slots=True)
class SitingSet:
    name: str
    title: str
    budget: float
    deadline_hours: float
    objective: Objective
    alpha: float
    target: Target | None
    vehicle: Vehicle
    candidates: tuple[Candidate, ...]
    items: tuple[ItemCost, ...]
    scenarios: tuple[SetScenario, ...]
    folder: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def candidate(self, code: str) -> Candidate:
        for c in self.candidates:
            if c.code == code:
                return c
        raise KeyError(code)
