"""Solver parameters, checked on construction so a bad value fails before any solve.

Every tuning constant of allocation and routing lives here, so a plan can record them all
(`plan.json`'s `parameters`) and a user can change them from a TOML file
(`load_params`) without touching code.
"""

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

MIP_BACKENDS = ("SCIP", "HIGHS", "CP-SAT")
LP_BACKENDS = ("HIGHS", "GLOP", "PDLP")


@dataclass(frozen=True, slots=True)
class AllocationParams:
    """How the allocation is solved.

    solver: the OR-Tools backend for the whole-unit models (HIGHS, SCIP or CP-SAT). On the
        city benchmark's full stage-1 model HiGHS proved the optimum in 1.7 s, SCIP in 3.4 s;
        CP-SAT stopped at 0.02 % after 18 s.
    lp_solver: the backend for the LPs (HIGHS, GLOP or PDLP). HiGHS solved the province
        benchmark's stage-1 LP (100k arcs) in 2.4 s, GLOP in 23 s, PDLP in 35 s.
    stage_shares: fractions of the time limit for the three lexicographic stages
        (residents served on time; fairness; priority-weighted units + vehicle-hours),
        each a cap on a stage whose work is bounded by rounds; stage 1 refines its groups
        on large models and needs the most (the province x 4: stage 1 about 4 times the
        other two together).
    cluster_hours: shelters whose arrival times from every source differ by at most this
        share flow variables; 0 solves exactly; None picks 0 for models up to
        `allocate.EXACT_ARCS` critical arcs and `allocate.DEFAULT_CLUSTER_HOURS` above.
    relative_gap: the gap at which a stage-1 solution counts as optimal.
    tiered_targets: an objective stage right after residents served: the most shelters
        whose first batch from each depot tier that can make the tier's target does
        (`Problem.first_batch_hours`: county 6 h, city 8 h, province 10 h by default).
    """

    solver: str = "HIGHS"
    lp_solver: str = "HIGHS"
    stage_shares: tuple[float, float, float] = (0.7, 0.1, 0.2)
    cluster_hours: float | None = None
    relative_gap: float = 1e-4
    tiered_targets: bool = False

    def __post_init__(self) -> None:
        if self.solver not in MIP_BACKENDS:
            raise ValueError(
                f"solver: unknown backend {self.solver!r}; use {', '.join(MIP_BACKENDS)}"
            )
        if self.lp_solver not in LP_BACKENDS:
            raise ValueError(
                f"lp_solver: unknown backend {self.lp_solver!r}; use {', '.join(LP_BACKENDS)}"
            )
        if len(self.stage_shares) != 3 or any(s <= 0 for s in self.stage_shares):
            raise ValueError("stage_shares: three positive fractions")
        if self.cluster_hours is not None and not 0 <= self.cluster_hours < 24:
            raise ValueError("cluster_hours: between 0 and 24 hours, or None")
        if not 0 <= self.relative_gap < 1:
            raise ValueError("relative_gap: in [0, 1)")


# --------------------------------------------------------------------------- routing


class Improver(StrEnum):
    """What improves the OR-Tools solution in the clock-bound (benchmark) search."""

    SISR = "sisr"  # compiled ruin and recreate, `optimizer.routing.sisr`
    PARTS = "parts"  # OR-Tools re-solving neighbourhoods of routes alone
    NONE = "none"  # OR-Tools to the end


FIRST_SOLUTIONS = tuple(
    v.name
    for v in routing_enums_pb2.FirstSolutionStrategy.DESCRIPTOR.enum_types[0].values
    if v.name not in ("UNSET", "EVALUATOR_STRATEGY")
)
METAHEURISTICS = (
    "GREEDY_DESCENT",
    "GUIDED_LOCAL_SEARCH",
    "SIMULATED_ANNEALING",
    "TABU_SEARCH",
)
_OPERATORS = frozenset(
    f.name
    for f in pywrapcp.DefaultRoutingSearchParameters().local_search_operators.DESCRIPTOR.fields
)


@dataclass(frozen=True, slots=True)
class RuinSettings:
    """Parameters of the SISR improver, `optimizer.routing.sisr` (the paper's names in
    brackets).

    removal_avg: customers removed on average per step [c-bar], string_max: longest string
    removed from one route [L-max], blink: chance to skip an insertion position [beta];
    temperatures are multiples of the mean cost per customer of the starting solution.
    granular_above: with more customers than this, a step offers the customers left out
    only near its ruin, and inserts each customer only into trips holding one of its
    nearest neighbours (or empty ones): offering every left-out customer at every place
    cost the province's biggest depot (1,929 customers) 40 ms a step. Up to it, every
    left-out customer and every trip, as in the paper.
    """

    removal_avg: float = 10.0
    string_max: int = 10
    blink: float = 0.01
    temp_from: float = 0.3
    temp_to: float = 0.003
    chunk: int = 500  # most steps per compiled call (the clock is read between calls)
    granular_above: int = 300


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """How the search runs. The defaults are the tuned best of `python -m bench routing`.

    first_solution: an OR-Tools FirstSolutionStrategy name; SAVINGS builds good capacity
        tours, PARALLEL_CHEAPEST_INSERTION copes better with tight time windows.
    metaheuristic: a LocalSearchMetaheuristic name. (OR-Tools 9.15's iterated local
        search, `use_iterated_local_search`, stopped at the first local optimum from
        Python whatever the ruin, so it is not offered.)
    gls_lambda: guided local search's penalty weight (OR-Tools default 0.1).
    operators: local-search operators switched on or off, as (field of OR-Tools'
        LocalSearchNeighborhoodOperators without `use_`, on) pairs.
    neighbors_ratio, min_neighbors: how many nearest neighbours the operators consider
        (1.0 = all).
    lns_time_limit_s: time limit of each LNS sub-search.
    first_solution_for_time_windows: used instead of `first_solution` when the model has
        binding time windows, because savings often finds no feasible start there.
    improver: what follows the OR-Tools search once it has spent `search_share` of the
        time limit: "sisr" (ruin and recreate, `optimizer.routing.sisr`, with `ruin`'s
        parameters), "parts" (see below) or "none" (OR-Tools to the end). "sisr" falls
        back to "parts" when numba is missing, or when its kernels are not compiled yet
        and the time left could not absorb the compilation (`optimizer.sisr.ready`).
    search_share: share of the time limit for the OR-Tools search on the whole model.
    part_size, part_seconds: "parts" improves the solution part by part: a random
        customer, the routes of its nearest customers (whole trip chains) up to
        `part_size` customers, re-solved alone by OR-Tools for `part_seconds` from their
        current tours, kept when cheaper; models with fewer than 1.5 x `part_size`
        customers are not decomposed.
    seed: drives the improver's random choices.
    iterations: when set, SISR alone runs exactly this many steps from the warm start
        (or builds tours from nothing), and the clock only caps it: the same model,
        start and settings give the same tours on any machine. None runs by the clock
        (the VRP benchmark's mode, comparable with other solvers' time limits).
    alternates: settings of workers 1, 2... (worker 0 uses these), reused cyclically;
        None (the default) gives worker k seed + k and, for odd k, the first solution
        PATH_CHEAPEST_ARC, so independent runs start and wander differently.
    """

    first_solution: str = "SAVINGS"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    gls_lambda: float = 0.1
    operators: tuple[tuple[str, bool], ...] = ()
    neighbors_ratio: float = 1.0
    min_neighbors: int = 1
    lns_time_limit_s: float = 0.1
    first_solution_for_time_windows: str | None = "PARALLEL_CHEAPEST_INSERTION"
    improver: Improver = Improver.SISR
    search_share: float = 0.2
    ruin: RuinSettings = RuinSettings()
    part_size: int = 40
    part_seconds: float = 0.3
    seed: int = 0
    iterations: int | None = None
    alternates: tuple["SearchSettings", ...] | None = None

    def __post_init__(self) -> None:
        if self.first_solution not in FIRST_SOLUTIONS:
            raise ValueError(f"first_solution: unknown strategy; use one of {FIRST_SOLUTIONS}")
        tw = self.first_solution_for_time_windows
        if tw is not None and tw not in FIRST_SOLUTIONS:
            raise ValueError("first_solution_for_time_windows: unknown strategy")
        if self.metaheuristic not in METAHEURISTICS:
            raise ValueError(f"metaheuristic: use one of {METAHEURISTICS}")
        if self.gls_lambda <= 0:
            raise ValueError("gls_lambda: must be positive")
        for name, _on in self.operators:
            if f"use_{name}" not in _OPERATORS:
                raise ValueError(f"operators: unknown operator {name!r}")
        if not 0 < self.neighbors_ratio <= 1 or self.min_neighbors < 1:
            raise ValueError("neighbors_ratio: in (0, 1]; min_neighbors: at least 1")
        if self.lns_time_limit_s <= 0:
            raise ValueError("lns_time_limit_s: must be positive")
        if self.improver not in tuple(Improver):
            raise ValueError(f"improver: use one of {', '.join(Improver)}")
        object.__setattr__(self, "improver", Improver(self.improver))
        if self.iterations is not None and self.iterations < 0:
            raise ValueError("iterations: cannot be negative")
        if not 0 < self.search_share <= 1:
            raise ValueError("search_share: in (0, 1]")
        if self.part_size < 2 or self.part_seconds <= 0:
            raise ValueError("part_size: at least 2; part_seconds: positive")

    def for_worker(self, k: int) -> "SearchSettings":
        """Settings of independent run k: 0 is self, the others cycle through alternates."""
        if k == 0:
            return self
        if self.alternates is None:
            first = "PATH_CHEAPEST_ARC" if k % 2 else self.first_solution
            return replace(self, first_solution=first, seed=self.seed + k, alternates=())
        if not self.alternates:
            return replace(self, seed=self.seed + k)
        return self.alternates[(k - 1) % len(self.alternates)]

    def describe(self) -> str:
        """One line naming what matters, for logs and the benchmark's JSON."""
        meta = self.metaheuristic
        if meta == "GUIDED_LOCAL_SEARCH":
            meta += f"(lambda={self.gls_lambda:g})"
        if self.improver == Improver.PARTS:
            meta += (
                f", then parts of {self.part_size} for {self.part_seconds:g} s"
                f" after {self.search_share:.0%} (seed {self.seed})"
            )
        elif self.improver == Improver.SISR:
            r = self.ruin
            meta += (
                f", then SISR after {self.search_share:.0%} (remove {r.removal_avg:g},"
                f" strings <= {r.string_max}, T {r.temp_from:g}->{r.temp_to:g}, seed {self.seed})"
            )
        ops = "".join(f" {'+' if on else '-'}{name}" for name, on in self.operators)
        return f"{self.first_solution} + {meta}{ops}"


#: The tuned settings (`SearchSettings()`), named for the benchmark's report.
DEFAULT_SETTINGS = SearchSettings()


#: Reload, stop and unloading times of a delivery cycle; the allocation's fleet model
#: (`optimizer.sources`) uses the same figures.
RELOAD_HOURS = 0.5
STOP_HOURS = 0.25
UNLOAD_HOURS_PER_TONNE = 1 / 12  # a crew unloads about 12 t an hour


@dataclass(frozen=True, slots=True)
class RouteParams:
    """How the planner builds and improves tours, and how it shares out its work.

    stop_minutes, unload_minutes_per_tonne: service time at a stop.
    reload_hours: between two trips of a truck (loading again at its depot).
    max_trips: trips a truck may run in the horizon.
    lateness_per_resident_minute: cost of one resident waiting one minute past the
        deadline, against 1 per minute of driving.
    piece_share: a shelter's load beyond its full truckloads is cut into pieces of at
        most this share of the smallest truck, so trucks can be topped up with other
        shelters' remainders.
    workers: independent searches per depot (one per core, two at most); worker k uses
        seed + k and the best wins, ties to the lowest k, so the answer does not depend
        on how the processes were scheduled.
    seed: the route search's random stream.
    steps_per_second: ruin-and-recreate steps the planner spends per second of its time
        limit, shared over rounds, phases and depots in proportion to their parts. Work,
        not the clock, bounds the search, so a given time limit gives the same plan on
        any machine; set low enough that a busy 2-core machine finishes the work within
        the limit (the clock stays a safety cap, and the plan says when it bit).
    phase_shares: the round's work for (on-time tours, shelters giving way, late loads).
    max_yields: shelters that may give way one by one (each followed by a search) before
        the rest missing on-time parts give way together.
    rounds: allocation rounds at most (the first plus re-allocations with what the tours
        revealed).
    branching: re-allocations tried per round after the first (each an allocation and its
        tours; the round's best goes on).
    first_round_work: share of the search's work for the first round's tours (the rest is
        shared equally by every later try).
    allocation_share: share of the time limit an allocation may use (a cap: Haicheng's
        takes 0.6 s).
    bound_share: share of the time limit the tour bound may use (a cap: 0.3 s on Haicheng).
    leg_reach_hours, exact_legs_up_to: at a depot serving more than `exact_legs_up_to`
        shelters, two of them farther apart than `leg_reach_hours` by road are joined
        through the depot's road node (a drivable road, never shorter than the fastest);
        nearer ones, and every pair at smaller depots, by the fastest road. Finding the
        fastest road between every pair of a big depot's shelters was a third of the
        province's time limit; there 99 % of each shelter's 20 nearest are within 1.5 h.
    """

    stop_minutes: float = STOP_HOURS * 60
    unload_minutes_per_tonne: float = UNLOAD_HOURS_PER_TONNE * 60
    reload_hours: float = RELOAD_HOURS
    max_trips: int = 8
    lateness_per_resident_minute: int = 10
    piece_share: float = 0.25
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))
    seed: int = 0
    steps_per_second: int = 4000
    phase_shares: tuple[float, float, float] = (0.5, 0.3, 0.2)
    max_yields: int = 12
    rounds: int = 3
    branching: int = 3
    first_round_work: float = 0.4
    allocation_share: float = 0.4
    bound_share: float = 0.15
    leg_reach_hours: float = 1.5
    exact_legs_up_to: int = 60

    def __post_init__(self) -> None:
        if self.stop_minutes < 0 or self.unload_minutes_per_tonne < 0:
            raise ValueError("stop_minutes: service times cannot be negative")
        if self.reload_hours < 0:
            raise ValueError("reload_hours: cannot be negative")
        if self.max_trips < 1:
            raise ValueError("max_trips: at least 1")
        if self.lateness_per_resident_minute < 1:
            raise ValueError("lateness_per_resident_minute: at least 1")
        if not 0 < self.piece_share <= 1:
            raise ValueError("piece_share: in (0, 1]")
        if self.workers < 1:
            raise ValueError("workers: at least 1")
        if self.seed < 0:
            raise ValueError("seed: cannot be negative")
        if self.steps_per_second < 0:
            raise ValueError("steps_per_second: cannot be negative")
        if len(self.phase_shares) != 3 or any(s < 0 for s in self.phase_shares):
            raise ValueError("phase_shares: three non-negative fractions")
        if sum(self.phase_shares) <= 0:
            raise ValueError("phase_shares: at least one positive")
        if self.max_yields < 0:
            raise ValueError("max_yields: cannot be negative")
        if not self.leg_reach_hours > 0:
            raise ValueError("leg_reach_hours: must be positive")
        if self.exact_legs_up_to < 0:
            raise ValueError("exact_legs_up_to: cannot be negative")
        if self.rounds < 1:
            raise ValueError("rounds: at least 1")
        if self.branching < 1:
            raise ValueError("branching: at least 1")
        if not 0 < self.first_round_work <= 1:
            raise ValueError("first_round_work: in (0, 1]")
        if not 0 < self.allocation_share < 1:
            raise ValueError("allocation_share: in (0, 1)")
        if not 0 < self.bound_share < 1:
            raise ValueError("bound_share: in (0, 1)")


def as_record(params: Any) -> dict[str, Any]:
    """A parameters dataclass as plain JSON values (what a plan records)."""
    out: dict[str, Any] = {}
    for f in fields(params):
        value = getattr(params, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def _from_table(cls: Any, table: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise ValueError(f"{where}.{key}: unknown parameter; known: {', '.join(known)}")
        values[key] = tuple(value) if isinstance(value, list) else value
    try:
        return replace(cls(), **values)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def load_params(path: Path) -> tuple[AllocationParams, RouteParams]:
    """Allocation and routing parameters from a TOML file's `[allocation]` and `[routing]`
    tables; what a table leaves out keeps its default.

    Raises
    ------
    ValueError
        Naming the file and the parameter that is unknown or out of range.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    for key in data:
        if key not in ("allocation", "routing"):
            raise ValueError(f"{path}: unknown table [{key}]; use [allocation] and [routing]")
    allocation = _from_table(AllocationParams, data.get("allocation", {}), f"{path}: allocation")
    routing = _from_table(RouteParams, data.get("routing", {}), f"{path}: routing")
    return allocation, routing
