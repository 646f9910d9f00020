"""Solver parameters, checked on construction so a bad value fails before any solve."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AllocationParams:
    """How the allocation MIP is solved.

    solver: an OR-Tools linear-solver backend ("SCIP", "HIGHS", "CBC", "CP-SAT").
    stage_shares: fraction of the time limit for the three lexicographic stages
        (residents served on time; fairness; priority-weighted units + vehicle-hours).
    max_sources_per_need: keep only the K earliest-arriving sources for each shelter and
        item (None keeps all); bounds the model on province-sized instances.
    """

    solver: str = "SCIP"
    stage_shares: tuple[float, float, float] = (0.6, 0.15, 0.25)
    max_sources_per_need: int | None = None
    relative_gap: float = 1e-4

    def __post_init__(self) -> None:
        if self.solver not in {"SCIP", "HIGHS", "CBC", "CP-SAT"}:
            raise ValueError(f"solver: unknown backend {self.solver!r}")
        if len(self.stage_shares) != 3 or any(s <= 0 for s in self.stage_shares):
            raise ValueError("stage_shares: three positive fractions")
        if self.max_sources_per_need is not None and self.max_sources_per_need < 1:
            raise ValueError("max_sources_per_need: at least 1, or None")
        if not 0 <= self.relative_gap < 1:
            raise ValueError("relative_gap: in [0, 1)")
