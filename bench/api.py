"""HTTP API benchmark: latency of a balance query and of a single issue over loopback.

For each database (a fresh SQLite file always; PostgreSQL from --pg or $TEST_DATABASE_URL,
in its own schema) this seeds a small network with plenty of stock and an API token, starts
`relief serve` in a child process (a real uvicorn server, so the load generator does not
share its interpreter), and then, for 1 and 16 clients, sends a fixed number of requests
per client (so it stops by itself) and times each. Each client issues from its own depot,
as keepers at different depots do. Figures depend on the machine's load: the load average
is printed beside them.

Targets (issue 12): p95 of a single issue at 16 clients ≤ 50 ms; no error under load.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bench.api_cost import measure_cost
from bench.ledger import latency_summary
from supply import migrate
from supply.db import make_engine, session_scope
from supply.models import DepotCreate, ItemCreate, Role, Tier
from supply.services import stock, users
from supply.services.catalogue import ensure_default_categories, upsert_depots, upsert_items
from supply.services.lookup import ensure_virtual_locations

HELP = "HTTP API: p50/p95 of a balance query and a single issue at 1 and 16 clients."

PG_SCHEMA = "relief_bench_api"
ISSUE_P95_TARGET_MS = 50.0
DEPOTS = 16
STOCK = 10**9
SECRET = "relief-bench-api-" + "s" * 32


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_url(url: str) -> str:
    """The URL the server is given: PostgreSQL's with the benchmark's schema first."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    with_schema = parsed.update_query_dict({"options": f"-csearch_path={PG_SCHEMA}"})
    return with_schema.render_as_string(hide_password=False)


def _seed(url: str) -> str:
    """Tables, one item, DEPOTS depots with stock, and a keeper's API token (returned)."""
    if make_url(url).get_backend_name() == "postgresql":
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
        admin.dispose()
        engine = make_engine(_server_url(url))
        SQLModel.metadata.create_all(engine)
    else:
        migrate.upgrade(url)
        engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            ensure_virtual_locations(session)
            ensure_default_categories(session)
            upsert_items(
                session,
                [
                    ItemCreate(
                        code="WATER",
                        name_zh="饮用水",
                        name_en="Drinking water",
                        category="food_water",
                        unit="case",
                        unit_weight_kg=13.2,
                        unit_volume_m3=0.02,
                    )
                ],
            )
            upsert_depots(
                session,
                [
                    DepotCreate(code=f"D{i:02d}", name=f"depot {i}", tier=Tier.COUNTY)
                    for i in range(DEPOTS)
                ],
            )
            for i in range(DEPOTS):
                stock.receive(session, depot=f"D{i:02d}", item="WATER", qty=STOCK, lot=f"L{i:02d}")
            users.add_user(session, username="bench", role=Role.KEEPER, password=None)
            return users.create_token(session, "bench", name="bench").secret
    finally:
        engine.dispose()


def _drop(url: str) -> None:
    if make_url(url).get_backend_name() == "postgresql":
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        admin.dispose()


@contextmanager
def serving(url: str, workers: int, *, access_log: bool = True) -> Iterator[str]:
    """`relief serve` on a free loopback port; yields its base URL, stops it afterwards."""
    port = _free_port()
    env = {**os.environ, "RELIEF_JWT_SECRET": SECRET}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli.main",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--access-log" if access_log else "--no-access-log",
            "--db",
            _server_url(url),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # up to 30 s to start
            if server.poll() is not None:
                raise RuntimeError(f"the server stopped: {server.stderr.read()[-500:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError("the server did not answer /health within 30 s")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


Request = Callable[[httpx.Client, int, int], httpx.Response]


def _balance_query(worker: int) -> dict[str, str]:
    return {"depot": f"D{worker % DEPOTS:02d}", "item": "WATER"}


def _issue_body(worker: int) -> dict[str, Any]:
    return {"depot": f"D{worker % DEPOTS:02d}", "item": "WATER", "qty": 1}


def _balance(client: httpx.Client, worker: int, _n: int) -> httpx.Response:
    return client.get("/balances", params=_balance_query(worker))


def _issue(client: httpx.Client, worker: int, _n: int) -> httpx.Response:
    return client.post("/documents/issues", json=_issue_body(worker))


async def _balance_in_process(client: httpx.AsyncClient, n: int) -> httpx.Response:
    return await client.get("/balances", params=_balance_query(n))


async def _issue_in_process(client: httpx.AsyncClient, n: int) -> httpx.Response:
    return await client.post("/documents/issues", json=_issue_body(n))


def load(base: str, token: str, request: Request, *, clients: int, each: int) -> dict[str, Any]:
    """`clients` threads each send `each` requests one after another; every latency and
    every answer that is not 2xx is kept."""
    timings: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client_loop(worker: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            request(client, worker, -1)  # warm the connection; not timed
            start.wait()
            for n in range(each):
                began = time.perf_counter()
                answer = request(client, worker, n)
                took = time.perf_counter() - began
                with lock:
                    timings.append(took)
                    if not answer.is_success:
                        errors.append(f"{answer.status_code} {answer.text[:120]}")

    threads = [threading.Thread(target=client_loop, args=(w,)) for w in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {**latency_summary(timings), "errors": len(errors), "first_error": errors[:1]}


def bench_database(name: str, url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    token = _seed(url)
    rows: list[dict[str, Any]] = []
    try:
        if args.cost:
            calls = {"balance query": _balance_in_process, "single issue": _issue_in_process}
            costs = measure_cost(
                _server_url(url), token, calls, requests=args.requests, secret=SECRET
            )
            return [{"database": name, **row} for row in costs]
        with serving(url, args.workers, access_log=args.access_log) as base:
            for label, request in (("balance query", _balance), ("single issue", _issue)):
                for clients in args.clients:
                    figures = load(base, token, request, clients=clients, each=args.requests)
                    rows.append(
                        {"database": name, "operation": label, "clients": clients, **figures}
                    )
    finally:
        _drop(url)
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `python -m bench api`."""
    parser.add_argument(
        "--pg",
        metavar="URL",
        default=os.environ.get("TEST_DATABASE_URL") or None,
        help=f"PostgreSQL URL to measure too, in schema {PG_SCHEMA!r} "
        "(default: $TEST_DATABASE_URL if set)",
    )
    parser.add_argument(
        "--clients",
        type=lambda text: [int(c) for c in text.split(",")],
        default=[1, 16],
        help="concurrent clients, comma-separated (default 1,16)",
    )
    parser.add_argument(
        "--requests", type=int, default=200, help="requests per client per phase (default 200)"
    )
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (default 1)")
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the server's access log (relief serve's default: on)",
    )
    parser.add_argument(
        "--cost",
        action="store_true",
        help="instead of latency: CPU ms and SQL statements per request, the app in this "
        "process (valid on a busy machine: the least of several rounds)",
    )
    parser.add_argument(
        "--json-out", type=Path, metavar="FILE", help="also write the JSON result here"
    )


def _table(rows: list[dict[str, Any]], title: str, columns: dict[str, str]) -> Table:
    """`columns`: heading -> row field; floats shown with two decimals."""
    table = Table(*columns, title=f"{title} (load {os.getloadavg()[0]:.1f})")
    for row in rows:
        table.add_row(
            *(f"{v:.2f}" if isinstance(v := row[k], float) else str(v) for k in columns.values())
        )
    return table


_LATENCY_COLUMNS = {
    "database": "database",
    "operation": "operation",
    "clients": "clients",
    "n": "n",
    "p50 ms": "p50_ms",
    "p95 ms": "p95_ms",
    "max ms": "max_ms",
    "errors": "errors",
}
_COST_COLUMNS = {
    "database": "database",
    "operation": "operation",
    "CPU ms / request": "cpu_ms",
    "statements / request": "statements",
    "errors": "errors",
}


def run(args: argparse.Namespace) -> int:
    """Measure each database; print the table and the JSON; 1 if any request failed."""
    if args.requests < 1 or min(args.clients) < 1:
        raise SystemExit("--requests and --clients must be positive")
    out = Console(soft_wrap=False)
    if not out.is_terminal:
        out.width = max(out.width, 120)  # a log file has room; do not wrap the table
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="relief-bench-api-") as tmp:
        targets = [("sqlite", f"sqlite:///{Path(tmp) / 'api.db'}")]
        if args.pg:
            targets.append(("postgresql", args.pg))
        for name, url in targets:
            rows.extend(bench_database(name, url, args))
    if args.cost:
        out.print(_table(rows, "HTTP API cost, in process", _COST_COLUMNS))
    else:
        title = f"HTTP API over loopback ({args.workers} worker(s))"
        out.print(_table(rows, title, _LATENCY_COLUMNS))
    document = {
        "benchmark": "api cost" if args.cost else "api",
        "date": date.today().isoformat(),
        "load_average": os.getloadavg(),
        "workers": args.workers,
        "requests_per_client": args.requests,
        "targets": {"issue_p95_ms_at_16_clients": ISSUE_P95_TARGET_MS, "errors": 0},
        "results": rows,
    }
    text_out = json.dumps(document, indent=2, ensure_ascii=False)
    sys.stdout.write(text_out + "\n")
    if args.json_out:
        args.json_out.write_text(text_out + "\n", encoding="utf-8")
    return 1 if any(row["errors"] for row in rows) else 0
