"""The CLI starts fast: keeper commands import no planner module (checked by the modules a
fresh interpreter loads, not by time), and `relief --help` lists commands without loading
their modules."""

import json
import subprocess
import sys

import pytest

from api.cli.main import COMMANDS, load_command

#: Top-level packages only the planner needs; each costs from 0.1 s to seconds to import.
HEAVY = ("optimizer", "ortools", "scipy", "matplotlib", "numba", "networkx", "numpy", "pandas")
#: The optimizer's pure-data modules the ledger shares (first-expiry-first, the plan
#: document's schema): plain Python and pydantic, no solver.
SHARED = {"optimizer", "optimizer.fefo", "optimizer.plan_document"}

_PROBE = """
import json, sys
from api.cli.main import app
try:
    app({args!r})
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def loaded_modules(*args: str) -> set[str]:
    """The modules a fresh `relief ARGS` process has imported when it is done."""
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(args=list(args))],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("stock", "balance", "--help"),
        ("stock", "receive", "--help"),
        ("stock", "import", "--help"),
        ("rotation", "due", "--help"),
        ("catalog", "import", "--help"),
        ("db", "upgrade", "--help"),
        ("quotas", "gaps", "--help"),
    ],
    ids=lambda a: " ".join(a),
)
def test_keeper_command_loads_no_planner_module(args: tuple[str, ...]) -> None:
    """`relief stock balance --help` and the other keeper commands import no planner,
    OR-Tools, SciPy, matplotlib, numba or NumPy module (every command used to import
    them all, 4.9 s for `relief --help`); only the optimizer's shared pure-data modules."""
    modules = loaded_modules(*args) - SHARED

    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_help_loads_no_command_module() -> None:
    """`relief --help` lists every command from the table in `api.cli.main` alone."""
    modules = loaded_modules("--help")

    assert not {spec.module for spec in COMMANDS.values()} & modules


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_help_matches_the_command(name: str) -> None:
    """The help line `relief --help` shows is the command's own (no drift)."""
    assert load_command(name).get_short_help_str(limit=1000) == COMMANDS[name].help
