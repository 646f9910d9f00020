"""Solver parameters, checked on construction so a bad value fails before any solve."""

from dataclasses import dataclass

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
        (residents served on time; fairness; priority-weighted units + vehicle-hours).
    cluster_hours: shelters whose arrival times from every source differ by at most this
        share flow variables; 0 solves exactly; None picks 0 for models up to
        `allocate.EXACT_ARCS` critical arcs and `allocate.DEFAULT_CLUSTER_HOURS` above.
    relative_gap: the gap at which a stage-1 solution counts as optimal.
    """

    solver: str = "HIGHS"
    lp_solver: str = "HIGHS"
    stage_shares: tuple[float, float, float] = (0.6, 0.15, 0.25)
    cluster_hours: float | None = None
    relative_gap: float = 1e-4

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
