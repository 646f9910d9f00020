"""`relief bench`: run the planner's solvers on published benchmark instances."""

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import err_console, fail, print_json

app = typer.Typer(
    help="Benchmark the planner's solvers on published instances.", no_args_is_help=True
)


@app.command("vrp")
def vrp(
    file: Annotated[Path, typer.Argument(help="A CVRPLIB .vrp or Solomon VRPTW .txt file.")],
    seconds: Annotated[
        float, typer.Option("--seconds", help="Time limit in seconds.", min=0.1)
    ] = 30.0,
    workers: Annotated[
        int, typer.Option("--workers", help="Independent searches on separate cores.", min=1)
    ] = 1,
) -> None:
    """Solve one VRPLIB instance with the planner's routing engine and print JSON
    {instance, objective, seconds, routes}. Distances follow the family's convention:
    CVRPLIB rounds each arc to the nearest integer; Solomon truncates to one decimal."""
    from optimizer.routing.vrplib import load_instance, solve_instance, warm_up

    try:
        instance = load_instance(file)
    except ValueError as exc:
        fail(" ".join(str(exc).split()))
    err_console.print(
        f"{instance.name}: {instance.family}, {instance.customers} customers, "
        f"{len(instance.model.vehicles)} vehicles, {seconds:g} s",
        highlight=False,
    )
    warm_up()
    _result, document = solve_instance(instance, seconds, workers=workers)
    print_json(document)
    if document["objective"] is None:
        raise typer.Exit(1)


@app.command("facility")
def facility(
    file: Annotated[Path, typer.Argument(help="An OR-Library capXX.txt or pmedXX.txt file.")],
    kind: Annotated[str, typer.Option("--kind", help="cflp or pmedian.")],
    seconds: Annotated[
        float, typer.Option("--seconds", help="Time limit in seconds.", min=0.1)
    ] = 60.0,
    capacity: Annotated[
        float | None, typer.Option("--capacity", help="capa: the capacity to substitute.")
    ] = None,
) -> None:
    """Solve one facility-location instance with the siting model's core and print JSON
    {instance, objective, bound, gap, seconds, status}."""
    from bench.facility import read_instance, solve_instance

    try:
        instance = read_instance(file, kind, capacity)
    except ValueError as exc:
        fail(" ".join(str(exc).split()))
    document = solve_instance(instance, seconds).document()
    print_json(document)
    if document["objective"] is None:
        raise typer.Exit(1)
