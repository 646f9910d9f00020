"""What each shelter needs: residents × per-person norms, rounded up to whole units."""

import math
from dataclasses import dataclass

from optimizer.problem import Per, Problem


@dataclass(frozen=True, slots=True)
class Need:
    shelter: str
    item: str
    qty: int
    priority: int
    critical: bool


def needs(problem: Problem) -> list[Need]:
    """One Need per shelter and normed item with a positive quantity.

    `per: day` norms are multiplied by the horizon in days; `once` norms are not.
    """
    out: list[Need] = []
    for shelter in problem.shelters:
        for norm in problem.norms:
            days = problem.horizon_days if norm.per == Per.DAY else 1
            # Round away float noise before the ceiling: 0.3 × 10 must be 3, not 4.
            qty = math.ceil(round(shelter.residents * norm.per_person * days, 6))
            if qty > 0:
                out.append(Need(shelter.code, norm.item, qty, norm.priority, norm.critical))
    return out
