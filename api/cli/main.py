"""The `relief` command.

Each command group lives in its own module and is imported only when that command runs:
the planner's modules (OR-Tools, SciPy, matplotlib, numba) take seconds to import, and a
keeper's `relief stock balance` needs none of them. `relief --help` lists every command
from the table below without importing any of them.
"""

import importlib
from dataclasses import dataclass
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True, slots=True)
class Lazy:
    """Where a command lives, and its one-line help for `relief --help`."""

    module: str
    attribute: str
    help: str


#: The commands in the order `relief --help` lists them. A group's `attribute` is its
#: `typer.Typer`; a single command's is its function.
COMMANDS: dict[str, Lazy] = {
    "db": Lazy("api.cli.db", "app", "Database schema, copies and backups."),
    "catalog": Lazy("api.cli.catalog", "catalog_app", "The reserve catalogue of items."),
    "depots": Lazy("api.cli.catalog", "depots_app", "The five-tier depot network."),
    "fleet": Lazy("api.cli.fleet", "app", "The fleet registry: trucks by depot and type."),
    "stock": Lazy("api.cli.stock", "app", "Receive, issue, transfer, count and check stock."),
    "rotation": Lazy("api.cli.rotation", "app", "Rotation of stock before it expires."),
    "reserves": Lazy(
        "api.cli.reserves",
        "app",
        "Agreement reserves (协议储备): suppliers, contracts, inspections, call-off, settlement.",
    ),
    "quotas": Lazy("api.cli.quotas", "app", "Reserve quotas per depot or tier, and the gaps."),
    "dispatch": Lazy(
        "api.cli.dispatch",
        "app",
        "Dispatch: approve a plan (reserve its lots), depart trips, deliver stops, cancel.",
    ),
    "docs": Lazy(
        "api.cli.docs",
        "app",
        "Printed documents: 入库单, 出库单, 调拨单, 盘点表, 轮换记录, 核销单 and 签收单.",
    ),
    "readiness": Lazy(
        "api.cli.readiness",
        "readiness",
        "Per city and county subtree: residents its stock plus agreements could supply for "
        "one day with every critical item, and the item that limits it.",
    ),
    "plan": Lazy(
        "api.cli.plan",
        "plan",
        "Allocate stock and agreement reserves to shelters to serve the most residents in "
        "time, then route each depot's trucks.",
    ),
    "demo": Lazy(
        "api.cli.demo",
        "demo",
        "Load the sample depot network into a fresh SQLite ledger and report on it, then "
        "plan the bundled Haicheng earthquake scenario and write the plan, its map and "
        "shipments.",
    ),
    "bench": Lazy(
        "api.cli.bench", "app", "Benchmark the planner's solvers on published instances."
    ),
    "siting": Lazy(
        "api.cli.siting",
        "app",
        "Depot siting and prepositioning across disaster scenarios (选址与前置储备).",
    ),
    "serve": Lazy(
        "api.cli.serve",
        "serve",
        "Serve the HTTP API (FastAPI under uvicorn) over the ledger.",
    ),
    "jurisdictions": Lazy(
        "api.cli.jurisdictions",
        "app",
        "Jurisdictions (行政区划): add, list, assign depots, neighbours and sharing.",
    ),
    "aid": Lazy(
        "api.cli.aid",
        "app",
        "Mutual aid between neighbouring jurisdictions (跨区域借调): request, approve, refuse, "
        "return, settle, list.",
    ),
    "users": Lazy(
        "api.cli.users", "app", "Users of the HTTP server (用户): add, list, disable, API tokens."
    ),
    "scenarios": Lazy(
        "api.cli.scenarios", "app", "Disaster scenarios: generate and compare (情景生成与比较)."
    ),
}


def load_command(name: str) -> Any:
    """Import the module of one command and build its click command."""
    spec = COMMANDS[name]
    target = getattr(importlib.import_module(spec.module), spec.attribute)
    command: Any
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """A root group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._listing = False
        self._loaded: dict[str, Any] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *super().list_commands(ctx)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        if self._listing:  # `relief --help`: the table's line is enough
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name].help)
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = load_command(cmd_name)
        return self._loaded[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    cls=LazyGroup,
    help="relief-supply: emergency relief-supply stock ledger and planner.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """relief-supply: emergency relief-supply stock ledger and planner."""


if __name__ == "__main__":
    app()
