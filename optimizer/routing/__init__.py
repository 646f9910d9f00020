"""Truck tours: the routing model, its search engines, depot tours, a plan's tours, a bound.

Layers, each importing only those above it: `model` (data, schedules, rule checks) →
`ortools_search`, `sisr` (the engines) → `engine` (`solve_routing`: workers, the best
kept) → `depot` (one depot's parts and trucks as a model, and back) → `plan_tours`
(`route_plan`: every depot of an allocation) and `bound` (what no tours could beat).
Search settings and every tuning constant live in `optimizer.params`.
"""

from optimizer.routing.bound import TourBound, tour_bound
from optimizer.routing.engine import solve_routing
from optimizer.routing.model import Route, RoutingModel, RoutingResult, Vehicle, validate
from optimizer.routing.plan_tours import draw_paths, route_plan

__all__ = [
    "Route",
    "RoutingModel",
    "RoutingResult",
    "TourBound",
    "Vehicle",
    "draw_paths",
    "route_plan",
    "solve_routing",
    "tour_bound",
    "validate",
]
