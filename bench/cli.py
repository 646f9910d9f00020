"""CLI start-up benchmark: what a keeper waits for before a command does anything.

For each command line, a fresh interpreter runs it with ``python -X importtime`` and this
sums the import time of every module it loaded (the figure the issue's 0.5 s target is
about), counts the modules, and lists the planner's heavy packages among them (there should
be none for a keeper command). Times depend on the machine's load, so each command runs
several times and the minimum and median are printed with the load average; the module
counts do not depend on load.

Target: under 0.5 s of import time for `relief --help` and every keeper command.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

HELP = "CLI start-up: import time and modules loaded per command (target < 0.5 s)."

TARGET_S = 0.5

#: Top-level packages only the planner needs.
HEAVY = ("optimizer", "ortools", "scipy", "matplotlib", "numba", "networkx", "numpy", "pandas")
#: The optimizer's pure-data modules the ledger shares (no solver): not counted as heavy.
SHARED = {"optimizer", "optimizer.fefo", "optimizer.plan_document"}

COMMANDS: list[tuple[str, ...]] = [
    ("--help",),
    ("stock", "balance", "--help"),
    ("stock", "receive", "--help"),
    ("stock", "import", "--help"),
    ("stock", "verify", "--help"),
    ("rotation", "due", "--help"),
    ("catalog", "import", "--help"),
    ("db", "upgrade", "--help"),
    ("quotas", "gaps", "--help"),
    ("reserves", "expected", "--help"),
    ("plan", "--help"),
]

_PROBE = """
import sys
from api.cli.main import app
try:
    app({args!r})
except SystemExit:
    pass
"""


def measure(args: tuple[str, ...]) -> dict[str, Any]:
    """One fresh `relief ARGS`: summed import time (s), CPU seconds of the process (less
    sensitive to other processes' load than wall time), module count, heavy packages."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _PROBE.format(args=list(args))],
        capture_output=True,
        text=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    total_us = 0
    modules: list[str] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _cumulative, name = line[len("import time:") :].split("|")
        total_us += int(own)
        modules.append(name.strip())
    heavy = sorted({m.split(".")[0] for m in set(modules) - SHARED if m.split(".")[0] in HEAVY})
    return {"seconds": total_us / 1e6, "cpu": cpu, "modules": len(modules), "heavy": heavy}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=5, help="Runs per command (default 5).")
    parser.add_argument("--json", action="store_true", help="Print only the JSON result.")


def run(args: argparse.Namespace) -> int:
    load = os.getloadavg()
    results: list[dict[str, Any]] = []
    for command in COMMANDS:
        runs = [measure(command) for _ in range(max(args.runs, 1))]
        seconds = [r["seconds"] for r in runs]
        results.append(
            {
                "command": "relief " + " ".join(command),
                "import_s_min": min(seconds),
                "import_s_median": statistics.median(seconds),
                "cpu_s_min": min(r["cpu"] for r in runs),
                "modules": runs[-1]["modules"],
                "heavy": runs[-1]["heavy"],
                "keeper": command[0] != "plan",
            }
        )
    ok = all(r["import_s_min"] < TARGET_S and not r["heavy"] for r in results if r["keeper"])
    document = {
        "benchmark": "cli",
        "target_import_s": TARGET_S,
        "load_average": load,
        "cpus": os.cpu_count(),
        "results": results,
        "ok": ok,
    }
    if args.json:
        print(json.dumps(document, indent=2))
        return 0 if ok else 1
    table = Table(
        "command", "import s (min)", "median", "target", "process CPU s", "modules",
        "planner modules",
        title=f"relief start-up, load average {load[0]:.2f} on {os.cpu_count()} CPUs",
    )  # fmt: skip
    for r in results:
        target = f"< {TARGET_S:g}" if r["keeper"] else "(planner)"
        mark = "" if not r["keeper"] or r["import_s_min"] < TARGET_S else " [red]over[/]"
        table.add_row(
            r["command"],
            f"{r['import_s_min']:.3f}{mark}",
            f"{r['import_s_median']:.3f}",
            target,
            f"{r['cpu_s_min']:.3f}",
            str(r["modules"]),
            ", ".join(r["heavy"]) or "none",
        )
    table.columns[0].no_wrap = True
    console = Console(width=max(Console().width, 140))
    console.print(table)
    print(json.dumps(document))
    return 0 if ok else 1
