"""Evaluating a network on every scenario with the real planner, in-process or on Dask.

A network is today's (the scenario as it is) or a proposal: open candidates with the stock
prepositioned there. Each scenario is planned by `optimizer.allocate.solve_allocation` (or,
routed, by `optimizer.planner.plan_with_tours`), and the plan's own figures are reported,
so an evaluation says what the dispatcher's tool would do, fleets and all.

Many scenarios run on Dask: a LocalCluster (one single-threaded worker process per core)
by default, or any scheduler by address. Each task carries its scenario's Problem, so the
in-process and the Dask path solve exactly the same inputs.

Why batches. A scenario is planned in about half a second, and a worker's first one also
imports the planner (1.5 s): one Dask task per scenario paid the scheduler's round trip 200
times and let a late import hold the sweep's tail. Tasks are contiguous batches, a few per
worker (`BATCHES_PER_WORKER`), and every worker imports the planner as soon as it starts,
all at once, before the first batch.
"""

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from optimizer.network import TravelTimes
from optimizer.problem import Depot, Lot, Problem, VehicleType
from optimizer.siting.problem import SitingSet, Travel
from optimizer.sources import Reach, sources

#: Lot code given to prepositioned stock in an evaluated problem.
SITING_LOT = "SITING"
#: Dask tasks per worker: enough that one slow batch does not leave a worker idle for
#: long at the end, few enough that the scheduler's overhead per task does not count.
BATCHES_PER_WORKER = 4


@dataclass(frozen=True, slots=True)
class Network:
    """A proposal: the candidates opened and the units added per (site, item)."""

    name: str
    opened: tuple[str, ...]
    stock: tuple[tuple[str, str, int], ...]  # (site, item, qty)


@dataclass(frozen=True, slots=True)
class EvalTask:
    scenario: str
    probability: float
    problem: Problem
    travel: Travel | None
    network: str  # "today" or the proposal's name
    time_limit_s: float
    routed: bool


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One scenario planned under one network: the plan's own figures."""

    scenario: str
    network: str
    probability: float
    status: str
    gap: float | None
    residents_total: int
    residents_served: int
    units_unmet: int
    shipments: int
    clock_cut: bool = False  # the plan's time limit stopped a solve: a rerun may differ

    @property
    def share(self) -> float:
        return self.residents_served / self.residents_total if self.residents_total else 1.0


def apply_network(problem: Problem, sset: SitingSet, network: Network) -> Problem:
    """The scenario with the proposal built: new depots (with the set's trucks where the
    scenario gives the site none) and the prepositioned stock as one lot per item."""
    known = {d.code for d in problem.depots}
    fleet_of = {v.depot for v in problem.fleet if v.count > 0}
    depots = list(problem.depots)
    fleet = list(problem.fleet)
    for code in network.opened:
        site = sset.candidate(code)
        if code not in known:
            depots.append(Depot(code, site.name, site.tier, site.lat, site.lon, site.loading_hours))
        if code not in fleet_of and site.vehicles > 0:
            v = sset.vehicle
            fleet.append(
                VehicleType(
                    code, "siting", site.vehicles, v.capacity_kg, v.capacity_m3, v.speed_kmh
                )
            )
    lots = list(problem.lots)
    items = {it.code for it in problem.items}
    for depot, item, qty in network.stock:
        if qty > 0 and item in items:
            lots.append(Lot(depot, item, f"{SITING_LOT}-{item}", qty, None))
    return replace(problem, depots=tuple(depots), fleet=tuple(fleet), lots=tuple(lots))


def tasks(
    sset: SitingSet,
    network: Network | None,
    *,
    time_limit_s: float,
    routed: bool = False,
) -> list[EvalTask]:
    """One task per scenario of the set, under today's network or the proposal."""
    out = []
    for sc in sset.scenarios:
        problem = replace(sc.problem, deadline_hours=sset.deadline_hours)
        if network is not None:
            problem = apply_network(problem, sset, network)
        name = network.name if network is not None else "today"
        out.append(
            EvalTask(sc.name, sc.probability, problem, sc.travel, name, time_limit_s, routed)
        )
    return out


def matrix_reach(problem: Problem, travel: Travel) -> Reach:
    """The planner's sources with a planner's own hours (`travel.csv`) in place of roads."""
    srcs = sources(problem)
    shelters = [h.code for h in problem.shelters]
    hours = travel.matrix([s.code for s in srcs], shelters)
    return Reach(srcs, TravelTimes(tuple(s.key for s in srcs), tuple(shelters), hours))


def evaluate(task: EvalTask) -> Evaluation:
    """Plan one scenario and read the plan's figures (`status`, `gap`, `kpis()`)."""
    from optimizer.allocate import solve_allocation
    from optimizer.params import AllocationParams

    if task.routed:
        if task.travel is not None:
            raise ValueError(
                f"{task.scenario}: a routed evaluation drives the roads; this scenario has "
                "a travel.csv (evaluate it without --routed)"
            )
        from optimizer.planner import plan_with_tours

        plan = plan_with_tours(task.problem, time_limit_s=task.time_limit_s)
    else:
        travel = matrix_reach(task.problem, task.travel) if task.travel is not None else None
        plan = solve_allocation(
            task.problem, params=AllocationParams(), time_limit_s=task.time_limit_s, travel=travel
        )
    k = plan.kpis()
    return Evaluation(
        scenario=task.scenario,
        network=task.network,
        probability=task.probability,
        status=plan.status.value,
        gap=plan.gap,
        residents_total=int(k["residents_total"]),
        residents_served=int(k["residents_served_on_time"]),
        units_unmet=int(sum(k["units_unmet"].values())),
        shipments=len(plan.shipments),
        clock_cut=plan.clock_cut,
    )


def evaluate_batch(batch: Sequence[EvalTask]) -> list[Evaluation]:
    """Several scenarios in one Dask task, in order."""
    return [evaluate(task) for task in batch]


def warm() -> bool:
    """Import the planner on a worker before its first batch (run on all workers at once)."""
    import optimizer.allocate  # noqa: F401

    return True


def batches(work: Sequence[EvalTask], count: int) -> list[list[EvalTask]]:
    """`work` cut into at most `count` contiguous batches of nearly equal size."""
    count = max(1, min(count, len(work)))
    size, extra = divmod(len(work), count)
    out, start = [], 0
    for k in range(count):
        end = start + size + (1 if k < extra else 0)
        out.append(list(work[start:end]))
        start = end
    return [b for b in out if b]


def sweep(
    work: Sequence[EvalTask],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    in_process: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> list[Evaluation]:
    """Evaluate every task, results in the tasks' order.

    `in_process` runs them one after another here; otherwise on Dask: the scheduler at
    `scheduler` (tcp://HOST:PORT), or a LocalCluster of `workers` single-threaded workers
    (default: one per core), which is shut down afterwards. `progress(done, total)` is
    called as batches of results arrive.
    """
    tell = progress or (lambda _done, _total: None)
    if in_process:
        out = []
        for k, task in enumerate(work):
            out.append(evaluate(task))
            tell(k + 1, len(work))
        return out
    from distributed import Client, LocalCluster, as_completed

    cluster: Any = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
        )
    client = Client(cluster if cluster is not None else scheduler)
    try:
        client.run(warm)
        count = max(len(client.scheduler_info()["workers"]), 1) * BATCHES_PER_WORKER
        chunks = batches(work, count)
        futures = client.map(evaluate_batch, chunks, pure=False)
        position = {f.key: k for k, f in enumerate(futures)}
        results: list[list[Evaluation]] = [[] for _ in chunks]
        done = 0
        for future in as_completed(futures):
            results[position[future.key]] = future.result()
            done += len(results[position[future.key]])
            tell(done, len(work))
        return [e for batch in results for e in batch]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
