"""Priced LPs (`optimizer.arc_lp`): the same optimum as the whole LP, and a bound that
holds at every round, not only at the last."""

import re
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import optimizer.allocate as alloc
from bench.synthetic import build_problem
from optimizer.arc_lp import PricedLP
from optimizer.problem import Problem
from optimizer.sources import reach
from tests.optimizer.test_allocate import random_problems


def _stage1(problem: Problem, relaxed: bool = False) -> tuple[Callable[[], object], object, object]:
    travel = reach(problem)
    d = alloc._data(problem, travel.sources, travel.times.hours, problem.deadline_hours)
    cl = alloc._clusters(d, 0.0)
    crit = np.flatnonzero(d.critical)
    space = alloc._space(d, cl, crit, relaxed)
    ys = np.flatnonzero(alloc._reachable(d, cl, space, crit))
    return (lambda: alloc._stage1_stage(d, cl, ys, crit)), space, ys


def _both(problem: Problem) -> tuple[PricedLP, PricedLP, list[float]] | None:
    build, space, ys = _stage1(problem)
    if not len(ys):  # type: ignore[arg-type]
        return None
    bounds: list[float] = []

    def say(message: str) -> None:
        if (m := re.search(r"bound ([\d,.]+)$", message)) is not None:
            bounds.append(float(m.group(1).replace(",", "")))

    start = alloc._arcs(space, 1)  # type: ignore[arg-type]
    priced = alloc._lp(build, space, start, "HIGHS", lambda: 30.0, say, "t")  # type: ignore[arg-type]
    whole = alloc._lp(build, space, start, "GLOP", lambda: 30.0, say, "t")  # type: ignore[arg-type]
    return priced, whole, bounds


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(random_problems())
def test_priced_lp_is_the_whole_lp_and_each_round_bounds_it(problem: Problem) -> None:
    found = _both(problem)
    assume(found is not None)
    assert found is not None
    priced, whole, bounds = found
    assert priced.ok
    assert whole.ok
    assert priced.converged
    assert priced.objective == pytest.approx(whole.objective, rel=1e-6, abs=1e-6)
    assert bounds, "every round reports its bound"
    for bound in bounds:  # printed to one decimal
        assert bound >= whole.objective - 0.05 - 1e-6 * abs(whole.objective)


def test_priced_lp_on_the_synthetic_city_starts_small_and_ends_at_the_optimum() -> None:
    """200 shelters, 9,200 on-time arcs: one nearest source per group and item to start,
    the whole LP's optimum at the end, with fewer arcs than the whole model (4,904 of
    9,200 when written)."""
    found = _both(build_problem("city", seed=0))
    assert found is not None
    priced, whole, bounds = found
    assert priced.converged
    assert priced.rounds > 1
    assert priced.objective == pytest.approx(whole.objective, rel=1e-7)
    assert len(priced.src) < 0.6 * len(whole.src)
    assert bounds[0] > whole.objective  # the first round's bound is loose, and valid
    assert all(b >= whole.objective - 0.05 for b in bounds)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(random_problems())
def test_the_stock_bound_is_never_below_the_optimum(problem: Problem) -> None:
    """What a timed-out plan reports as out of reach is truly out of reach."""
    travel = reach(problem)
    d = alloc._data(problem, travel.sources, travel.times.hours, problem.deadline_hours)
    plan = alloc.solve_allocation(problem, alloc.AllocationParams(cluster_hours=0), time_limit_s=5)
    assert plan.status == alloc.SolveStatus.OPTIMAL
    assert alloc._stock_bound(d) >= plan.kpis()["residents_served_on_time"]
