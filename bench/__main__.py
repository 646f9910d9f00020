"""Entry point: ``python -m bench <benchmark> [options]``.

Each benchmark is a module of this package exposing ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; registering it in `BENCHMARKS` is all it takes to add one (the
allocation and routing benchmarks are meant to slot in beside ``ledger``). Modules are
imported only when chosen, so one benchmark's heavy imports never slow another.
"""

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

#: Sub-command name -> module (relative to this package) implementing it.
BENCHMARKS: dict[str, str] = {
    "ledger": "bench.ledger",
    "allocation": "bench.allocation",
    "routing": "bench.routing",
    "tours": "bench.tours",
    "facility": "bench.facility",
    "siting": "bench.siting",
    "esups": "bench.esups",
    "cli": "bench.cli",
    "api": "bench.api",
    "web": "bench.web",
}


def _load(name: str) -> ModuleType:
    return importlib.import_module(BENCHMARKS[name])


def build_parser(modules: dict[str, ModuleType]) -> argparse.ArgumentParser:
    """One sub-parser per benchmark, each filled in by its own module."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks for relief-supply; each prints a table and a JSON object.",
    )
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, module in modules.items():
        help_text = getattr(module, "HELP", None)
        child = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(child)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen benchmark; returns its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Import only the chosen benchmark when it is named, but every one for --help.
    chosen = [a for a in argv if a in BENCHMARKS][:1]
    names = chosen or list(BENCHMARKS)
    modules = {name: _load(name) for name in names}
    args = build_parser(modules).parse_args(argv)
    return int(modules[args.benchmark].run(args))


if __name__ == "__main__":
    sys.exit(main())
