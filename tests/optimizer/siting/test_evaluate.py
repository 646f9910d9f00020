"""Evaluation runs the real planner; the Dask path gives what the in-process path gives."""

from dataclasses import replace

from optimizer.allocate import solve_allocation
from optimizer.siting.evaluate import Network, apply_network, batches, evaluate, sweep, tasks
from scenarios.scenario import SCENARIOS_DIR
from scenarios.siting_set import load_set

SET = SCENARIOS_DIR / "haicheng-siting"
PROPOSAL = Network("proposal", ("NEW-CHAGOU",), (("NEW-CHAGOU", "WATER-24", 300),
                                                  ("NEW-CHAGOU", "TENT-12C", 200)))  # fmt: skip


def test_evaluation_equals_the_planners_own_figure() -> None:
    """Each evaluation reports what solve_allocation's plan says for that scenario."""
    sset = load_set(SET)
    for task in tasks(sset, PROPOSAL, time_limit_s=10):
        plan = solve_allocation(task.problem, time_limit_s=10)
        got = evaluate(task)
        assert got.residents_served == plan.kpis()["residents_served_on_time"]
        assert got.status == plan.status.value


def test_apply_network_adds_the_new_depot_its_trucks_and_stock() -> None:
    """A new site becomes a depot with the set's trucks and one lot per item."""
    sset = load_set(SET)
    problem = apply_network(sset.scenarios[0].problem, sset, PROPOSAL)
    assert "NEW-CHAGOU" in {d.code for d in problem.depots}
    assert sum(v.count for v in problem.fleet if v.depot == "NEW-CHAGOU") == 1
    lots = {(lot.item, lot.qty) for lot in problem.lots if lot.depot == "NEW-CHAGOU"}
    assert lots == {("WATER-24", 300), ("TENT-12C", 200)}


def test_dask_sweep_gives_the_in_process_results() -> None:
    """The same tasks on a one-worker LocalCluster (threads) and in-process agree."""
    sset = load_set(SET)
    work = tasks(sset, None, time_limit_s=10) + tasks(sset, PROPOSAL, time_limit_s=10)
    here = sweep(work, in_process=True)
    seen: list[int] = []
    there = sweep(work, workers=1, processes=False, progress=lambda done, _n: seen.append(done))
    assert there == here
    assert seen[-1] == len(work)
    assert here[1].residents_served >= here[0].residents_served  # more stock never hurts


def test_sweep_keeps_the_tasks_order() -> None:
    """Results come back in task order whatever finishes first."""
    sset = load_set(SET)
    first = tasks(sset, None, time_limit_s=10)[0]
    work = [replace(first, scenario=f"s{k}") for k in range(3)]
    assert [e.scenario for e in sweep(work, workers=1, processes=False)] == ["s0", "s1", "s2"]


def test_batches_are_contiguous_nearly_equal_and_keep_the_order() -> None:
    """Ten tasks in four batches: sizes 3, 3, 2, 2, in order; never more batches than
    tasks."""
    sset = load_set(SET)
    first = tasks(sset, None, time_limit_s=10)[0]
    work = [replace(first, scenario=f"s{k}") for k in range(10)]
    cut = batches(work, 4)
    assert [len(b) for b in cut] == [3, 3, 2, 2]
    assert [t.scenario for b in cut for t in b] == [t.scenario for t in work]
    assert len(batches(work[:2], 8)) == 2
