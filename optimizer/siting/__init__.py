"""Siting depots and prepositioning stock across disaster scenarios (two-stage model)."""

from optimizer.siting.model import (
    Marginal,
    ScenarioOutcome,
    SiteDecision,
    SitingParams,
    SitingResult,
    solve_siting,
)
from optimizer.siting.problem import (
    Candidate,
    CandidateKind,
    ItemCost,
    Mode,
    Objective,
    SetScenario,
    SitingSet,
    Target,
    Travel,
    Vehicle,
)

__all__ = [
    "Candidate",
    "CandidateKind",
    "ItemCost",
    "Marginal",
    "Mode",
    "Objective",
    "ScenarioOutcome",
    "SetScenario",
    "SiteDecision",
    "SitingParams",
    "SitingResult",
    "SitingSet",
    "Target",
    "Travel",
    "Vehicle",
    "solve_siting",
]
