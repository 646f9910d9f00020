"""The two-stage siting model on instances small enough to check by hand."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from optimizer.plan import SolveStatus
from optimizer.siting import Mode, Objective, SitingParams, Target, solve_siting
from optimizer.siting.lp import SparseModel
from optimizer.siting.stages import reach, scenario_data, stage2_rows, usable
from tests.optimizer.siting.instances import hand_set, random_set


def test_siting_hand_instance_opens_the_site_that_serves_both_scenarios() -> None:
    """Money for one site: the one reaching both scenarios' shelters, stocked for the larger
    need, serves 0.6·100 + 0.4·120 = 108 expected residents (A alone: 60, B alone: 48)."""
    result = solve_siting(hand_set(), time_limit_s=10)
    assert result.status == SolveStatus.OPTIMAL
    assert result.objective == pytest.approx(108.0, abs=1e-6)
    opened = [s.code for s in result.sites if s.opened]
    assert opened == ["C"]
    assert result.sites[2].stock == {"WATER": 120}
    assert result.cost == pytest.approx(1620.0)
    assert [o.residents_served for o in result.scenarios] == [100, 120]
    assert result.gap is not None
    assert result.gap <= 1e-4


def test_siting_hand_instance_with_less_money_takes_the_likelier_scenario() -> None:
    """¥1,200 opens A or B but not C: A's 0.6 × 100 = 60 beats B's 0.4 × 120 = 48."""
    result = solve_siting(hand_set(budget=1200.0), time_limit_s=10)
    assert [s.code for s in result.sites if s.opened] == ["A"]
    assert result.objective == pytest.approx(60.0, abs=1e-6)


def test_siting_cvar_values_the_worst_half_of_the_scenarios() -> None:
    """With C open both scenarios are served fully; the worst half (probability 0.5) is
    scenario A's 100 residents, so CVaR at 0.5 is 100."""
    result = solve_siting(hand_set(), SitingParams(objective=Objective.CVAR), time_limit_s=10)
    assert result.objective == pytest.approx(100.0, abs=1e-6)
    assert [s.code for s in result.sites if s.opened] == ["C"]


def test_siting_cost_mode_and_coverage_mode_agree_at_the_optimum() -> None:
    """Coverage with budget B reaches C*; the cheapest network reaching C* costs K ≤ B,
    and with budget K the coverage mode reaches C* again."""
    sset = random_set(3)
    best = solve_siting(sset, SitingParams(relative_gap=0), time_limit_s=20, marginals=False)
    share = best.expected_served / best.expected_total
    cheapest = solve_siting(
        sset,
        SitingParams(mode=Mode.COST, target=Target(share), relative_gap=0),
        time_limit_s=20,
    )
    assert cheapest.status == SolveStatus.OPTIMAL
    assert cheapest.cost <= best.cost + 1e-6
    assert cheapest.expected_served >= best.expected_served - 1e-6
    again = solve_siting(
        sset, SitingParams(budget=cheapest.cost, relative_gap=0), time_limit_s=20, marginals=False
    )
    assert again.expected_served == pytest.approx(best.expected_served, abs=1e-6)


def test_siting_chance_target_serves_enough_scenarios() -> None:
    """A target of 100 % coverage in at least 60 % of scenarios: in the hand set A alone
    (p 0.6) is enough, and cheaper than C."""
    sset = dataclasses.replace(hand_set(), budget=1e9)
    result = solve_siting(
        sset, SitingParams(mode=Mode.COST, target=Target(1.0, 0.6)), time_limit_s=10
    )
    assert [s.code for s in result.sites if s.opened] == ["A"]
    assert result.cost == pytest.approx(1100.0)


def test_siting_unreachable_target_is_infeasible_not_an_error() -> None:
    """No network serves S2 in time if only A exists: the cost mode says infeasible."""
    base = hand_set()
    sset = dataclasses.replace(base, candidates=base.candidates[:1])
    result = solve_siting(sset, SitingParams(mode=Mode.COST, target=Target(1.0)), time_limit_s=5)
    assert result.status == SolveStatus.INFEASIBLE


def test_siting_marginals_are_lp_duals_of_the_stock() -> None:
    """With ¥1,200 only A opens and serves S1 fully: one more unit at A serves nobody, one
    unit at B serves 1/120 of S2's 120 residents in 0.4 of the cases: 0.4 a unit."""
    result = solve_siting(hand_set(budget=1200.0), time_limit_s=10)
    marginal = {(m.site, m.item): m.residents_per_unit for m in result.marginals}
    assert marginal[("B", "WATER")] == pytest.approx(0.4, abs=1e-6)
    assert marginal.get(("A", "WATER"), 0.0) == pytest.approx(0.0, abs=1e-6)


def test_siting_params_refuse_bad_values() -> None:
    """Bad parameters fail on construction, naming the parameter."""
    with pytest.raises(ValueError, match="alpha"):
        SitingParams(alpha=0)
    with pytest.raises(ValueError, match=r"target\.coverage"):
        SitingParams(target=Target(1.5))


def test_benders_agrees_with_the_extensive_form_on_a_small_set() -> None:
    """The decomposition (exact groups, so no grouping loss) reaches the extensive form's
    optimum on a seeded set, and its bound is not below it."""
    sset = random_set(5)
    exact = solve_siting(sset, SitingParams(relative_gap=0), time_limit_s=20, marginals=False)
    split = solve_siting(
        sset, SitingParams(method="benders", cluster_hours=0, relative_gap=0), time_limit_s=20
    )
    assert split.bound is not None
    assert split.bound >= exact.objective - 1e-6
    assert split.expected_served <= exact.expected_served + 1e-6
    assert split.expected_served >= 0.9 * exact.expected_served  # whole flags cost a little
    assert split.gap is not None
    assert split.gap >= (exact.objective - split.objective) / split.objective - 1e-6


def test_benders_cvar_bound_is_valid() -> None:
    """With the CVaR objective the decomposition's bound is not below the extensive form's
    optimum, and its solution not above it."""
    sset = random_set(5)
    cvar = Objective.CVAR
    exact = solve_siting(
        sset, SitingParams(objective=cvar, relative_gap=0), time_limit_s=20, marginals=False
    )
    split = solve_siting(
        sset,
        SitingParams(objective=cvar, relative_gap=0, method="benders", cluster_hours=0),
        time_limit_s=20,
    )
    assert split.bound is not None
    assert split.bound >= exact.objective - 1e-6
    assert split.objective <= exact.objective + 1e-6


def test_benders_with_few_rounds_still_returns_a_plan_and_a_valid_bound() -> None:
    """Rounds are the work bound: with only four, half go to the LP phase and the rest to
    MIP rounds, so a first stage is kept, planned, and the bound still covers the
    extensive form's optimum."""
    sset = random_set(5)
    exact = solve_siting(sset, SitingParams(relative_gap=0), time_limit_s=20, marginals=False)
    short = solve_siting(
        sset, SitingParams(method="benders", relative_gap=0, max_rounds=4), time_limit_s=20
    )
    assert short.size["benders_rounds"] <= 4
    assert short.sites
    assert short.bound is not None
    assert short.bound >= exact.objective - 1e-6
    assert short.objective <= exact.objective + 1e-6


def test_usable_stock_is_the_need_a_site_reaches_in_time() -> None:
    """On the hand set, A reaches only S1 (100 units of water wanted), B only S2 (120), C
    both: a site can never hand out more than that, whatever its trucks carry."""
    sset = hand_set()
    use = usable(sset, [scenario_data(sset, s) for s in sset.scenarios])
    assert list(use.units) == [100.0, 120.0, 120.0]


def test_benders_on_the_hand_set_finds_its_optimum() -> None:
    """The decomposition, each site set valued at its best stock, reaches the hand set's
    108 expected residents (site C with 120 units) and proves it to the default 0.1 %."""
    result = solve_siting(hand_set(), SitingParams(method="benders"))
    assert result.objective == pytest.approx(108.0)
    assert result.status == SolveStatus.OPTIMAL
    assert [s.code for s in result.sites if s.opened] == ["C"]


def test_reach_bounds_what_a_scenario_ships_from_each_site() -> None:
    """Whatever stock the sites hold, a scenario's LP ships from each site no more of an
    item than the need it reaches, and no more kg or m³ than its trucks bring in time: the
    caps the Benders master credits stock by (`Reach`) must hold, or its bound is not."""
    sset = random_set(3, scenarios=3, shelters=12)
    items = [it.item for it in sset.items]
    n_k, n_i = len(sset.candidates), len(items)
    data = [scenario_data(sset, s) for s in sset.scenarios]
    use = usable(sset, data)
    plenty = use.units * 10
    shipped_any = 0.0
    for d in data:
        cap = reach(sset, d, 0.0)
        m = SparseModel(maximize=True)
        stock = m.variables(n_k * n_i, lo=plenty, hi=plenty)
        rows: list[tuple[np.ndarray, list[int], list[str]]] = []
        y, residents = stage2_rows(m, d, items, stock, n_i, rows, 0.0, relaxed=True)
        vec = np.concatenate(m.cost)
        vec[y.at(np.arange(y.size))] = residents
        m.cost = [vec]
        lp = m.solve(time_limit_s=10, relax=True)
        assert lp.status == "optimal"
        cat = np.concatenate
        matrix = sp.csr_matrix(
            (cat([e[2] for e in m.entries]), (cat([e[0] for e in m.entries]),
                                              cat([e[1] for e in m.entries]))),
            shape=(m.n_rows, m.n_vars),
        )  # fmt: skip
        activity = matrix @ lp.values
        shipped = np.zeros((n_k, n_i))
        for r, k, item in zip(*rows[0], strict=True):  # Σ flows − stock ≤ 0
            shipped[k, items.index(item)] = activity[r] + plenty[k * n_i + items.index(item)]
        assert (shipped.ravel() <= cap.units + 1e-6).all()
        assert (shipped @ use.volume <= cap.m3 + 1e-6).all()
        assert (shipped @ use.weight <= cap.kg + 1e-6).all()
        shipped_any += float(shipped.sum())
    assert shipped_any > 0
